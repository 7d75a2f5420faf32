"""Crowd safety on the fakes, SQLite and PostgreSQL: the alarm state store (``uow.crowd``), the
admissions-and-exits flows behind the dashboard's charts, and ``watch_crowds``: one alert per
upward crossing, re-armed only after the crowd fell back below the re-arm point."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

from tests.fakes_spine import FakeParticipant, FakeScan
from tests.integration import test_spine_store_contract as spine
from tests.integration.test_spine_store_contract import (
    T0,
    AnyUnitOfWork,
    Factory,
    add_participant,
    add_scan,
    two_events,
)
from turnout.domain.crowd import CrowdLevel
from turnout.domain.events import EventStatus, Gate, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.ports import FlowCount
from turnout.services.alerts import alert_mail
from turnout.services.crowd import CrowdWatch, watch_crowds
from turnout.services.statistics import snapshot

uow_factory = spine.uow_factory  # the fakes, SQLite and PostgreSQL (a fixture)


def add_area_gate(uow: AnyUnitOfWork, event_id: str, name: str, capacity: int | None) -> str:
    gate = Gate(
        id=new_id(),
        event_id=event_id,
        name=name,
        direction=GateDirection.BOTH,
        methods=(ScanMethod.QR,),
        capacity=capacity,
    )
    uow.gates.add(gate, now=T0)
    return gate.id


def test_alarm_state_is_kept_per_area_and_forgotten_when_ok(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        uow.events.set_status(event_id, EventStatus.LIVE, now=T0)
        uow.crowd.set_fired(event_id, "event", CrowdLevel.AMBER, now=T0)
        uow.crowd.set_fired(event_id, "g1", CrowdLevel.AMBER, now=T0)
        uow.crowd.set_fired(event_id, "g1", CrowdLevel.RED, now=T0)
        uow.crowd.set_fired(other, "event", CrowdLevel.RED, now=T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.crowd.live_event_ids() == [event_id]
        assert uow.crowd.fired(event_id) == {"event": CrowdLevel.AMBER, "g1": CrowdLevel.RED}
        uow.crowd.set_fired(event_id, "event", CrowdLevel.OK, now=T0)
        uow.crowd.set_fired(event_id, "never", CrowdLevel.OK, now=T0)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.crowd.fired(event_id) == {"g1": CrowdLevel.RED}
        assert uow.crowd.fired(other) == {"event": CrowdLevel.RED}


def test_flows_count_admissions_and_exits_per_bucket_when_an_event_has_scans(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        for scan in [
            FakeScan(event_id, "qr", "admitted", T0),
            FakeScan(event_id, "qr", "admitted", T0 + timedelta(minutes=4, seconds=59)),
            FakeScan(event_id, "qr", "exited", T0 + timedelta(minutes=3)),
            FakeScan(event_id, "qr", "denied", T0 + timedelta(minutes=7), code="already_inside"),
            FakeScan(event_id, "qr", "exited", T0 + timedelta(minutes=11)),
            FakeScan(other, "qr", "admitted", T0),
        ]:
            add_scan(uow, scan)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        flows = uow.statistics.flows(event_id, bucket_seconds=300)
        numbers = snapshot(uow, event_id=event_id)
    assert flows == [
        FlowCount(starts_at=T0, admitted=2, exited=1),
        FlowCount(starts_at=T0 + timedelta(minutes=10), admitted=0, exited=1),
    ]
    assert numbers["arrivals"] == [{"at": T0.isoformat(), "admitted": 2}]
    assert numbers["inside_over_time"] == [
        {"at": T0.isoformat(), "inside": 1},
        {"at": (T0 + timedelta(minutes=10)).isoformat(), "inside": 0},
    ]


def move(uow_factory: Factory, event_id: str, gate_id: str, *, entries: int = 0, exits: int = 0) -> None:
    with uow_factory() as uow:
        for _ in range(entries):
            add_scan(uow, FakeScan(event_id, "qr", "admitted", T0, gate_id=gate_id))
        for _ in range(exits):
            add_scan(uow, FakeScan(event_id, "qr", "exited", T0, gate_id=gate_id))
        uow.commit()


def codes(uow_factory: Factory, event_id: str) -> list[str]:
    with uow_factory(readonly=True) as uow:
        return sorted(alert.code for alert in uow.alerts.find(event_id=event_id))


def test_one_alert_per_crossing_and_rearmed_below_the_rearm_point_when_a_gate_area_fills(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        event_id, _ = two_events(uow)
        uow.events.set_status(event_id, EventStatus.LIVE, now=T0)
        hall = add_area_gate(uow, event_id, "B홀", capacity=20)
        add_area_gate(uow, event_id, "정문", capacity=None)
        uow.commit()
    raised = []
    # (entries, exits) -> people inside the hall after: 15, 16, 16, 19, 18, 19, 17, 19, 14, 16
    for entries, exits in [(15, 0), (1, 0), (0, 0), (3, 0), (0, 1), (1, 0), (0, 2), (2, 0), (0, 5), (2, 0)]:
        move(uow_factory, event_id, hall, entries=entries, exits=exits)
        raised.append(watch_crowds(uow_factory))
    assert raised == [0, 1, 0, 1, 0, 0, 0, 1, 0, 1]
    assert codes(uow_factory, event_id) == ["crowd_amber", "crowd_amber", "crowd_red", "crowd_red"]
    with uow_factory(readonly=True) as uow:
        first_red = [a for a in uow.alerts.find(event_id=event_id) if a.code == "crowd_red"][-1]
        numbers = snapshot(uow, event_id=event_id)
    assert first_red.details | {"gate_id": hall} == first_red.details
    assert (first_red.details["inside"], first_red.details["capacity"], first_red.details["level"]) == (
        19,
        20,
        "red",
    )
    assert "B홀" in first_red.message
    assert [(r["area"], r["inside"], r["level"]) for r in numbers["crowd"]] == [
        ("event", 0, None),
        (hall, 16, "amber"),
    ]
    mail = alert_mail(first_red, to="ops@example.com", mail_from="Turnout <t@example.com>").data
    body = message_from_bytes(mail, policy=default).get_body()
    assert body is not None
    assert f"/events/{event_id}/dashboard" in body.get_content()


def test_the_event_area_alarms_against_the_event_capacity_when_people_are_inside(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        for live in (event_id, other):
            uow.events.set_status(live, EventStatus.LIVE, now=T0)
        uow.commit()
    with uow_factory() as uow:  # ``two_events`` makes events without a capacity: no alarm at all
        for _ in range(9):
            add_participant(uow, FakeParticipant(other, check_in_status="inside", first_checked_in_at=T0))
        uow.commit()
    assert watch_crowds(uow_factory) == 0
    with uow_factory() as uow:
        event = uow.events.get(event_id)
        assert event is not None
        set_capacity(uow, event_id, 10)
        for _ in range(8):
            add_participant(uow, FakeParticipant(event_id, check_in_status="inside", first_checked_in_at=T0))
        add_participant(uow, FakeParticipant(event_id, status="cancelled", check_in_status="inside"))
        uow.commit()
    assert (watch_crowds(uow_factory), watch_crowds(uow_factory)) == (1, 0)
    assert codes(uow_factory, event_id) == ["crowd_amber"]
    assert codes(uow_factory, other) == []


def set_capacity(uow: AnyUnitOfWork, event_id: str, capacity: int) -> None:
    from dataclasses import replace

    from tests.fakes import FakeUnitOfWork
    from turnout.adapters.db import tables as t
    from turnout.adapters.db.uow import SqlUnitOfWork

    if isinstance(uow, FakeUnitOfWork):
        rows = uow.db.table("events")
        rows[event_id] = replace(rows[event_id], capacity=capacity)
        return
    assert isinstance(uow, SqlUnitOfWork)
    uow.conn.execute(t.events.update().where(t.events.c.id == event_id).values(capacity=capacity))


def test_inside_now_and_gate_moves_count_only_what_crowd_safety_needs(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        hall = add_area_gate(uow, event_id, "B홀", capacity=10)
        door = add_area_gate(uow, event_id, "정문", capacity=None)
        for person in [
            FakeParticipant(event_id, check_in_status="inside", first_checked_in_at=T0),
            FakeParticipant(event_id, check_in_status="inside", first_checked_in_at=T0),
            FakeParticipant(event_id, check_in_status="exited", first_checked_in_at=T0),
            FakeParticipant(event_id, status="cancelled", check_in_status="inside"),
            FakeParticipant(other, check_in_status="inside", first_checked_in_at=T0),
        ]:
            add_participant(uow, person)
        for scan in [
            FakeScan(event_id, "qr", "admitted", T0, gate_id=hall),
            FakeScan(event_id, "qr", "admitted", T0, gate_id=hall),
            FakeScan(event_id, "qr", "exited", T0, gate_id=hall),
            FakeScan(event_id, "qr", "denied", T0, gate_id=hall, code="already_admitted"),
            FakeScan(event_id, "qr", "admitted", T0, gate_id=door),
            FakeScan(other, "qr", "admitted", T0, gate_id=hall),
        ]:
            add_scan(uow, scan)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.crowd.inside_now(event_id) == 2
        assert uow.crowd.gate_moves(event_id, [hall]) == {hall: (2, 1)}
        assert uow.crowd.gate_moves(event_id, [hall, door]) == {hall: (2, 1), door: (1, 0)}
        assert uow.crowd.gate_moves(event_id, []) == {}


class Counter:
    """A ``ports.GateTraffic`` the test moves by hand."""

    def __init__(self) -> None:
        self.value = 0

    def scans_recorded(self) -> int | None:
        return self.value


def test_the_watch_skips_quiet_rounds_and_looks_again_after_a_scan_or_a_minute(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, _ = two_events(uow)
        uow.events.set_status(event_id, EventStatus.LIVE, now=T0)
        hall = add_area_gate(uow, event_id, "B홀", capacity=10)
        uow.commit()
    traffic, now = Counter(), [0.0]
    watch = CrowdWatch(uow_factory, traffic=traffic, idle_seconds=60, monotonic=lambda: now[0])
    assert watch.round() == 0
    move(uow_factory, event_id, hall, entries=10)  # 100 %: but the counter did not move
    now[0] = 10
    assert watch.round() == 0
    traffic.value = 10
    assert watch.round() == 1  # red
    move(uow_factory, event_id, hall, exits=10)
    move(uow_factory, event_id, hall, entries=8)
    now[0] = 69
    assert watch.round() == 0  # quiet, and the last look is recent
    now[0] = 71
    # looked: 80 % now, red re-armed (below 90 %); the dip to 0 between two looks was not seen, so
    # amber stays fired (the rules judge what each look sees)
    assert watch.round() == 0
    assert codes(uow_factory, event_id) == ["crowd_red"]
