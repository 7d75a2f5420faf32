"""Check-in through the service as bootstrap wires it, on SQLite and PostgreSQL: what the stored
rows look like, statistics, and real group commit. The rules are the service tests'
(``tests/unit/test_checkin_*``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.attendance_support import add_gate, add_participant, add_participants, live_event, set_participant
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout
from turnout.domain.admission import Direction
from turnout.messages.facts import AttendanceRecorded
from turnout.services.checkin import ScanInput
from turnout.services.statistics import snapshot


def scan_rows(turnout: Turnout) -> list[sa.Row[tuple[object, ...]]]:
    with turnout.uow(readonly=True) as uow:
        return list(uow.conn.execute(sa.select(scans).order_by(scans.c.recorded_at, scans.c.id)))


def test_naive_timestamp_is_read_in_event_timezone_when_given(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    turnout.checkin.scan(
        event_id=event_id,
        scan=ScanInput(gate_id=gate_id, token=token, occurred_at=datetime(2026, 6, 1, 9, 30)),
    )
    stored = scan_rows(turnout)[0].occurred_at
    assert stored.isoformat() == "2026-06-01T00:30:00+00:00"  # 09:30 in Seoul


def test_statistics_follow_scans_when_people_come_and_go(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 4)
    set_participant(turnout, people[3][0], status="cancelled")
    desk = turnout.checkin
    for _, token in people[:3]:
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1], direction=Direction.OUT))
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[1][1]))  # already admitted
    with turnout.uow(readonly=True) as uow:
        stats = snapshot(uow, event_id=event_id)
    assert (stats["registered"], stats["cancelled"], stats["checked_in"], stats["inside"]) == (3, 1, 3, 2)
    assert (stats["scans"], stats["denied"]) == (5, 1)
    assert stats["by_gate"][gate_id] == {"name": "정문", "admitted": 3, "exited": 1, "denied": 1}
    assert stats["by_method"]["qr"]["admitted"] == 3
    assert sum(bucket["admitted"] for bucket in stats["arrivals"]) == 3
    assert stats["attendance_rate"] == 1.0


def test_relay_wakes_live_statistics_when_attendance_is_recorded(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    before = turnout.statistics.version(event_id)
    relay = turnout.relay()
    relay.drain()
    relay.close()
    assert turnout.statistics.version(event_id) > before


def test_async_scans_admit_exactly_once_when_they_arrive_together(turnout: Turnout) -> None:
    import asyncio

    event_id = live_event(turnout)
    gates = [add_gate(turnout, event_id, name=f"g{i}") for i in range(4)]
    people = add_participants(turnout, event_id, 10)
    desk = turnout.checkin

    async def storm() -> list[tuple[str, str | None]]:
        scans_ = [
            desk.scan_async(event_id=event_id, scan=ScanInput(gate_id=gates[i % 4], token=token))
            for _, token in people
            for i in range(8)
        ]
        return [(a.result.value, a.code) for a in await asyncio.gather(*scans_)]

    answers = asyncio.run(storm())
    assert answers.count(("admitted", None)) == 10
    assert answers.count(("denied", "already_admitted")) == 70


def test_stored_attendance_facts_are_the_fact_classes_own_payloads_when_scanned_or_uploaded(
    turnout: Turnout,
) -> None:
    """Single scans and a bulk upload (more than one batch: on a SQLite file, through the writer
    process) store each ``attendance.recorded`` payload as ``AttendanceRecorded(...).data()``."""
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 6)
    checkin = turnout.checkin
    checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1]))
    checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1], direction=Direction.OUT)
    )
    t0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    records = [
        ScanInput(
            gate_id=gate_id, token=token, direction=direction, occurred_at=t0 + timedelta(minutes=m + i)
        )
        for m, direction in ((0, Direction.IN), (30, Direction.OUT))
        for i, (_, token) in enumerate(people[1:])
    ]
    assert checkin.bulk(event_id=event_id, records=records, batch_size=3).successful == 10
    with turnout.uow(readonly=True) as uow:
        stored = list(uow.conn.execute(sa.select(t.outbox).where(t.outbox.c.type == "attendance.recorded")))
        by_id = {row.id: row for row in uow.conn.execute(sa.select(scans))}
    assert len(stored) == 12
    for row in stored:
        scan = by_id[row.data["attendance_id"]]
        fact = AttendanceRecorded(
            event_id=event_id,
            attendance_id=scan.id,
            participant_id=scan.participant_id,
            gate_id=scan.gate_id,
            method=scan.method,
            direction=scan.direction,
            result=scan.result,
            occurred_at=row.data["occurred_at"],
            stay_seconds=scan.stay_seconds,
        )
        assert row.data == fact.data()
        assert (row.key, row.version) == (event_id, AttendanceRecorded.VERSION)
        assert datetime.fromisoformat(row.data["occurred_at"]) == scan.occurred_at == row.occurred_at


def test_bulk_statistics_are_signalled_after_each_batch(turnout: Turnout) -> None:
    """Bootstrap wires check-in's callback to the live statistics: one signal per committed batch."""
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 25)
    before = turnout.statistics.version(event_id)
    at = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    records = [ScanInput(gate_id=gate_id, token=token, occurred_at=at) for _, token in people]
    turnout.checkin.bulk(event_id=event_id, records=records, batch_size=10)
    assert turnout.statistics.version(event_id) - before == 3
