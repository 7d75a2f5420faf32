"""Bulk uploads of offline scans, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.attendance_support import add_gate, add_participants, live_event
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout
from turnout.domain.admission import Direction
from turnout.services.admission import ScanInput, desk_for

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def count(turnout: Turnout, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with turnout.uow(readonly=True) as uow:
        return int(uow.conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def test_exit_uploaded_before_its_entry_is_applied_in_timestamp_order(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    [(pid, token)] = add_participants(turnout, event_id, 1)
    records = [
        ScanInput(
            gate_id=gate_id,
            token=token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=2),
            nonce="b",
        ),
        ScanInput(gate_id=gate_id, token=token, direction=Direction.IN, occurred_at=T0, nonce="a"),
    ]
    result = desk_for(turnout).bulk(event_id=event_id, records=records, actor="key:s")
    assert (result.total_processed, result.successful, result.failed, result.errors) == (2, 2, 0, [])
    with turnout.uow(readonly=True) as uow:
        rows = list(uow.conn.execute(sa.select(scans).order_by(scans.c.occurred_at)))
        person = uow.conn.execute(sa.select(t.participants).where(t.participants.c.id == pid)).one()
    assert [(r.result, r.stay_seconds) for r in rows] == [("admitted", None), ("exited", 7200)]
    assert person.check_in_status == "exited"
    assert count(turnout, t.outbox, t.outbox.c.type == "attendance.recorded") == 2


def test_bulk_reports_failures_by_index_when_records_are_refused(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    [(_, token)] = add_participants(turnout, event_id, 1)
    records = [
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0),
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0 + timedelta(minutes=1)),
        ScanInput(gate_id=gate_id, token="garbage", occurred_at=T0),
        ScanInput(gate_id="no-such-gate", token=token, occurred_at=T0),
    ]
    result = desk_for(turnout).bulk(event_id=event_id, records=records)
    assert (result.successful, result.failed) == (1, 3)
    assert [(e.index, e.code) for e in result.errors] == [
        (1, "already_admitted"),
        (2, "malformed_token"),
        (3, "gate_not_found"),
    ]


def test_bulk_is_idempotent_by_nonce_when_uploaded_twice(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 30)
    records = [
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0 + timedelta(seconds=i), nonce=f"n{i}")
        for i, (_, token) in enumerate(people)
    ]
    records.append(
        ScanInput(gate_id=gate_id, token=people[0][1], occurred_at=T0 + timedelta(hours=1), nonce="dup")
    )
    desk = desk_for(turnout)
    first = desk.bulk(event_id=event_id, records=records, batch_size=7)
    second = desk.bulk(event_id=event_id, records=records, batch_size=7)
    assert (first.successful, first.failed) == (30, 1)
    assert (second.successful, second.failed, second.errors) == (first.successful, first.failed, first.errors)
    assert count(turnout, scans) == 31
    assert count(turnout, t.outbox, t.outbox.c.type == "attendance.recorded") == 30


def test_repeated_nonce_inside_one_upload_is_applied_once(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    [(_, token)] = add_participants(turnout, event_id, 1)
    record = ScanInput(gate_id=gate_id, token=token, occurred_at=T0, nonce="same")
    result = desk_for(turnout).bulk(event_id=event_id, records=[record, record, record], batch_size=2)
    assert (result.successful, result.failed) == (3, 0)
    assert count(turnout, scans) == 1


def test_bulk_statistics_are_signalled_after_each_batch(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 25)
    from turnout.services.statistics import statistics_for

    before = statistics_for(turnout).version(event_id)
    records = [ScanInput(gate_id=gate_id, token=token, occurred_at=T0) for _, token in people]
    desk_for(turnout).bulk(event_id=event_id, records=records, batch_size=10)
    assert statistics_for(turnout).version(event_id) - before == 3
