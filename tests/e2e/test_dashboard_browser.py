"""The live dashboard in a real browser: the numbers come from the server-sent stats stream."""

from __future__ import annotations

from typing import Any

import pytest

from tests.attendance_support import add_gate, add_participants, live_event
from tests.e2e.test_auth_table import make_key
from tests.e2e.test_scanner_page import browser, keep_screenshot, served  # noqa: F401  (fixtures)
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.events import ScanMethod
from turnout.services.checkin import ScanInput


@pytest.mark.browser
def test_dashboard_shows_live_numbers_when_signed_in(served: str, browser: Any, turnout: Turnout) -> None:  # noqa: F811
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id, name="정문")
    people = add_participants(turnout, event_id, 5)
    desk = turnout.checkin
    for person in people[:3]:
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=person[1]))
    key = make_key(turnout, Role.STAFF, event_id)
    from playwright.sync_api import expect  # the browser fixture skips when there is no browser

    page = browser.new_page()
    page.goto(f"{served}/?lang=en")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.goto(f"{served}/events/{event_id}/dashboard?lang=en")
    # (no wait_for_function: its string is eval'd, which the page's CSP forbids, as it should)
    expect(page.locator("[data-key=registered]")).to_have_text("5", timeout=10_000)
    assert page.text_content("[data-key=checked_in]") == "3"
    assert page.text_content("[data-key=attendance_rate]") == "60.0%"
    assert "정문" in page.text_content("#by_gate")
    # a new scan reaches the open page without a reload
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[3][1]))
    expect(page.locator("[data-key=checked_in]")).to_have_text("4", timeout=10_000)


@pytest.mark.browser
def test_korean_dashboard_names_methods_and_email_states_in_korean(
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
    turnout: Turnout,
) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id, name="정문")
    people = add_participants(turnout, event_id, 3)
    desk = turnout.checkin
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1]))
    desk.scan(
        event_id=event_id,
        scan=ScanInput(gate_id=gate_id, participant_id=people[1][0], method=ScanMethod.MANUAL),
    )
    key = make_key(turnout, Role.STAFF, event_id)
    from playwright.sync_api import expect

    page = browser.new_page(locale="en-US")  # the page's language wins over the browser's
    page.goto(f"{served}/?lang=ko")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.goto(f"{served}/events/{event_id}/dashboard?lang=ko")
    expect(page.locator("[data-key=registered]")).to_have_text("3", timeout=10_000)
    expect(page.locator("#emails")).to_have_text("발송 전 3")
    methods = page.text_content("#by_method") or ""
    assert "QR" in methods
    assert "수동" in methods
    assert "MANUAL" not in methods
    expect(page.locator("#status")).to_contain_text(" 갱신")
    shown = page.text_content("#status") or ""
    assert "AM" not in shown  # a 24-hour clock in the event's zone
    assert "PM" not in shown
    keep_screenshot(page, "dashboard-ko.png")
