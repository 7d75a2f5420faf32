"""The console's participant pages: search, filters, paging, a participant's page with their scans and
mail, the actions (cancel, resend, reissue, check in by hand) with their refusals and CSRF, adding
one by hand with errors beside each field, and the refusal pages."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.consent_support import ALL
from tests.console_support import ORIGIN, csrf_of, sign_in
from tests.ticket_support import deliver
from turnout.bootstrap import Turnout, mail_sender
from turnout.domain.access import Role
from turnout.entrypoints.web import participant_pages
from turnout.services.keys import create_key

PEOPLE = [
    {"name": "김민준", "email": "minjun@example.com", "phone": "010-1234-5678"},
    {"name": "이서연", "email": "seoyeon@corp.example", "phone": "010-9999-4321"},
    {"name": "Park Jihoon", "email": "jihoon@example.com"},
]


def add(client: TestClient, event_id: str, person: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/api/v1/events/{event_id}/participants", json={**person, "consents": ALL})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def people(client: TestClient, event: dict[str, Any]) -> list[dict[str, Any]]:
    assert client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"}).status_code == 200
    return [add(client, str(event["id"]), person) for person in PEOPLE]


def post_form(client: TestClient, path: str, data: dict[str, str], *, page: str) -> Any:
    """Post ``data`` with the CSRF token of ``page`` (``console_support.post_form`` sends a list of
    pairs, which this httpx takes as a raw body)."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False)


def rows(html: str) -> list[str]:
    """The participant ids the list shows, in order."""
    return re.findall(r'data-participant="([^"]+)"', html)


def test_list_finds_by_name_email_last_four_digits_and_phone_when_searched(
    client: TestClient, event: dict[str, Any], people: list[dict[str, Any]]
) -> None:
    minjun, seoyeon, jihoon = (p["id"] for p in people)
    base = f"/events/{event['id']}/participants"
    page = client.get(base + "?lang=en")
    assert page.status_code == 200
    assert "<html" in page.text
    assert rows(page.text) == [minjun, seoyeon, jihoon]
    assert 'data-count="3"' in page.text
    assert f'href="/events/{event["id"]}/participants/{minjun}?lang=en"' in page.text
    assert 'name="q"' in page.text
    assert 'hx-get="' in page.text
    assert 'hx-target="#results"' in page.text
    assert f"/api/v1/events/{event['id']}/participants/export?format=xlsx" in page.text
    assert f"/api/v1/events/{event['id']}/participants/new" not in page.text
    assert f'href="/events/{event["id"]}/participants/new?lang=en"' in page.text

    def found(query: str) -> list[str]:
        answer = client.get(f"{base}?{query}")
        assert answer.status_code == 200, answer.text
        return rows(answer.text)

    assert found("q=민준") == [minjun]  # two Korean characters: contained in the name
    assert found("q=김") == [minjun]  # one character: the start of the name or the email
    assert found("q=jihoon") == [jihoon]
    assert found("q=CORP") == [seoyeon]  # the email, any case
    assert found("q=4321") == [seoyeon]  # the phone's last four digits
    assert found("q=010-1234-5678") == [minjun]  # the whole number
    assert found("q=nobody") == []
    assert "No participant matches." in client.get(f"{base}?q=nobody&lang=en").text


def test_list_filters_by_status_and_check_in_and_keeps_them_in_export_links(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any], people: list[dict[str, Any]]
) -> None:
    minjun, seoyeon, jihoon = (p["id"] for p in people)
    event_id = event["id"]
    assert client.post(f"/api/v1/participants/{jihoon}/cancel").status_code == 200
    scan = {"participant_id": minjun, "gate_id": gate["id"], "method": "manual", "direction": "in"}
    client.post(f"/api/v1/events/{event_id}/status", json={"status": "live"})
    assert client.post(f"/api/v1/events/{event_id}/attendance", json=scan).json()["result"] == "admitted"
    base = f"/events/{event_id}/participants"
    assert rows(client.get(f"{base}?status=cancelled").text) == [jihoon]
    assert rows(client.get(f"{base}?status=registered").text) == [minjun, seoyeon]
    assert rows(client.get(f"{base}?check_in=inside").text) == [minjun]
    assert rows(client.get(f"{base}?check_in=not_checked_in&status=registered").text) == [seoyeon]
    assert rows(client.get(f"{base}?check_in=bogus").text) == [minjun, seoyeon, jihoon]  # unknown: ignored
    page = client.get(f"{base}?status=registered&check_in=inside&q=민준").text
    assert "format=csv&amp;q=%EB%AF%BC%EC%A4%80&amp;status=registered&amp;check_in=inside" in page
    assert 'value="민준"' in page
    assert re.search(r'value="inside"\s+selected', page)


