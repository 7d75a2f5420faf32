"""Console sessions and browser protection: a server-side session id in the cookie (not the key),
its flags, sign-out, sign-in limits, CSRF tokens and the Origin check, the JSON API's rules for the
cookie, and the security headers."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.attendance_support import add_gate, live_event
from tests.conftest import EVENT_BODY
from tests.e2e.test_auth_table import make_key
from turnout.adapters.db import tables
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app
from turnout.entrypoints.web.session import COOKIE

ORIGIN = {"Origin": "http://testserver"}


def signed_in(client: TestClient, key: str, path: str = "/signin") -> str:
    answer = client.post(f"{path}?lang=en", data={"key": key}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.cookies[COOKIE])


def csrf_of(client: TestClient) -> str:
    page = client.get("/?lang=en")
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture
def browser(app_client: TestClient) -> TestClient:
    app_client.headers.pop("Authorization", None)
    return app_client


def test_cookie_holds_a_hashed_server_side_session_when_signed_in(
    browser: TestClient, turnout: Turnout, admin_key: str
) -> None:
    answer = browser.post("/signin?lang=en", data={"key": admin_key}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.cookies[COOKIE]
    secret = admin_key.split("_", 2)[2]
    assert secret not in cookie
    assert admin_key.split("_")[1] not in cookie
    flags = answer.headers["set-cookie"].lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags
    with turnout.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.console_sessions)).all()
    assert [row.id_hash for row in rows] == [hashlib.sha256(cookie.encode()).hexdigest()]
    assert rows[0].expires_at > turnout.clock.now()


def test_cookie_is_secure_when_served_over_https(turnout: Turnout, admin_key: str) -> None:
    with TestClient(create_app(turnout), base_url="https://testserver") as client:
        answer = client.post("/signin", data={"key": admin_key}, follow_redirects=False)
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        assert client.get("/").headers["strict-transport-security"].startswith("max-age=")


def test_forwarded_proto_counts_only_from_a_trusted_proxy_when_signing_in(
    turnout: Turnout, admin_key: str
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with TestClient(create_app(turnout)) as client:  # the peer ("testclient") is not trusted
        answer = client.post("/signin", data={"key": admin_key}, headers=forwarded, follow_redirects=False)
        assert "secure" not in answer.headers["set-cookie"].lower()
        assert "strict-transport-security" not in client.get("/", headers=forwarded).headers
    turnout.settings.trusted_proxies = "10.0.0.0/8, testclient"
    with TestClient(create_app(turnout)) as client:
        answer = client.post("/signin", data={"key": admin_key}, headers=forwarded, follow_redirects=False)
        assert "secure" in answer.headers["set-cookie"].lower()
        assert "strict-transport-security" in client.get("/", headers=forwarded).headers


def test_sign_out_deletes_the_session_when_the_form_token_matches(
    browser: TestClient, admin_key: str
) -> None:
    cookie = signed_in(browser, admin_key)
    assert browser.get("/api/v1/events").status_code == 200
    refused = browser.post("/signout", data={}, headers=ORIGIN, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: the session stays
    assert browser.get("/api/v1/events").status_code == 200
    token = csrf_of(browser)
    answer = browser.post("/signout", data={"csrf_token": token}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303
    browser.cookies.set(COOKIE, cookie)  # the old id, kept by an attacker: worthless now
    response = browser.get("/api/v1/events")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_cookie_write_from_another_origin_is_refused(browser: TestClient, admin_key: str) -> None:
    signed_in(browser, admin_key)
    token = csrf_of(browser)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {},  # a cookie-authenticated write that names no origin at all
    ):
        answer = browser.post("/signout", data={"csrf_token": token}, headers=headers)
        assert answer.status_code == 403, headers
        assert answer.json()["error"]["code"] == "origin_refused"
    cross = browser.post("/signin", data={"key": "trn_x_y"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert browser.get("/api/v1/events").status_code == 200  # still signed in


def test_api_takes_the_cookie_only_with_the_csrf_header_when_writing(
    browser: TestClient, admin_key: str
) -> None:
    signed_in(browser, admin_key)
    token = csrf_of(browser)
    refused = browser.post("/api/v1/events", json=EVENT_BODY, headers=ORIGIN)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = browser.post("/api/v1/events", json=EVENT_BODY, headers={**ORIGIN, "X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    created = browser.post("/api/v1/events", json=EVENT_BODY, headers={**ORIGIN, "X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    cross_read = browser.get("/api/v1/events", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_read.status_code == 403
    assert cross_read.json()["error"]["code"] == "csrf_failed"
    assert browser.get("/api/v1/events", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_bearer_key_needs_no_csrf_token_when_writing(app_client: TestClient, admin_key: str) -> None:
    answer = app_client.post(
        "/api/v1/events",
        json=EVENT_BODY,
        headers={"Authorization": f"Bearer {admin_key}", "Origin": "https://elsewhere.example"},
    )
    assert answer.status_code == 201


def test_scanner_scans_with_its_session_and_csrf_token(browser: TestClient, turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id, name="동문")
    key = make_key(turnout, Role.GATE, event_id, gate_id)
    signed_in(browser, key, "/scan/signin")
    page = browser.get("/scan?lang=en")
    assert page.status_code == 200
    assert_protected("/scan", page)
    token = re.search(r'"csrf": ?"([0-9a-f]+)"', page.text)
    assert token, page.text
    body = {"token": "not-a-ticket", "gate_id": gate_id, "method": "qr", "nonce": "n1"}
    url = f"/api/v1/events/{event_id}/attendance"
    assert browser.post(url, json=body, headers=ORIGIN).status_code == 403
    answer = browser.post(url, json=body, headers={**ORIGIN, "X-CSRF-Token": token.group(1)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "denied"


def test_sign_in_attempts_are_limited_per_key_id_with_retry_after(
    browser: TestClient, turnout: Turnout
) -> None:
    turnout.settings.signin_attempts_per_key = 3
    for _ in range(3):
        assert browser.post("/signin?lang=en", data={"key": "trn_aaaa_wrong"}).status_code == 401
    limited = browser.post("/signin?lang=en", data={"key": "trn_aaaa_wrong"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many requests" in limited.text
    assert 'data-code="rate_limited"' in limited.text
    # another key id from the same address is still heard
    assert browser.post("/signin?lang=en", data={"key": "trn_bbbb_wrong"}).status_code == 401


def test_sign_in_attempts_are_limited_per_client_address(
    browser: TestClient, turnout: Turnout, admin_key: str
) -> None:
    turnout.settings.signin_attempts_per_address = 3
    for n in range(3):
        assert browser.post("/scan/signin", data={"key": f"trn_{n}_wrong"}).status_code == 401
    limited = browser.post("/scan/signin", data={"key": admin_key})
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    assert 'data-code="rate_limited"' in limited.text


SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.fixture
def pages(client: TestClient, event: dict[str, Any]) -> list[str]:
    return [
        "/",
        f"/events/{event['id']}/dashboard",
        f"/events/{event['id']}/register",
        f"/events/{event['id']}/integrations",
        "/api/v1/events",
        "/health",
    ]


def assert_protected(path: str, response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None, csp
    assert script_src.group(1).strip() == "'self'", csp
    assert "frame-ancestors 'none'" in csp
    assert "strict-transport-security" not in response.headers  # plain http
    for tag in re.findall(r"<script[^>]*>", response.text):
        assert "src=" in tag or 'type="application/json"' in tag, (path, tag)


def test_every_page_has_the_security_headers_and_no_inline_script(
    client: TestClient, pages: list[str]
) -> None:
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert_protected(path, response)


def test_page_scripts_are_served_by_turnout(client: TestClient) -> None:
    for name in ("dashboard.js", "scan.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]


def test_sign_in_limit_counts_the_forwarded_address_only_from_a_trusted_proxy(turnout: Turnout) -> None:
    turnout.settings.signin_attempts_per_address = 2
    with TestClient(create_app(turnout)) as client:  # untrusted peer: a made-up X-Forwarded-For is ignored
        codes = [
            client.post("/signin", data={"key": f"trn_{n}_x"}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3)
        ]
        assert [answer.status_code for answer in codes] == [401, 401, 429]
    turnout.settings.trusted_proxies = "testclient"
    with TestClient(create_app(turnout)) as client:  # behind the proxy: each client counted apart
        codes = [
            client.post("/signin", data={"key": f"trn_{n}_x"}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3, 6)
        ]
        assert [answer.status_code for answer in codes] == [401, 401, 401]
