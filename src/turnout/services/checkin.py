"""Check-in: one scan at a gate, or a bulk upload of offline scans, decided by ``domain.admission``.

The use case, for one scan:

1. the gate, from a per-process cache (gates do not change after creation; 5 s TTL);
2. who the token names, without the database when this process has verified the token before
   (``identify``); a new token is resolved inside the transaction (``BatchSteps.read``): by the
   participant's stored current token, else by verifying its signature;
3. the scan is submitted to the ``Batcher``, which runs scans arriving together as one group:
   ``CheckInStore.record`` opens the transaction, and ``checkin_decisions.BatchSteps`` reads what
   the group needs and decides each scan in arrival order; the store writes the scan records,
   the participants' new states and the ``attendance.recorded`` facts, and commits;
4. the answer goes back to the caller, and the statistics callback is told the numbers moved.

A bulk upload applies its records in timestamp order, ``bulk_batch_size`` per transaction, and
counts each batch as the store reports it committed. How the store commits (one transaction per
batch; a writer process a batch behind) is the store's business.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from turnout.domain.admission import Result
from turnout.domain.errors import NotFound
from turnout.domain.events import Gate, ScanMethod, localize
from turnout.domain.tickets import TicketClaims, TicketError, normalise_token, verify_token
from turnout.ports import (
    Batcher,
    CheckInStore,
    Clock,
    GroupRun,
    SigningKey,
    TicketKeys,
    UnitOfWorkFactory,
)
from turnout.services.checkin_decisions import (
    BatchSteps,
    ParticipantBrief,
    PendingScan,
    ScanAnswer,
    ScanIdentity,
    ScanInput,
)

__all__ = ["BulkError", "BulkResult", "CheckIn", "ParticipantBrief", "QueuedScan", "ScanAnswer", "ScanInput"]

GATE_TTL_SECONDS = 5.0
TOKEN_CACHE_SIZE = 200_000

log = logging.getLogger(__name__)


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


class QueuedScan(NamedTuple):
    """A scan waiting for its group: its gate if this process had it cached (else looked up when
    the group runs)."""

    scan: ScanInput
    gate: Gate | None
    identity: ScanIdentity
    actor: str | None


class CheckIn:
    """Check-in for one process: caches (gates, signing keys, verified tokens) and the use cases.

    ``uow_factory`` serves the look-ups outside the store (gates, the event's timezone, the event's
    signing key); ``group_commit`` makes the ``Batcher`` that runs concurrent scans together;
    ``on_recorded(event_id)`` is called after scans of the event were committed (statistics)."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        store: CheckInStore,
        tickets: TicketKeys,
        clock: Clock,
        group_commit: Callable[[GroupRun[QueuedScan, ScanAnswer]], Batcher[QueuedScan, ScanAnswer]],
        ble_debounce_seconds: int,
        bulk_batch_size: int,
        on_recorded: Callable[[str], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._store = store
        self._tickets = tickets
        self._clock = clock
        self._queue = group_commit(self._record_group)
        self._ble_debounce_seconds = ble_debounce_seconds
        self._bulk_batch_size = bulk_batch_size
        self.on_recorded = on_recorded
        # plain dicts: a get or a set is atomic; two callers filling the same entry agree on it
        self._gates: dict[str, tuple[float, Gate]] = {}
        self._keys: dict[str, SigningKey] = {}
        self._tokens: dict[tuple[str, str], TicketClaims | str] = {}

    @property
    def store(self) -> CheckInStore:
        return self._store

    def start(self) -> None:
        """Ready for the first upload (a server calls it at start-up)."""
        self._store.start()

    def close(self) -> None:
        self._store.close()

    # --- caches ------------------------------------------------------------------------------------

    def gate(self, *, event_id: str, gate_id: str) -> Gate:
        """The gate of the event (``NotFound`` if it has none by that id)."""
        gate = self.cached_gate(event_id=event_id, gate_id=gate_id)
        if gate is not None:
            return gate
        with self._uow_factory(readonly=True) as uow:
            found = uow.gates.get(gate_id)
        if found is None or found.event_id != event_id:
            raise NotFound("gate_not_found", gate_id=gate_id)
        self._gates[gate_id] = (time.monotonic() + GATE_TTL_SECONDS, found)
        return found

    def cached_gate(self, *, event_id: str, gate_id: str) -> Gate | None:
        """The gate if this process has it cached and fresh (no database), else ``None``."""
        cached = self._gates.get(gate_id)
        if cached is not None and cached[0] >= time.monotonic() and cached[1].event_id == event_id:
            return cached[1]
        return None

    def _signing_key(self, event_id: str) -> SigningKey:
        """The event's key, fetched once per process. Fetching may write (the key is made on first
        use): it happens before a check-in transaction, never inside one."""
        key = self._keys.get(event_id)
        if key is None:
            with self._uow_factory() as uow:
                key = self._tickets.keypair(uow, event_id=event_id)
                uow.commit()
            self._keys[event_id] = key
        return key

    def identify(self, *, event_id: str, token: str | None, participant_id: str | None) -> ScanIdentity:
        """Who a scan names, without the database. A token this process has verified before is
        known (verification is deterministic); a new one is left to the transaction, which matches
        it against the stored current tokens first and checks the signature only when that fails."""
        if token is None:
            return ScanIdentity(participant_id, None)
        normal = normalise_token(token)
        found = self._tokens.get((event_id, normal))
        if found is None:
            return ScanIdentity(None, None, None, normal)
        if isinstance(found, str):
            return ScanIdentity(None, None, found)
        return ScanIdentity(found.participant_id, found.version)

    def verify(self, *, event_id: str, token: str) -> TicketClaims | str:
        """The token's claims after a full check (shape, event, signature), or the refusal code."""
        key = (event_id, token)
        found = self._tokens.get(key)
        if found is None:
            try:
                found = verify_token(token, event_id=event_id, verify=self._signing_key(event_id).verify)
            except TicketError as error:
                found = error.code
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.clear()
            self._tokens[key] = found
        return found

    # --- one scan ----------------------------------------------------------------------------------

    def scan(self, *, event_id: str, scan: ScanInput, actor: str | None = None) -> ScanAnswer:
        """Decide and record one scan (the caller waits). ``NotFound`` for an unknown gate or event."""
        return self._queue.submit_waiting(event_id, self._queued(event_id, scan, actor))

    async def scan_async(self, *, event_id: str, scan: ScanInput, actor: str | None = None) -> ScanAnswer:
        """``scan`` for ``async`` callers."""
        return await self._queue.submit(event_id, self._queued(event_id, scan, actor))

    def _queued(self, event_id: str, scan: ScanInput, actor: str | None) -> QueuedScan:
        gate = self.cached_gate(event_id=event_id, gate_id=scan.gate_id)
        identity = self.identify(event_id=event_id, token=scan.token, participant_id=scan.participant_id)
        return QueuedScan(scan, gate, identity, actor)

    def _record_group(self, event_id: str, queued: list[QueuedScan]) -> list[ScanAnswer | BaseException]:
        """Scans of one event submitted together, in one transaction; each decided in arrival order
        against the state the one before left. One scan's failure is its own: a gate that is unknown
        or cannot be looked up is that scan's error, and a group that cannot commit is recorded scan
        by scan."""
        outcomes: dict[int, ScanAnswer | BaseException] = {}  # by position in the group
        pending: list[PendingScan] = []
        for index, (scan, gate, identity, actor) in enumerate(queued):
            if gate is None:
                try:
                    gate = self.gate(event_id=event_id, gate_id=scan.gate_id)
                except Exception as error:  # unknown, or the look-up failed: this scan's error
                    outcomes[index] = error
                    continue
            pending.append(PendingScan(index, scan, gate, identity, scan.occurred_at, actor))
        if not pending:
            return list(outcomes.values())
        try:
            answers = self._record_batch(event_id, pending)
        except Exception:  # e.g. a vanished event: one at a time, each with its own answer or error
            for one in pending:
                try:
                    [outcomes[one.position]] = self._record_batch(event_id, [one])
                except Exception as error:  # handed to that scan's caller
                    outcomes[one.position] = error
        else:
            for one, answer in zip(pending, answers, strict=True):
                outcomes[one.position] = answer
        if self.on_recorded is not None and any(
            isinstance(outcome, ScanAnswer) and outcome.accepted for outcome in outcomes.values()
        ):
            try:
                self.on_recorded(event_id)
            except Exception:  # the scans are committed and answered; statistics catch up later
                log.exception("check-in: the statistics callback failed for event %s", event_id)
        return [outcomes[position] for position in range(len(queued))]

    def _record_batch(self, event_id: str, batch: list[PendingScan]) -> list[ScanAnswer]:
        steps = self._steps(event_id, [batch], briefs=True)
        with contextlib.closing(self._store.record(event_id=event_id, batches=[batch], steps=steps)) as done:
            [decided] = done
        return decided.answers

    def _steps(self, event_id: str, batches: Sequence[Sequence[PendingScan]], *, briefs: bool) -> BatchSteps:
        """The reading and deciding for ``batches``; the event's key is fetched first if any token
        may need verifying."""
        tokens = any(pending.identity.token is not None for batch in batches for pending in batch)
        ble = any(pending.scan.method is ScanMethod.BLE for batch in batches for pending in batch)
        if tokens:
            self._signing_key(event_id)
        return BatchSteps(
            event_id=event_id,
            clock=self._clock,
            verify=lambda token: self.verify(event_id=event_id, token=token),
            ble_debounce_seconds=self._ble_debounce_seconds,
            briefs=briefs,
            track_gates=ble,
        )

    # --- bulk --------------------------------------------------------------------------------------

    def bulk(
        self,
        *,
        event_id: str,
        records: Sequence[ScanInput],
        actor: str | None = None,
        batch_size: int | None = None,
    ) -> BulkResult:
        """Apply offline scans in timestamp order, ``batch_size`` (default ``bulk_batch_size``) per
        transaction; idempotent by nonce. Errors are reported by the record's index in ``records``."""
        size = batch_size or self._bulk_batch_size
        result = BulkResult(total_processed=len(records))
        with self._uow_factory(readonly=True) as uow:
            event = uow.events.get(event_id)
        if event is None:
            raise NotFound("event_not_found", event_id=event_id)
        prepared = self._prepare(event_id, event.timezone, records, actor, result)
        batches = [prepared[start : start + size] for start in range(0, len(prepared), size)]
        steps = self._steps(event_id, batches, briefs=False)
        committed = self._store.record(event_id=event_id, batches=batches, steps=steps)
        with contextlib.closing(committed):
            for batch, decided in zip(batches, committed, strict=True):
                steps.committed(decided)
                self._count(event_id, batch, decided.answers, result)
        result.errors.sort(key=lambda error: error.index)
        return result

    def _prepare(
        self,
        event_id: str,
        timezone: str,
        records: Sequence[ScanInput],
        actor: str | None,
        result: BulkResult,
    ) -> list[PendingScan]:
        """The records that can be decided, in timestamp order (stable by upload order); the others
        are counted as failed into ``result``."""
        now = self._clock.now()
        prepared: list[PendingScan] = []
        gates: dict[str, Gate | None] = {}  # an upload names a few gates, thousands of times
        identities: dict[str, ScanIdentity] = {}  # by token as given (an entry and an exit each)
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
            token = record.token
            if token is None and record.participant_id is None:
                result.failed += 1
                result.errors.append(BulkError(index, "token_or_participant_required"))
                continue
            identity = identities.get(token) if token is not None else None
            if identity is None:
                identity = self.identify(event_id=event_id, token=token, participant_id=record.participant_id)
                if token is not None:
                    identities[token] = identity
            at: datetime = now if record.occurred_at is None else localize(record.occurred_at, timezone)
            prepared.append(PendingScan(index, record, gate, identity, at, actor))
        prepared.sort(key=_UPLOAD_ORDER)  # (occurred_at, index): never None here
        return prepared

    def _count(
        self, event_id: str, batch: list[PendingScan], answers: list[ScanAnswer], result: BulkResult
    ) -> None:
        """A committed batch into the upload's result; statistics move."""
        denied = Result.DENIED
        refused = [
            BulkError(pending.position, answer.code or "denied")
            for pending, answer in zip(batch, answers, strict=True)
            if answer.result is denied
        ]
        result.failed += len(refused)
        result.successful += len(batch) - len(refused)
        result.errors += refused
        if self.on_recorded is not None:
            self.on_recorded(event_id)


_UPLOAD_ORDER = operator.itemgetter(4, 0)  # a PendingScan's (occurred_at, position)
