"""``GET /api/v1/events/{event_id}/deliveries`` and ``POST /api/v1/deliveries/{id}/retry`` over a
real local receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeSealer
from tests.integration.test_delivery_sender import SECRET, Receiver, run, sender
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.ports import OutboundMessage
from turnout.services.keys import create_key


def enqueue(
    turnout: Turnout, clock: FakeClock, event_id: str, url: str, systems: list[IntegrationSystem]
) -> list[str]:
    with turnout.uow() as uow:
        for system in systems:
            uow.integrations.put(
                Integration(
                    event_id, system, url, FakeSealer().seal(SECRET), True, None, clock.now(), clock.now()
                )
            )
        ids = uow.outbound.enqueue(
            [OutboundMessage(event_id, s.value, "event.status.changed", {"status": "live"}) for s in systems],
            now=clock.now(),
        )
        uow.commit()
    return ids


def test_the_log_lists_each_delivery_with_its_attempts_and_filters(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> None:
    answers = {"gate-management": 200, "attendee-app": 503}
    receiver = Receiver(httpserver, lambda r: Response("", answers[r.get_json()["data"]["system"]]))
    receiver.answer = lambda r: Response(
        "x", 200 if b"gate" in r.headers.get("x-sys", "gate").encode() else 503
    )
    event_id = str(event["id"])
    gate_id, app_id = enqueue(
        turnout,
        clock,
        event_id,
        receiver.url,
        [IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP],
    )
    receiver.answer = lambda _r: Response("busy", 503) if len(receiver.requests) > 1 else Response("ok", 200)
    run(sender(turnout, concurrency=1))
    listed = client.get(f"/api/v1/events/{event_id}/deliveries")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [d["id"] for d in body["items"]] == [app_id, gate_id]
    assert body["counts"] == {"gate-management": {"delivered": 1}, "attendee-app": {"pending": 1}}
    gate = body["items"][1]
    assert (gate["status"], gate["attempts"], gate["attempt_log"][0]["status_code"]) == ("delivered", 1, 200)
    assert isinstance(gate["attempt_log"][0]["latency_ms"], int)
    app = body["items"][0]
    assert (app["status"], app["last_error"], app["attempt_log"][0]["error"]) == (
        "pending",
        "HTTP 503: busy",
        "HTTP 503: busy",
    )
    only = client.get(
        f"/api/v1/events/{event_id}/deliveries", params={"system": "attendee-app", "status": "pending"}
    )
    assert [d["id"] for d in only.json()["items"]] == [app_id]
    assert (
        client.get(f"/api/v1/events/{event_id}/deliveries", params={"status": "delivered"}).json()["items"][
            0
        ]["id"]
        == gate_id
    )
    assert client.get(f"/api/v1/events/{event_id}/deliveries", params={"system": "nope"}).status_code == 422
    paged = client.get(f"/api/v1/events/{event_id}/deliveries", params={"limit": 1}).json()
    older = client.get(
        f"/api/v1/events/{event_id}/deliveries", params={"limit": 1, "before": paged["next_cursor"]}
    )
    assert [d["id"] for d in older.json()["items"]] == [gate_id]
    one = client.get(f"/api/v1/deliveries/{gate_id}").json()
    assert one["payload"] == {"status": "live"}


def test_retry_sends_a_delivered_or_dead_one_again_and_refuses_one_in_progress(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    event_id = str(event["id"])
    (delivery_id,) = enqueue(turnout, clock, event_id, receiver.url, [IntegrationSystem.GATE_MANAGEMENT])
    busy = client.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "delivery_not_finished"
    run(sender(turnout))
    again = client.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending"
    run(sender(turnout))
    assert [h["webhook-id"] for h, _ in receiver.requests] == [delivery_id, delivery_id]
    assert client.get(f"/api/v1/deliveries/{delivery_id}").json()["attempts"] == 2
    missing = client.post("/api/v1/deliveries/nope/retry")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "delivery_not_found")


def test_a_key_of_another_event_sees_no_deliveries(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    (delivery_id,) = enqueue(
        turnout, clock, str(event["id"]), receiver.url, [IntegrationSystem.GATE_MANAGEMENT]
    )
    other = client.post(
        "/api/v1/events",
        json={
            "name": "다른 행사",
            "starts_at": "2026-07-01T09:00:00+09:00",
            "ends_at": "2026-07-01T18:00:00+09:00",
        },
    ).json()
    with turnout.uow() as uow:
        key = create_key(uow, actor="test", name="org", role=Role.STAFF, event_id=other["id"]).key
        uow.commit()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/api/v1/events/{event['id']}/deliveries", headers=headers).status_code == 403
    assert client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=headers).status_code == 403


def test_retry_is_refused_when_a_later_change_of_the_same_participant_exists(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    event_id = str(event["id"])
    with turnout.uow() as uow:
        uow.integrations.put(
            Integration(
                event_id,
                IntegrationSystem.ATTENDEE_APP,
                receiver.url,
                FakeSealer().seal(SECRET),
                True,
                None,
                clock.now(),
                clock.now(),
            )
        )
        older, newer = uow.outbound.enqueue(
            [
                OutboundMessage(
                    event_id, "attendee-app", "participant.status", {"status": s}, ordering_key="p1"
                )
                for s in ("registered", "cancelled")
            ],
            now=clock.now(),
        )
        uow.commit()
    run(sender(turnout))
    run(sender(turnout))
    refused = client.post(f"/api/v1/deliveries/{older}/retry", headers={"Accept-Language": "ko"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "delivery_superseded"
    assert newer in refused.json()["error"]["message"]
    assert client.post(f"/api/v1/deliveries/{newer}/retry").status_code == 202
