"""Check-in: one scan, or a bulk upload of offline scans, decided by ``domain.admission``.

The hot path of one scan:

1. the gate comes from a per-process cache (gates do not change after creation; 5 s TTL);
2. the token, without the database: one this process has verified before is remembered; a new one
   is left for step 3;
3. scans arriving together in this process are committed together (group commit: ``scan_async``
   for the async HTTP route, ``scan`` for threads). One short transaction per group: the event and
   the named participants are read — a new token by the participant's stored *current* token
   (unique index), so the usual scan needs no Ed25519 verification; only a token that matches
   nothing is verified, to tell ``invalid_signature`` / ``wrong_event`` / ``revoked`` /
   ``unknown_token`` apart (the event's public key is fetched before the transaction). Rows are
   locked ``FOR UPDATE`` on PostgreSQL; SQLite writers hold the write lock from ``BEGIN IMMEDIATE``.
   Each scan is decided in arrival order against the state the previous one left; every scan is
   inserted (any outcome), participants updated, ``attendance.recorded`` written to the outbox for
   accepted scans.

Exactly once: the participant row lock (PostgreSQL) or the single writer (SQLite) serialises every
scan of one ticket across processes, and inside a group the in-memory state does, so of N
simultaneous entries one is admitted and the rest read ``inside``. Idempotency: ``(event_id,
nonce)`` is unique; known nonces are answered from the stored scan; a conflicting insert rolls the
group back and its scans are retried one by one, returning the stored answer.

``participants.last_scan_at`` is the time of the last *accepted* scan (the start of a stay).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import logging
import os
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from turnout.adapters.child import ChildStopped
from turnout.adapters.db import tables as t
from turnout.adapters.db.engine import is_sqlite
from turnout.adapters.db.repositories import event_from_row
from turnout.adapters.db.sqlite_rows import Statement, variable_limit, write_statements
from turnout.adapters.db.sqlite_writer import SqliteWriter, WriterStopped, Written
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.uow import UnitOfWork
from turnout.config import Settings
from turnout.domain.admission import (
    Admitted,
    CheckInStatus,
    Decision,
    Denied,
    Direction,
    Exited,
    PreviousScan,
    Repeated,
    Result,
    Scan,
    TicketState,
    admit,
    default_direction,
    status_after,
)
from turnout.domain.errors import NotFound
from turnout.domain.events import Event, Gate, ScanMethod, localize
from turnout.domain.ids import sequential_ids
from turnout.domain.tickets import TicketClaims, TicketError, normalise_token, verify_token
from turnout.messages.base import Envelope
from turnout.messages.facts import AttendanceRecorded
from turnout.runtime import gc_paused
from turnout.services.ticketing import TicketBook

GATE_TTL_SECONDS = 5.0
TOKEN_CACHE_SIZE = 200_000
GROUP_MAX = 64  # scans per group commit
READ_AHEAD_BATCHES = 10  # a pipelined bulk upload reads for this many batches at a time
WRITER_START_SECONDS = 10.0  # a bulk upload waits this long at most for the writer process to start
WRITER_CLOSE_WAIT_SECONDS = 30.0  # closing waits this long at most for an upload using the writer
# batches sent to the writer and not yet reported at most: enough to keep it busy; and what an error
# in the middle of an upload can leave committed beyond what was counted
WRITER_IN_FLIGHT = 16

log = logging.getLogger(__name__)

p = t.participants
e = t.events


# The records below are built for every scan (10,000 of each for a full bulk upload): slotted
# dataclasses, not frozen ones, whose ``__init__`` costs several times as much (see
# ``domain.admission``). Nothing changes them once built; treat them as values.


@dataclass(slots=True)
class ScanInput:
    """One scan as a gate (or an offline upload) reports it. ``occurred_at`` may be naive: it is then
    read in the event's timezone; ``None`` means now."""

    gate_id: str
    method: ScanMethod = ScanMethod.QR
    token: str | None = None
    participant_id: str | None = None
    direction: Direction | None = None
    occurred_at: datetime | None = None
    nonce: str | None = None
    location: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ParticipantBrief:
    id: str
    name: str
    check_in_status: str


@dataclass(slots=True)
class ScanAnswer:
    result: Result
    code: str | None
    attendance_id: str | None
    participant: ParticipantBrief | None
    replayed: bool = False  # the same nonce (or a debounced BLE detection): the stored answer

    @property
    def accepted(self) -> bool:
        return self.result is not Result.DENIED


@dataclass(frozen=True)
class BulkError:
    index: int
    code: str


@dataclass
class BulkResult:
    total_processed: int = 0
    successful: int = 0
    failed: int = 0
    errors: list[BulkError] = field(default_factory=list)


@dataclass(slots=True)
class _Participant:
    """Mutable state of one participant while a transaction decides its scans."""

    id: str
    name: str
    status: str
    check_in_status: CheckInStatus
    ticket_version: int
    first_checked_in_at: datetime | None
    last_scan_at: datetime | None

    def ticket(self, token_version: int | None) -> TicketState:
        return TicketState(
            participant_id=self.id,
            status=self.status,
            check_in_status=self.check_in_status,
            ticket_version=self.ticket_version,
            token_version=token_version,
            last_accepted_at=self.last_scan_at,
        )

    def brief(self) -> ParticipantBrief:
        return ParticipantBrief(self.id, self.name, self.check_in_status.value)


# (index, record, gate, identity, occurred_at or None for "now", actor)
_Item = tuple[int, "ScanInput", Gate, "_Identity", datetime | None, str | None]


@dataclass
class _Plan:
    """One batch decided: the answers, and the rows that record them (written by ``_write_plan``).

    With ``texts`` (SQLite) the scan rows and facts are the driver's rows (``_scan_row`` with texts;
    outbox rows in ``_OUTBOX_COLUMNS`` order); without, ``_scan_row`` tuples and
    ``(id, occurred_at, data)`` facts for SQLAlchemy Core."""

    answers: list[ScanAnswer]
    scan_rows: list[tuple[Any, ...]]  # in ``_SCAN_COLUMNS`` order
    facts: list[tuple[Any, ...]]  # attendance.recorded
    changed: list[tuple[Any, ...]]  # ``_snapshot`` of each participant whose state moved
    batch_nonces: dict[str, ScanAnswer]
    now: datetime
    texts: _TimeTexts | None = None


def _snapshot(person: _Participant) -> tuple[Any, ...]:
    """A participant's check-in state as it is now: (status, first checked in, last scan, id)."""
    return (person.check_in_status, person.first_checked_in_at, person.last_scan_at, person.id)


