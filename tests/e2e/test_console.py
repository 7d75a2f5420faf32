"""The organisers' web console: sign in with a key, a server-side session in the cookie, the dashboard."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.entrypoints.web.session import COOKIE
from turnout.services.keys import create_key


def test_console_asks_to_sign_in_in_the_browsers_language(app_client: TestClient) -> None:
    ko = app_client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert ko.status_code == 200
    assert "API 키" in ko.text
    en = app_client.get("/?lang=en")
    assert "API key" in en.text


def test_sign_in_sets_a_session_cookie_and_lists_events(
    app_client: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    app_client.headers.pop("Authorization", None)
    refused = app_client.post("/signin", data={"key": "trn_bad_bad"})
    assert refused.status_code == 401
    answer = app_client.post("/signin?lang=en", data={"key": admin_key}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.cookies[COOKIE]
    assert admin_key not in cookie
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=lax" in answer.headers["set-cookie"].lower()
    page = app_client.get("/?lang=en")
    assert event["name"] in page.text
    # the same session works against the API
    assert app_client.get("/api/v1/events").status_code == 200
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    signed_out = app_client.post(
        "/signout", data={"csrf_token": token.group(1)}, headers={"Origin": "http://testserver"}
    )
    assert signed_out.status_code == 200  # the sign-in page after the redirect
    app_client.cookies.set(COOKIE, cookie)
    assert app_client.get("/api/v1/events").status_code == 401


def test_forged_session_cookie_is_ignored(app_client: TestClient) -> None:
    app_client.cookies.set(COOKIE, "gAAAAAforged")
    assert app_client.get("/api/v1/events").status_code == 401
    assert "API" in app_client.get("/").text


def test_dashboard_needs_a_key_for_that_event(
    app_client: TestClient, turnout: Turnout, admin_key: str, event: dict[str, Any]
) -> None:
    app_client.headers.pop("Authorization", None)  # the event fixture signed this client in
    url = f"/events/{event['id']}/dashboard"
    assert app_client.get(url).status_code == 401
    other = app_client.post(
        "/api/v1/events",
        json={**{k: event[k] for k in ("starts_at", "ends_at")}, "name": "other"},
        headers={"Authorization": f"Bearer {admin_key}"},
    ).json()
    with turnout.uow() as uow:
        staff = create_key(uow, actor="t", name="s", role=Role.STAFF, event_id=other["id"])
        uow.commit()
    staff_headers = {"Authorization": f"Bearer {staff.key}"}
    assert app_client.get(url, headers=staff_headers).status_code == 403
    own = app_client.get(f"/events/{other['id']}/dashboard?lang=ko", headers=staff_headers)
    assert own.status_code == 200
    assert "참석률" in own.text
    assert f"/api/v1/events/{other['id']}/stats/live" in own.text


def test_sign_in_returns_to_the_page_asked_for_and_never_to_another_site(
    app_client: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    app_client.headers.pop("Authorization", None)
    wanted = f"/events/{event['id']}/gates"
    asked = app_client.get(f"{wanted}?lang=en")
    assert asked.status_code == 401
    assert f'name="next" value="{wanted}?lang=en"' in asked.text
    back = app_client.post("/signin", data={"key": admin_key, "next": wanted}, follow_redirects=False)
    assert back.headers["location"].startswith(f"{wanted}?lang=")
    hostile_targets = ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x", "")
    for hostile in hostile_targets:
        app_client.cookies.clear()
        answer = app_client.post("/signin", data={"key": admin_key, "next": hostile}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/?lang="), hostile
