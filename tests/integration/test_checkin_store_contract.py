"""The check-in store contract: the same checks on every ``ports.CheckInStore`` implementation.

* ``fake``: ``FakeCheckInStore`` (what the service tests run on);
* ``sql``: ``SqlCheckInStore`` (SQLAlchemy Core), on SQLite and PostgreSQL;
* ``sqlite``: ``SqliteCheckInStore`` batch by batch (driver rows, the writer turn);
* ``sqlite-pipelined``: ``SqliteCheckInStore`` with its writer process.

Each check goes through the check-in service (``BatchSteps`` reads and decides; the store drives
the transactions) and looks at what the store kept. The rules themselves are the service tests'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import pytest
import sqlalchemy as sa

from tests import attendance_support as support
from tests.fakes import FakeClock
from tests.fakes_checkin import CheckInWorld
from turnout.adapters.db import tables as t
from turnout.adapters.db.checkin_store import SqlCheckInStore
from turnout.adapters.db.engine import sqlite_file
from turnout.adapters.db.sqlite_checkin_store import SqliteCheckInStore
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout, build_checkin
from turnout.domain.admission import Direction, Result
from turnout.domain.errors import NotFound
from turnout.domain.events import ScanMethod
from turnout.domain.ids import new_id
from turnout.domain.tickets import TicketClaims, encode_token
from turnout.ports import CheckInReader, CheckInStore, Clock, ScanRecord, TicketKeys
from turnout.services.checkin import CheckIn, ScanInput
from turnout.services.checkin_decisions import BatchSteps, DecidedBatch, Ledger, PendingScan, ScanIdentity

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


class StoreWorld(Protocol):
    """A check-in service on the store under test, and what the checks set up and look at."""

    @property
    def checkin(self) -> CheckIn: ...

    @property
    def store(self) -> CheckInStore: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def recorded(self) -> list[str]: ...

    @property
    def pipelined(self) -> bool: ...

    @property
    def conflicts_possible(self) -> bool: ...

    def live_event(self) -> str: ...

    def add_gate(self, event_id: str) -> str: ...

    def add_participants(self, event_id: str, count: int) -> list[tuple[str, str]]: ...

    def set_participant(self, participant_id: str, **values: Any) -> None: ...

    def mint(self, event_id: str, participant_id: str, version: int) -> str: ...

    def advance(self, seconds: int) -> None: ...

    def status(self, participant_id: str) -> str: ...

    def scans(self, event_id: str) -> list[tuple[str, str, str, int]]:
        """(nonce, result, code, stay) of the event's stored scans, sorted."""
        ...

    def fact_count(self) -> int: ...

    def store_scan_elsewhere(self, event_id: str, gate_id: str, nonce: str) -> None:
        """A scan with ``nonce`` committed by another writer, now."""
        ...


class FakeWorld:
    pipelined = False
    conflicts_possible = True

    def __init__(self) -> None:
        self.world = CheckInWorld()
        self.clock: Clock = self.world.clock
        self.checkin = self.world.checkin
        self.store = self.world.store
        self.recorded = self.world.recorded

    def live_event(self) -> str:
        return self.world.live_event()

    def add_gate(self, event_id: str) -> str:
        return self.world.add_gate(event_id)

    def add_participants(self, event_id: str, count: int) -> list[tuple[str, str]]:
        return self.world.add_participants(event_id, count)

    def set_participant(self, participant_id: str, **values: Any) -> None:
        self.world.set_participant(participant_id, **values)

    def mint(self, event_id: str, participant_id: str, version: int) -> str:
        return self.world.keys.mint(event_id=event_id, participant_id=participant_id, version=version)

    def advance(self, seconds: int) -> None:
        self.world.clock.advance(seconds=seconds)

    def status(self, participant_id: str) -> str:
        return self.world.status(participant_id)

    def scans(self, event_id: str) -> list[tuple[str, str, str, int]]:
        return sorted(
            (s.nonce or "", s.result, s.code or "", s.stay_seconds or 0)
            for s in self.world.store.scans()
            if s.event_id == event_id
        )

    def fact_count(self) -> int:
        return len(self.world.store.facts())

    def store_scan_elsewhere(self, event_id: str, gate_id: str, nonce: str) -> None:
        now = self.clock.now()
        record = ScanRecord(
            new_id(), event_id, None, gate_id, "qr", "in", "denied", "unknown_token", now, now, nonce,
            None, None, {}, {}, {},
        )  # fmt: skip
        self.world.db.tables.setdefault("scans", []).append(record)