def _write_plan(conn: sa.Connection, event_id: str, plan: _Plan, uow: UnitOfWork) -> None:
    """The batch's scan rows, participant updates and facts, in ``uow``'s transaction."""
    if plan.texts is not None:
        write_statements(conn, _statements(plan))
        return
    if plan.scan_rows:
        conn.execute(scans.insert(), [_scan_dict(row) for row in plan.scan_rows])
    if plan.changed:
        _update_participants(conn, plan.changed, plan.now)
    if plan.facts:
        uow.emit_envelopes(
            [
                Envelope(
                    id=fact_id,
                    type=AttendanceRecorded.TYPE,
                    occurred_at=occurred_at,
                    key=event_id,
                    data=data,
                    version=AttendanceRecorded.VERSION,
                )
                for fact_id, occurred_at, data in plan.facts
            ]
        )


@dataclass
class _Waiting:
    """A scan queued for the next group commit."""

    event_id: str
    item: _Item
    answer: ScanAnswer | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass(slots=True)
class _Identity:
    """Who a scan names, once the token is checked: a participant id, or a refusal code."""

    participant_id: str | None
    token_version: int | None
    denial: str | None = None
    token: str | None = None  # a normalised token still to be looked up (see ``_resolve``)


@dataclass
class _InHand:
    """What an upload (or one batch) holds in memory while it decides: participants by id (their
    state as the batches decided so far left it), tokens resolved, and the answers of nonces
    already stored or decided (``known``; a batch reads through ``seen_nonces`` of the upload)."""

    known: MutableMapping[str, ScanAnswer]
    people: dict[str, _Participant] = field(default_factory=dict)
    by_token: dict[str, str] = field(default_factory=dict)  # a participant's stored current token
    resolved: dict[str, _Identity] = field(default_factory=dict)


_PARTICIPANT_COLUMNS = (
    p.c.id.label("p_id"),
    p.c.name.label("p_name"),
    p.c.status.label("p_status"),
    p.c.check_in_status.label("p_check_in_status"),
    p.c.ticket_version.label("p_ticket_version"),
    p.c.first_checked_in_at.label("p_first_checked_in_at"),
    p.c.last_scan_at.label("p_last_scan_at"),
)


def _participant_from_row(row: Any) -> _Participant:
    return _Participant(
        id=row.p_id,
        name=row.p_name,
        status=row.p_status,
        check_in_status=CheckInStatus(row.p_check_in_status),
        ticket_version=int(row.p_ticket_version),
        first_checked_in_at=row.p_first_checked_in_at,
        last_scan_at=row.p_last_scan_at,
    )


