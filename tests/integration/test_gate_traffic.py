"""``SqlGateTraffic`` (the scan counter the integrations' rush watch reads), on SQLite and
PostgreSQL: it grows by one for each scan recorded, refusals included."""

from __future__ import annotations

import time

from tests.attendance_support import add_gate, add_participants, live_event
from turnout.adapters.db.gate_traffic import SqlGateTraffic
from turnout.bootstrap import Turnout
from turnout.services.checkin import ScanInput


def reading_at_least(traffic: SqlGateTraffic, wanted: int, *, timeout: float = 15.0) -> int:
    """PostgreSQL adds a session's inserts to its statistics about once a second (an idle session's
    a few seconds later): wait for them."""
    deadline = time.monotonic() + timeout
    value = traffic.scans_recorded()
    while (value is None or value < wanted) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = traffic.scans_recorded()
    assert value is not None
    return value


def test_the_counter_grows_with_every_scan_admitted_or_refused(turnout: Turnout) -> None:
    traffic = SqlGateTraffic(turnout.engine)
    before = traffic.scans_recorded()
    assert before is not None
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 3)
    for _, token in people:
        turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    for _, token in people[:2]:  # already admitted: refused, and recorded all the same
        answer = turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
        assert answer.code == "already_admitted"
    after = reading_at_least(traffic, before + 5)
    assert after == before + 5


def test_an_unreadable_database_reads_as_unknown(turnout: Turnout) -> None:
    import sqlalchemy as sa

    broken = SqlGateTraffic(sa.create_engine("sqlite:////nonexistent-dir/turnout.sqlite3"))
    assert broken.scans_recorded() is None
