"""One table for every endpoint: who may call it. 401 without a (valid) key, 403 outside its scope.

Every API route must appear in ROUTES, so a new endpoint cannot ship without an access rule.
Path parameters are filled from resources of a *second* event, so that keys scoped to the first
event must be refused with 403.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.consent_support import consenting
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.ports import OutboundMessage
from turnout.services.alerts import raise_alert
from turnout.services.erasure_requests import request_erasure
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
    ("PATCH", "/api/v1/events/{event_id}"): frozenset({A, S}),
    ("POST", "/api/v1/events/{event_id}/gates"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/gates"): frozenset({A, S, G}),
    ("PATCH", "/api/v1/events/{event_id}/gates/{gate_id}"): frozenset({A, S}),
    # intake
    ("POST", "/api/v1/events/{event_id}/participants"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/participants"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/participants/export"): frozenset({A, S}),
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
    ("GET", "/api/v1/events/{event_id}/deliveries"): frozenset({A, S}),
    ("GET", "/api/v1/deliveries/{delivery_id}"): frozenset({A, S}),
    ("POST", "/api/v1/deliveries/{delivery_id}/retry"): frozenset({A, S}),
    ("POST", "/api/v1/events/{event_id}/sync/gate-management"): frozenset({A, S}),
    # sagas and alerts
    ("POST", "/api/v1/participants/{participant_id}/transfer"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/sagas"): frozenset({A, S}),
    ("GET", "/api/v1/sagas/{saga_id}"): frozenset({A, S}),
    ("POST", "/api/v1/sagas/{saga_id}/retry"): frozenset({A, S}),
    ("GET", "/api/v1/alerts"): frozenset({A, S}),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): frozenset({A, S}),
    # personal data
    ("POST", "/api/v1/events/{event_id}/privacy/erase"): frozenset({A}),
    ("GET", "/api/v1/events/{event_id}/privacy-notice"): PUBLIC,
    ("GET", "/api/v1/events/{event_id}/privacy-notice/versions"): PUBLIC,
    ("PUT", "/api/v1/events/{event_id}/privacy-notice"): frozenset({A, S}),
    ("GET", "/api/v1/events/{event_id}/erasure-requests"): frozenset({A}),
    ("GET", "/api/v1/erasure-requests/{erasure_request_id}"): frozenset({A}),
    ("POST", "/api/v1/erasure-requests/{erasure_request_id}/approve"): frozenset({A}),
    ("POST", "/api/v1/erasure-requests/{erasure_request_id}/reject"): frozenset({A}),
}

# What a caller allowed to call a route gets, with the world's resources and no request body: the
# exact status, and the error code when it is an error (an allowed call reaches its handler, which
# answers as documented: never a 500, never a 401/403). Calls go in ``api_routes`` order (sorted by
# method, then path), role by role, so state they change is seen by the next: the ``cancel`` before
# ``reissue-ticket``/``resend-ticket``; the first ``ack`` of an alert, then ``alert_acknowledged``.
OK, CREATED, NO_CONTENT, ACCEPTED = 200, 201, 204, 202
INVALID = (422, "validation_failed")
EXPECTED: dict[tuple[str, str], int | tuple[int, str]] = {
    ("GET", "/health"): OK,
    ("GET", "/health/ready"): OK,
    ("GET", "/metrics"): OK,
    ("POST", "/api/v1/events"): INVALID,
    ("GET", "/api/v1/events"): OK,
    ("GET", "/api/v1/events/{event_id}"): OK,
    ("POST", "/api/v1/events/{event_id}/status"): INVALID,
    ("PATCH", "/api/v1/events/{event_id}"): INVALID,  # no body
    ("POST", "/api/v1/events/{event_id}/gates"): INVALID,
    ("GET", "/api/v1/events/{event_id}/gates"): OK,
    ("PATCH", "/api/v1/events/{event_id}/gates/{gate_id}"): INVALID,  # no body
    ("POST", "/api/v1/events/{event_id}/participants"): INVALID,
    ("GET", "/api/v1/events/{event_id}/participants"): OK,
    ("GET", "/api/v1/events/{event_id}/participants/export"): OK,
    ("POST", "/api/v1/events/{event_id}/registrations"): INVALID,
    ("GET", "/api/v1/participants/{participant_id}"): OK,
    ("POST", "/api/v1/events/{event_id}/imports"): INVALID,
    ("GET", "/api/v1/imports/{import_id}"): OK,
    ("GET", "/api/v1/imports/{import_id}/errors.csv"): OK,
    ("POST", "/api/v1/events/{event_id}/attendance"): INVALID,
    ("POST", "/api/v1/events/{event_id}/attendance/bulk"): INVALID,
    ("GET", "/api/v1/events/{event_id}/stats"): OK,
    ("GET", "/api/v1/events/{event_id}/stats/live"): OK,
    ("GET", "/api/v1/events/{event_id}/analytics"): OK,
    ("GET", "/api/v1/participants/{participant_id}/qr.png"): OK,
    ("GET", "/api/v1/participants/{participant_id}/qr.svg"): OK,
    ("POST", "/api/v1/participants/{participant_id}/cancel"): OK,
    ("POST", "/api/v1/participants/{participant_id}/reissue-ticket"): (409, "participant_cancelled"),
    ("POST", "/api/v1/participants/{participant_id}/resend-ticket"): (409, "participant_cancelled"),
    ("GET", "/api/v1/events/{event_id}/ticket-key"): OK,
    ("GET", "/api/v1/events/{event_id}/revocations"): OK,
    ("GET", "/api/v1/events/{event_id}/emails"): OK,
    ("GET", "/api/v1/events/{event_id}/mail-templates"): OK,
    ("PUT", "/api/v1/events/{event_id}/mail-templates/{locale}"): INVALID,
    ("DELETE", "/api/v1/events/{event_id}/mail-templates/{locale}"): NO_CONTENT,
    ("PUT", "/api/v1/events/{event_id}/integrations/{system}"): INVALID,
    ("GET", "/api/v1/events/{event_id}/integrations"): OK,
    ("GET", "/api/v1/events/{event_id}/integrations/{system}"): (404, "integration_not_found"),
    ("DELETE", "/api/v1/events/{event_id}/integrations/{system}"): (404, "integration_not_found"),
    ("GET", "/api/v1/events/{event_id}/deliveries"): OK,
    ("GET", "/api/v1/deliveries/{delivery_id}"): OK,
    ("POST", "/api/v1/deliveries/{delivery_id}/retry"): (409, "delivery_not_finished"),
    ("POST", "/api/v1/events/{event_id}/sync/gate-management"): (404, "integration_not_enabled"),
    ("POST", "/api/v1/participants/{participant_id}/transfer"): INVALID,
    ("GET", "/api/v1/events/{event_id}/sagas"): OK,
    ("GET", "/api/v1/sagas/{saga_id}"): OK,
    ("POST", "/api/v1/sagas/{saga_id}/retry"): (409, "saga_finished"),
    ("GET", "/api/v1/alerts"): OK,
    ("POST", "/api/v1/events/{event_id}/privacy/erase"): (409, "event_not_closed"),
    ("GET", "/api/v1/events/{event_id}/privacy-notice"): OK,
    ("GET", "/api/v1/events/{event_id}/privacy-notice/versions"): OK,
    ("PUT", "/api/v1/events/{event_id}/privacy-notice"): INVALID,
    ("GET", "/api/v1/events/{event_id}/erasure-requests"): OK,
    ("GET", "/api/v1/erasure-requests/{erasure_request_id}"): OK,
    ("POST", "/api/v1/erasure-requests/{erasure_request_id}/approve"): OK,  # then it is decided:
    ("POST", "/api/v1/erasure-requests/{erasure_request_id}/reject"): (409, "erasure_request_decided"),
}
# per role where the answer depends on who called first
EXPECTED_BY_ROLE: dict[tuple[str, str], dict[str, int | tuple[int, str]]] = {
    ("POST", "/api/v1/alerts/{alert_id}/ack"): {A: OK, S: OK},  # each on its own event's alert
}


def assert_expected(role: str, method: str, path: str, response: Any) -> None:
    expected = EXPECTED_BY_ROLE.get((method, path), {}).get(role) or EXPECTED[(method, path)]
    status, code = expected if isinstance(expected, tuple) else (expected, None)
    assert response.status_code == status, (role, method, path, response.text)
    if code is not None:
        assert response.json()["error"]["code"] == code, (role, method, path, response.text)


# Routes that list across events answer 200 with only the key's own event instead of 403.
SCOPED_LISTS = {("GET", "/api/v1/events"), ("GET", "/api/v1/alerts")}


def api_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every documented operation, from the OpenAPI schema (FastAPI wraps included routers, so
    ``app.routes`` no longer lists the API routes themselves: walking it found none)."""
    paths: dict[str, dict[str, Any]] = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    found = [(method.upper(), path) for path, operations in paths.items() for method in operations]
    assert len(found) >= len(ROUTES), found  # an empty walk would let every test below pass
    return sorted(found)


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
        person = consenting({"name": "참가자", "email": f"{label}@example.com"})
        ids[label]["participant_id"] = client.post(
            f"/api/v1/events/{event['id']}/participants", json=person
        ).json()["id"]
        upload = {"file": ("p.csv", b"name,email\nxx,x@example.com\n", "text/csv")}
        ids[label]["import_id"] = client.post(
            f"/api/v1/events/{event['id']}/imports",
            files=upload,
            data={"consent_basis": "collected_elsewhere"},
        ).json()["id"]
        # a saga (a ticket transfer, done in the request: no gate system yet), a delivery, an alert
        holder = client.post(
            f"/api/v1/events/{event['id']}/participants",
            json=consenting({"name": "양도자", "email": f"t{label}@example.com"}),
        ).json()["id"]
        new_holder = consenting({"name": "새 소유자", "email": f"n{label}@example.com"})
        transfer = client.post(f"/api/v1/participants/{holder}/transfer", json=new_holder)
        assert transfer.status_code == 202, transfer.text
        ids[label]["saga_id"] = transfer.json()["id"]
        with turnout.uow() as uow:
            now = uow.clock.now()
            system = IntegrationSystem.ATTENDEE_APP
            sealed = turnout.sealer.seal("whsec_" + base64.b64encode(b"k" * 32).decode())
            uow.integrations.put(
                Integration(event["id"], system, "https://app.example/hook", sealed, True, None, now, now)
            )
            message = OutboundMessage(event["id"], system.value, "event.status.changed", {"status": "open"})
            (ids[label]["delivery_id"],) = uow.outbound.enqueue([message], now=now)
            alert = raise_alert(
                uow, event_id=event["id"], saga_id=None, code="compensation_failed", details={}
            )
            ids[label]["alert_id"] = alert.id
            uow.commit()
        # an erasure request, from a participant of its own (approving it erases them)
        asker = client.post(
            f"/api/v1/events/{event['id']}/participants",
            json=consenting({"name": "삭제 요청자", "email": f"e{label}@example.com"}),
        ).json()
        with turnout.uow() as uow:
            erasure, _ = request_erasure(uow, tickets=turnout.tickets, token=asker["token"], reason=None)
            uow.commit()
        ids[label]["erasure_request_id"] = erasure.id
    ids["keys"] = {
        A: client.headers["Authorization"].removeprefix("Bearer "),
        S: make_key(turnout, Role.STAFF, ids["a"]["event_id"]),
        G: make_key(turnout, Role.GATE, ids["a"]["event_id"], ids["a"]["gate_id"]),
    }
    # ``client`` is ``app_client`` signed in as admin: the tests send their own keys (or none)
    client.headers.pop("Authorization")
    return ids