class Desk:
    """The check-in desk of one process: caches (gates, public keys, verified tokens) and the use cases.

    Built once per process by ``desk_for(turnout)``.
    """

    def __init__(
        self,
        uow_factory: Callable[..., UnitOfWork],
        tickets: TicketBook,
        settings: Settings,
        *,
        on_recorded: Callable[[str], None] | None = None,
        bulk_writer: bool = False,
    ) -> None:
        self._uow_factory = uow_factory
        # a bulk upload's batches are committed by a writer process (SQLite file only)
        self._writer_database = _sqlite_file(settings.database_url) if bulk_writer else None
        self._writer: SqliteWriter | None = None
        self._closed = False
        self._tickets = tickets
        self._settings = settings
        self._on_recorded = on_recorded
        self._lock = threading.Lock()
        self._gates: dict[str, tuple[float, Gate]] = {}
        self._verifiers: dict[str, Callable[[bytes, bytes], bool]] = {}
        self._tokens: dict[tuple[str, str], TicketClaims | str] = {}
        self._group = threading.Condition()
        self._pending: list[_Waiting] = []
        self._leading = False
        self._async_lock = threading.Lock()
        self._async_pending: list[tuple[_Waiting, asyncio.AbstractEventLoop, asyncio.Future[ScanAnswer]]] = []
        self._async_draining = False
        self._turn_path = _turn_path(settings.database_url)
        self._turn_fd: int | None = None
        self._turn_lock = threading.Lock()

    @contextlib.contextmanager
    def _write_turn(self) -> Iterator[None]:
        """On a SQLite file, the processes' check-in writers take turns through an ``flock`` on a file
        beside the database before ``BEGIN IMMEDIATE``: the next waiter wakes the moment the lock is
        released, where SQLite's busy handler would poll with sleeps of up to 100 ms (the scan p99)."""
        if self._turn_path is None:
            yield
            return
        with self._turn_lock:  # flock is per open file: threads of this process queue here first
            if self._turn_fd is None:
                self._turn_fd = os.open(self._turn_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._turn_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._turn_fd, fcntl.LOCK_UN)

    # --- caches ------------------------------------------------------------------------------------

    def gate(self, *, event_id: str, gate_id: str) -> Gate:
        now = time.monotonic()
        cached = self._gates.get(gate_id)
        if cached is None or cached[0] < now:
            with self._uow_factory(readonly=True) as uow:
                gate = uow.gates.get(gate_id)
            if gate is None:
                raise NotFound("gate_not_found", gate_id=gate_id)
            with self._lock:
                self._gates[gate_id] = (now + GATE_TTL_SECONDS, gate)
        else:
            gate = cached[1]
        if gate.event_id != event_id:
            raise NotFound("gate_not_found", gate_id=gate_id)
        return gate

    def cached_gate(self, *, event_id: str, gate_id: str) -> Gate | None:
        """The gate if this process has it cached and fresh (no database), else ``None``."""
        cached = self._gates.get(gate_id)
        if cached is not None and cached[0] >= time.monotonic() and cached[1].event_id == event_id:
            return cached[1]
        return None

    def forget_gate(self, gate_id: str) -> None:
        with self._lock:
            self._gates.pop(gate_id, None)

    def _verifier(self, event_id: str) -> Callable[[bytes, bytes], bool]:
        verify = self._verifiers.get(event_id)
        if verify is None:
            # a write transaction (the key pair is made on first use): it takes its writer turn too,
            # or SQLite's busy handler can lose to the other processes' turns for seconds
            with self._write_turn(), self._uow_factory() as uow:
                pair = self._tickets.keypair(uow, event_id=event_id)
                uow.commit()
            verify = pair.verify
            with self._lock:
                self._verifiers[event_id] = verify
        return verify

    def identify(self, *, event_id: str, token: str | None, participant_id: str | None) -> _Identity:
        """Who a scan names, without the database. A token already seen by this process is known
        (verification is deterministic); a new one is left to ``_resolve`` inside the transaction,
        which matches it against the stored current token first and checks the signature only when
        that fails (so the usual scan costs no Ed25519 verification at all)."""
        if token is None:
            return _Identity(participant_id=participant_id, token_version=None)
        normal = normalise_token(token)
        found = self._tokens.get((event_id, normal))
        if found is None:
            return _Identity(participant_id=None, token_version=None, token=normal)
        if isinstance(found, str):
            return _Identity(participant_id=None, token_version=None, denial=found)
        return _Identity(participant_id=found.participant_id, token_version=found.version)

    def verify(self, *, event_id: str, token: str) -> TicketClaims | str:
        """The token's claims after a full check (shape, event, signature), or the refusal code."""
        key = (event_id, token)
        found = self._tokens.get(key)
        if found is None:
            try:
                found = verify_token(token, event_id=event_id, verify=self._verifier(event_id))
            except TicketError as error:
                found = error.code
            with self._lock:
                if len(self._tokens) >= TOKEN_CACHE_SIZE:
                    self._tokens.clear()
                self._tokens[key] = found
        return found

    # --- one scan ----------------------------------------------------------------------------------

    def scan(self, *, event_id: str, scan: ScanInput, actor: str | None = None) -> ScanAnswer:
        """Decide and record one scan. Raises ``NotFound`` for an unknown event or gate.

        Concurrent scans in this process are committed together (group commit): the first caller
        leads, taking everything queued into one transaction, and hands over when its own scan is
        answered. Each scan is still decided in arrival order against the state the previous one left.
        """
        gate = self.gate(event_id=event_id, gate_id=scan.gate_id)
        identity = self.identify(event_id=event_id, token=scan.token, participant_id=scan.participant_id)
        waiting = _Waiting(event_id, (0, scan, gate, identity, scan.occurred_at, actor))
        with self._group:
            self._pending.append(waiting)
            while not waiting.done and self._leading:
                self._group.wait()
            if not waiting.done:
                self._leading = True
        if not waiting.done:
            try:
                while not waiting.done:
                    with self._group:
                        batch = self._pending[:GROUP_MAX]
                        del self._pending[:GROUP_MAX]
                    if not batch:
                        break
                    try:
                        self._run_group(batch)
                    except BaseException as error:  # never leave a waiting request without an answer
                        for other in batch:
                            if not other.done:
                                other.error, other.done = error, True
                    with self._group:
                        self._group.notify_all()
            finally:
                with self._group:
                    self._leading = False
                    self._group.notify_all()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.answer is not None
        return waiting.answer

    async def scan_async(self, *, event_id: str, scan: ScanInput, actor: str | None = None) -> ScanAnswer:
        """``scan`` for ``async`` callers: no thread waits per request. Scans queue up; one drain
        thread at a time commits them in groups and settles each request's future."""
        loop = asyncio.get_running_loop()
        gate = self.cached_gate(event_id=event_id, gate_id=scan.gate_id)
        if gate is None:
            gate = await loop.run_in_executor(
                None, functools.partial(self.gate, event_id=event_id, gate_id=scan.gate_id)
            )
        identity = self.identify(event_id=event_id, token=scan.token, participant_id=scan.participant_id)
        future: asyncio.Future[ScanAnswer] = loop.create_future()
        waiting = _Waiting(event_id, (0, scan, gate, identity, scan.occurred_at, actor))
        with self._async_lock:
            self._async_pending.append((waiting, loop, future))
            start = not self._async_draining
            self._async_draining = True
        if start:
            loop.run_in_executor(None, self._drain_async)
        return await future

    def _drain_async(self) -> None:
        while True:
            with self._async_lock:
                taken = self._async_pending[:GROUP_MAX]
                del self._async_pending[:GROUP_MAX]
                if not taken:
                    self._async_draining = False
                    return
            batch = [waiting for waiting, _, _ in taken]
            try:
                self._run_group(batch)
            except BaseException as error:  # never leave a waiting request without an answer
                for waiting in batch:
                    if not waiting.done:
                        waiting.error, waiting.done = error, True
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[ScanAnswer], _Waiting]]] = {}
            for waiting, loop, future in taken:
                by_loop.setdefault(loop, []).append((future, waiting))
            for loop, settled in by_loop.items():  # one wake-up per loop, not one per scan
                loop.call_soon_threadsafe(_settle_all, settled)

    def _run_group(self, batch: list[_Waiting]) -> None:
        by_event: dict[str, list[_Waiting]] = {}
        for waiting in batch:
            by_event.setdefault(waiting.event_id, []).append(waiting)
        for event_id, group in by_event.items():
            try:
                answers = self._bulk_batch_once(
                    event_id=event_id, batch=[w.item for w in group], seen_nonces={}
                )
            except Exception:  # a nonce stored meanwhile, a vanished event: one at a time instead
                for waiting in group:
                    try:
                        waiting.answer = self._scan_alone(event_id=event_id, item=waiting.item)
                    except Exception as error:  # handed to the waiting request
                        waiting.error = error
                    waiting.done = True
            else:
                for waiting, answer in zip(group, answers, strict=True):
                    waiting.answer = answer
                    waiting.done = True
            if self._on_recorded is not None and any(w.answer and w.answer.accepted for w in group):
                self._on_recorded(event_id)

    def _scan_alone(self, *, event_id: str, item: _Item) -> ScanAnswer:
        """One scan in a transaction of its own (when its group could not commit): the group path
        with a group of one. A nonce stored meanwhile by another process gives its stored answer."""
        scan = item[1]
        try:
            [answer] = self._bulk_batch_once(event_id=event_id, batch=[item], seen_nonces={})
        except sa.exc.IntegrityError:
            if scan.nonce is None:
                raise
            stored = self.find_by_nonce(event_id=event_id, nonce=scan.nonce)
            if stored is None:
                raise
            return stored
        return answer

    @staticmethod
    def _last_at_gate(conn: sa.Connection, *, participant_id: str, gate_id: str) -> PreviousScan | None:
        row = conn.execute(
            sa.select(scans.c.id, scans.c.occurred_at, scans.c.result, scans.c.code)
            .where(scans.c.participant_id == participant_id, scans.c.gate_id == gate_id)
            .order_by(scans.c.occurred_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return PreviousScan(row.id, row.occurred_at, Result(row.result), row.code)

    def find_by_nonce(self, *, event_id: str, nonce: str) -> ScanAnswer | None:
        """The stored answer for a nonce already seen (participant as it is now)."""
        with self._uow_factory(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(
                    scans.c.id,
                    scans.c.result,
                    scans.c.code,
                    p.c.id.label("p_id"),
                    p.c.name,
                    p.c.check_in_status,
                )
                .select_from(scans.outerjoin(p, p.c.id == scans.c.participant_id))
                .where(scans.c.event_id == event_id, scans.c.nonce == nonce)
            ).first()
        if row is None:
            return None
        brief = ParticipantBrief(row.p_id, row.name, row.check_in_status) if row.p_id else None
        return ScanAnswer(Result(row.result), row.code, row.id, brief, replayed=True)

    # --- bulk --------------------------------------------------------------------------------------

    def bulk(
        self,
        *,
        event_id: str,
        records: Sequence[ScanInput],
        actor: str | None = None,
        batch_size: int | None = None,
    ) -> BulkResult:
        """Apply offline scans in timestamp order, ``batch_size`` (default ``settings.bulk_batch_size``) per
        transaction; idempotent by nonce. Errors are reported by the record's index in ``records``."""
        size = batch_size or self._settings.bulk_batch_size
        result = BulkResult(total_processed=len(records))
        with self._uow_factory(readonly=True) as uow:
            row = uow.conn.execute(sa.select(e.c.timezone).where(e.c.id == event_id)).first()
        if row is None:
            raise NotFound("event_not_found", event_id=event_id)
        timezone = row.timezone
        now_fallback = None
        prepared: list[_Item] = []
        gates: dict[str, Gate | None] = {}  # an upload names a few gates, thousands of times
        identities: dict[str, _Identity] = {}  # by token as given
        for index, record in enumerate(records):
            gate_id = record.gate_id
            if gate_id in gates:
                gate = gates[gate_id]
            else:
                try:
                    gate = gates[gate_id] = self.gate(event_id=event_id, gate_id=gate_id)
                except NotFound:
                    gate = gates[gate_id] = None
            if gate is None:
                result.failed += 1
                result.errors.append(BulkError(index, "gate_not_found"))
                continue
            if record.token is None and record.participant_id is None:
                result.failed += 1
                result.errors.append(BulkError(index, "token_or_participant_required"))
                continue
            # an upload names most tokens more than once (an entry, an exit): identified once each
            token = record.token
            identity = identities.get(token) if token is not None else None
            if identity is None:
                identity = self.identify(event_id=event_id, token=token, participant_id=record.participant_id)
                if token is not None:
                    identities[token] = identity
            if record.occurred_at is not None:
                at = localize(record.occurred_at, timezone)
            else:
                if now_fallback is None:
                    with self._uow_factory(readonly=True) as uow:
                        now_fallback = uow.clock.now()
                at = now_fallback
            prepared.append((index, record, gate, identity, at, actor))
        prepared.sort(
            key=lambda item: (item[4] or now_fallback, item[0])
        )  # timestamp order; stable by upload order
        seen_nonces: dict[str, ScanAnswer] = {}
        batches = [prepared[start : start + size] for start in range(0, len(prepared), size)]
        with gc_paused():
            done = 0
            if self._can_pipeline(batches):
                done = self._bulk_pipelined(
                    event_id=event_id, batches=batches, seen_nonces=seen_nonces, result=result
                )
            for batch in batches[done:]:  # all of them, or those after the pipeline stopped
                answers = self._bulk_batch(event_id=event_id, batch=batch, seen_nonces=seen_nonces)
                self._count(event_id, batch, answers, result)
        result.errors.sort(key=lambda err: err.index)
        return result

    def _count(
        self, event_id: str, batch: list[_Item], answers: list[ScanAnswer], result: BulkResult
    ) -> None:
        """A committed batch into the upload's result; statistics move."""
        denied = Result.DENIED
        refused = [
            BulkError(item[0], answer.code or "denied")
            for item, answer in zip(batch, answers, strict=True)
            if answer.result is denied
        ]
        result.failed += len(refused)
        result.successful += len(batch) - len(refused)
        result.errors += refused
        if self._on_recorded is not None:
            self._on_recorded(event_id)

    def _can_pipeline(self, batches: list[list[_Item]]) -> bool:
        """Pipelining needs a SQLite file (a writer process, ``data_version``), more than one batch,
        and no BLE records (their debounce reads the scans table, which the batch before may not
        have committed yet)."""
        return (
            self._writer_database is not None
            and len(batches) > 1
            and not any(item[1].method is ScanMethod.BLE for batch in batches for item in batch)
        )

    def start_writer(self) -> SqliteWriter | None:
        """The bulk uploads' writer process (SQLite file only, else None), started if it is not
        running. A server starts it with the process, so that the first upload finds it ready."""
        if self._writer_database is None:
            return None
        with self._lock:
            if self._closed:  # shutting down: no new writer (uploads go batch by batch)
                return None
            if self._writer is None or not self._writer.alive:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
                try:
                    self._writer = SqliteWriter(self._writer_database, self._turn_path)
                except (OSError, ChildStopped):
                    log.warning(
                        "the bulk writer process did not start; uploads go batch by batch", exc_info=True
                    )
                    return None
            return self._writer

    def close(self) -> None:
        """End the writer process, if one was started, after the upload using it (if any) ends; no
        other is started after this."""
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        if writer is None:
            return
        taken = writer.lock.acquire(timeout=WRITER_CLOSE_WAIT_SECONDS)
        try:
            writer.close()
        finally:
            if taken:
                writer.lock.release()

    def _drop(self, writer: SqliteWriter) -> None:
        """Kill a writer that failed or may be out of step (nothing it was sent is done after), and
        forget it: the next upload starts another."""
        writer.kill()
        with self._lock:
            if self._writer is writer:
                self._writer = None

    def _bulk_pipelined(
        self,
        *,
        event_id: str,
        batches: list[list[_Item]],
        seen_nonces: dict[str, ScanAnswer],
        result: BulkResult,
    ) -> int:
        """SQLite: decide batch k+1 while the writer process commits batch k (``adapters.db.sqlite_writer``).

        This thread decides each batch against the participants as the batches before it left
        them (in memory) and reads only what no batch of this upload has touched, through its own
        read transactions, ``READ_AHEAD_BATCHES`` batches at a time (``_read``), after the writer's
        session has begun. The writer commits each batch in a transaction of its own, after checking
        under the write lock that nothing else has written since the session began; then every
        decision made ahead stands on exactly the state it assumed. Committed batches are counted
        here as their outcomes come back (statistics move). If a batch is not written (another
        connection wrote; an error), the batches after it are not either, and the caller goes on
        from it batch by batch. Another upload already using the writer, or a writer that does not
        start: 0, all batch by batch.

        Returns the number of batches committed (and counted into ``result``).
        """
        writer = self.start_writer()
        if writer is None:
            return 0
        if not writer.wait_ready(WRITER_START_SECONDS):
            log.warning("the bulk writer did not start in time; this upload goes batch by batch")
            self._drop(writer)
            return 0
        if not writer.lock.acquire(blocking=False):
            return 0
        try:
            if any(item[3].token for batch in batches for item in batch):
                self._verifier(event_id)  # the key first: fetching it may write
            return self._pipeline(
                writer, event_id=event_id, batches=batches, seen_nonces=seen_nonces, result=result
            )
        finally:
            writer.lock.release()

    def _pipeline(
        self,
        writer: SqliteWriter,
        *,
        event_id: str,
        batches: list[list[_Item]],
        seen_nonces: dict[str, ScanAnswer],
        result: BulkResult,
    ) -> int:
        sent: dict[int, _Plan] = {}  # batches sent and not counted yet
        counted = 0
        stopped = False
        unwritten = len(batches)  # the first batch the writer reported not written

        def settle(outcomes: list[Written]) -> None:
            nonlocal counted, stopped, unwritten
            for outcome in outcomes:
                k = outcome.batch
                if k is None or not outcome.committed:
                    if outcome.outcome == "error":
                        log.warning("bulk writer: batch %s not written:\n%s", k, outcome.detail)
                    if k is not None:
                        unwritten = min(unwritten, k)
                    stopped = True
                    continue
                plan = sent.pop(k)
                seen_nonces.update(plan.batch_nonces)
                counted += 1
                self._count(event_id, batches[k], plan.answers, result)

        try:
            writer.begin()
        except WriterStopped:
            log.warning("bulk writer did not begin; this upload goes batch by batch", exc_info=True)
            self._drop(writer)
            return 0
        lost = False
        try:
            with self._uow_factory(readonly=True) as uow:  # read only after the session began
                event = event_from_row(_event_row(uow.conn, event_id))
                clock = uow.clock
            hand = _InHand(known=dict(seen_nonces))  # with this upload's batches decided so far
            texts = _TimeTexts()
            for k, batch in enumerate(batches):
                settle(writer.written())
                if stopped:
                    break
                if k % READ_AHEAD_BATCHES == 0:  # what the next batches need, in one read transaction
                    items = [item for later in batches[k : k + READ_AHEAD_BATCHES] for item in later]
                    with self._uow_factory(readonly=True) as uow:
                        self._read(uow, event_id=event_id, items=items, hand=hand)
                plan = self._decide(
                    event_id=event_id, event=event, batch=batch, hand=hand, now=clock.now(), texts=texts
                )
                hand.known.update(plan.batch_nonces)
                while len(sent) >= WRITER_IN_FLIGHT and not stopped:  # far enough ahead: wait
                    settle([writer.next_written()])
                if stopped:
                    break
                sent[k] = plan
                writer.write(k, _statements(plan))
        except WriterStopped:
            lost = True
        except BaseException:
            # e.g. the statistics callback: stop the writer where it is (batches it has committed
            # stay, and a retry answers them by nonce); nothing more is written or counted
            self._drop(writer)
            raise
        if not lost:
            try:
                outcomes = writer.end()
            except WriterStopped:
                lost = True
            else:
                settle(outcomes)
        if lost:  # the writer died or stopped answering: which of the batches sent did it commit?
            log.warning("bulk writer stopped mid-upload; finding what it committed")
            self._drop(writer)  # first: a writer still alive could commit more while we look
            for k in sorted(sent):
                if k >= unwritten or not self._committed(sent[k]):
                    break
                settle([Written("ok", k)])
        return counted

    def _committed(self, plan: _Plan) -> bool:
        """Whether a batch sent to a writer that died was committed: its first scan row is stored
        (a batch is one transaction). A batch with no rows to write (every record a replay) is."""
        if not plan.scan_rows:
            return True
        with self._uow_factory(readonly=True) as uow:
            found = uow.conn.execute(sa.select(scans.c.id).where(scans.c.id == plan.scan_rows[0][0])).first()
        return found is not None

    def _read(
        self,
        uow: UnitOfWork,
        *,
        event_id: str,
        items: list[_Item],
        hand: _InHand,
    ) -> None:
        """What ``items`` need and is not in ``hand`` yet, read through ``uow`` into it: participants
        (rows locked on PostgreSQL), tokens, and the stored answers of nonces not known. What is
        already in hand is not read again: in a pipelined upload its state in memory is the newer one."""
        people = hand.people
        tokens = {item[3].token for item in items if item[3].token} - hand.resolved.keys()
        ids = {item[3].participant_id for item in items if item[3].participant_id and not item[3].denial}
        more, more_tokens = _load_people(uow, event_id=event_id, ids=ids - people.keys(), tokens=tokens)
        for pid, loaded in more.items():
            people.setdefault(pid, loaded)
        hand.by_token.update(more_tokens)
        hand.resolved.update(
            self._resolve(uow, event_id=event_id, tokens=tokens, people=people, by_token=hand.by_token)
        )
        hand.known.update(
            _stored_answers(uow.conn, event_id=event_id, items=items, known=hand.known, people=people)
        )

    def _bulk_batch(
        self,
        *,
        event_id: str,
        batch: list[_Item],
        seen_nonces: dict[str, ScanAnswer],
    ) -> list[ScanAnswer]:
        for attempt in range(3):
            try:
                return self._bulk_batch_once(
                    event_id=event_id, batch=batch, seen_nonces=seen_nonces, briefs=False
                )
            except sa.exc.DBAPIError:
                # a concurrent upload stored one of these nonces first, or PostgreSQL broke a lock
                # cycle: read everything again and retry
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _bulk_batch_once(
        self,
        *,
        event_id: str,
        batch: list[_Item],
        seen_nonces: dict[str, ScanAnswer],
        briefs: bool = True,
    ) -> list[ScanAnswer]:
        """Decide and record ``batch`` in one transaction. ``briefs=False``: answers without the
        participant's name and status (a bulk upload reports codes only)."""
        if any(item[3].token for item in batch):
            self._verifier(event_id)  # the key first: fetching it may write, outside our transaction
        with self._write_turn(), self._uow_factory() as uow:
            conn = uow.conn
            event = event_from_row(_event_row(conn, event_id))
            hand = _InHand(known=ChainMap({}, seen_nonces))  # what the batch reads goes in front
            self._read(uow, event_id=event_id, items=batch, hand=hand)
            plan = self._decide(
                event_id=event_id,
                event=event,
                batch=batch,
                hand=hand,
                now=uow.clock.now(),
                conn=conn,
                briefs=briefs,
                texts=_TimeTexts() if uow.dialect == "sqlite" else None,
            )
            _write_plan(uow.conn, event_id, plan, uow)
            uow.commit()
        seen_nonces.update(plan.batch_nonces)
        return plan.answers

    def _resolve(
        self,
        uow: UnitOfWork,
        *,
        event_id: str,
        tokens: set[str],
        people: dict[str, _Participant],
        by_token: dict[str, str],
    ) -> dict[str, _Identity]:
        """Who each token still to be looked up names: a participant's stored current token names
        them; any other token is verified (signature, event, revocation) and the participant it
        names, if any, is loaded into ``people``."""
        resolved: dict[str, _Identity] = {}
        later: set[str] = set()
        for token in tokens:
            pid = by_token.get(token)
            if pid is not None:
                resolved[token] = _Identity(participant_id=pid, token_version=_stored_token_version(token))
                continue
            found = self.verify(event_id=event_id, token=token)
            if isinstance(found, str):
                resolved[token] = _Identity(participant_id=None, token_version=None, denial=found)
            else:
                resolved[token] = _Identity(participant_id=found.participant_id, token_version=found.version)
                if found.participant_id not in people:
                    later.add(found.participant_id)
        if later:
            for pid, loaded in _load_people(uow, event_id=event_id, ids=later, tokens=set())[0].items():
                people.setdefault(pid, loaded)
        return resolved

    def _decide(
        self,
        *,
        event_id: str,
        event: Event,
        batch: list[_Item],
        hand: _InHand,
        now: datetime,
        texts: _TimeTexts | None,
        conn: sa.Connection | None = None,
        briefs: bool = False,
    ) -> _Plan:
        """Decide ``batch`` against ``hand.people`` (updated in place as each scan is applied) and
        build the rows to write, without reading: tokens come ``hand.resolved``, and ``hand.known``
        holds the answers of nonces already stored or decided. ``conn`` reads the last scan at a gate
        for a BLE detection (an upload without BLE records passes none). ``briefs``: answers with the
        participant's name and status (a bulk upload reports codes only). With ``texts`` (SQLite): rows for
        SQLite's driver, each moment formatted once through ``texts`` (shared by a scan's row, its
        fact and its participant's update; a pipelined upload shares one across its batches), else
        rows for SQLAlchemy Core."""
        people, resolved, known = hand.people, hand.resolved, hand.known
        fresh_ids = iter(sequential_ids(2 * len(batch)))  # a scan id and a fact id per record
        answers: list[ScanAnswer] = []
        scan_rows: list[tuple[Any, ...]] = []
        facts: list[tuple[Any, ...]] = []
        now_value = texts[now] if texts is not None else now
        json_value = _json_text if texts is not None else _as_is
        fact_type, fact_version = AttendanceRecorded.TYPE, AttendanceRecorded.VERSION
        batch_nonces: dict[str, ScanAnswer] = {}
        last_at_gate: dict[tuple[str, str], PreviousScan | None] = {}
        changed: dict[str, _Participant] = {}
        any_ble = any(item[1].method is ScanMethod.BLE for item in batch)
        for _, record, gate, identity, at, actor in batch:
            if identity.token is not None:
                identity = resolved[identity.token]
            if at is None:
                occurred_at = now
            elif at.tzinfo is None:
                occurred_at = localize(at, event.timezone)
            else:
                occurred_at = at
            nonce = record.nonce
            if nonce is not None:
                earlier = known.get(nonce) or batch_nonces.get(nonce)
                if earlier is not None:
                    answers.append(earlier)
                    continue
            person = people.get(identity.participant_id) if identity.participant_id else None
            direction = record.direction or default_direction(gate)
            if identity.denial is not None:
                decision: Decision = Denied(identity.denial)
            else:
                previous = None
                if record.method is ScanMethod.BLE and person is not None:
                    key = (person.id, gate.id)
                    if key not in last_at_gate:
                        assert conn is not None, "BLE records are decided with a connection"
                        last_at_gate[key] = self._last_at_gate(
                            conn, participant_id=person.id, gate_id=gate.id
                        )
                    previous = last_at_gate[key]
                decision = admit(
                    Scan(gate.id, record.method, direction, occurred_at),
                    person.ticket(identity.token_version) if person else None,
                    gate,
                    event,
                    previous,
                    ble_debounce_seconds=self._settings.ble_debounce_seconds,
                )
            if isinstance(decision, Repeated):
                prev = decision.previous
                answer = ScanAnswer(
                    prev.result, prev.code, prev.scan_id, person.brief() if person else None, True
                )
            else:
                scan_id = next(fresh_ids)
                pid = person.id if person is not None else None
                stay = decision.stay_seconds if type(decision) is Exited else None
                result, code = decision.result, decision.code
                at_value = texts[occurred_at] if texts is not None else occurred_at
                scan_rows.append(
                    _scan_row(
                        scan_id,
                        event_id,
                        gate.id,
                        pid,
                        record,
                        direction,
                        at_value,
                        now_value,
                        result,
                        code,
                        stay,
                        actor,
                        json_value,
                    )
                )
                if person is not None and not isinstance(decision, Denied):
                    _apply(person, decision, occurred_at)
                    changed[person.id] = person
                    data = _fact_data(
                        event_id, scan_id, person.id, gate.id, record.method, direction, occurred_at, decision
                    )
                    if texts is not None:
                        facts.append(
                            (next(fresh_ids), fact_type, event_id, fact_version, at_value, _json_text(data))
                        )
                    else:
                        facts.append((next(fresh_ids), occurred_at, data))
                if person is not None and any_ble:  # what a later BLE detection here is debounced against
                    last_at_gate[(person.id, gate.id)] = PreviousScan(
                        scan_id, occurred_at, decision.result, decision.code
                    )
                answer = ScanAnswer(result, code, scan_id, person.brief() if person and briefs else None)
            if nonce is not None:
                batch_nonces[nonce] = answer
            answers.append(answer)
        return _Plan(
            answers,
            scan_rows,
            facts,
            [_snapshot(person) for person in changed.values()],
            batch_nonces,
            now,
            texts,
        )


def _settle_all(settled: list[tuple[asyncio.Future[ScanAnswer], _Waiting]]) -> None:
    for future, waiting in settled:
        _settle(future, waiting)


def _settle(future: asyncio.Future[ScanAnswer], waiting: _Waiting) -> None:
    if future.done():  # the request went away
        return
    if waiting.error is not None:
        future.set_exception(waiting.error)
    else:
        assert waiting.answer is not None
        future.set_result(waiting.answer)


def _stored_token_version(token: str) -> int:
    """The ticket version inside a well-formed token (one that matched a stored token): bytes 33-34,
    which sit in the base32 group of characters 48-55 (bytes 30-34)."""
    # the low 16 bits of the group's 40; ``int(..., 32)`` reads base32hex digits, so translate first
    return int(token[48:56].translate(_BASE32_TO_HEX), 32) & 0xFFFF


_BASE32_TO_HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV")


_SELECT_EVENT = sa.select(e).where(e.c.id == sa.bindparam("event_id"))  # built once, not per group
# On SQLite the driver's rows as they are (SQLAlchemy's result processing would cost more than the
# look-up itself); times are parsed by ``_utc``
_SQLITE_SELECT_PEOPLE = (
    "SELECT id, name, status, check_in_status, ticket_version, first_checked_in_at, last_scan_at, "
    "token, event_id FROM participants WHERE {column} IN ({marks})"
)


_IN_CHUNK = 2_000  # values per ``IN (...)`` look-up at most (and within SQLite's variable limit)
_CHECK_IN = {status.value: status for status in CheckInStatus}  # a dict look-up, not Enum's __call__


def _in_chunk(conn: sa.Connection) -> int:
    """Values per ``IN (...)`` look-up: ``_IN_CHUNK``, less on a SQLite built with a lower variable
    limit (999 before 3.32; one variable is the event id)."""
    if conn.dialect.name != "sqlite":
        return _IN_CHUNK
    return max(1, min(_IN_CHUNK, variable_limit(conn) - 1))


def _event_row(conn: sa.Connection, event_id: str) -> Any:
    row = conn.execute(_SELECT_EVENT, {"event_id": event_id}).first()
    if row is None:
        raise NotFound("event_not_found", event_id=event_id)
    return row


def _utc(text: str | None) -> datetime | None:
    """A stored ``UTCDateTime`` (naive UTC text on SQLite) as an aware datetime."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _load_people(
    uow: UnitOfWork, *, event_id: str, ids: set[str], tokens: set[str]
) -> tuple[dict[str, _Participant], dict[str, str]]:
    """Participants of the event named by id or by their current token (rows locked on PostgreSQL);
    returns them by id, and token -> id for the tokens found.

    Each look-up goes through its own unique index (primary key, ``token``); the event is checked on
    the rows, because a condition on ``event_id`` tempts SQLite's planner into scanning the event."""
    people: dict[str, _Participant] = {}
    by_token: dict[str, str] = {}
    if uow.dialect == "sqlite":
        for name, values in (("id", ids), ("token", tokens)):
            ordered = sorted(values)
            size = _in_chunk(uow.conn)
            for start in range(0, len(ordered), size):
                chunk = ordered[start : start + size]
                sql = _SQLITE_SELECT_PEOPLE.format(column=name, marks=", ".join("?" * len(chunk)))
                found = uow.conn.exec_driver_sql(sql, tuple(chunk)).all()
                for pid, pname, status, check_in, version, first, last, token, row_event in found:
                    if row_event != event_id:
                        continue
                    if pid not in people:
                        people[pid] = _Participant(
                            pid, pname, status, _CHECK_IN[check_in], int(version), _utc(first), _utc(last)
                        )
                    if token in tokens:
                        by_token[token] = pid
        return people, by_token
    for column, values in ((p.c.id, ids), (p.c.token, tokens)):
        if not values:
            continue
        query = (
            sa.select(*_PARTICIPANT_COLUMNS, p.c.token.label("p_token"), p.c.event_id.label("p_event_id"))
            .where(column.in_(sorted(values)))
            .order_by(p.c.id)
        )
        if uow.dialect == "postgresql":
            query = query.with_for_update()
        for row in uow.conn.execute(query):
            if row.p_event_id != event_id:
                continue
            people.setdefault(row.p_id, _participant_from_row(row))
            if row.p_token in tokens:
                by_token[row.p_token] = row.p_id
    return people, by_token


def _apply(person: _Participant, decision: Admitted | Exited, occurred_at: datetime) -> None:
    person.check_in_status = status_after(decision, person.check_in_status)
    if isinstance(decision, Admitted) and person.first_checked_in_at is None:
        person.first_checked_in_at = occurred_at
    person.last_scan_at = occurred_at


# SQLite hot path: plain driver statements with parameters prepared here. SQLAlchemy's per-parameter
# processing is most of a bulk upload's cost; the values below are exactly what its types would
# store (``UTCDateTime``: naive UTC text; ``JSON``: the same JSON, written by orjson). PostgreSQL
# takes the Core path.
_SCAN_COLUMNS = (
    "id",
    "event_id",
    "participant_id",
    "gate_id",
    "method",
    "direction",
    "result",
    "code",
    "occurred_at",
    "recorded_at",
    "nonce",
    "stay_seconds",
    "actor",
    "device",
    "location",
    "metadata",
)  # the order of ``_scan_row``'s values
_PARTICIPANT_SCAN_COLUMNS = ("check_in_status", "first_checked_in_at", "last_scan_at", "updated_at")


def _sqlite_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # what ``strftime("%Y-%m-%d %H:%M:%S.%f")`` of the moment in UTC gives, at a third of the cost
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"a time without a timezone: {moment}")
    naive = moment.replace(tzinfo=None)
    if offset:
        naive -= offset
    return naive.isoformat(" ", "microseconds")


_OUTBOX_COLUMNS = ("id", "type", "key", "version", "occurred_at", "data")


class _TimeTexts(dict[datetime | None, str | None]):
    """``_sqlite_time`` of each moment, computed once: a batch's scan rows, facts and participant
    updates share their ``occurred_at`` and ``recorded_at``."""

    def __missing__(self, moment: datetime | None) -> str | None:
        text = self[moment] = _sqlite_time(moment)
        return text


def _statements(plan: _Plan) -> list[Statement]:
    """A SQLite plan's writes (``sqlite_rows.write_statements``): scans, participant updates, outbox
    facts. Plain values only: a writer process unpickles them without Turnout's types."""
    assert plan.texts is not None
    return [
        ("insert", "scans", _SCAN_COLUMNS, plan.scan_rows),
        (
            "update",
            "participants",
            _PARTICIPANT_SCAN_COLUMNS,
            "id",
            _sqlite_participant_rows(plan.changed, plan.now, plan.texts),
        ),
        ("insert", "outbox", _OUTBOX_COLUMNS, plan.facts),
    ]


_SQLITE_STORED_NONCES = (
    "SELECT id, nonce, result, code, participant_id FROM scans WHERE event_id = ? AND nonce IN ({marks})"
)


def _stored_answers(
    conn: sa.Connection,
    *,
    event_id: str,
    items: Sequence[_Item],
    known: Mapping[str, ScanAnswer],
    people: dict[str, _Participant],
) -> dict[str, ScanAnswer]:
    """The stored answers of the items' nonces that are not ``known`` already (replays)."""
    nonces = list({item[1].nonce for item in items if item[1].nonce and item[1].nonce not in known})
    stored: dict[str, ScanAnswer] = {}
    size = _in_chunk(conn)
    for start in range(0, len(nonces), size):
        for scan_id, nonce, result, code, participant_id in _stored_nonces(
            conn, event_id=event_id, nonces=nonces[start : start + size]
        ):
            person = people.get(participant_id) if participant_id else None
            brief = person.brief() if person else None
            stored[nonce] = ScanAnswer(Result(result), code, scan_id, brief, replayed=True)
    return stored


def _stored_nonces(conn: sa.Connection, *, event_id: str, nonces: list[str]) -> Iterator[Any]:
    """(id, nonce, result, code, participant_id) of the scans already stored under these nonces."""
    if conn.dialect.name == "sqlite":
        sql = _SQLITE_STORED_NONCES.format(marks=", ".join("?" * len(nonces)))
        return iter(conn.exec_driver_sql(sql, (event_id, *nonces)).all())
    query = sa.select(scans.c.id, scans.c.nonce, scans.c.result, scans.c.code, scans.c.participant_id).where(
        scans.c.event_id == event_id, scans.c.nonce.in_(nonces)
    )
    return iter(conn.execute(query).all())


def _json_text(value: dict[str, Any]) -> str:
    if not value:
        return "{}"
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits): the standard library's text
        return json.dumps(value)


