"""No English inside Korean pages (and no Korean inside English ones), over every page.

Each page in ``PAGES`` is rendered with ``?lang=ko`` (signed in where it needs a key) over an event
that has what the pages show: participants, scans at two gates, mail sent and refused, deliveries
with failed attempts, integrations (one turned off), an operator alert. The text a person sees —
text nodes, the title, ``title``/``placeholder``/``aria-label``/``alt`` and the value of buttons,
and every message the page's script may show (the ``strings`` of its JSON settings block) — may
hold no Latin-letter word outside ``ALLOWED``; ids, tokens, email addresses, URLs and numbers are
not words. Text inside ``<code>`` is exempt: it is what one types or reads verbatim (a command, an
id, a receiver's own answer). With ``?lang=en`` the same pages hold no Hangul beyond the user's
data (the event's Korean names) and the language switch.

A new page cannot be missed: ``test_every_page_route_is_scanned_or_excluded`` walks the app's
routes and fails on any GET page route (not under ``/api``, not in the OpenAPI schema) that is in
neither ``PAGES`` nor ``EXCLUDED``. To add a page: add its path (with ``{event_id}``, ``{token}``,
``{missing}`` as needed), the key it needs and the status it answers to ``PAGES``. Pages a form
post answers with (a refused registration, a refused sign-in) are in ``FORM_ANSWERS``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.attendance_support import add_participants, set_participant
from tests.conftest import EVENT_BODY
from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeSealer
from tests.integration.test_delivery_sender import SECRET, Receiver, run, sender
from tests.ticket_support import deliver
from turnout.bootstrap import Turnout, mail_sender
from turnout.domain.access import Role
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.ports import OutboundMessage
from turnout.services import integrations as integration_service
from turnout.services import mail_queue
from turnout.services.alerts import raise_alert
from turnout.services.keys import create_key

# (path, key it needs: None / "admin" / "staff", status it answers)
PAGES: list[tuple[str, str | None, int]] = [
    ("/", None, 200),  # the console's sign-in form
    ("/", "admin", 200),  # the console's event list
    ("/events/{event_id}/dashboard", "admin", 200),
    ("/events/{missing}/dashboard", "admin", 404),  # the console's error page
    ("/events/{event_id}/emails", "admin", 200),
    ("/events/{event_id}/deliveries", "admin", 200),
    ("/events/{event_id}/integrations", "admin", 200),
    ("/events/{event_id}/register", None, 200),
    ("/events/{missing}/register", None, 404),
    ("/scan", None, 200),  # the scanner's sign-in form
    ("/scan", "staff", 200),
    ("/t/{token}", None, 200),
    ("/t/{missing}", None, 404),
    # pages other parts of issue 17 add: scanned as soon as their routes are in the app
    ("/events/{event_id}/privacy", None, 200),
    ("/t/{token}/data", None, 200),
    # mail and operations (issue 18, items 6 and 6a)
    ("/events/{event_id}/sagas", "admin", 200),
    ("/events/{event_id}/alerts", "admin", 200),
    ("/events/{missing}/alerts", "admin", 404),
    # issue 18, gates and keys (pages with a gate's or key's id: tests/e2e/test_console_gates.py)
    ("/events/{event_id}/gates", "admin", 200),
    ("/events/{event_id}/gates", "staff", 200),
    ("/events/{missing}/gates", "admin", 404),
    ("/events/{event_id}/gates/new", "admin", 200),
    ("/events/{event_id}/keys", "admin", 200),
    ("/events/{event_id}/keys", "staff", 200),
    ("/scan/link", None, 200),
    # issue 18, events: the event page, its forms (the lifecycle's confirm page answers a form post)
    ("/events/{event_id}", "admin", 200),
    ("/events/{event_id}", "staff", 200),
    ("/events/{missing}", "admin", 404),
    ("/events/new", "admin", 200),
    ("/events/new", "staff", 403),
    ("/events/{event_id}/edit", "admin", 200),
    # console: import (issue 18 item 5); its preview, job and progress pages need an upload or an
    # import: tests/e2e/test_console_import.py scans them the same way (see EXCLUDED)
    ("/events/{event_id}/import", "admin", 200),
    ("/events/{event_id}/import", "staff", 200),
    ("/events/{missing}/import", "admin", 404),
    # dashboard (issue 18): the projector view, both ways of asking for it
    ("/events/{event_id}/dashboard/projector", "admin", 200),
    ("/events/{missing}/dashboard/projector", "admin", 404),
    # issue 18, participants: the list, a participant's page (scans, mail), its confirm steps, add by hand
    ("/events/{event_id}/participants", "admin", 200),
    ("/events/{event_id}/participants", "staff", 200),
    ("/events/{event_id}/participants/new", "staff", 200),
    ("/events/{event_id}/participants/{participant_id}", "admin", 200),
    ("/events/{event_id}/participants/{participant_id}", "staff", 200),
    ("/events/{event_id}/participants/{participant_id}/cancel", "staff", 200),
    ("/events/{event_id}/participants/{participant_id}/reissue", "staff", 200),
]
# Pages a form post answers with (its refusals): (path, form, status)
FORM_ANSWERS: list[tuple[str, dict[str, str], int]] = [
    (
        "/events/{event_id}/register",
        {"name": "", "email": "nope", "phone": "12", "birth_date": "2031-13-01", "submission_id": "s1"},
        422,
    ),
    ("/signin", {"key": "trn_nope_nope"}, 401),
    ("/scan/signin", {"key": "trn_nope_nope"}, 401),
]
EXCLUDED = {
    "/t/{token}/qr.png": "an image (no text)",
    "/openapi.json": "the API's machine-readable schema (JSON, English by design)",
    "/docs": "FastAPI's API reference for developers (Swagger UI)",
    "/docs/oauth2-redirect": "Swagger UI's sign-in helper",
    "/redoc": "FastAPI's API reference for developers (ReDoc)",
    # mail and operations (issue 18, items 6 and 6a)
    "/events/{event_id}/mail": "its editor holds the template's source (Jinja and HTML, typed verbatim): "
    "tests/e2e/test_console_mail.py scans it without the source fields",
    "/events/{event_id}/sagas/{saga_id}": "needs a saga: tests/e2e/test_console_ops.py scans it",
    # issue 18, gates and keys
    "/events/{event_id}/gates/{gate_id}/edit": "a gate's id in the path: scanned in test_console_gates.py",
    "/events/{event_id}/keys/{key_id}/revoke": "a key's id in the path: scanned in test_console_gates.py",
    # console: import (issue 18 item 5)
    "/events/{event_id}/import/uploads/{upload_id}": "needs an upload: scanned in Korean and English by "
    "tests/e2e/test_console_import.py",
    "/events/{event_id}/import/{import_id}": "needs an import: scanned in Korean and English by "
    "tests/e2e/test_console_import.py",
    "/events/{event_id}/import/{import_id}/progress": "a fragment of the import's page, which needs an "
    "import: scanned by tests/e2e/test_console_import.py",
    "/events/{event_id}/import/{import_id}/errors.csv": "a CSV download, not a page",
}
# Latin words a Korean page may hold: names of formats, standards and the product, and the
# language switch's "English" (a language is named in itself).
ALLOWED = {"QR", "BLE", "CSV", "Excel", "XLSX", "Turnout", "API", "URL", "ID", "English"}
LATIN_WORD = re.compile(r"[A-Za-z]+")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
NOT_WORDS = re.compile(
    r"\S+@\S+"  # email addresses
    r"|(?:https?://|/)\S+"  # URLs and paths
    r"|\S*\d\S*"  # ids, tokens, numbers, times
    r"|\{\w+\}"  # a placeholder the page's script fills in
)
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")

# The fixture's own data (what users typed): Korean, so an English page may show it.
GATES = ("정문", "동문")
PEOPLE = "홍길동"
STAFF_KEY_NAME = "데모 스태프"
ADMIN_KEY_NAME = "운영 관리자"


class VisibleText(HTMLParser):
    """The text a person sees on a page, and the strings its scripts may show."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip: list[str] = []  # open elements whose text is not shown (script, style, code)
        self.json_block = False
        self.script_strings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            if found.get(name):
                self.chunks.append(str(found[name]))
        shown_value = tag == "button" or (tag == "input" and found.get("type") in ("submit", "button"))
        if shown_value and found.get("value"):
            self.chunks.append(str(found["value"]))
        if tag in ("script", "style", "code"):
            self.skip.append(tag)
            self.json_block = tag == "script" and found.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()
            self.json_block = False

    def handle_data(self, data: str) -> None:
        if self.json_block:
            self.script_strings.extend(strings_of(json.loads(data).get("strings", {})))
        elif not self.skip:
            self.chunks.append(data)


def strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def visible(html: str) -> tuple[list[str], list[str]]:
    """The page's shown text chunks and its scripts' strings."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    chunks = [c.strip() for c in parser.chunks if c.strip()]
    return chunks, parser.script_strings


def latin_words(text: str) -> list[str]:
    return [w for w in LATIN_WORD.findall(NOT_WORDS.sub(" ", text)) if w not in ALLOWED]


@dataclass
class World:
    event_id: str
    token: str
    keys: dict[str, str]
    user_data: list[str] = field(default_factory=list)
    participant_id: str = ""  # the participant of ``token`` (participant pages)

    def fill(self, path: str) -> str:
        return path.format(
            event_id=self.event_id,
            token=self.token,
            missing="no-such-thing-0",
            participant_id=self.participant_id,
        )


@pytest.fixture
def world(client: TestClient, turnout: Turnout, clock: FakeClock, httpserver: HTTPServer) -> World:
    """An event like the demo's, built through the API and the services: gates, participants (one
    cancelled), admissions, an exit, refusals, ticket mail (sent and not), deliveries (one failing),
    integrations (one turned off) and an open operator alert."""
    event = client.post("/api/v1/events", json=EVENT_BODY).json()
    event_id = event["id"]
    gates = [
        client.post(f"/api/v1/events/{event_id}/gates", json={"name": name, "direction": "both"}).json()["id"]
        for name in GATES
    ]
    for status in ("open", "live"):
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": status}).status_code == 200
    people = add_participants(turnout, event_id, 4, prefix=PEOPLE)
    with turnout.uow() as uow:
        for participant_id, _ in people:
            mail_queue.resend_ticket(
                uow, participant_id=participant_id, actor="test", mail_from=turnout.settings.mail_from
            )
        uow.commit()
    set_participant(turnout, people[3][0], status="cancelled")  # its mail is not sent: a reason shown
    deliver(turnout)
    asyncio.run(mail_sender(turnout).send_batch())
    scans = [
        {"token": people[0][1], "gate_id": gates[0], "method": "qr", "direction": "in"},
        {"participant_id": people[1][0], "gate_id": gates[1], "method": "manual", "direction": "in"},
        {"token": people[0][1], "gate_id": gates[0], "method": "qr", "direction": "out"},
        {"token": people[2][1], "gate_id": gates[0], "method": "qr", "direction": "out"},  # not inside
        {"token": people[3][1], "gate_id": gates[1], "method": "qr", "direction": "in"},  # cancelled
    ]
    for scan in scans:
        assert client.post(f"/api/v1/events/{event_id}/attendance", json=scan).status_code == 200
    receiver = Receiver(httpserver, lambda _r: Response("Service Unavailable", 503))
    with turnout.uow() as uow:
        now = uow.clock.now()
        for system in (IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP):
            uow.integrations.put(
                Integration(event_id, system, receiver.url, FakeSealer().seal(SECRET), True, None, now, now)
            )
        uow.outbound.enqueue(
            [
                OutboundMessage(event_id, IntegrationSystem.GATE_MANAGEMENT.value, "participant.changed", {}),
                OutboundMessage(event_id, IntegrationSystem.ATTENDEE_APP.value, "event.status.changed", {}),
            ],
            now=now,
        )
        uow.commit()
    run(sender(turnout, concurrency=1))
    with turnout.uow() as uow:
        integration_service.disable_integration(
            uow, actor="test", event_id=event_id, system=IntegrationSystem.ATTENDEE_APP.value
        )
        raise_alert(
            uow,
            event_id=event_id,
            saga_id="saga-0001",
            code="compensation_failed",
            details={
                "saga_kind": "transfer",
                "step": "notify_app",
                "attempts": 5,
                "error": "503 Service Unavailable",
                "resource": people[0][0],
            },
        )
        staff = create_key(uow, actor="test", name=STAFF_KEY_NAME, role=Role.STAFF, event_id=event_id)
        admin = create_key(uow, actor="test", name=ADMIN_KEY_NAME, role=Role.ADMIN)
        subjects = [job.subject or "" for job in mail_queue.list_jobs(uow, event_id=event_id, limit=10)]
        uow.commit()
    client.headers.pop("Authorization")
    return World(
        event_id=event_id,
        token=people[0][1],
        participant_id=people[0][0],
        keys={"admin": admin.key, "staff": staff.key},
        user_data=[
            str(EVENT_BODY["name"]),
            str(EVENT_BODY["venue"]),
            *GATES,
            *(f"{PEOPLE} {i}" for i in range(4)),
            STAFF_KEY_NAME,
            ADMIN_KEY_NAME,
            *subjects,  # mail as it was sent, in the participant's language
        ],
    )


def page_routes(client: TestClient) -> set[str]:
    """Every GET route that is a page: not under /api, not in the OpenAPI schema (included routers
    are walked: FastAPI keeps their routes on the wrapped router)."""

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for route in routes:
            if hasattr(route, "original_router"):
                router = route.original_router
                yield from walk(router.routes, prefix + router.prefix)
            else:
                yield prefix, route

    found = {
        prefix + route.path
        for prefix, route in walk(client.app.routes)  # type: ignore[attr-defined]
        if "GET" in (getattr(route, "methods", None) or ())
        and getattr(route, "include_in_schema", True) is False
        and not (prefix + route.path).startswith("/api/")
    }
    assert {"/", "/scan", "/t/{token}"} <= found, found  # an empty walk would let everything pass
    return found


def test_every_page_route_is_scanned_or_excluded(app_client: TestClient) -> None:
    listed = {path.replace("{missing}", "{token}") for path, _, _ in PAGES}
    listed |= {path.replace("{missing}", "{event_id}") for path, _, _ in PAGES}
    missing = page_routes(app_client) - listed - set(EXCLUDED)
    assert not missing, f"pages not in PAGES (nor EXCLUDED, with a reason): {sorted(missing)}"


def fetch(client: TestClient, world: World, path: str, key: str | None, lang: str) -> str:
    routes = page_routes(client)
    route = path.replace("{missing}", "{event_id}" if path.startswith("/events") else "{token}")
    if route not in routes:
        pytest.skip(f"{path}: the route is not in this build yet")
    headers = {"Authorization": f"Bearer {world.keys[key]}"} if key else {}
    response = client.get(world.fill(path), params={"lang": lang}, headers=headers)
    expected = next(status for p, k, status in PAGES if (p, k) == (path, key))
    assert response.status_code == expected, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "key"), [(p, k) for p, k, _ in PAGES])
def test_korean_page_has_no_english_when_rendered_with_lang_ko(
    app_client: TestClient, world: World, path: str, key: str | None
) -> None:
    chunks, script_strings = visible(fetch(app_client, world, path, key, "ko"))
    assert chunks, path
    leaks = {chunk: latin_words(chunk) for chunk in chunks + script_strings}
    assert not {chunk: words for chunk, words in leaks.items() if words}, path
    assert any(HANGUL.search(chunk) for chunk in chunks), path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "key"), [(p, k) for p, k, _ in PAGES])
def test_english_page_has_no_korean_beyond_user_data_when_rendered_with_lang_en(
    app_client: TestClient, world: World, path: str, key: str | None
) -> None:
    chunks, script_strings = visible(fetch(app_client, world, path, key, "en"))
    leaks = []
    for chunk in chunks + script_strings:
        text = chunk
        for data in sorted([*world.user_data, "한국어"], key=len, reverse=True):
            text = text.replace(data, " ")
        if HANGUL.search(text):
            leaks.append(chunk)
    assert not leaks, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("path", "form", "status"), FORM_ANSWERS)
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_pages_answering_a_form_speak_the_pages_language(
    app_client: TestClient, world: World, path: str, form: dict[str, str], status: int, lang: str
) -> None:
    response = app_client.post(world.fill(path), params={"lang": lang}, data=form, follow_redirects=False)
    assert response.status_code == status, response.text[:500]
    chunks, script_strings = visible(response.text)
    texts = chunks + script_strings
    if lang == "ko":
        assert not {chunk: latin_words(chunk) for chunk in texts if latin_words(chunk)}, path
    else:
        for data in sorted([*world.user_data, "한국어"], key=len, reverse=True):
            texts = [text.replace(data, " ") for text in texts]
        assert not [text for text in texts if HANGUL.search(text)], path


def test_the_scan_finds_english_in_text_attributes_and_script_strings() -> None:
    page = (
        '<p>입장 확인 · Signed in</p><input placeholder="Find"><code>turnout sagas retry</code>'
        '<script type="application/json">{"event_id": "abc", "strings": {"x": "Denied"}}</script>'
        "<p>QR · a@b.kr · https://x.example/a · 01JH2Z3 · 2026-06-01 09:00 · {time}</p>"
    )
    chunks, script_strings = visible(page)
    found = [w for chunk in chunks + script_strings for w in latin_words(chunk)]
    assert found == ["Signed", "in", "Find", "Denied"]


def test_times_are_in_the_events_zone_and_name_it_only_when_it_is_not_seoul(
    client: TestClient, turnout: Turnout
) -> None:
    seoul = client.post("/api/v1/events", json=EVENT_BODY).json()
    tokyo = client.post(
        "/api/v1/events", json={**EVENT_BODY, "name": "도쿄 행사", "timezone": "Asia/Tokyo"}
    ).json()
    page = client.get("/", params={"lang": "ko"}).text
    assert "2026-06-01 09:00 JST" in page
    assert "2026-06-01 09:00<" in page  # Seoul's: no zone after it
    assert "Asia/Seoul" not in page
    for event, note in ((seoul, None), (tokyo, "(JST)")):
        client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"})
        (person,) = add_participants(turnout, event["id"], 1)
        ticket = client.get(f"/t/{person[1]}", params={"lang": "ko"}).text
        assert "2026년 6월 1일 (월) 09:00 – 2026년 6월 1일 (월) 18:00" in ticket
        assert "Asia/" not in ticket
        if note:
            assert note in ticket
