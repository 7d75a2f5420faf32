"""Fakes for check-in: ``FakeCheckInStore`` (``ports.CheckInStore`` in memory), ``ImmediateBatcher``
(``ports.Batcher`` without threads), ``FakeTicketKeys``, and ``CheckInWorld``, a check-in service
wired on them with helpers to make events, gates and participants with real ticket tokens.

The store contract suite (``tests/integration/test_checkin_store_contract.py``) runs the same
checks on ``FakeCheckInStore`` and on the SQL stores.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, cast

from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWork, FakeUnitOfWorkFactory
from turnout.adapters.signing import KeyPair, KeyVault
from turnout.domain.admission import CheckInStatus, PreviousScan, Result
from turnout.domain.events import Event, EventStatus, Gate, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.domain.tickets import TicketClaims, encode_token
from turnout.messages.base import Envelope
from turnout.ports import (
    AnswerT,
    BatchT,
    CheckInSteps,
    CheckInWrites,
    DecidedT,
    GroupRun,
    ItemT,
    LedgerT,
    ParticipantCheckIn,
    ScanRecord,
    StoredScan,
    UnitOfWork,
    UnitOfWorkFactory,
)
from turnout.services.checkin import CheckIn

STARTS = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


class FakeConflict(Exception):
    """What the fake store raises where a database would refuse (a nonce stored twice)."""


@dataclass
class _Row:
    event_id: str
    person: ParticipantCheckIn


class FakeCheckInReader:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def event(self, event_id: str) -> Event | None:
        found: Event | None = self._db.table("events").get(event_id)
        return found

    def participants(
        self, event_id: str, *, ids: Collection[str] = (), tokens: Collection[str] = ()
    ) -> list[ParticipantCheckIn]:
        rows: dict[str, _Row] = self._db.table("checkin_participants")
        wanted_tokens = set(tokens)
        return [
            replace(row.person)  # a copy: the service changes what it reads
            for pid, row in sorted(rows.items())
            if row.event_id == event_id and (pid in ids or row.person.token in wanted_tokens)
        ]

    def stored_scans(self, event_id: str, nonces: Collection[str]) -> list[StoredScan]:
        wanted = set(nonces)
        return [
            StoredScan(scan.id, scan.nonce, scan.result, scan.code, scan.participant_id)
            for scan in _scans(self._db)
            if scan.event_id == event_id and scan.nonce is not None and scan.nonce in wanted
        ]

    def last_scan_at_gate(self, participant_id: str, gate_id: str) -> PreviousScan | None:
        found = [s for s in _scans(self._db) if s.participant_id == participant_id and s.gate_id == gate_id]
        if not found:
            return None
        last = max(found, key=lambda s: s.occurred_at)
        return PreviousScan(last.id, last.occurred_at, Result(last.result), last.code)


def _scans(db: FakeDatabase) -> list[ScanRecord]:
    found: list[ScanRecord] = db.tables.setdefault("scans", [])
    return found


class FakeCheckInStore:
    """``ports.CheckInStore`` over a ``FakeDatabase``: each batch is one transaction (its writes are
    checked, then applied, after deciding); a nonce stored twice for an event is a ``FakeConflict``,
    after which the batch is decided again from fresh reads (three attempts, like the SQL stores).

    ``conflicts``: errors the next attempts raise first (a concurrent writer, as a test plans it).
    ``transactions``: attempts begun."""

    ATTEMPTS = 3

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.conflicts: list[Exception] = []
        self.transactions = 0
        self.started = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True

    def record(
        self, *, event_id: str, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Generator[DecidedT, None, None]:
        for batch in batches:
            yield self._record_batch(batch, steps)

    def _record_batch(self, batch: BatchT, steps: CheckInSteps[BatchT, LedgerT, DecidedT]) -> DecidedT:
        for attempt in range(self.ATTEMPTS):
            self.transactions += 1
            try:
                if self.conflicts:
                    raise self.conflicts.pop(0)
                ledger = steps.ledger()
                steps.read(FakeCheckInReader(self.db), ledger, [batch])
                decided = steps.decide(ledger, batch)
                self._write(decided.writes)  # all or nothing
                return decided
            except FakeConflict:
                if attempt == self.ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _write(self, writes: CheckInWrites) -> None:
        """The batch's writes, checked first: a conflict leaves everything as it was."""
        stored = _scans(self.db)
        taken = {(s.event_id, s.nonce) for s in stored if s.nonce is not None}
        for scan in writes.scans:
            if scan.nonce is not None:
                if (scan.event_id, scan.nonce) in taken:
                    raise FakeConflict(f"nonce {scan.nonce} stored already")
                taken.add((scan.event_id, scan.nonce))
        stored.extend(writes.scans)
        rows: dict[str, _Row] = self.db.table("checkin_participants")
        for change in writes.changes:
            person = rows[change.participant_id].person
            person.check_in_status = CheckInStatus(change.check_in_status)
            person.first_checked_in_at = change.first_checked_in_at
            person.last_scan_at = change.last_scan_at
        self.db.outbox.extend(Envelope.wrap(fact, at, fact_id) for fact_id, at, fact in writes.facts)

    # --- what tests set up and look at -------------------------------------------------------------

    def add_participant(self, event_id: str, person: ParticipantCheckIn) -> None:
        rows: dict[str, _Row] = self.db.table("checkin_participants")
        rows[person.id] = _Row(event_id, person)

    def participant(self, participant_id: str) -> ParticipantCheckIn:
        rows: dict[str, _Row] = self.db.table("checkin_participants")
        return rows[participant_id].person

    def set_participant(self, participant_id: str, **values: Any) -> None:
        rows: dict[str, _Row] = self.db.table("checkin_participants")
        row = rows[participant_id]
        row.person = replace(row.person, **values)

    def scans(self) -> list[ScanRecord]:
        return list(_scans(self.db))

    def facts(self, type_: str = "attendance.recorded") -> list[Envelope]:
        return [envelope for envelope in self.db.outbox if envelope.type == type_]