def test_list_pages_by_keyset_and_answers_htmx_with_the_results_only(
    client: TestClient, event: dict[str, Any], people: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participant_pages, "PAGE_SIZE", 2)
    ids = [p["id"] for p in people]
    base = f"/events/{event['id']}/participants"
    first = client.get(f"{base}?lang=en").text
    assert rows(first) == ids[:2]
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&")).text
    assert rows(second) == ids[2:]
    assert 'rel="next"' not in second
    assert "First page" in second
    partial = client.get(f"{base}?q=민준", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert rows(partial.text) == [ids[0]]
    assert 'aria-live="polite"' in partial.text


def test_participant_page_shows_facts_ticket_scans_mail_attempts_and_consent(
    client: TestClient,
    turnout: Turnout,
    event: dict[str, Any],
    gate: dict[str, Any],
    people: list[dict[str, Any]],
) -> None:
    minjun = people[0]["id"]
    event_id = event["id"]
    client.post(f"/api/v1/events/{event_id}/status", json={"status": "live"})
    scan = {"participant_id": minjun, "gate_id": gate["id"], "method": "manual", "direction": "in"}
    client.post(f"/api/v1/events/{event_id}/attendance", json=scan)
    assert (
        client.post(f"/api/v1/events/{event_id}/attendance", json=scan).json()["code"] == "already_admitted"
    )
    deliver(turnout)
    asyncio.run(mail_sender(turnout).send_batch())
    page = client.get(f"/events/{event_id}/participants/{minjun}?lang=ko")
    assert page.status_code == 200
    html = page.text
    assert "김민준" in html
    assert "minjun@example.com" in html
    assert "010-1234-5678" in html
    assert f'src="/api/v1/participants/{minjun}/qr.svg"' in html
    assert client.get(f"/api/v1/participants/{minjun}/qr.svg").status_code == 200
    scans = html.split('id="scans"')[1].split("</table>")[0]
    assert scans.count("<tr data-result=") == 2
    assert 'data-code="already_admitted"' in scans
    assert "정문" in scans
    assert "수동" in scans
    assert "이미 입장" in scans  # the code in words
    mails = html.split('id="mails"')[1].split("</table>")[0]
    assert 'data-outcome="sent"' in mails
    assert 'data-email-status="sent"' in html
    assert 'id="consent"' in html
    assert "스태프 등록" in html
    english = client.get(f"/events/{event_id}/participants/{minjun}?lang=en").text
    assert "Scans" in english
    assert "Check in by hand" in english
    assert "Cancel registration" in english


def test_actions_cancel_resend_reissue_and_check_in_by_hand_show_their_results_and_refusals(
    app_client: TestClient,
    admin_key: str,
    event: dict[str, Any],
    gate: dict[str, Any],
    people: list[dict[str, Any]],
) -> None:
    client = app_client
    event_id, minjun = event["id"], people[0]["id"]
    client.post(f"/api/v1/events/{event_id}/status", json={"status": "live"})
    token_before = people[0]["token"]
    sign_in(client, admin_key)
    base = f"/events/{event_id}/participants/{minjun}"

    checked = post_form(client, f"{base}/check-in?lang=en", {"gate_id": gate["id"], "nonce": "n1"}, page=base)
    assert checked.status_code == 303, checked.text
    shown = client.get(checked.headers["location"]).text
    assert 'data-result="admitted"' in shown
    assert 'data-check-in="inside"' in shown
    again = post_form(client, f"{base}/check-in?lang=en", {"gate_id": gate["id"], "nonce": "n2"}, page=base)
    shown = client.get(again.headers["location"]).text
    assert 'data-result="denied"' in shown
    assert 'data-code="already_admitted"' in shown

    resent = post_form(client, f"{base}/resend?lang=en", {}, page=base)
    assert resent.status_code == 303
    assert 'data-done="resent"' in client.get(resent.headers["location"]).text

    confirm = client.get(f"{base}/reissue?lang=en")
    assert confirm.status_code == 200
    assert "stops working" in confirm.text
    reissued = post_form(client, f"{base}/reissue?lang=en", {}, page=f"{base}/reissue")
    assert reissued.status_code == 303
    assert client.get(f"/api/v1/participants/{minjun}").json()["token"] != token_before

    confirm = client.get(f"{base}/cancel?lang=ko")
    assert confirm.status_code == 200
    assert "취소할까요" in confirm.text
    cancelled = post_form(client, f"{base}/cancel?lang=en", {}, page=f"{base}/cancel")
    assert cancelled.status_code == 303
    page = client.get(cancelled.headers["location"]).text
    assert 'data-done="cancelled"' in page
    assert 'data-status="cancelled"' in page
    assert post_form(client, f"{base}/cancel?lang=en", {}, page=base).status_code == 303  # harmless twice
    refused = post_form(client, f"{base}/resend?lang=en", {}, page=base)
    assert refused.status_code == 409
    assert 'role="alert" data-code="participant_cancelled"' in refused.text
    refused = post_form(client, f"{base}/reissue?lang=ko", {}, page=base)
    assert refused.status_code == 409
    assert 'data-code="participant_cancelled"' in refused.text
    denied = post_form(client, f"{base}/check-in?lang=en", {"gate_id": gate["id"], "nonce": "n3"}, page=base)
    shown = client.get(denied.headers["location"]).text
    assert 'data-result="denied"' in shown
    assert 'data-code="' in shown


def test_actions_are_refused_without_the_pages_csrf_token(
    app_client: TestClient, admin_key: str, event: dict[str, Any], people: list[dict[str, Any]]
) -> None:
    sign_in(app_client, admin_key)
    minjun = people[0]["id"]
    path = f"/events/{event['id']}/participants/{minjun}/cancel?lang=en"
    answer = app_client.post(path, data={"csrf_token": "0" * 64}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 403
    assert "<html" in answer.text
    new = app_client.post(
        f"/events/{event['id']}/participants/new", data={"name": "x"}, headers=ORIGIN, follow_redirects=False
    )
    assert new.status_code == 403
    app_client.headers["Authorization"] = f"Bearer {admin_key}"
    assert app_client.get(f"/api/v1/participants/{minjun}").json()["status"] == "registered"


def test_adding_by_hand_shows_coded_errors_beside_fields_in_korean_and_english_and_keeps_values(
    app_client: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    assert app_client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"}).status_code == 200
    sign_in(app_client, admin_key)
    path = f"/events/{event['id']}/participants/new"
    form = app_client.get(f"{path}?lang=ko")
    assert form.status_code == 200
    for name in (
        "name",
        "email",
        "phone",
        "birth_date",
        "region",
        "organization",
        "gender",
        "consent_required",
    ):
        assert f'name="{name}"' in form.text
    bad = {"name": "", "email": "not-an-email", "phone": "12", "region": "서울", "consent_required": "yes"}
    refused = post_form(app_client, f"{path}?lang=ko", bad, page=path)
    assert refused.status_code == 422
    html = refused.text
    assert re.search(r'id="name-error" data-code="missing_field">필수 항목입니다', html)
    assert 'id="email-error" data-code="invalid_email"' in html
    assert "이메일 주소가 올바르지 않습니다" in html
    assert 'id="phone-error" data-code="' in html
    assert 'value="not-an-email"' in html
    assert 'value="서울"' in html
    english = post_form(app_client, f"{path}?lang=en", bad, page=path)
    assert 'id="email-error" data-code="invalid_email">The email address is not valid.' in english.text

    no_consent = {"name": "최유진", "email": "yujin@example.com"}
    refused = post_form(app_client, f"{path}?lang=en", no_consent, page=path)
    assert refused.status_code in (409, 422)
    assert 'data-code="consent_required"' in refused.text

    good = {**no_consent, "phone": "010-5555-0000", "consent_required": "yes"}
    added = post_form(app_client, f"{path}?lang=en", good, page=path)
    assert added.status_code == 303
    page = app_client.get(added.headers["location"]).text
    assert 'data-done="added"' in page
    assert "최유진" in page
    duplicate = post_form(app_client, f"{path}?lang=en", good, page=path)
    assert duplicate.status_code in (409, 422)
    assert 'data-code="' in duplicate.text


def test_pages_refuse_keys_outside_their_scope_and_unknown_ids_as_html(
    app_client: TestClient,
    admin_key: str,
    turnout: Turnout,
    client: TestClient,
    event: dict[str, Any],
    gate: dict[str, Any],
    people: list[dict[str, Any]],
) -> None:
    other = client.post("/api/v1/events", json={**EVENT_BODY, "name": "다른 행사"}).json()
    with turnout.uow() as uow:
        outsider = create_key(uow, actor="t", name="s", role=Role.STAFF, event_id=other["id"]).key
        gate_key = create_key(
            uow, actor="t", name="g", role=Role.GATE, event_id=event["id"], gate_id=gate["id"]
        ).key
        uow.commit()
    minjun = people[0]["id"]
    sign_in(app_client, outsider)
    for path in ("", f"/{minjun}", "/new"):
        answer = app_client.get(f"/events/{event['id']}/participants{path}?lang=ko")
        assert answer.status_code == 403
        assert "<html" in answer.text
    app_client.headers["Authorization"] = f"Bearer {gate_key}"
    assert app_client.get(f"/events/{event['id']}/participants").status_code == 403
    app_client.headers["Authorization"] = f"Bearer {admin_key}"
    missing = app_client.get(f"/events/{event['id']}/participants/no-such-person?lang=en")
    assert missing.status_code == 404
    assert "<html" in missing.text
    elsewhere = app_client.get(f"/events/{other['id']}/participants/{minjun}")
    assert elsewhere.status_code == 404  # a participant of another event is not found here
    assert app_client.get("/events/no-such-event/participants").status_code == 404
    signed_out = TestClient(app_client.app).get(f"/events/{event['id']}/participants")
    assert signed_out.status_code == 401
    assert 'name="key"' in signed_out.text


def test_csrf_token_of_the_list_page_is_the_sessions(
    app_client: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    sign_in(app_client, admin_key)
    page = app_client.get(f"/events/{event['id']}/participants/new").text
    assert csrf_of(page)