class SqlWorld:
    def __init__(self, turnout: Turnout, store: SqlCheckInStore, *, pipelined: bool = False) -> None:
        self.turnout = turnout
        self.clock: Clock = turnout.clock
        self.store = store
        self.pipelined = pipelined
        # SQLite holds the write lock from the first read of a batch: nothing writes in between
        self.conflicts_possible = turnout.engine.dialect.name == "postgresql"
        self.recorded: list[str] = []
        self.checkin = build_checkin(
            settings=turnout.settings,
            engine=turnout.engine,
            clock=turnout.clock,
            tickets=cast(TicketKeys, turnout.tickets),
            on_recorded=self.recorded.append,
            store=store,
        )
        turnout.on_close.append(self.checkin.close)

    def live_event(self) -> str:
        return support.live_event(self.turnout)

    def add_gate(self, event_id: str) -> str:
        return support.add_gate(self.turnout, event_id)

    def add_participants(self, event_id: str, count: int) -> list[tuple[str, str]]:
        return support.add_participants(self.turnout, event_id, count)

    def set_participant(self, participant_id: str, **values: Any) -> None:
        support.set_participant(self.turnout, participant_id, **values)

    def mint(self, event_id: str, participant_id: str, version: int) -> str:
        with self.turnout.uow() as uow:
            token = self.turnout.tickets.mint(
                uow, event_id=event_id, participant_id=participant_id, version=version
            )
            uow.commit()
        return token

    def advance(self, seconds: int) -> None:
        clock = self.turnout.clock
        assert isinstance(clock, FakeClock)
        clock.advance(seconds=seconds)

    def status(self, participant_id: str) -> str:
        with self.turnout.uow(readonly=True) as uow:
            return str(
                uow.conn.execute(
                    sa.select(t.participants.c.check_in_status).where(t.participants.c.id == participant_id)
                ).scalar_one()
            )

    def scans(self, event_id: str) -> list[tuple[str, str, str, int]]:
        with self.turnout.uow(readonly=True) as uow:
            return sorted(
                (r.nonce or "", r.result, r.code or "", r.stay_seconds or 0)
                for r in uow.conn.execute(sa.select(scans).where(scans.c.event_id == event_id))
            )

    def fact_count(self) -> int:
        with self.turnout.uow(readonly=True) as uow:
            return int(
                uow.conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.outbox)
                    .where(t.outbox.c.type == "attendance.recorded")
                ).scalar_one()
            )

    def store_scan_elsewhere(self, event_id: str, gate_id: str, nonce: str) -> None:
        now = self.turnout.clock.now()
        with self.turnout.engine.begin() as conn:  # a connection of its own, committed now
            conn.execute(
                scans.insert(),
                {
                    "id": new_id(),
                    "event_id": event_id,
                    "participant_id": None,
                    "gate_id": gate_id,
                    "method": "qr",
                    "direction": "in",
                    "result": "denied",
                    "code": "unknown_token",
                    "occurred_at": now,
                    "recorded_at": now,
                    "nonce": nonce,
                    "device": {},
                    "location": {},
                    "metadata": {},
                },
            )