def _scan_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A ``_scan_row`` tuple as the Core insert's parameters."""
    return dict(zip(_SCAN_COLUMNS, row, strict=True))


def _sqlite_participant_rows(
    changed: Sequence[tuple[Any, ...]], now: datetime, texts: _TimeTexts
) -> list[tuple[Any, ...]]:
    """``_snapshot`` tuples as the SQLite update's rows (the id last)."""
    stamp = texts[now]
    return [(status.value, texts[first], texts[last], stamp, pid) for status, first, last, pid in changed]


def _update_participants(conn: sa.Connection, changed: Sequence[tuple[Any, ...]], now: datetime) -> None:
    """Participants' check-in state from ``_snapshot`` tuples, through SQLAlchemy Core (SQLite's
    rows go through ``_statements``)."""
    conn.execute(
        p.update()
        .where(p.c.id == sa.bindparam("b_id"))
        .values(
            check_in_status=sa.bindparam("b_check_in_status"),
            first_checked_in_at=sa.bindparam("b_first"),
            last_scan_at=sa.bindparam("b_last"),
            updated_at=sa.bindparam("b_now"),
        ),
        [
            {"b_id": pid, "b_check_in_status": status.value, "b_first": first, "b_last": last, "b_now": now}
            for status, first, last, pid in changed
        ],
    )


