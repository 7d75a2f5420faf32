"""Deciding scans: what a batch of scans needs read, and each scan's decision by ``domain.admission``.

``BatchSteps`` is the service's side of ``ports.CheckInStore.record``: the store opens the
transaction and calls ``ledger``, ``read`` and ``decide``; ``decide`` returns a ``DecidedBatch``
whose ``writes`` the store stores. Deciding reads nothing: ``read`` has put into the ``Ledger``
everything the batch needs (the event, the participants with their current state, tokens resolved,
the answers of nonces already stored, the last scan at a gate for BLE detections).

Exactly once: the store serialises the transactions that touch a participant (row locks, or one
writer at a time), and inside a batch the ledger does: each scan is decided in arrival order
against the state the one before left, so of N simultaneous entries one is admitted and the rest
read ``already_admitted``. ``(event_id, nonce)`` is unique: a known nonce is answered from the
stored scan, and a batch that meets a nonce stored meanwhile is decided again by the store.

``participants.last_scan_at`` is the time of the last *accepted* scan (the start of a stay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from turnout.domain.admission import (
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
)
from turnout.domain.errors import NotFound
from turnout.domain.events import Event, Gate, ScanMethod, localize
from turnout.domain.ids import sequential_ids
from turnout.domain.tickets import TicketClaims
from turnout.messages.facts import AttendanceRecorded
from turnout.ports import (
    CheckInChange,
    CheckInReader,
    CheckInWrites,
    Clock,
    OutboxFact,
    ParticipantCheckIn,
    ScanRecord,
)

# The records below are built for every scan (10,000 of each for a full bulk upload): slotted
# dataclasses or named tuples, not frozen dataclasses, whose ``__init__`` costs several times as
# much. Nothing changes them once built; treat them as values.


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


class ScanIdentity(NamedTuple):
    """Who a scan names, as far as known before the transaction: a participant id, a refusal code,
    or a normalised ``token`` still to be resolved by ``BatchSteps.read``."""

    participant_id: str | None
    token_version: int | None
    denial: str | None = None
    token: str | None = None


class PendingScan(NamedTuple):
    """A scan ready to be decided: its gate found, its identity as known, its time (``None``: the
    moment of deciding)."""

    position: int  # in the upload (or the group)
    scan: ScanInput
    gate: Gate
    identity: ScanIdentity
    occurred_at: datetime | None
    actor: str | None


@dataclass(slots=True)
class Ledger:
    """What the service holds in memory while it decides batches (see ``ports.CheckInSteps``)."""

    seen: Mapping[str, ScanAnswer]  # answers of the nonces of the batches committed (not changed here)
    track_gates: bool  # the upload has BLE detections: keep the last scan at each gate
    event: Event | None = None
    people: dict[str, ParticipantCheckIn] = field(default_factory=dict)
    by_token: dict[str, str] = field(default_factory=dict)  # a participant's stored current token
    resolved: dict[str, ScanIdentity] = field(default_factory=dict)  # token -> identity
    known: dict[str, ScanAnswer] = field(default_factory=dict)  # answers of nonces read or decided here
    last_at_gate: dict[tuple[str, str], PreviousScan | None] = field(default_factory=dict)


@dataclass(slots=True)
class DecidedBatch:
    """One batch decided: the answers in the batch's order, what to store, and the answers of the
    nonces it carried."""

    answers: list[ScanAnswer]
    writes: CheckInWrites
    nonces: dict[str, ScanAnswer]


Verify = Callable[[str], TicketClaims | str]

_RESULTS = {result.value: result for result in Result}  # a dict look-up, not Enum's __call__
_DENIALS: dict[str, Denied] = {}
_INSIDE = CheckInStatus.INSIDE
_EXITED = CheckInStatus.EXITED
_BLE = ScanMethod.BLE
_ADMITTED = Result.ADMITTED
_DENIED = Result.DENIED


class BatchSteps:
    """Reading and deciding for one ``CheckInStore.record`` call (an upload, or a group of scans).

    ``verify`` checks a token that matches no stored current token (signature, event); ``briefs``:
    answers carry the participant's name and status (a bulk upload reports codes only)."""

    def __init__(
        self,
        *,
        event_id: str,
        clock: Clock,
        verify: Verify,
        ble_debounce_seconds: int,
        briefs: bool,
        track_gates: bool,
    ) -> None:
        self.event_id = event_id
        self._clock = clock
        self._verify = verify
        self._debounce = ble_debounce_seconds
        self._briefs = briefs
        self._track_gates = track_gates
        self.seen: dict[str, ScanAnswer] = {}  # answers of the nonces of the batches committed

    def committed(self, decided: DecidedBatch) -> None:
        """A batch the store committed: its nonces are known to every later ledger."""
        self.seen.update(decided.nonces)

    def ledger(self) -> Ledger:
        return Ledger(seen=self.seen, track_gates=self._track_gates)

    def read(self, reader: CheckInReader, ledger: Ledger, batches: Sequence[Sequence[PendingScan]]) -> None:
        """What ``batches`` need and ``ledger`` lacks, read into it (see ``ports.CheckInSteps``)."""
        event_id = self.event_id
        if ledger.event is None:
            event = reader.event(event_id)
            if event is None:
                raise NotFound("event_not_found", event_id=event_id)
            ledger.event = event
        people, resolved, known, seen = ledger.people, ledger.resolved, ledger.known, ledger.seen
        tokens: set[str] = set()
        ids: set[str] = set()
        nonces: set[str] = set()
        ble: list[PendingScan] = []
        for batch in batches:
            for pending in batch:
                identity = pending.identity
                if identity.token is not None:
                    if identity.token not in resolved:
                        tokens.add(identity.token)
                elif (
                    identity.participant_id is not None
                    and identity.denial is None
                    and identity.participant_id not in people
                ):
                    ids.add(identity.participant_id)
                nonce = pending.scan.nonce
                if nonce is not None and nonce not in known and nonce not in seen:
                    nonces.add(nonce)
                if ledger.track_gates and pending.scan.method is _BLE:
                    ble.append(pending)
        if ids or tokens:
            _take(ledger, reader.participants(event_id, ids=ids, tokens=tokens), tokens)
        later: set[str] = set()
        for token in tokens:
            pid = ledger.by_token.get(token)
            if pid is not None:  # a participant's current token: no signature check needed
                resolved[token] = ScanIdentity(pid, stored_token_version(token))
                continue
            found = self._verify(token)
            if isinstance(found, str):
                resolved[token] = ScanIdentity(None, None, found)
            else:
                resolved[token] = ScanIdentity(found.participant_id, found.version)
                if found.participant_id not in people:
                    later.add(found.participant_id)
        if later:
            _take(ledger, reader.participants(event_id, ids=later), set())
        for pending in ble:
            identity = pending.identity
            if identity.token is not None:
                identity = resolved[identity.token]
            pid = identity.participant_id
            if pid is None or identity.denial is not None or pid not in people:
                continue
            key = (pid, pending.gate.id)
            if key not in ledger.last_at_gate:
                ledger.last_at_gate[key] = reader.last_scan_at_gate(pid, pending.gate.id)
        if nonces:
            for stored in reader.stored_scans(event_id, nonces):
                person = people.get(stored.participant_id) if stored.participant_id else None
                known[stored.nonce] = ScanAnswer(
                    _RESULTS[stored.result], stored.code, stored.scan_id, brief(person), replayed=True
                )

    def decide(self, ledger: Ledger, batch: Sequence[PendingScan]) -> DecidedBatch:
        """Decide ``batch`` against ``ledger`` (its participants change as each scan is applied)."""
        event = ledger.event
        assert event is not None, "read before deciding"
        event_id = self.event_id
        now = self._clock.now()
        timezone = event.timezone
        people, resolved, known, seen = ledger.people, ledger.resolved, ledger.known, ledger.seen
        last_at_gate = ledger.last_at_gate if ledger.track_gates else None
        debounce, briefs = self._debounce, self._briefs
        fresh_ids = iter(sequential_ids(2 * len(batch)))  # a scan id and a fact id per record
        answers: list[ScanAnswer] = []
        scans: list[ScanRecord] = []
        facts: list[OutboxFact] = []
        nonces: dict[str, ScanAnswer] = {}
        changed: dict[str, ParticipantCheckIn] = {}
        for _, record, gate, identity, at, actor in batch:
            if identity.token is not None:
                identity = resolved[identity.token]
            if at is None:
                occurred_at = now
            elif at.tzinfo is None:
                occurred_at = localize(at, timezone)
            else:
                occurred_at = at
            nonce = record.nonce
            if nonce is not None:
                earlier = nonces.get(nonce) or known.get(nonce) or seen.get(nonce)
                if earlier is not None:
                    answers.append(earlier)
                    continue
            pid = identity.participant_id
            person = people.get(pid) if pid is not None else None
            direction = record.direction or default_direction(gate)
            method = record.method
            decision: Decision
            if identity.denial is not None:
                decision = _denied(identity.denial)
            else:
                previous = None
                if last_at_gate is not None and method is _BLE and person is not None:
                    previous = last_at_gate.get((person.id, gate.id))
                decision = admit(
                    Scan(gate.id, method, direction, occurred_at),
                    _ticket(person, identity.token_version) if person is not None else None,
                    gate,
                    event,
                    previous,
                    ble_debounce_seconds=debounce,
                )
            if isinstance(decision, Repeated):
                earlier_scan = decision.previous
                answer = ScanAnswer(
                    earlier_scan.result, earlier_scan.code, earlier_scan.scan_id, brief(person), True
                )
            else:
                scan_id = next(fresh_ids)
                result, code = decision.result, decision.code
                stay = decision.stay_seconds if type(decision) is Exited else None
                # the members' own value strings (one object each: a writer process's pickles share them)
                method_text, direction_text, result_text = method._value_, direction._value_, result._value_
                scans.append(
                    ScanRecord(
                        scan_id,
                        event_id,
                        person.id if person is not None else None,
                        gate.id,
                        method_text,
                        direction_text,
                        result_text,
                        code,
                        occurred_at,
                        now,
                        nonce,
                        stay,
                        actor,
                        record.device,
                        record.location,
                        record.metadata,
                    )
                )
                if person is not None and result is not _DENIED:
                    if result is _ADMITTED:
                        person.check_in_status = _INSIDE
                        if person.first_checked_in_at is None:
                            person.first_checked_in_at = occurred_at
                    else:
                        person.check_in_status = _EXITED
                    person.last_scan_at = occurred_at
                    changed[person.id] = person
                    fact = AttendanceRecorded(  # positionally: event_id, attendance_id, participant_id,
                        event_id,  # gate_id, method, direction, result, occurred_at, stay_seconds
                        scan_id,
                        person.id,
                        gate.id,
                        method_text,
                        direction_text,
                        result_text,
                        occurred_at.isoformat(),
                        stay,
                    )
                    facts.append(OutboxFact(next(fresh_ids), occurred_at, fact))
                if last_at_gate is not None and person is not None:  # what a later detection here sees
                    last_at_gate[(person.id, gate.id)] = PreviousScan(scan_id, occurred_at, result, code)
                answer = ScanAnswer(result, code, scan_id, brief(person) if briefs else None)
            if nonce is not None:
                nonces[nonce] = answer
            answers.append(answer)
        known.update(nonces)
        changes = [
            CheckInChange(
                person.id, person.check_in_status._value_, person.first_checked_in_at, person.last_scan_at
            )
            for person in changed.values()
        ]
        return DecidedBatch(answers, CheckInWrites(scans, changes, facts, now), nonces)