#: (store, database): the fake runs once; SQLite's own store only on SQLite
COMBINATIONS = (
    ("fake", "sqlite"),
    ("sql", "sqlite"),
    ("sql", "postgresql"),
    ("sqlite", "sqlite"),
    ("sqlite-pipelined", "sqlite"),
)


#: each check once per combination (``database_url`` given here rather than by its own parameters)
pytestmark = pytest.mark.parametrize(
    ("kind", "database_url"),
    [
        pytest.param(kind, db, id=f"{kind}-{db}", marks=[pytest.mark.postgres] if db == "postgresql" else [])
        for kind, db in COMBINATIONS
    ],
    indirect=True,
)


@pytest.fixture
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(kind: str, database_url: str, turnout: Turnout) -> StoreWorld:
    if kind == "fake":
        return FakeWorld()
    if kind == "sql":
        return SqlWorld(turnout, SqlCheckInStore(turnout.engine))
    pipelined = kind == "sqlite-pipelined"
    store = SqliteCheckInStore(turnout.engine, database=sqlite_file(database_url), pipeline=pipelined)
    return SqlWorld(turnout, store, pipelined=pipelined)


def _entries_and_exits(world: StoreWorld, people: int) -> tuple[str, list[str], list[ScanInput]]:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    made = world.add_participants(event_id, people)
    records = [
        ScanInput(
            gate_id=gate_id,
            token=token,
            direction=direction,
            occurred_at=T0 + timedelta(minutes=minutes, seconds=i),
            nonce=f"{direction}{i}",
        )
        for minutes, direction in ((0, Direction.IN), (30, Direction.OUT))
        for i, (_, token) in enumerate(made)
    ]
    return event_id, [pid for pid, _ in made], records


def test_batches_are_committed_in_order_with_their_scans_states_and_facts(world: StoreWorld) -> None:
    event_id, people, records = _entries_and_exits(world, 5)
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=3)
    assert (result.successful, result.failed, result.errors) == (10, 0, [])
    assert world.recorded == [event_id] * 4  # each committed batch counted once
    stored = world.scans(event_id)
    assert [(result, stay) for _, result, _, stay in stored] == [("admitted", 0)] * 5 + [("exited", 1800)] * 5
    assert [world.status(pid) for pid in people] == ["exited"] * 5
    assert world.fact_count() == 10


def test_participants_are_read_by_id_and_by_current_token_of_their_event_only(world: StoreWorld) -> None:
    event_id = world.live_event()
    other_event = world.live_event()
    gate_id = world.add_gate(event_id)
    [(by_id, _), (by_token, token), (reissued, old_token)] = world.add_participants(event_id, 3)
    [(stranger, stranger_token)] = world.add_participants(other_event, 1)
    new_token = world.mint(event_id, reissued, 2)
    world.set_participant(reissued, token=new_token, ticket_version=2)

    def scan(**given: Any) -> tuple[Result, str | None]:
        answer = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, **given))
        return answer.result, answer.code

    assert scan(participant_id=by_id, method=ScanMethod.MANUAL) == (Result.ADMITTED, None)
    assert scan(token=token) == (Result.ADMITTED, None)
    assert scan(token=old_token) == (Result.DENIED, "revoked")  # no longer its current token
    assert scan(token=new_token) == (Result.ADMITTED, None)
    assert scan(participant_id=stranger, method=ScanMethod.MANUAL) == (Result.DENIED, "unknown_token")
    assert scan(token=stranger_token) == (Result.DENIED, "wrong_event")
    assert [world.status(pid) for pid in (by_id, by_token, reissued)] == ["inside"] * 3


def test_stored_nonces_are_answered_from_the_stored_scan(world: StoreWorld) -> None:
    event_id, people, records = _entries_and_exits(world, 4)
    first = world.checkin.bulk(event_id=event_id, records=records, batch_size=3)
    stored = world.scans(event_id)
    again = world.checkin.bulk(event_id=event_id, records=records, batch_size=3)
    assert (again.successful, again.failed) == (first.successful, first.failed) == (8, 0)
    assert world.scans(event_id) == stored
    assert world.fact_count() == 8
    replay = world.checkin.scan(event_id=event_id, scan=records[0])
    assert (replay.result, replay.replayed) == (Result.ADMITTED, True)
    assert replay.participant is not None
    assert (replay.participant.id, replay.participant.check_in_status) == (people[0], "exited")


