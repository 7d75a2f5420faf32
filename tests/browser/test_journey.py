"""The whole organiser journey in a real browser, on a desktop (English, SQLite) and a phone (Korean,
PostgreSQL) (issue 18, item 10):

sign in at ``/`` → create an event (a refused form first: its errors beside the fields, the values
kept) → add a gate → import a CSV with bad rows (preview, start), read the refused rows, download
``errors.csv`` → open the event → go live → make a gate key → in a second browser, sign in on
``/scan`` with that key and check someone in → see the dashboard's checked-in count move → cancel a
participant and see it on their page.

Fields are found by their ``name`` (the API's field names, which the issue fixes), buttons and links
by their role and the catalogue's words in the page's language. Each step keeps a screenshot
(``test-results/<test>/<nn>-<step>.png``); a failure names the step and the steps that passed.
axe-core checks the pages met on the way (refused forms and results included).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LOCALE_OF, OpenContext, Server, Shot
from tests.browser.support import BAD_CSV, BAD_LINES, assert_accessible, sign_in, words

SEOUL = ZoneInfo("Asia/Seoul")
KEY = re.compile(r"trn_[0-9a-f]{16}_[A-Za-z0-9_-]+")
EVENT_URL = re.compile(r"/events/(?!new\b)([0-9a-f-]{8,})")


class Steps:
    """Named steps: each keeps a screenshot when it passes; a failure says which step and what passed."""

    def __init__(self, shot: Shot) -> None:
        self.shot = shot
        self.passed: list[str] = []

    @contextmanager
    def __call__(self, name: str, page: Page) -> Iterator[None]:
        number = len(self.passed) + 1
        try:
            yield
        except Exception as error:
            self.shot(page, f"{number:02d}-{name}-FAILED")
            raise AssertionError(f"step {number} ({name}) failed; passed: {self.passed}\n{error}") from error
        self.shot(page, f"{number:02d}-{name}")
        self.passed.append(name)


def visit(page: Page, path: str) -> None:
    """Open ``path``; it must answer 200 (a page still to be built fails here, not on a timeout)."""
    response = page.goto(path)
    assert response is not None, path
    assert response.status == 200, (path, response.status)


def form_with(page: Page, field: str) -> Locator:
    """The form holding the field named ``field``."""
    return page.locator("form").filter(has=page.locator(f"[name={field}]")).first


def field_error(page: Page, name: str) -> Locator:
    """The coded error of the field named ``name``: an element with ``data-code`` among those its
    ``aria-describedby`` names."""
    field = page.locator(f"[name={name}]").first
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described, f"{name}: no aria-describedby on a refused field"
    return page.locator(", ".join(f"[id='{ref}'][data-code]" for ref in described)).first


def fill(form: Locator, values: dict[str, str | list[str]]) -> None:
    """Set each named field as a person would: type into inputs, pick options, tick boxes."""
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        kind = field.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        chosen = value if isinstance(value, list) else [value]
        if kind.startswith("select"):
            field.first.select_option(chosen if kind == "select:select-multiple" else chosen[0])
        elif kind in ("input:checkbox", "input:radio"):
            for box in field.all():
                wanted = box.get_attribute("value") in chosen
                if wanted or kind == "input:checkbox":
                    box.set_checked(wanted)
        else:
            field.first.fill(chosen[0])


def submit(form: Locator, name: str | None = None) -> None:
    """Click the form's submit button (the one named ``name`` if given)."""
    if name is not None:
        form.get_by_role("button", name=name).click()
    else:
        form.locator("button[type=submit], button:not([type]), input[type=submit]").first.click()