def _take(ledger: Ledger, found: list[ParticipantCheckIn], tokens: set[str]) -> None:
    """Participants read into the ledger; what it holds already stays (it is the newer state)."""
    people, by_token = ledger.people, ledger.by_token
    for person in found:
        people.setdefault(person.id, person)
        if person.token in tokens:
            by_token[person.token] = person.id


def _denied(code: str) -> Denied:
    denied = _DENIALS.get(code)
    if denied is None:
        denied = _DENIALS[code] = Denied(code)
    return denied


def _ticket(person: ParticipantCheckIn, token_version: int | None) -> TicketState:
    # positionally: participant_id, status, check_in_status, ticket_version, token_version,
    # last_accepted_at (keywords cost a third more, for every scan)
    return TicketState(
        person.id,
        person.status,
        person.check_in_status,
        person.ticket_version,
        token_version,
        person.last_scan_at,
    )


def brief(person: ParticipantCheckIn | None) -> ParticipantBrief | None:
    if person is None:
        return None
    return ParticipantBrief(person.id, person.name, person.check_in_status.value)


def stored_token_version(token: str) -> int:
    """The ticket version inside a well-formed token (one that matched a stored token): bytes 33-34,
    which sit in the base32 group of characters 48-55 (bytes 30-34)."""
    # the low 16 bits of the group's 40; ``int(..., 32)`` reads base32hex digits, so translate first
    return int(token[48:56].translate(_BASE32_TO_HEX), 32) & 0xFFFF


_BASE32_TO_HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV")