# Query strings some routes need to answer at once (a live stream otherwise runs until the client goes).
QUERIES = {"/api/v1/events/{event_id}/stats/live": "?max_messages=1"}


def fill(path: str, params: dict[str, str]) -> str:
    query = QUERIES.get(path, "")
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"add a resource for the path parameter in {path} to the 'world' fixture"
    return path + query


def test_every_route_has_an_access_rule(client: TestClient) -> None:
    missing = [r for r in api_routes(client) if r not in ROUTES]
    assert missing == [], f"add these routes to ROUTES: {missing}"
    unexpected = [r for r in api_routes(client) if r not in EXPECTED and r not in EXPECTED_BY_ROLE]
    assert unexpected == [], f"add the allowed answer of these routes to EXPECTED: {unexpected}"


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
                assert_expected(role, method, path, own)
            else:
                assert own.status_code == 403, (role, method, path, own.text)
                assert own.json()["error"]["code"] == "forbidden"


def test_every_route_answers_an_admin_as_expected(app_client: TestClient, world: dict[str, Any]) -> None:
    """Admin keys may call every route of every event (here, event B's resources)."""
    headers = {"Authorization": f"Bearer {world['keys'][A]}"}
    for method, path in api_routes(app_client):
        response = app_client.request(method, fill(path, world["b"]), headers=headers)
        assert_expected(A, method, path, response)


def test_public_routes_answer_without_a_key(app_client: TestClient, world: dict[str, Any]) -> None:
    for method, path in api_routes(app_client):
        if ROUTES[(method, path)] == PUBLIC:
            assert_expected(PUBLIC, method, path, app_client.request(method, fill(path, world["a"])))


def test_scoped_keys_list_only_their_event(app_client: TestClient, world: dict[str, Any]) -> None:
    for role in (S, G):
        response = app_client.get(
            "/api/v1/events", headers={"Authorization": f"Bearer {world['keys'][role]}"}
        )
        assert [e["id"] for e in response.json()["items"]] == [world["a"]["event_id"]]
