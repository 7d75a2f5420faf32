"""One table for every endpoint: who may call it. 401 without a (valid) key, 403 outside its scope.

Every API route must appear in ROUTES, so a new endpoint cannot ship without an access rule.
Path parameters are filled from resources of a *second* event, so that keys scoped to the first
event must be refused with 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.services.keys import create_key

PUBLIC = "public"
A, S, G = "admin", "staff", "gate"

# (method, path) -> roles that may call it within their scope; PUBLIC needs no key.
ROUTES: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/events"): frozenset({A}),
    ("GET", "/api/v1/events"): frozenset({A, S, G}),
    ("GET", "/api/v1/events/{event_id}"): frozenset({A, S, G}),
    ("POST", "/api/v1/events/{event_id}/status"): frozenset({A, S}),
    ("POST", "/api/v1/events/{event_id}/gates"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/gates"): frozenset({A, S, G}),
    # intake
    ("POST", "/api/v1/events/{event_id}/participants"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/participants"): frozenset({A, S}),
    ("POST", "/api/v1/events/{event_id}/registrations"): PUBLIC,
    ("GET", "/api/v1/participants/{participant_id}"): frozenset({A, S}),
    ("POST", "/api/v1/events/{event_id}/imports"): frozenset({A, S}),
    ("GET", "/api/v1/imports/{import_id}"): frozenset({A, S}),
    ("GET", "/api/v1/imports/{import_id}/errors.csv"): frozenset({A, S}),
    # attendance
    ("POST", "/api/v1/events/{event_id}/attendance"): frozenset({A, S, G}),
    ("POST", "/api/v1/events/{event_id}/attendance/bulk"): frozenset({A, S, G}),
    ("GET", "/api/v1/events/{event_id}/stats"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/stats/live"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/analytics"): frozenset({A, S}),
    # tickets and mail
    ("GET", "/api/v1/participants/{participant_id}/qr.png"): frozenset({A, S}),
    ("GET", "/api/v1/participants/{participant_id}/qr.svg"): frozenset({A, S}),
    ("POST", "/api/v1/participants/{participant_id}/resend-ticket"): frozenset({A, S}),
    ("POST", "/api/v1/participants/{participant_id}/reissue-ticket"): frozenset({A, S}),
    ("POST", "/api/v1/participants/{participant_id}/cancel"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/ticket-key"): frozenset({A, S, G}),
    ("GET", "/api/v1/events/{event_id}/revocations"): frozenset({A, S, G}),
    ("GET", "/api/v1/events/{event_id}/emails"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/mail-templates"): frozenset({A, S}),
    ("PUT", "/api/v1/events/{event_id}/mail-templates/{locale}"): frozenset({A, S}),
    ("DELETE", "/api/v1/events/{event_id}/mail-templates/{locale}"): frozenset({A, S}),
    # integrations
    ("PUT", "/api/v1/events/{event_id}/integrations/{system}"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/integrations"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/integrations/{system}"): frozenset({A, S}),
    ("DELETE", "/api/v1/events/{event_id}/integrations/{system}"): frozenset({A, S}),
}

# Routes that list across events answer 200 with only the key's own event instead of 403.
SCOPED_LISTS = {("GET", "/api/v1/events")}


def api_routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.include_in_schema:
            assert route.methods is not None  # APIRoute defaults it to {"GET"}
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, route.path))
    return found


def make_key(turnout: Turnout, role: Role, event_id: str | None = None, gate_id: str | None = None) -> str:
    with turnout.uow() as uow:
        issued = create_key(uow, actor="test", name=role.value, role=role, event_id=event_id, gate_id=gate_id)
        uow.commit()
    return issued.key


@pytest.fixture
def world(client: TestClient, turnout: Turnout) -> dict[str, Any]:
    """Event A (where the scoped keys live) and event B (whose resources the requests name)."""
    ids: dict[str, Any] = {}
    for label in ("a", "b"):
        event = client.post("/api/v1/events", json={**EVENT_BODY, "name": label}).json()
        gate = client.post(f"/api/v1/events/{event['id']}/gates", json={"name": "g"}).json()
        ids[label] = {"event_id": event["id"], "gate_id": gate["id"], "locale": "en", "system": "alerts"}
        # intake: a participant (registration needs an open event)
        client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"})
        person = {"name": "참가자", "email": f"{label}@example.com"}
        ids[label]["participant_id"] = client.post(
            f"/api/v1/events/{event['id']}/participants", json=person
        ).json()["id"]
        upload = {"file": ("p.csv", b"name,email\nxx,x@example.com\n", "text/csv")}
        ids[label]["import_id"] = client.post(f"/api/v1/events/{event['id']}/imports", files=upload).json()[
            "id"
        ]
    ids["keys"] = {
        S: make_key(turnout, Role.STAFF, ids["a"]["event_id"]),
        G: make_key(turnout, Role.GATE, ids["a"]["event_id"], ids["a"]["gate_id"]),
    }
    return ids


def fill(path: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"add a resource for the path parameter in {path} to the 'world' fixture"
    return path


def test_every_route_has_an_access_rule(client: TestClient) -> None:
    missing = [r for r in api_routes(client) if r not in ROUTES]
    assert missing == [], f"add these routes to ROUTES: {missing}"


def test_every_route_refuses_missing_or_bad_keys(app_client: TestClient, world: dict[str, Any]) -> None:
    for method, path in api_routes(app_client):
        if ROUTES[(method, path)] == PUBLIC:
            continue
        url = fill(path, world["b"])
        for headers in ({}, {"Authorization": "Bearer trn_nope_nope"}, {"Authorization": "Basic eDp5"}):
            response = app_client.request(method, url, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"


def test_every_route_refuses_keys_outside_their_scope(app_client: TestClient, world: dict[str, Any]) -> None:
    for method, path in api_routes(app_client):
        allowed = ROUTES[(method, path)]
        if allowed == PUBLIC:
            continue
        for role in (S, G):
            headers = {"Authorization": f"Bearer {world['keys'][role]}"}
            # another event's resources: always refused
            if (method, path) not in SCOPED_LISTS:
                response = app_client.request(method, fill(path, world["b"]), headers=headers)
                assert response.status_code == 403, (role, method, path, response.text)
                assert response.json()["error"]["code"] == "forbidden"
            # its own event: refused only when the role may not call the route at all
            own = app_client.request(method, fill(path, world["a"]), headers=headers)
            if role in allowed:
                assert own.status_code not in (401, 403), (role, method, path, own.text)
            else:
                assert own.status_code == 403, (role, method, path, own.text)


def test_scoped_keys_list_only_their_event(app_client: TestClient, world: dict[str, Any]) -> None:
    for role in (S, G):
        response = app_client.get(
            "/api/v1/events", headers={"Authorization": f"Bearer {world['keys'][role]}"}
        )
        assert [e["id"] for e in response.json()["items"]] == [world["a"]["event_id"]]
