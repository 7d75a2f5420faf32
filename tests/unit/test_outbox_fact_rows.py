"""``outbox_rows.fact_rows``: the rows a bulk check-in writes for its facts are what
``driver_rows`` makes of the facts' envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from turnout.adapters.db.outbox_rows import driver_rows, fact_rows
from turnout.messages.base import Envelope, Fact
from turnout.messages.facts import AttendanceRecorded, GateCreated

AT = datetime(2026, 6, 1, 1, 2, 3, 456789, tzinfo=UTC)


def test_timed_rows_are_the_envelopes_rows_when_facts_differ_in_kind_and_moment() -> None:
    facts: list[tuple[str, datetime, Fact]] = [
        ("f1", AT, AttendanceRecorded("e1", "s1", "p1", "g1", "qr", "in", "admitted", AT.isoformat())),
        (
            "f2",
            AT + timedelta(minutes=5),
            AttendanceRecorded("e1", "s2", "p1", "g1", "qr", "out", "exited", "x", 300),
        ),
        ("f3", AT, GateCreated("e1", "g2", "정문", "both", ("qr", "ble"))),  # a tuple: not a plain fact
    ]
    envelopes = [Envelope.wrap(fact, at, fact_id) for fact_id, at, fact in facts]
    expected = driver_rows(envelopes, time=str, json=lambda data: data)
    found = fact_rows(facts, time=str)
    assert [row[:5] for row in found] == [row[:5] for row in expected]
    assert [json.loads(row[5]) for row in found] == [row[5] for row in expected]
