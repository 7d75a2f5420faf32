"""The gate scanner page: sign-in, and a real browser (Debian's chromium through Playwright) scanning."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.attendance_support import add_gate, add_participants, live_event, set_participant
from tests.conftest import require_service
from tests.e2e.test_auth_table import make_key
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
# screenshots the browser tests keep (CI keeps test-results/): Korean must show as Korean, not boxes
RESULTS = Path(__file__).resolve().parents[2] / "test-results"


def keep_screenshot(page: Any, name: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def test_scan_page_asks_for_a_key_when_not_signed_in(app_client: TestClient) -> None:
    response = app_client.get("/scan?lang=en")
    assert response.status_code == 200
    assert 'action="/scan/signin?lang=en"' in response.text


def test_scan_page_refuses_a_bad_key_with_the_form_again(app_client: TestClient) -> None:
    response = app_client.post("/scan/signin?lang=ko", data={"key": "trn_nope_nope"}, follow_redirects=False)
    assert response.status_code == 401
    assert "게이트 키가 올바르지 않습니다." in response.text


def test_gate_key_signs_in_and_sees_its_gate_only(app_client: TestClient, turnout: Turnout) -> None:
    event_id = live_event(turnout)
    mine = add_gate(turnout, event_id, name="동문")
    add_gate(turnout, event_id, name="서문")
    key = make_key(turnout, Role.GATE, event_id, mine)
    response = app_client.post("/scan/signin?lang=en", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303
    page = app_client.get("/scan?lang=en")
    assert page.status_code == 200
    assert "동문" in page.text
    assert "서문" not in page.text
    assert 'id="code"' in page.text


@pytest.fixture
def served(turnout: Turnout) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread), for the browser."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(turnout), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        require_service(
            "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_phone_scanner_shows_green_amber_and_red_answers(turnout: Turnout, served: str, browser: Any) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id, name="정문")
    (_, good), (cancelled_id, cancelled) = add_participants(turnout, event_id, 2, prefix="홍길동")
    set_participant(turnout, cancelled_id, status="cancelled")
    key = make_key(turnout, Role.GATE, event_id, gate_id)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="ko-KR"
    )
    page = context.new_page()

    page.goto(f"{served}/scan")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    assert page.evaluate("document.activeElement.id") == "code"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.keyboard.type(good)
    page.keyboard.press("Enter")
    page.wait_for_selector("#result.ok", state="visible")
    assert page.text_content("#result-title") == "입장 확인"
    assert page.text_content("#result-name") == "홍길동 0"
    page.click("#result")
    page.wait_for_selector("#result.ok", state="hidden")

    page.fill("#code", good)
    page.press("#code", "Enter")
    page.wait_for_selector("#result.warn", state="visible")
    assert page.text_content("#result-reason") == "이미 입장한 참가자입니다."
    page.click("#result")

    page.fill("#code", cancelled)
    page.press("#code", "Enter")
    page.wait_for_selector("#result.bad", state="visible")
    assert page.text_content("#result-reason") == "취소된 참가 신청입니다."
    assert page.text_content("#result-name") == "홍길동 1"
    context.close()


# getUserMedia refusing as a browser would; BarcodeDetector where headless chromium has none
CAMERA_REFUSED = """
window.BarcodeDetector = class { async detect() { return []; } };
if (navigator.mediaDevices) {
  navigator.mediaDevices.getUserMedia = async () => {
    throw new DOMException("Permission denied", "NotAllowedError");
  };
}
"""


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_korean_scanner_says_exit_refused_and_explains_failures_in_korean(
    turnout: Turnout, served: str, browser: Any
) -> None:
    event_id = live_event(turnout)
    add_gate(turnout, event_id, name="정문")
    people = add_participants(turnout, event_id, 2, prefix="홍길동")
    key = make_key(turnout, Role.STAFF, event_id)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    context.add_init_script(CAMERA_REFUSED)
    page = context.new_page()
    page.goto(f"{served}/scan?lang=ko")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")

    # an exit refused says so (not "입장 불가")
    page.click("#directions button[data-direction=out]")
    page.fill("#code", people[0][1])
    page.press("#code", "Enter")
    page.wait_for_selector("#result.warn", state="visible")
    assert page.text_content("#result-title") == "퇴장 불가"
    assert page.text_content("#result-reason") == "입장 기록이 없어 퇴장할 수 없습니다."
    keep_screenshot(page, "scanner-ko.png")
    page.click("#result")

    # the manual search shows phones as people write them, and a failure in words, not a status
    page.fill("#search", "홍길동")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#matches button")
    found = page.text_content("#matches")
    assert "010-0000-0001" in found
    assert "+82" not in found
    assert "입장 처리" in found
    page.route("**/participants?*", lambda route: route.fulfill(status=503, body="{}"))
    page.click("#search-form button[type=submit]")
    from playwright.sync_api import expect

    expect(page.locator("#matches")).to_have_text("서버에 문제가 생겼습니다. 잠시 후 다시 시도해 주십시오.")
    page.route("**/participants?*", lambda route: route.fulfill(status=401, body="{}"))
    page.click("#search-form button[type=submit]")
    expect(page.locator("#matches")).to_have_text("로그인이 만료되었습니다. 다시 로그인해 주십시오.")

    # a camera the browser refuses: the reason in Korean, not "NotAllowedError: …"
    page.click("#camera")
    expect(page.locator("#status")).to_have_text(
        "카메라 사용이 허용되지 않았습니다. 브라우저의 사이트 설정에서 카메라를 허용해 주십시오."
    )
    context.close()
