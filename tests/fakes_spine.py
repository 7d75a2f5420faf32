"""Fakes of the spine's stores beyond ``tests/fakes.py``: rate limits, the message bus's state
(``uow.messages``) and the statistics read model (``uow.statistics``).

They keep their rows in the ``FakeDatabase`` (so a rollback undoes them) under their own keys.
``FakeStatistics`` reads the gates of ``FakeGates`` and the participants and scans a test put in
with ``add_participant`` and ``add_scan`` (the fakes of the participant and check-in stores do not
feed it). ``tests/integration/test_spine_store_contract.py`` runs the same checks on these and on
the SQL stores.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from turnout.ports import (
    ArrivalCount,
    AttendeeProfile,
    ConsumerCursor,
    DayFigures,
    Delivery,
    DeliveryCount,
    DeliveryFilter,
    EventCounts,
    FlowCount,
    OutboxTotals,
    ParticipantTally,
    RateWindow,
    ScanMoment,
    ScanTally,
)

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase
    from turnout.domain.events import Gate


class FakeRateLimits:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, RateWindow]:
        rows: dict[str, RateWindow] = self._db.table("registration_rate")
        return rows

    def window(self, client: str) -> RateWindow | None:
        return self._rows.get(client)

    def start_window(self, client: str, *, started_at: datetime) -> None:
        self._rows[client] = RateWindow(started_at=started_at, count=1)

    def count_request(self, client: str) -> None:
        window = self._rows[client]
        self._rows[client] = dataclasses.replace(window, count=window.count + 1)

    def forget_idle(self, *, before: datetime) -> None:
        for client in [c for c, window in self._rows.items() if window.started_at < before]:
            del self._rows[client]


# --- the message bus -------------------------------------------------------------------------------


class FakeMessageStore:
    """Outbox seqs are positions in ``FakeDatabase.outbox`` counted from 1. Cursors and deliveries
    are set up by tests with ``set_cursor`` and ``add_delivery`` (the relay, which writes them in
    production, runs on the SQL store only)."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _versions(self) -> dict[tuple[str, str], int]:
        rows: dict[tuple[str, str], int] = self._db.table("cache_versions")
        return rows

    @property
    def _cursors(self) -> dict[str, ConsumerCursor]:
        rows: dict[str, ConsumerCursor] = self._db.table("relay_cursors")
        return rows

    @property
    def _deliveries(self) -> dict[tuple[str, str], Delivery]:
        rows: dict[tuple[str, str], Delivery] = self._db.table("message_deliveries")
        return rows

    # set-up by tests (what the relay does in production)

    def set_cursor(self, consumer: str, *, position: int, handled: int = 0) -> None:
        self._cursors[consumer] = ConsumerCursor(consumer=consumer, position=position, handled=handled)

    def add_delivery(self, delivery: Delivery) -> None:
        key = (delivery.message_id, delivery.handler)
        if key in self._deliveries:
            raise KeyError(f"delivery {key} exists")
        self._deliveries[key] = delivery

    # ports.MessageStore

    def bump_cache_version(self, *, scope: str, key: str, reason: str, now: datetime) -> int:
        version = self._versions.get((scope, key), 0) + 1
        self._versions[(scope, key)] = version
        return version

    def cache_version(self, *, scope: str, key: str) -> int:
        return self._versions.get((scope, key), 0)

    def outbox_totals(self) -> OutboxTotals:
        return OutboxTotals(messages=len(self._db.outbox), newest_seq=len(self._db.outbox))

    def count_after(self, seq: int) -> int:
        return max(0, len(self._db.outbox) - seq)

    def cursors(self) -> list[ConsumerCursor]:
        return sorted(self._cursors.values(), key=lambda cursor: cursor.consumer)

    def delivery_counts(self) -> list[DeliveryCount]:
        counts = Counter((d.handler, d.status) for d in self._deliveries.values())
        return [DeliveryCount(handler=h, status=s, count=n) for (h, s), n in sorted(counts.items())]

    def oldest_pending_at(self) -> datetime | None:
        return min((d.created_at for d in self._deliveries.values() if d.status == "pending"), default=None)

    def deliveries(self, where: DeliveryFilter, *, limit: int) -> list[Delivery]:
        found = [d for d in self._deliveries.values() if _matches(d, where)]
        found.sort(key=lambda d: d.message_id)
        found.sort(key=lambda d: d.updated_at, reverse=True)
        return found[:limit]

    def revive(self, where: DeliveryFilter, *, now: datetime) -> int:
        keys = [key for key, d in self._deliveries.items() if _matches(d, where)]
        for key in keys:
            self._deliveries[key] = dataclasses.replace(
                self._deliveries[key], status="pending", attempts=0, next_attempt_at=now, updated_at=now
            )
        return len(keys)

    def message_known(self, message_id: str) -> bool:
        return any(d.message_id == message_id for d in self._deliveries.values()) or any(
            e.id == message_id for e in self._db.outbox
        )


def _matches(delivery: Delivery, where: DeliveryFilter) -> bool:
    return (
        delivery.status == where.status
        and (not where.message_id or delivery.message_id == where.message_id)
        and (not where.message_type or delivery.message_type == where.message_type)
        and (not where.since or delivery.created_at >= where.since)
        and (not where.handler or delivery.handler == where.handler)
        and delivery.handler not in where.exclude_handlers
    )


