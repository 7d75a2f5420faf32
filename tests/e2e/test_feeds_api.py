"""What the external systems are told, end to end through the API and the outbox relay (SQLite and
PostgreSQL): the gate-management sync endpoint, the feeds wired in ``bootstrap``, and the PII scan
of every analytics payload (``GET …/analytics`` and each enqueued ``analytics.snapshot``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.consent_support import consenting
from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeAddressGuard
from tests.feeds_support import enable, enqueued
from turnout.bootstrap import Turnout
from turnout.domain.integrations import IntegrationSystem
from turnout.ports import UnitOfWork
from turnout.services import closing
from turnout.services.feeds import send_due_analytics
from turnout.services.integrations import put_integration
from turnout.services.sagas import advance_due_sagas

GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP
ANALYTICS = IntegrationSystem.ANALYTICS_PLATFORM


def set_status(client: TestClient, event_id: str, *statuses: str) -> None:
    for status in statuses:
        response = client.post(f"/api/v1/events/{event_id}/status", json={"status": status})
        assert response.status_code == 200, response.text


def register(client: TestClient, event_id: str, **person: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/events/{event_id}/participants", json=consenting(person))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = client.get(f"/api/v1/participants/{response.json()['id']}").json()
    return body


def switch_on(turnout: Turnout, event_id: str, *systems: IntegrationSystem) -> None:
    with turnout.uow() as uow:
        enable(uow, event_id, *systems)
        uow.commit()


def test_the_sync_endpoint_enqueues_the_list_and_answers_its_summary_or_404_without_a_gate_system(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/sync/gate-management"
    refused = client.post(url)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "integration_not_enabled"
    assert client.post("/api/v1/events/no-such-event/sync/gate-management").status_code == 404
    set_status(client, event["id"], "open")
    people = [
        register(client, event["id"], name=name, email=f"{n}@example.com")
        for n, name in enumerate(("김하늘", "이바다"))
    ]
    switch_on(turnout, event["id"], GATE)
    answered = client.post(url)
    assert answered.status_code == 202, answered.text
    body = answered.json()
    assert set(body) == {"sync_id", "pages", "participants"}
    assert (body["pages"], body["participants"]) == (1, 2)
    (page,) = [s for s in enqueued(turnout.uow) if s.type == "gate-management.sync"]
    assert page.payload["sync_id"] == body["sync_id"]
    assert {p["id"]: p["token"] for p in page.payload["participants"]} == {
        p["id"]: p["token"] for p in people
    }
    assert [g["id"] for g in page.payload["gates"]] == [gate["id"]]


def test_the_relay_hands_facts_to_each_feed_for_the_enabled_systems(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    event_id = event["id"]
    switch_on(turnout, event_id, GATE, APP)
    set_status(client, event_id, "open", "live")
    person = register(client, event_id, name="김하늘", email="sky@example.com")
    scan = client.post(
        f"/api/v1/events/{event_id}/attendance", json={"token": person["token"], "gate_id": gate["id"]}
    )
    assert scan.status_code == 200, scan.text
    assert client.post(f"/api/v1/participants/{person['id']}/cancel").status_code == 200
    turnout.relay().drain()
    sent = enqueued(turnout.uow)
    assert {s.system for s in sent} == {"gate-management", "attendee-app"}  # not the analytics platform
    # each feed is its own subscriber: the order holds within a feed (and per ordering key), not
    # across feeds; a participant's entries carry updated_at for the receiver to keep the newest
    sync_key = f"sync:{event_id}"
    by_type = {(s.type, s.ordering_key) for s in sent if s.system == "gate-management"}
    assert ("gates.changed", sync_key) in by_type  # the gate fixture's gate.created, relayed now
    notified = [
        (s.type, s.payload.get("status"), s.ordering_key)
        for s in sent
        if s.system == "gate-management" and s.type in ("event.status.changed", "gate-management.sync")
    ]
    assert notified == [  # the notifier and the sync are two subscribers: each in order
        ("event.status.changed", "open", sync_key),
        ("event.status.changed", "live", sync_key),
        ("gate-management.sync", None, sync_key),
        ("gate-management.sync", None, sync_key),
    ]
    # the cancellation saga told the gate system in the request's transaction (before the relay ran
    # the earlier facts' feeds); the feeds' own messages carry the participant's newest state
    changes = [s.payload for s in sent if s.type == "participant.changed"]
    assert [(c["change"], c["participant"]["status"], bool(c.get("saga_id"))) for c in changes] == [
        ("participant.cancelled", "cancelled", True),
        ("participant.registered", "cancelled", False),
    ]
    app = [s for s in sent if s.system == "attendee-app" and s.type == "participant.status"]
    # (the saga tells the attendee app once the gate system has accepted: no sender runs here)
    assert [s.payload["change"] for s in app] == ["participant.registered", "attendance.recorded"]
    assert {s.payload["status"] for s in app} == {"cancelled"}
    assert {s.ordering_key for s in app} == {person["id"]}
    assert app[-1].payload["event"]["id"] == event_id


def test_a_failing_final_analytics_snapshot_does_not_fail_the_close_and_the_closing_saga_retries_it(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event_id = event["id"]
    switch_on(turnout, event_id, ANALYTICS, APP)
    set_status(client, event_id, "open", "live")
    turnout.relay().drain()
    before = len(enqueued(turnout.uow))

    def broken(uow: UnitOfWork, *, event_id: str) -> dict[str, Any]:
        raise RuntimeError("analytics read model unavailable")

    monkeypatch.setattr(closing, "analytics", broken)
    set_status(client, event_id, "closed")  # closed (scans stopped) though the next step failed
    turnout.relay().drain()
    policy = turnout.saga_policy()
    advance_due_sagas(turnout.uow, turnout.sagas, policy=policy, worker="w")  # fails again: logged
    ((saga_id, steps),) = [(s.id, s.steps) for s in list_sagas_of(turnout, event_id)]
    assert [(s.name, s.state.value) for s in steps[:2]] == [
        ("stop_scans", "done"),
        ("final_analytics", "pending"),
    ]
    assert enqueued(turnout.uow)[before:] == []  # the feeds left the closed event to the saga
    monkeypatch.undo()
    clock.advance(seconds=policy.lease_seconds + 1)  # the worker that failed let go of it
    advance_due_sagas(turnout.uow, turnout.sagas, policy=policy, worker="w")
    (sent,) = enqueued(turnout.uow)[before:]  # the final snapshot; each system once it is delivered
    assert (sent.type, sent.payload["event_status"]) == ("analytics.snapshot", "closed")
    with turnout.uow(readonly=True) as uow:
        saga = uow.sagas.get(saga_id)
    assert saga is not None
    assert [s.state.value for s in saga.steps[:2]] == ["done", "waiting"]


def list_sagas_of(turnout: Turnout, event_id: str) -> list[Any]:
    with turnout.uow(readonly=True) as uow:
        return uow.sagas.find(event_id=event_id)


def test_a_cancellation_made_while_the_gate_system_was_off_reaches_it_when_switched_on_again(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = event["id"]
    switch_on(turnout, event_id, GATE)
    set_status(client, event_id, "open", "live")
    person = register(client, event_id, name="김하늘", email="sky@example.com")
    turnout.relay().drain()
    with turnout.uow() as uow:  # a 410 Gone (or an operator) switches it off for a while
        assert uow.integrations.disable(event_id, GATE.value, reason="410 Gone", now=uow.clock.now())
        uow.commit()
    assert client.post(f"/api/v1/participants/{person['id']}/cancel").status_code == 200
    turnout.relay().drain()
    before = len(enqueued(turnout.uow))
    current = client.get(f"/api/v1/events/{event_id}/integrations/{GATE.value}").json()
    put_integration(  # what PUT …/integrations/gate-management does (without a name server)
        turnout.uow,
        sealer=turnout.sealer,
        guard=FakeAddressGuard(),
        actor="admin",
        event_id=event_id,
        system=GATE.value,
        url=current["url"],
        enabled=True,
    )
    turnout.relay().drain()
    told = enqueued(turnout.uow)[before:]
    assert [s.type for s in told] == ["gate-management.sync"]
    entries = {p["id"]: p["status"] for p in told[0].payload["participants"]}
    assert entries == {person["id"]: "cancelled"}
    with turnout.uow(readonly=True) as uow:
        audit = uow.audit.for_subject("event", event_id)
    assert [a["data"]["reason"] for a in audit if a["action"] == "integration.sync"][
        -1
    ] == "integration.enabled"


PEOPLE = [
    # name, email, phone, birth date, region
    ("김하늘", "sky.kim@example.com", "010-5001-7001", "1990-03-04", "서울"),
    ("이바다", "sea.lee@example.com", "010-5002-7002", "1991-04-05", "서울"),
    ("박구름", "cloud.park@example.com", "010-5003-7003", "1992-05-06", "서울"),
    ("최별빛", "star.choi@example.com", "010-5004-7004", "1993-06-07", "서울"),
    ("정노을", "dusk.jung@example.com", "010-5005-7005", "1994-07-08", "서울"),
    ("강새벽", "dawn.kang@example.com", "010-5006-7006", "1995-08-09", "서울"),
    ("조은비", "rain.cho@example.com", "010-5007-7007", "2000-09-10", "부산"),
    ("윤서리", "frost.yoon@example.com", "010-5008-7008", "2001-10-11", "부산"),
    ("장바람", "wind.jang@example.com", "010-5009-7009", "2002-11-12", "부산"),
    ("임햇살", "sun.lim@example.com", "010-5010-7010", "2003-12-13", "부산"),
    ("한이슬", "dew.han@example.com", "010-5011-7011", "2004-01-14", "부산"),
    ("오단비", "shower.oh@example.com", "010-5012-7012", "1970-02-15", "제주"),  # alone in age and region
]


def personal_values(people: list[dict[str, Any]]) -> list[str]:
    values: list[str] = []
    for (name, email, phone, born, _region), person in zip(PEOPLE, people, strict=True):
        digits = phone.replace("-", "")
        values += [name, email, phone, digits, "+82" + digits[1:], born, born.replace("-", "")]
        values += [person["id"], person["token"]]
    assert all(values)
    return values


def test_no_analytics_payload_carries_a_personal_value_of_its_data_set(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    event_id = event["id"]
    switch_on(turnout, event_id, ANALYTICS, GATE, APP)
    set_status(client, event_id, "open", "live")
    people = [
        register(client, event_id, name=name, email=email, phone=phone, birth_date=born, region=region)
        for name, email, phone, born, region in PEOPLE
    ]
    attendance = f"/api/v1/events/{event_id}/attendance"
    for person in people[:11]:
        response = client.post(attendance, json={"token": person["token"], "gate_id": gate["id"]})
        assert response.json()["result"] == "admitted", response.text
    clock.advance(hours=2)
    for person in people[:6]:
        out = {"token": person["token"], "gate_id": gate["id"], "direction": "out"}
        assert client.post(attendance, json=out).json()["result"] == "exited"
    turnout.relay().drain()
    answered = client.get(f"/api/v1/events/{event_id}/analytics")
    assert answered.status_code == 200
    with turnout.uow() as uow:
        assert send_due_analytics(uow, interval_seconds=900) == [event_id]
        uow.commit()
    set_status(client, event_id, "closed")  # the final snapshot
    turnout.relay().drain()

    sent = enqueued(turnout.uow)
    to_analytics = [s for s in sent if s.system == "analytics-platform"]
    snapshots = [s.payload for s in to_analytics if s.type == "analytics.snapshot"]
    assert len(snapshots) == 2
    assert {s.type for s in to_analytics} == {"analytics.snapshot", "event.status.changed"}
    # not vacuous: the payloads do describe the data set
    body = answered.json()
    # one of 12 stayed away: too few for a rate
    assert (body["total_participants"], body["attendance_rate"]) == (12, None)
    # 제주 is alone: merged into "other" with 부산, the smallest kept (12 - 서울's 6 gives no one away)
    assert body["demographic_insights"]["regions"] == {"서울": 6, "other": 6}
    assert body["behavior_insights"]["check_in_times"] == {"09:00": 11}
    assert body["behavior_insights"]["stay_duration"] == {
        "count": 6,
        "median_minutes": 120.0,
        "p90_minutes": None,  # fewer than 10 people
    }
    assert snapshots[-1]["event_status"] == "closed"
    for payload in (body, *snapshots):
        assert set(payload) == set(body)
        assert {k: v for k, v in payload.items() if k not in ("generated_at", "event_status")} == {
            k: v for k, v in body.items() if k not in ("generated_at", "event_status")
        }

    texts = [answered.text, json.dumps(body)] + [
        json.dumps(s.payload, ensure_ascii=False) for s in to_analytics
    ]
    found = [(value, n) for value in personal_values(people) for n, text in enumerate(texts) if value in text]
    assert found == []
    # and the scan itself can fail: the attendee app's payloads do carry tokens and ids
    app_text = json.dumps([s.payload for s in sent if s.system == "attendee-app"], ensure_ascii=False)
    assert people[0]["token"] in app_text


def test_the_workers_analytics_loop_sends_a_snapshot_for_a_live_event(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    import threading
    import time

    from turnout.entrypoints.workers import LOOPS

    set_status(client, event["id"], "open", "live")
    switch_on(turnout, event["id"], ANALYTICS)
    loop = dict(LOOPS)["analytics-feed"]
    stop = threading.Event()
    worker = threading.Thread(target=loop, args=(turnout, stop), kwargs={"poll_seconds": 0.05})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not enqueued(turnout.uow):
            time.sleep(0.05)
        time.sleep(0.2)  # a few more rounds: nothing more is due within the interval
    finally:
        stop.set()
        worker.join(timeout=10)
    sent = enqueued(turnout.uow)
    assert [(s.system, s.type, s.event_id) for s in sent] == [
        ("analytics-platform", "analytics.snapshot", event["id"])
    ]


def test_an_edited_gate_sends_the_gate_system_the_new_configuration(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    event_id = event["id"]
    switch_on(turnout, event_id, GATE)
    turnout.relay().drain()  # the gate fixture's gate.created
    before = len([s for s in enqueued(turnout.uow) if s.type == "gates.changed"])
    edited = client.patch(
        f"/api/v1/events/{event_id}/gates/{gate['id']}", json={"name": "동문", "methods": ["qr", "manual"]}
    )
    assert edited.status_code == 200, edited.text
    turnout.relay().drain()
    changed = [s.payload for s in enqueued(turnout.uow) if s.type == "gates.changed"]
    assert len(changed) == before + 1
    latest = changed[-1]
    assert latest["change"] == "gate.updated"
    assert [(g["id"], g["name"], g["methods"]) for g in latest["gates"]] == [
        (gate["id"], "동문", ["qr", "manual"])
    ]
