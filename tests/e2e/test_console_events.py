"""The console's events pages: the list at ``/``, create and edit, the lifecycle with its confirm
step, and the event page with today's figures, driven as a browser drives them (a session from the
sign-in form, the pages' CSRF tokens, the API's field names)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.attendance_support import add_gate, add_participants, set_participant
from tests.conftest import EVENT_BODY
from tests.console_support import ORIGIN, csrf_of, post_form, sign_in
from tests.fakes import FakeClock
from turnout.adapters.db.statistics_store import SqlStatistics
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.events import EventStatus, allowed_transitions
from turnout.ports import EventCounts
from turnout.services.keys import create_key

FORM = {
    "name": "부산 디자인 위크",
    "starts_at": "2026-07-01T09:30",
    "ends_at": "2026-07-03T18:00",
    "timezone": "Asia/Seoul",
    "venue": "벡스코",
    "capacity": "1200",
    "min_age": "14",
    "locale": "ko",
    "privacy_contact": "privacy@example.kr",
}


def submit(client: TestClient, path: str, data: dict[str, str], *, page: str | None = None) -> httpx.Response:
    """``post_form`` with the answer typed."""
    return cast(httpx.Response, post_form(client, path, data, page=page))


def key_for(turnout: Turnout, role: Role, event_id: str | None = None, gate_id: str | None = None) -> str:
    with turnout.uow() as uow:
        issued = create_key(
            uow, actor="test", name=f"{role.value} key", role=role, event_id=event_id, gate_id=gate_id
        )
        uow.commit()
    return issued.key


def created_event_id(answer: Any) -> str:
    assert answer.status_code == 303, answer.text[:2000]
    found = re.match(r"/events/([^/?]+)\?lang=", answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def api_event(turnout: Turnout, client: TestClient, event_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/events/{event_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def error_codes(html: str) -> dict[str, list[str]]:
    """The coded errors beside each field of a refused form: ``{field: [code, ...]}``."""
    found: dict[str, list[str]] = {}
    for name, code in re.findall(r'<p class="field-error" id="([\w]+)-error" data-code="(\w+)"', html):
        found.setdefault(name, []).append(code)
    return found


def steps_offered(html: str) -> set[str]:
    return set(re.findall(r'data-step="(\w+)"', html))


@pytest.fixture
def admin(app_client: TestClient, admin_key: str) -> TestClient:
    """A browser of its own signed in with an admin key (a session cookie, no bearer header), beside
    the API client of the ``client`` fixture."""
    browser = TestClient(app_client.app, raise_server_exceptions=False)
    sign_in(browser, admin_key)
    return browser


# --- the list ----------------------------------------------------------------------------------------


def test_event_list_shows_status_dates_and_counts_when_an_admin_signs_in(
    client: TestClient, turnout: Turnout, admin_key: str, event: dict[str, Any]
) -> None:
    other = client.post(
        "/api/v1/events", json={**EVENT_BODY, "name": "도쿄 행사", "timezone": "Asia/Tokyo"}
    ).json()
    people = add_participants(turnout, event["id"], 3)
    set_participant(turnout, people[0][0], first_checked_in_at=datetime(2026, 6, 1, tzinfo=UTC))
    set_participant(
        turnout, people[2][0], status="cancelled", first_checked_in_at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    sign_in(client, admin_key)
    page = client.get("/?lang=en")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr data-event-id="([^"]+)">(.*?)</tr>', page.text, re.S))
    assert set(rows) == {event["id"], other["id"]}
    assert f'href="/events/{event["id"]}?lang=en"' in rows[event["id"]]
    assert 'data-count="registered">2<' in rows[event["id"]]  # the cancelled one is not counted
    assert 'data-count="checked_in">1<' in rows[event["id"]]
    assert 'data-count="registered">0<' in rows[other["id"]]
    assert 'data-status="draft"' in rows[event["id"]]
    assert re.search(r">2026-06-01 09:00</time> – <time[^>]*>2026-06-01 18:00<", rows[event["id"]])  # Seoul's
    assert "2026-06-01 09:00 JST" in rows[other["id"]]
    assert 'data-action="new-event"' in page.text
    # signing out still works from the list
    signed_out = client.post("/signout", data={"csrf_token": csrf_of(page.text)}, headers=ORIGIN)
    assert "API key" in client.get("/?lang=en").text or signed_out.status_code == 200


def test_event_list_counts_every_event_in_one_query_when_many_are_listed(
    client: TestClient, turnout: Turnout, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [
        client.post("/api/v1/events", json={**EVENT_BODY, "name": f"행사 {n}"}).json()["id"] for n in range(4)
    ]
    for n, event_id in enumerate(ids):
        add_participants(turnout, event_id, n + 1)
    calls: list[int] = []
    original = SqlStatistics.event_counts

    def counted(self: SqlStatistics, event_ids: Sequence[str]) -> dict[str, EventCounts]:
        calls.append(len(event_ids))
        return original(self, event_ids)

    monkeypatch.setattr(SqlStatistics, "event_counts", counted)
    sign_in(client, admin_key)
    page = client.get("/?lang=en").text
    assert calls == [4]
    for n, event_id in enumerate(ids):
        row = re.search(rf'<tr data-event-id="{event_id}">(.*?)</tr>', page, re.S)
        assert row is not None
        assert f'data-count="registered">{n + 1}<' in row.group(1)


def test_staff_key_lists_only_its_event_and_cannot_create_one(
    app_client: TestClient, turnout: Turnout, client: TestClient, event: dict[str, Any]
) -> None:
    other = client.post("/api/v1/events", json={**EVENT_BODY, "name": "남의 행사"}).json()
    sign_in(app_client, key_for(turnout, Role.STAFF, event["id"]))
    page = app_client.get("/?lang=en")
    assert event["name"] in page.text
    assert "남의 행사" not in page.text
    assert 'data-action="new-event"' not in page.text
    for answer in (
        app_client.get("/events/new?lang=en"),
        app_client.post(
            "/events/new?lang=en", data={**FORM, "csrf_token": csrf_of(page.text)}, headers=ORIGIN
        ),
        app_client.get(f"/events/{other['id']}?lang=en"),
        app_client.get(f"/events/{other['id']}/edit?lang=en"),
    ):
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert 'data-error-code="forbidden"' in answer.text
    assert app_client.get(f"/events/{event['id']}?lang=en").status_code == 200
    assert app_client.get(f"/events/{event['id']}/edit?lang=en").status_code == 200


def test_gate_key_is_sent_to_the_scanner_when_it_opens_console_pages(
    app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    key = key_for(turnout, Role.GATE, event["id"], gate["id"])
    app_client.headers.pop("Authorization", None)
    app_client.post("/signin", data={"key": key})
    for path in ("/", f"/events/{event['id']}", f"/events/{event['id']}/edit", "/events/new"):
        answer = app_client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/scan")


# --- create, edit, lifecycle -----------------------------------------------------------------------------


def test_event_is_created_edited_and_taken_through_its_lifecycle_when_driven_through_the_forms(
    admin: TestClient, client: TestClient, turnout: Turnout
) -> None:
    form = admin.get("/events/new?lang=en")
    assert form.status_code == 200
    for name in FORM:
        assert f'name="{name}"' in form.text
    assert '<option value="Asia/Seoul" selected>' in form.text
    event_id = created_event_id(submit(admin, "/events/new?lang=en", FORM))
    created = api_event(turnout, admin, event_id)
    assert created["name"] == FORM["name"]
    assert created["starts_at"] == "2026-07-01T09:30:00+09:00"  # read in the chosen zone
    assert (created["venue"], created["capacity"], created["min_age"], created["locale"]) == (
        "벡스코",
        1200,
        14,
        "ko",
    )
    with turnout.uow(readonly=True) as uow:
        stored = uow.events.get(event_id)
    assert stored is not None
    assert stored.settings["privacy_contact"] == "privacy@example.kr"

    page = admin.get(f"/events/{event_id}?lang=en")
    assert page.status_code == 200
    assert "2026-07-01 09:30" in page.text
    assert "privacy@example.kr" in page.text
    assert steps_offered(page.text) == {s.value for s in allowed_transitions(EventStatus.DRAFT)}

    edit = admin.get(f"/events/{event_id}/edit?lang=en")
    assert 'value="2026-07-01T09:30"' in edit.text
    assert 'value="벡스코"' in edit.text
    changed = {
        **FORM,
        "name": "부산 디자인 위크 2026",
        "timezone": "Asia/Tokyo",
        "capacity": "",
        "locale": "en",
    }
    answer = submit(admin, f"/events/{event_id}/edit?lang=en", changed)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/events/{event_id}")
    edited = api_event(turnout, admin, event_id)
    assert edited["name"] == "부산 디자인 위크 2026"
    assert (edited["timezone"], edited["starts_at"]) == ("Asia/Tokyo", "2026-07-01T09:30:00+09:00")
    assert (edited["capacity"], edited["locale"], edited["status"]) == (None, "en", "draft")
    assert "2026-07-01 09:30 JST" in admin.get(f"/events/{event_id}?lang=en").text

    for step in ("open", "live"):
        answer = submit(admin, f"/events/{event_id}/status", {"status": step}, page=f"/events/{event_id}")
        assert answer.status_code == 303
    assert api_event(turnout, admin, event_id)["status"] == "live"
    assert steps_offered(admin.get(f"/events/{event_id}").text) == {"closed", "cancelled"}

    # closing is asked again first; the box must be ticked
    asked = submit(
        admin, f"/events/{event_id}/status?lang=en", {"status": "closed"}, page=f"/events/{event_id}"
    )
    assert asked.status_code == 200
    assert 'data-confirm="closed"' in asked.text
    assert 'name="confirm"' in asked.text
    assert api_event(turnout, admin, event_id)["status"] == "live"
    unticked = submit(
        admin,
        f"/events/{event_id}/status?lang=en",
        {"status": "closed", "asked": "yes"},
        page=f"/events/{event_id}",
    )
    assert unticked.status_code == 422
    assert 'data-code="confirm_required"' in unticked.text
    assert api_event(turnout, admin, event_id)["status"] == "live"
    confirmed = submit(
        admin,
        f"/events/{event_id}/status?lang=en",
        {"status": "closed", "asked": "yes", "confirm": "yes"},
        page=f"/events/{event_id}",
    )
    assert confirmed.status_code == 303
    assert api_event(turnout, admin, event_id)["status"] == "closed"
    assert steps_offered(admin.get(f"/events/{event_id}").text) == {"archived", "cancelled"}

    archived = submit(
        admin,
        f"/events/{event_id}/status",
        {"status": "archived", "asked": "yes", "confirm": "yes"},
        page=f"/events/{event_id}",
    )
    assert archived.status_code == 303
    assert steps_offered(admin.get(f"/events/{event_id}").text) == set()
    assert "disabled" in admin.get(f"/events/{event_id}/edit").text  # archived: read-only
    refused = submit(admin, f"/events/{event_id}/edit?lang=en", FORM)
    assert refused.status_code == 409
    assert 'data-code="event_read_only"' in refused.text


def test_cancelling_is_confirmed_and_then_done_when_the_box_is_ticked(
    admin: TestClient, client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    path = f"/events/{event['id']}/status?lang=ko"
    asked = submit(admin, path, {"status": "cancelled"}, page=f"/events/{event['id']}")
    assert asked.status_code == 200
    assert "행사를 취소할까요?" in asked.text
    done = submit(
        admin, path, {"status": "cancelled", "asked": "yes", "confirm": "yes"}, page=f"/events/{event['id']}"
    )
    assert done.status_code == 303
    assert api_event(turnout, admin, event["id"])["status"] == "cancelled"


def test_refused_form_shows_each_code_beside_its_field_and_keeps_the_values_when_posted(
    admin: TestClient,
) -> None:
    bad = {
        **FORM,
        "name": "",
        "capacity": "-1",
        "min_age": "200",
        "timezone": "Mars/Olympus",
        "starts_at": "어제",
    }
    answer = submit(admin, "/events/new?lang=en", bad)
    assert answer.status_code == 422
    html = answer.text
    assert error_codes(html) == {
        "name": ["missing_field"],
        "starts_at": ["invalid_datetime"],
        "timezone": ["invalid_timezone"],
        "capacity": ["too_small"],
        "min_age": ["too_large"],
    }
    assert 'value="벡스코"' in html
    assert 'value="-1"' in html
    assert 'value="어제"' in html
    assert "This field is required." in html
    # the rules across fields are the service's, as in the API
    reversed_times = {**FORM, "ends_at": "2026-07-01T09:00"}
    answer = submit(admin, "/events/new?lang=ko", reversed_times)
    assert answer.status_code == 422
    assert error_codes(answer.text) == {"ends_at": ["ends_before_start"]}
    assert "종료 시각은 시작 시각보다 뒤여야 합니다." in answer.text
    too_long = submit(admin, "/events/new?lang=en", {**FORM, "privacy_contact": "x" * 301, "name": "y" * 201})
    assert error_codes(too_long.text) == {"name": ["too_long"], "privacy_contact": ["too_long"]}


def test_refused_transition_shows_the_coded_message_when_a_step_is_not_allowed(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    for target in ("live", "archived", "nonsense", "x" * 500):
        answer = submit(
            admin, f"/events/{event['id']}/status?lang=en", {"status": target}, page=f"/events/{event['id']}"
        )
        known = target in ("live", "archived")
        expected = ("invalid_transition", 409) if known else ("invalid_value", 422)
        assert answer.status_code == expected[1], target
        assert f'data-code="{expected[0]}"' in answer.text
    assert (
        "The event cannot go from ‘Draft’ to ‘Live’"
        in submit(
            admin, f"/events/{event['id']}/status?lang=en", {"status": "live"}, page=f"/events/{event['id']}"
        ).text
    )
    assert api_event(turnout, admin, event["id"])["status"] == "draft"


def test_forms_are_refused_without_the_pages_csrf_token(admin: TestClient, event: dict[str, Any]) -> None:
    for path, data in (
        ("/events/new", FORM),
        (f"/events/{event['id']}/edit", FORM),
        (f"/events/{event['id']}/status", {"status": "open"}),
    ):
        answer = admin.post(
            path, data={**data, "csrf_token": "00" * 16}, headers=ORIGIN, follow_redirects=False
        )
        assert answer.status_code == 403, path
        assert 'data-error-code="csrf_failed"' in answer.text
    assert admin.get(f"/api/v1/events/{event['id']}").json()["status"] == "draft"


# --- the event page ----------------------------------------------------------------------------------------


def test_event_page_shows_todays_figures_in_the_events_zone(
    client: TestClient, turnout: Turnout, clock: FakeClock, admin_key: str
) -> None:
    clock.set(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))  # 10:00 in Seoul, on 2 June
    event_id = client.post(
        "/api/v1/events", json={**EVENT_BODY, "ends_at": "2026-06-03T18:00:00+09:00"}
    ).json()["id"]
    for status in ("open", "live"):
        client.post(f"/api/v1/events/{event_id}/status", json={"status": status})
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 5)
    yesterday = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 23:00 on 1 June in Seoul
    set_participant(
        turnout, people[4][0], check_in_status="exited", first_checked_in_at=yesterday, last_scan_at=yesterday
    )
    for _, token in people[:3]:
        scan = {"token": token, "gate_id": gate_id, "method": "qr", "direction": "in"}
        assert client.post(f"/api/v1/events/{event_id}/attendance", json=scan).json()["result"] == "admitted"
    again = {"token": people[0][1], "gate_id": gate_id, "method": "qr", "direction": "in"}
    assert client.post(f"/api/v1/events/{event_id}/attendance", json=again).json()["result"] == "denied"
    out = {"token": people[1][1], "gate_id": gate_id, "method": "qr", "direction": "out"}
    assert client.post(f"/api/v1/events/{event_id}/attendance", json=out).json()["result"] == "exited"
    sign_in(client, admin_key)
    page = client.get(f"/events/{event_id}?lang=en")
    assert page.status_code == 200
    figures = dict(re.findall(r'data-figure="(\w+)"><div class="value">([\d,]+)<', page.text))
    assert figures == {
        "registered": "5",
        "came_today": "3",
        "inside": "2",
        "scans_today": "5",
        "denied_today": "1",
    }
    assert "Today (2026-06-02)" in page.text
    for path in (
        "participants",
        "import",
        "gates",
        "mail",
        "integrations",
        "deliveries",
        "sagas",
        "alerts",
        "dashboard",
        "register",
        "privacy",
    ):
        assert f'href="/events/{event_id}/{path}?lang=en"' in page.text, path
    assert 'href="/scan?lang=en"' in page.text


def test_event_page_speaks_korean_and_english_when_asked(admin: TestClient, event: dict[str, Any]) -> None:
    ko = admin.get(f"/events/{event['id']}?lang=ko")
    assert ko.status_code == 200
    assert '<html lang="ko">' in ko.text
    assert "오늘 입장" in ko.text
    assert "신청 받기 시작" in ko.text
    assert "코엑스" in ko.text
    en = admin.get(f"/events/{event['id']}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Checked in today" in en.text
    assert "Open registration" in en.text
    form = admin.get("/events/new?lang=ko").text
    assert "새 행사 만들기" in form
    assert "서울 (+09:00)" in form


def test_event_page_answers_html_pages_when_not_found_or_not_signed_in(
    app_client: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    app_client.headers.pop("Authorization", None)
    anonymous = app_client.get(f"/events/{event['id']}?lang=en")
    assert anonymous.status_code == 401
    assert 'name="next"' in anonymous.text
    sign_in(app_client, admin_key)
    for path in ("/events/no-such-event", "/events/no-such-event/edit"):
        missing = app_client.get(f"{path}?lang=ko")
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
        assert 'data-error-code="event_not_found"' in missing.text
        assert "행사를 찾을 수 없습니다." in missing.text


def test_open_alerts_show_as_a_banner_on_the_event_page(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    from turnout.services.alerts import raise_alert

    with turnout.uow() as uow:
        raise_alert(uow, event_id=event["id"], saga_id="saga-1", code="compensation_failed", details={})
        uow.commit()
    page = admin.get(f"/events/{event['id']}?lang=en")
    assert 'data-open-alerts="1"' in page.text


def test_refused_form_and_confirm_page_speak_only_the_pages_language(
    admin: TestClient, event: dict[str, Any]
) -> None:
    from tests.e2e.test_korean_pages import HANGUL, latin_words, visible

    for lang in ("ko", "en"):
        refused = submit(admin, f"/events/new?lang={lang}", {**FORM, "name": "", "capacity": "-1"})
        asked = submit(
            admin,
            f"/events/{event['id']}/status?lang={lang}",
            {"status": "cancelled"},
            page=f"/events/{event['id']}",
        )
        assert (refused.status_code, asked.status_code) == (422, 200)
        for html in (refused.text, asked.text):
            chunks, _ = visible(html)
            if lang == "ko":
                assert not [word for chunk in chunks for word in latin_words(chunk)]
            else:
                user_data = (str(event["name"]), FORM["venue"], "한국어")
                shown = [chunk for chunk in chunks if not any(data in chunk for data in user_data)]
                assert not [chunk for chunk in shown if HANGUL.search(chunk)]