def test_the_last_scan_at_a_gate_is_read_for_ble_detections(world: StoreWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    other_gate = world.add_gate(event_id)
    [(pid, _)] = world.add_participants(event_id, 1)
    first = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    )
    world.advance(20)
    again = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    )
    elsewhere = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=other_gate, participant_id=pid, method=ScanMethod.BLE)
    )
    assert (again.attendance_id, again.replayed) == (first.attendance_id, True)
    assert (elsewhere.result, elsewhere.code) == (Result.DENIED, "already_admitted")
    assert len(world.scans(event_id)) == 2


def test_a_batch_of_an_unknown_event_is_not_found(world: StoreWorld) -> None:
    event_id = world.live_event()
    gate = world.checkin.gate(event_id=event_id, gate_id=world.add_gate(event_id))
    [(pid, _)] = world.add_participants(event_id, 1)
    pending = PendingScan(
        0, ScanInput(gate_id=gate.id, participant_id=pid), gate, ScanIdentity(pid, None), T0, None
    )
    steps = _steps(world, "no-such-event")
    with pytest.raises(NotFound) as refused:
        list(world.store.record(event_id="no-such-event", batches=[[pending], [pending]], steps=steps))
    assert refused.value.code == "event_not_found"


class _FailingSteps:
    """``BatchSteps`` whose ``decide`` raises on the batch numbered ``fail_at``."""

    def __init__(self, steps: BatchSteps, fail_at: int) -> None:
        self._steps = steps
        self._fail_at = fail_at
        self._decided = 0

    def ledger(self) -> Ledger:
        return self._steps.ledger()

    def read(self, reader: CheckInReader, ledger: Ledger, batches: Sequence[Sequence[PendingScan]]) -> None:
        self._steps.read(reader, ledger, batches)

    def decide(self, ledger: Ledger, batch: Sequence[PendingScan]) -> DecidedBatch:
        if self._decided == self._fail_at:
            raise RuntimeError("deciding failed")
        self._decided += 1
        return self._steps.decide(ledger, batch)


def _steps(world: StoreWorld, event_id: str) -> BatchSteps:
    return BatchSteps(
        event_id=event_id,
        clock=world.clock,
        verify=lambda token: world.checkin.verify(event_id=event_id, token=token),
        ble_debounce_seconds=60,
        briefs=False,
        track_gates=False,
    )


def _pending(world: StoreWorld, event_id: str, people: list[tuple[str, str]]) -> list[PendingScan]:
    gate = world.checkin.gate(event_id=event_id, gate_id=world.add_gate(event_id))
    return [
        PendingScan(
            i,
            ScanInput(gate_id=gate.id, participant_id=pid, nonce=f"n{i}"),
            gate,
            ScanIdentity(pid, None),
            T0,
            None,
        )
        for i, (pid, _) in enumerate(people)
    ]


def test_a_batch_that_fails_stores_nothing_of_its_own(world: StoreWorld) -> None:
    event_id = world.live_event()
    pending = _pending(world, event_id, world.add_participants(event_id, 4))
    steps = _FailingSteps(_steps(world, event_id), fail_at=1)
    committed: list[DecidedBatch] = []
    with pytest.raises(RuntimeError, match="deciding failed"):
        committed.extend(
            world.store.record(event_id=event_id, batches=[pending[:2], pending[2:]], steps=steps)
        )
    stored = world.scans(event_id)
    if world.pipelined:  # the first batch was with the writer when the upload stopped: all or nothing
        assert stored in ([], [("n0", "admitted", "", 0), ("n1", "admitted", "", 0)])
    else:
        assert [len(decided.answers) for decided in committed] == [2]
        assert stored == [("n0", "admitted", "", 0), ("n1", "admitted", "", 0)]