def _scan_row(
    scan_id: str,
    event_id: str,
    gate_id: str,
    participant_id: str | None,
    scan: ScanInput,
    direction: Direction,
    occurred_at: datetime | str | None,
    now: datetime | str | None,
    result: Result,
    code: str | None,
    stay_seconds: int | None,
    actor: str | None,
    json_value: Callable[[dict[str, Any]], Any],
) -> tuple[Any, ...]:
    """The scan's row, values in ``_SCAN_COLUMNS`` order. For SQLAlchemy Core: times as datetimes,
    ``json_value`` leaves the dicts as they are; for SQLite's driver: times as ``_sqlite_time``
    text and ``json_value=_json_text``. Enum members as plain ``str`` (``str()`` of a ``StrEnum`` is
    its value): rows travel to a writer process, which does not import Turnout's types."""
    return (
        scan_id,
        event_id,
        participant_id,
        gate_id,
        str(scan.method),
        str(direction),
        str(result),
        code,
        occurred_at,
        now,
        scan.nonce,
        stay_seconds,
        actor,
        json_value(scan.device),
        json_value(scan.location),
        json_value(scan.metadata),
    )


def _as_is(value: dict[str, Any]) -> dict[str, Any]:
    return value


def _fact_data(
    event_id: str,
    scan_id: str,
    participant_id: str,
    gate_id: str,
    method: ScanMethod,
    direction: Direction,
    occurred_at: datetime,
    decision: Admitted | Exited,
) -> dict[str, Any]:
    # The fields of ``AttendanceRecorded``, written out directly: ``dataclasses.asdict`` is a
    # measurable share of a bulk upload's time. The enums are ``StrEnum``: JSON writes their values.
    return {
        "event_id": event_id,
        "attendance_id": scan_id,
        "participant_id": participant_id,
        "gate_id": gate_id,
        "method": method,
        "direction": direction,
        "result": decision.result,
        "occurred_at": occurred_at.isoformat(),
        "stay_seconds": decision.stay_seconds if type(decision) is Exited else None,
    }


def _sqlite_file(database_url: str) -> str | None:
    """The SQLite database file named by the URL (None: PostgreSQL, in memory, a ``file:`` URI)."""
    if not is_sqlite(database_url):
        return None
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _turn_path(database_url: str) -> str | None:
    database = _sqlite_file(database_url)
    return None if database is None else f"{database}-checkin.lock"


def desk_for(turnout: Any) -> Desk:
    """The process's ``Desk`` for a wired ``Turnout`` (made on first use)."""
    desk: Desk | None = turnout.extras.get("attendance_desk")
    if desk is None:
        from turnout.services import statistics

        desk = Desk(
            turnout.uow,
            turnout.tickets,
            turnout.settings,
            on_recorded=lambda event_id: statistics.changed(turnout.statistics, event_id=event_id),
            bulk_writer=True,
        )
        turnout.extras["attendance_desk"] = desk
        turnout.on_close.append(desk.close)
    return desk