class ImmediateBatcher(Generic[ItemT, AnswerT]):
    """``ports.Batcher`` that runs each item at once, in a group of its own; ``together`` runs many
    items as one group (as group commit does with items that arrive together)."""

    def __init__(self, run: GroupRun[ItemT, AnswerT]) -> None:
        self._run = run
        self.groups: list[int] = []  # the size of each group run

    async def submit(self, key: str, item: ItemT) -> AnswerT:
        return self.submit_waiting(key, item)

    def submit_waiting(self, key: str, item: ItemT) -> AnswerT:
        [outcome] = self.together(key, [item])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def together(self, key: str, items: list[ItemT]) -> list[AnswerT | BaseException]:
        self.groups.append(len(items))
        return list(self._run(key, items))


class FakeTicketKeys:
    """``ports.TicketKeys``: one key pair per event; ``fetched`` counts the ``keypair`` calls."""

    def __init__(self) -> None:
        self._vault = KeyVault("test-secret-key")
        self.pairs: dict[str, KeyPair] = {}
        self.fetched = 0

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> KeyPair:
        self.fetched += 1
        return self._pair(event_id)

    def _pair(self, event_id: str) -> KeyPair:
        pair = self.pairs.get(event_id)
        if pair is None:
            pair = self.pairs[event_id] = self._vault.generate()[0]
        return pair

    def mint(self, *, event_id: str, participant_id: str, version: int = 1) -> str:
        claims = TicketClaims(event_id=event_id, participant_id=participant_id, version=version)
        return encode_token(claims, self._pair(event_id).sign)


class CheckInWorld:
    """A ``CheckIn`` on fakes: a ``FakeDatabase`` shared by the unit of work (events, gates) and the
    ``FakeCheckInStore``, an ``ImmediateBatcher``, a ``FakeClock``."""

    def __init__(
        self, *, clock: FakeClock | None = None, ble_debounce_seconds: int = 60, bulk_batch_size: int = 100
    ) -> None:
        self.clock = clock or FakeClock(STARTS + timedelta(hours=1))
        self.uow = FakeUnitOfWorkFactory(self.clock)
        self.db = self.uow.db
        self.store = FakeCheckInStore(self.db)
        self.keys = FakeTicketKeys()
        self.recorded: list[str] = []  # the on_recorded calls
        self.batchers: list[ImmediateBatcher[Any, Any]] = []

        def batcher(run: GroupRun[ItemT, AnswerT]) -> ImmediateBatcher[ItemT, AnswerT]:
            made: ImmediateBatcher[ItemT, AnswerT] = ImmediateBatcher(run)
            self.batchers.append(made)
            return made

        self.checkin = CheckIn(
            # (a cast until ``FakeUnitOfWork`` has the ``participants`` store the protocol names)
            uow_factory=cast(UnitOfWorkFactory, self.uow),
            store=self.store,
            tickets=self.keys,
            clock=self.clock,
            group_commit=batcher,
            ble_debounce_seconds=ble_debounce_seconds,
            bulk_batch_size=bulk_batch_size,
            on_recorded=self.recorded.append,
        )

    @property
    def batcher(self) -> ImmediateBatcher[Any, Any]:
        return self.batchers[0]

    def _uow(self) -> FakeUnitOfWork:
        return self.uow()

    def live_event(
        self,
        *,
        allow_reentry: bool = True,
        status: EventStatus = EventStatus.LIVE,
        timezone: str = "Asia/Seoul",
    ) -> str:
        event = Event(
            id=new_id(),
            name="행사",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=10),
            timezone=timezone,
            status=status,
            allow_reentry=allow_reentry,
        )
        with self.uow() as uow:
            uow.events.add(event, now=self.clock.now())
            uow.commit()
        return event.id

    def set_event(self, event_id: str, **values: Any) -> None:
        events: dict[str, Event] = self.db.table("events")
        events[event_id] = replace(events[event_id], **values)

    def add_gate(
        self,
        event_id: str,
        *,
        name: str = "정문",
        direction: GateDirection = GateDirection.BOTH,
        methods: tuple[ScanMethod, ...] = (ScanMethod.QR, ScanMethod.BLE, ScanMethod.MANUAL),
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
    ) -> str:
        gate = Gate(
            id=new_id(),
            event_id=event_id,
            name=name,
            direction=direction,
            methods=methods,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        with self.uow() as uow:
            uow.gates.add(gate, now=self.clock.now())
            uow.commit()
        return gate.id

    def add_participants(
        self, event_id: str, count: int, *, status: str = "registered"
    ) -> list[tuple[str, str]]:
        """``count`` participants with tokens; returns ``(participant_id, token)`` pairs."""
        made = []
        for i in range(count):
            pid = new_id()
            token = self.keys.mint(event_id=event_id, participant_id=pid)
            person = ParticipantCheckIn(
                pid, f"참가자 {i}", status, CheckInStatus.NOT_CHECKED_IN, 1, None, None, token
            )
            self.store.add_participant(event_id, person)
            made.append((pid, token))
        return made

    def add_participant(self, event_id: str, **fields: Any) -> tuple[str, str]:
        return self.add_participants(event_id, 1, **fields)[0]

    def set_participant(self, participant_id: str, **values: Any) -> None:
        self.store.set_participant(participant_id, **values)

    def status(self, participant_id: str) -> str:
        return self.store.participant(participant_id).check_in_status.value