# --- statistics --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FakeParticipant:
    event_id: str
    status: str = "registered"
    check_in_status: str = "not_checked_in"
    email_status: str = "none"
    first_checked_in_at: datetime | None = None
    last_scan_at: datetime | None = None
    birth_date: date | None = None
    region: str | None = None
    id: str | None = None  # a new one when stored in SQL, if left out


@dataclass(frozen=True, slots=True)
class FakeScan:
    event_id: str
    method: str
    result: str
    occurred_at: datetime
    gate_id: str | None = None
    code: str | None = None
    stay_seconds: int | None = None
    participant_id: str | None = None


class FakeStatistics:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _participants(self) -> list[FakeParticipant]:
        rows: list[FakeParticipant] = self._db.tables.setdefault("statistics.participants", [])
        return rows

    @property
    def _scans(self) -> list[FakeScan]:
        rows: list[FakeScan] = self._db.tables.setdefault("statistics.scans", [])
        return rows

    @property
    def _gates(self) -> dict[str, Gate]:
        rows: dict[str, Gate] = self._db.table("gates")  # ``FakeGates``' rows
        return rows

    # set-up by tests

    def add_participant(self, participant: FakeParticipant) -> None:
        self._participants.append(participant)

    def add_scan(self, scan: FakeScan) -> None:
        self._scans.append(scan)

    # ports.StatisticsReadModel

    def participant_tallies(self, event_id: str) -> list[ParticipantTally]:
        counts = Counter(
            (p.status, p.check_in_status, p.email_status, p.first_checked_in_at is not None)
            for p in self._participants
            if p.event_id == event_id
        )
        return [
            ParticipantTally(status=s, check_in_status=c, email_status=e, came=came, count=n)
            for (s, c, e, came), n in counts.items()
        ]

    def event_counts(self, event_ids: Sequence[str]) -> dict[str, EventCounts]:
        registered: Counter[str] = Counter()
        came: Counter[str] = Counter()
        for p in self._participants:
            if p.event_id in event_ids and p.status == "registered":
                registered[p.event_id] += 1
                came[p.event_id] += p.first_checked_in_at is not None
        return {e: EventCounts(registered=n, checked_in=came[e]) for e, n in registered.items()}

    def day_figures(self, event_id: str, *, since: datetime, until: datetime) -> DayFigures:
        people = [p for p in self._participants if p.event_id == event_id and p.status == "registered"]
        scans = [s for s in self._scans if s.event_id == event_id and since <= s.occurred_at < until]
        return DayFigures(
            registered=len(people),
            inside=sum(p.check_in_status == "inside" for p in people),
            came=sum(p.last_scan_at is not None and since <= p.last_scan_at < until for p in people),
            scans=len(scans),
            denied=sum(s.result == "denied" for s in scans),
        )

    def gate_names(self, event_id: str) -> dict[str, str]:
        return {gate.id: gate.name for gate in self._gates.values() if gate.event_id == event_id}

    def scan_tallies(self, event_id: str) -> list[ScanTally]:
        counts = Counter(
            (s.gate_id, s.method, s.result, s.code) for s in self._scans if s.event_id == event_id
        )
        return [
            ScanTally(gate_id=g, method=m, result=r, code=c, count=n) for (g, m, r, c), n in counts.items()
        ]

    def arrivals(self, event_id: str, *, bucket_seconds: int) -> list[ArrivalCount]:
        counts: Counter[int] = Counter()
        for scan in self._scans:
            if scan.event_id == event_id and scan.result == "admitted":
                epoch = int(scan.occurred_at.timestamp())
                counts[epoch - epoch % bucket_seconds] += 1
        return [
            ArrivalCount(starts_at=datetime.fromtimestamp(start, UTC), admitted=n)
            for start, n in sorted(counts.items())
        ]

    def flows(self, event_id: str, *, bucket_seconds: int) -> list[FlowCount]:
        counts: dict[int, Counter[str]] = {}
        for scan in self._scans:
            if scan.event_id == event_id and scan.result in ("admitted", "exited"):
                epoch = int(scan.occurred_at.timestamp())
                counts.setdefault(epoch - epoch % bucket_seconds, Counter())[scan.result] += 1
        return [
            FlowCount(
                starts_at=datetime.fromtimestamp(start, UTC), admitted=n["admitted"], exited=n["exited"]
            )
            for start, n in sorted(counts.items())
        ]

    def attendee_profiles(self, event_id: str) -> list[AttendeeProfile]:
        return [
            AttendeeProfile(birth_date=p.birth_date, region=p.region, came=p.first_checked_in_at is not None)
            for p in self._participants
            if p.event_id == event_id and p.status == "registered"
        ]

    def scan_moments(self, event_id: str) -> list[ScanMoment]:
        people: dict[str | None, int] = {}
        return [
            ScanMoment(
                occurred_at=s.occurred_at,
                method=s.method,
                result=s.result,
                stay_seconds=s.stay_seconds,
                person=people.setdefault(s.participant_id, len(people)),
            )
            for s in self._scans
            if s.event_id == event_id and s.result != "denied"
        ]
