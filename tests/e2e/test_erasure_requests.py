"""The participant's data page and erasure request, end to end: ``/t/{token}/data`` shows what is held
(in Korean or English, never cached or indexed, only for the current ticket); the form's request
raises an ``erasure_requested`` alert; the organiser approves through the API (the person cancelled
and erased, the old ticket refused at the gate, the statistics as they were) or rejects, once; the
CLI lists and decides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.e2e.test_privacy_api import every_row, figures, set_status
from tests.fakes import FakeClock
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.entrypoints.api.app import create_app
from turnout.i18n import translate

PERSON = {
    "name": "김민준",
    "email": "minjun.secret@example.com",
    "phone": "010-5555-1234",
    "birth_date": "1990-07-01",
    "region": "서울",
    "organization": "비밀회사",
    "gender": "male",
    "custom_fields": {"shirt": "XL-secret"},
    "consents": {"required": True, "optional": True},
}
OTHER = {
    **PERSON,
    "name": "이서연",
    "email": "seoyeon@example.com",
    "phone": "010-5555-9999",
    "organization": "다른회사",
    "custom_fields": {"shirt": "S-kept"},
}


@pytest.fixture
def public(turnout: Turnout) -> Iterator[TestClient]:
    """A browser with no key (``client`` is ``app_client`` with the admin's)."""
    with TestClient(create_app(turnout), raise_server_exceptions=False) as browser:
        yield browser


@pytest.fixture
def live(client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]) -> dict[str, Any]:
    """A live event with two people; the first admitted at the gate, both emailed their ticket."""
    event_id = str(event["id"])
    set_status(client, event_id, "open", "live")
    people = []
    for body in (PERSON, OTHER):
        response = client.post(f"/api/v1/events/{event_id}/participants", json=body)
        assert response.status_code == 201, response.text
        people.append(response.json())
    scan = {"token": people[0]["token"], "gate_id": gate["id"]}
    assert client.post(f"/api/v1/events/{event_id}/attendance", json=scan).json()["result"] == "admitted"
    turnout.relay().drain()
    return {"event_id": event_id, "gate": gate, "person": people[0], "other": people[1]}