def local(moment: datetime) -> str:
    """A ``datetime-local`` value in Seoul."""
    return moment.astimezone(SEOUL).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("server", "device"),
    # each database once and each device once: the database does not change what the browser
    # shows, nor the screen what is stored (and the full product would double the suite's time)
    [("sqlite", "desktop"), pytest.param("postgresql", "phone", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_organiser_journey(
    server: Server, open_context: OpenContext, device: str, shot: Shot, console_errors: list[str]
) -> None:
    locale = LOCALE_OF[device]
    say = words(locale)
    step = Steps(shot)
    page = open_context(device).new_page()
    name = f"행사 {device} {server.kind}"
    now = datetime.now(SEOUL)

    with step("sign-in", page):
        sign_in(page, server.admin_key, locale)
        assert_accessible(page, "/ (events)")

    with step("event-refused", page):
        visit(page, "/events/new")
        form = form_with(page, "starts_at")
        fields: dict[str, str | list[str]] = {
            "name": name,
            "starts_at": local(now + timedelta(hours=8)),
            "ends_at": local(now - timedelta(hours=1)),  # before it starts: refused
            "timezone": "Asia/Seoul",
            "venue": "코엑스 3층",
            "capacity": "50",
            "min_age": "0",
        }
        fill(form, fields)
        submit(form)
        error = field_error(page, "ends_at")  # beside its field, and read with it
        expect(error).to_be_visible()
        expect(error).to_have_attribute("data-code", re.compile(r"\w+"))
        expect(form_with(page, "name").locator("[name=name]")).to_have_value(name)  # the values kept
        assert_accessible(page, "/events/new (refused)")

    with step("event-created", page):
        form = form_with(page, "starts_at")
        fill(
            form,
            {
                **fields,
                "starts_at": local(now - timedelta(hours=1)),
                "ends_at": local(now + timedelta(hours=8)),
            },
        )
        submit(form)
        page.wait_for_url(EVENT_URL)
        found = EVENT_URL.search(page.url)
        assert found is not None, page.url
        event_id = found.group(1)
        with server.api() as api:
            created = api.get(f"/events/{event_id}").json()
        assert created["name"] == name
        assert created["status"] == "draft"

    with step("gate-added", page):
        visit(page, f"/events/{event_id}/gates/new")
        form = form_with(page, "direction")
        fill(form, {"name": "정문", "direction": "in", "methods": ["qr", "manual"]})
        submit(form)
        page.wait_for_url(re.compile(rf"/events/{event_id}/gates"))
        expect(page.get_by_text("정문").first).to_be_visible()
        with server.api() as api:
            (gate,) = api.get(f"/events/{event_id}/gates").json()["items"]
        assert gate["direction"] == "in"
        assert set(gate["methods"]) == {"qr", "manual"}

    with step("import-preview", page):
        visit(page, f"/events/{event_id}/import")
        form = form_with(page, "file")
        form.locator("input[name=file]").set_input_files(
            {"name": "people.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode("cp949")}
        )
        submit(form)
        expect(page.locator("select[name=mapping]").first).to_be_visible()
        assert_accessible(page, "import preview")

    with step("import-refused-rows", page):
        form = form_with(page, "on_duplicate")
        if form.locator("[name=consent_basis]").count():
            fill(form, {"consent_basis": "collected_elsewhere"})
        submit(form, say("import.start"))
        section = page.get_by_role("region", name=say("import.errors.heading"))
        refused = section.locator("tbody").get_by_role("row")
        expect(refused).to_have_count(len(BAD_LINES), timeout=20_000)
        shown = refused.all_inner_texts()
        assert any("not-an-email" in row for row in shown), shown
        for line in BAD_LINES:
            assert any(re.search(rf"\b{line}\b", row) for row in shown), (line, shown)
        assert_accessible(page, "import summary")

    with step("errors-csv", page):
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile(r"errors\.csv")).first.click()
        download = download_info.value
        assert download.suggested_filename.endswith(".csv")
        body = Path(download.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        assert len(rows) == 1 + len(BAD_LINES), rows
        assert any("not-an-email" in row for row in rows)

    with step("open-and-live", page):
        visit(page, f"/events/{event_id}")
        for status in ("open", "live"):
            page.get_by_role("button", name=say(f"console.events.step.{status}")).click()
            page.wait_for_load_state()
            with server.api() as api:
                assert api.get(f"/events/{event_id}").json()["status"] == status
        assert_accessible(page, "event page (live)")

    with step("gate-key", page):
        visit(page, f"/events/{event_id}/keys")
        form = form_with(page, "gate_id")
        fill(form, {"gate_id": gate["id"], "name": "정문 폰"})
        submit(form)
        shown_key = KEY.search(page.locator("main").inner_text())
        assert shown_key is not None, "the new key is shown once"
        gate_key = shown_key.group(0)
        assert_accessible(page, "gate key made")

    with server.api() as api:
        people = api.get(f"/events/{event_id}/participants").json()["items"]
    by_name = {person["name"]: person for person in people}
    arriving, leaving = by_name["김민준"], by_name["이서연"]

    with step("dashboard-before", page):
        visit(page, f"/events/{event_id}/dashboard")
        checked_in = page.locator("[data-key=checked_in]").first
        expect(checked_in).to_have_text("0")

    scanner = open_context(device).new_page()
    with step("scan", scanner):
        scanner.goto("/scan")
        scanner.get_by_label(say("scan_key_label")).fill(gate_key)
        scanner.get_by_role("button", name=say("scan_sign_in_button")).click()
        code = scanner.locator("[name=code]")
        expect(code).to_be_focused()
        code.fill(arriving["token"])
        code.press("Enter")
        result = scanner.locator("#result")
        expect(result).to_contain_text(say("web.scan.admitted"))
        expect(result).to_contain_text("김민준")
        assert_accessible(scanner, "scan result")

    with step("dashboard-moved", page):
        expect(checked_in).to_have_text("1", timeout=15_000)

    with step("cancel", page):
        visit(page, f"/events/{event_id}/participants?q=이서연")
        page.get_by_role("link", name="이서연").first.click()
        page.wait_for_url(re.compile(rf"/participants/{leaving['id']}"))
        page.get_by_role("link", name=say("people.cancel")).click()
        assert_accessible(page, "participant (confirm cancel)")
        page.get_by_role("button", name=say("people.confirm_yes")).click()
        page.wait_for_load_state()
        expect(page.locator("[data-status]").first).to_have_text(say("participant_status.cancelled"))
        with server.api() as api:
            assert api.get(f"/participants/{leaving['id']}").json()["status"] == "cancelled"
        assert_accessible(page, "participant (cancelled)")

    assert not console_errors, console_errors