def test_a_nonce_stored_meanwhile_is_decided_again_from_fresh_reads(world: StoreWorld) -> None:
    """Another writer commits a scan with the batch's nonce after the batch read: the insert
    conflicts, and the store decides the batch again, now answering from the stored scan."""
    if not world.conflicts_possible:
        pytest.skip("SQLite holds the write lock from a batch's first read: nothing can write meanwhile")
    event_id = world.live_event()
    [pending] = _pending(world, event_id, world.add_participants(event_id, 1))
    steps = _steps(world, event_id)
    reads = 0
    read = steps.read

    def read_then_someone_writes(reader: CheckInReader, ledger: Ledger, batches: Any) -> None:
        nonlocal reads
        read(reader, ledger, batches)
        reads += 1
        if reads == 1:
            world.store_scan_elsewhere(event_id, pending.gate.id, "n0")

    steps.read = read_then_someone_writes  # type: ignore[method-assign]
    [decided] = world.store.record(event_id=event_id, batches=[[pending]], steps=steps)
    [answer] = decided.answers
    assert (answer.result, answer.code, answer.replayed) == (Result.DENIED, "unknown_token", True)
    assert reads == 2
    assert world.scans(event_id) == [("n0", "denied", "unknown_token", 0)]
    assert world.status(pending.identity.participant_id or "") == "not_checked_in"


def test_each_batch_reads_what_another_writer_committed_before_it(world: StoreWorld) -> None:
    """Batch by batch, a participant cancelled between two batches (by another writer) is refused
    in the next one. (Pipelined, a batch decided ahead is checked by the writer process instead:
    ``test_sqlite_checkin_store``.)"""
    if world.pipelined:
        pytest.skip("decided ahead: the writer process's check, tested beside it")
    event_id, people, records = _entries_and_exits(world, 2)

    def after_batch(_event_id: str) -> None:
        world.recorded.append(_event_id)
        if len(world.recorded) == 1:
            world.set_participant(people[0], status="cancelled")

    world.checkin.on_recorded = after_batch
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=2)
    assert [(e.index, e.code) for e in result.errors] == [(2, "participant_cancelled")]
    assert [world.status(pid) for pid in people] == ["inside", "exited"]


def test_tokens_are_verified_when_they_match_no_current_token(world: StoreWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    forged = encode_token(
        TicketClaims(event_id=event_id, participant_id=new_id(), version=1), lambda _: bytes(64)
    )
    answer = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=forged))
    assert (answer.result, answer.code) == (Result.DENIED, "invalid_signature")
    assert world.scans(event_id) == [("", "denied", "invalid_signature", 0)]


def test_ble_detections_of_an_upload_see_the_scans_of_earlier_batches(world: StoreWorld) -> None:
    """An upload's BLE detections are debounced against the last scan at the gate, whether stored
    before the upload or decided in an earlier batch of it (pipelined: not committed yet)."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    people = world.add_participants(event_id, 3)
    world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1]))  # stored: now
    now = world.clock.now()
    records = [
        ScanInput(
            gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE, occurred_at=now + timedelta(seconds=s)
        )
        for s in (10, 30, 50, 200)
        for pid, _ in people
    ]
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=2)
    # person 0: three repeats of the stored admission, then already inside; persons 1 and 2: admitted
    # at 10 s, two repeats, then already inside
    assert (result.successful, result.failed) == (9, 3)
    assert sorted((e.index, e.code) for e in result.errors) == [
        (9, "already_admitted"),
        (10, "already_admitted"),
        (11, "already_admitted"),
    ]
    assert sorted(result for _, result, _, _ in world.scans(event_id)) == ["admitted"] * 3 + ["denied"] * 3