def test_the_data_page_shows_everything_held_in_korean_when_asked_in_korean(
    public: TestClient, live: dict[str, Any]
) -> None:
    token = live["person"]["token"]
    ticket = public.get(f"/t/{token}?lang=ko")
    assert f'href="/t/{token}/data?lang=ko"' in ticket.text
    assert "내 개인정보 보기 및 삭제 요청" in ticket.text

    page = public.get(f"/t/{token}/data", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert page.status_code == 200, page.text
    assert "no-store" in page.headers["cache-control"]
    assert "noindex" in page.headers["x-robots-tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    for shown in (
        "김민준",
        "minjun.secret@example.com",
        "010-5555-1234",
        "1990-07-01",
        "서울",
        "비밀회사",
        "남성",
        "shirt",
        "XL-secret",
        "입장 완료",  # the ticket's status
        "정문",  # the gate
        "입장 허용",
        "발송 대기",  # the ticket email, queued
        "스태프 등록",  # the consent record: given through staff
        "필수 항목 동의",
        "내 개인정보",
        "삭제 요청하기",
    ):
        assert shown in page.text, shown
    assert "이서연" not in page.text  # only the holder's own data


def test_the_data_page_is_in_english_when_asked_in_english(public: TestClient, live: dict[str, Any]) -> None:
    page = public.get(f"/t/{live['person']['token']}/data?lang=en")
    assert page.status_code == 200
    for shown in (
        "My personal data",
        "Staff",
        "Consent to the required items",
        "Admitted",
        "Ask for erasure",
        "010-5555-1234",
    ):
        assert shown in page.text, shown


def test_a_revoked_or_unknown_token_gets_the_missing_ticket_page_when_opening_the_data_page(
    client: TestClient, public: TestClient, live: dict[str, Any]
) -> None:
    token = live["other"]["token"]
    assert client.post(f"/api/v1/participants/{live['other']['id']}/cancel").status_code == 200
    for path in (f"/t/{token}/data", "/t/not-a-token/data"):
        page = public.get(path + "?lang=ko")
        assert page.status_code == 404, path
        assert 'data-status="missing"' in page.text
        assert "no-store" in page.headers["cache-control"]
        assert "seoyeon" not in page.text
    refused = public.post(f"/t/{token}/data/erasure", data={"reason": "x"})
    assert refused.status_code == 404
    assert 'data-status="missing"' in refused.text


def test_an_erasure_request_from_another_site_is_refused_with_origin_refused(
    public: TestClient, live: dict[str, Any]
) -> None:
    path = f"/t/{live['person']['token']}/data/erasure"
    forged = public.post(path, data={"reason": ""}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "origin_refused"
    own = public.post(path, data={"reason": ""}, headers={"Origin": "http://testserver"})
    assert own.status_code == 201, own.text


def test_a_reason_over_the_limit_is_refused_on_the_page_when_too_long(
    public: TestClient, client: TestClient, live: dict[str, Any]
) -> None:
    page = public.post(f"/t/{live['person']['token']}/data/erasure?lang=ko", data={"reason": "가" * 1001})
    assert page.status_code == 422
    assert "1000자 이내" in page.text
    listed = client.get(f"/api/v1/events/{live['event_id']}/erasure-requests").json()
    assert listed["items"] == []


def test_an_approved_request_cancels_and_erases_the_person_and_the_gate_refuses_their_ticket(
    client: TestClient, public: TestClient, turnout: Turnout, live: dict[str, Any]
) -> None:
    event_id, person, token = live["event_id"], live["person"], live["person"]["token"]
    asked = public.post(f"/t/{token}/data/erasure?lang=ko", data={"reason": "더 이상 참가하지 않습니다"})
    assert asked.status_code == 201, asked.text
    assert "삭제 요청을 접수했습니다" in asked.text
    again = public.post(f"/t/{token}/data/erasure?lang=ko", data={"reason": "또"})
    assert again.status_code == 200  # the open request, not a second one

    listed = client.get(f"/api/v1/events/{event_id}/erasure-requests?status=requested").json()
    assert len(listed["items"]) == 1
    assert listed["next_cursor"] is None
    request = listed["items"][0]
    assert (request["participant_id"], request["reason"]) == (person["id"], "더 이상 참가하지 않습니다")
    alerts = client.get(f"/api/v1/alerts?event_id={event_id}&state=open").json()["items"]
    assert [(a["code"], a["details"]["erasure_request_id"]) for a in alerts] == [
        ("erasure_requested", request["id"])
    ]
    assert person["email"] not in json.dumps(alerts)
    assert translate("web.alerts.code.erasure_requested", "ko") == "개인정보 삭제 요청"

    stats_before, analytics_before = figures(turnout, event_id)
    approved = client.post(f"/api/v1/erasure-requests/{request['id']}/approve", json={"note": "확인"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decision_note"]) == ("done", "확인")
    assert approved.json()["counts"]["participants"] == 1
    turnout.relay().drain()
    stats_after, analytics_after = figures(turnout, event_id)
    # the cancellation's effect, nothing else (exact equality: the next test, cancelled beforehand)
    assert analytics_after["total_participants"] == analytics_before["total_participants"] - 1
    assert stats_after["scans"] == stats_before["scans"]  # the scans stay counted
    assert stats_after["cancelled"] == stats_before["cancelled"] + 1  # the cancellation, nothing else

    erased = client.get(f"/api/v1/participants/{person['id']}").json()
    assert (erased["name"], erased["status"], erased["phone"]) == ("", "cancelled", None)
    assert erased["email"].endswith("@erased.invalid")
    dump = every_row(turnout)
    for secret in (person["email"], token, "김민준", "XL-secret", "+821055551234"):
        assert secret not in dump, secret
    assert live["other"]["email"] in dump
    assert live["other"]["token"] in dump
    scan = {"token": token, "gate_id": live["gate"]["id"], "direction": "out"}
    refused = client.post(f"/api/v1/events/{event_id}/attendance", json=scan).json()
    assert refused["result"] == "denied"
    assert client.get(f"/t/{token}/data").status_code == 404
    assert client.get(f"/api/v1/alerts?event_id={event_id}&state=open").json()["items"] == []

    for decision in ("approve", "reject"):
        twice = client.post(
            f"/api/v1/erasure-requests/{request['id']}/{decision}", headers={"Accept-Language": "ko"}
        )
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "erasure_request_decided"
        assert "이미 처리된" in twice.json()["error"]["message"]


def test_erasing_a_person_cancelled_already_leaves_the_statistics_exactly_as_they_were(
    client: TestClient, public: TestClient, turnout: Turnout, live: dict[str, Any]
) -> None:
    event_id, person = live["event_id"], live["person"]
    assert public.post(f"/t/{person['token']}/data/erasure", data={}).status_code == 201
    assert client.post(f"/api/v1/participants/{person['id']}/cancel").status_code == 200
    turnout.relay().drain()
    before = figures(turnout, event_id)
    (request,) = client.get(f"/api/v1/events/{event_id}/erasure-requests").json()["items"]
    assert client.post(f"/api/v1/erasure-requests/{request['id']}/approve").status_code == 200
    turnout.relay().drain()
    assert figures(turnout, event_id) == before
    assert person["email"] not in every_row(turnout)


def test_a_rejected_request_keeps_the_data_and_is_shown_with_its_note(
    client: TestClient, public: TestClient, turnout: Turnout, live: dict[str, Any]
) -> None:
    assert public.post(f"/t/{live['person']['token']}/data/erasure", data={}).status_code == 201
    (request,) = client.get(f"/api/v1/events/{live['event_id']}/erasure-requests").json()["items"]
    rejected = client.post(f"/api/v1/erasure-requests/{request['id']}/reject", json={"note": "행사 중"})
    assert rejected.status_code == 200, rejected.text
    shown = client.get(f"/api/v1/erasure-requests/{request['id']}").json()
    assert (shown["status"], shown["decision_note"]) == ("rejected", "행사 중")
    assert shown["decided_by"]
    assert shown["decided_at"]
    assert live["person"]["email"] in every_row(turnout)
    page = public.get(f"/t/{live['person']['token']}/data?lang=ko")
    assert "삭제 요청하기" in page.text  # the form again: a new request may be made
    missing = client.get("/api/v1/erasure-requests/nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "erasure_request_not_found")


def test_cli_lists_approves_and_rejects_erasure_requests_with_exit_codes(
    public: TestClient,
    client: TestClient,
    turnout: Turnout,
    settings: Settings,
    clock: FakeClock,
    live: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from turnout.entrypoints.cli import app

    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    for key in ("person", "other"):
        assert public.post(f"/t/{live[key]['token']}/data/erasure", data={}).status_code == 201
    runner = CliRunner()
    listed = runner.invoke(app, ["privacy", "requests", "--event", live["event_id"], "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    by_person = {item["participant_id"]: item["id"] for item in items}
    assert set(by_person) == {live["person"]["id"], live["other"]["id"]}

    approved = runner.invoke(app, ["privacy", "approve", by_person[live["person"]["id"]], "--json"])
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["status"] == "done"
    rejected = runner.invoke(app, ["privacy", "reject", by_person[live["other"]["id"]], "--note", "아직"])
    assert rejected.exit_code == 0, rejected.output
    again = runner.invoke(app, ["privacy", "reject", by_person[live["other"]["id"]], "--json"])
    assert again.exit_code == 1
    assert json.loads(again.stderr)["error"]["code"] == "erasure_request_decided"
    done = runner.invoke(app, ["privacy", "requests", "--status", "done", "--json"])
    assert [i["participant_id"] for i in json.loads(done.stdout)["items"]] == [live["person"]["id"]]
    assert runner.invoke(app, ["privacy", "requests", "--status", "nope"]).exit_code == 2
    assert live["person"]["email"] not in every_row(turnout)
    assert live["other"]["email"] in every_row(turnout)
    from turnout.entrypoints import cli_privacy

    monkeypatch.setattr(cli_privacy.out, "width", 250)  # made at import, as wide as the terminal then
    korean = runner.invoke(app, ["privacy", "requests"], env={"LANG": "ko_KR.UTF-8"})
    assert korean.exit_code == 0, korean.output
    for word in ("개인정보 삭제 요청", "참가자", "삭제 완료", "거절됨"):
        assert word in korean.stdout, word
    assert "rejected" not in korean.stdout
