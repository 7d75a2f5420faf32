"""Admission rules: may this ticket pass this gate now? Plain Python (no I/O).

``admit(scan, ticket, gate, event, last_at_gate, now=..., ble_debounce_seconds=...)`` answers
``Admitted``, ``Exited``, ``Denied(code)`` or ``Repeated`` (a BLE detection inside the debounce
window: no new record, the earlier answer stands). The caller has already checked the token's shape
and signature (``malformed_token``, ``invalid_signature``, ``wrong_event``) and found — or not
found — the participant (``unknown_token``); those refusals are built with ``Denied`` directly.

Order of the checks (the first that fails gives the code):

1. ticket: ``unknown_token`` -> ``revoked`` (the token's version is older than the participant's)
   -> ``participant_cancelled`` / ``transfer_in_progress`` (a transfer of this ticket, or to this
   person, is running) / ``ticket_transferred`` (passed on to another person)
2. place and time: ``event_not_live`` -> ``gate_closed`` -> ``method_not_allowed`` ->
   ``direction_not_allowed``
3. BLE debounce: a beacon detection at the same gate within the window repeats the earlier answer,
   so walking past a beacon makes one record and a beacon never turns a denial into an admission
4. state: entering while inside -> ``already_admitted``; re-entering after an exit when the event
   forbids it -> ``reentry_not_allowed``; leaving while not inside -> ``not_inside``
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from turnout.domain.events import Event, EventStatus, Gate, GateDirection, ScanMethod


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Result(StrEnum):
    ADMITTED = "admitted"
    EXITED = "exited"
    DENIED = "denied"


class CheckInStatus(StrEnum):
    NOT_CHECKED_IN = "not_checked_in"
    INSIDE = "inside"
    EXITED = "exited"


# Every refusal code admission can answer (the token codes come from ``domain.tickets``).
DENIAL_CODES = (
    "malformed_token",
    "invalid_signature",
    "wrong_event",
    "unknown_token",
    "revoked",
    "participant_cancelled",
    "transfer_in_progress",
    "ticket_transferred",
    "event_not_live",
    "gate_closed",
    "method_not_allowed",
    "direction_not_allowed",
    "already_admitted",
    "reentry_not_allowed",
    "not_inside",
)


# ``Scan`` and ``TicketState`` are built for every scan decided: slotted dataclasses, not frozen ones,
# because a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` and costs
# about seven times as much. Nothing changes them after construction; treat them as values.


@dataclass(slots=True)
class Scan:
    """One detection at a gate, normalised."""

    gate_id: str
    method: ScanMethod
    direction: Direction
    occurred_at: datetime


@dataclass(slots=True)
class TicketState:
    """What admission needs to know about the participant a ticket names.

    ``token_version`` is the version inside the presented token (``None`` for a manual check-in by
    participant id); ``last_accepted_at`` is the time of the last admission or exit.
    """

    participant_id: str
    status: str  # registered | cancelled | transferring | pending_transfer | transferred
    check_in_status: CheckInStatus
    ticket_version: int
    token_version: int | None
    last_accepted_at: datetime | None = None


@dataclass(frozen=True)
class PreviousScan:
    """The participant's latest scan at the same gate (for the BLE debounce)."""

    scan_id: str
    occurred_at: datetime
    result: Result
    code: str | None


@dataclass(frozen=True)
class Admitted:
    result: Result = Result.ADMITTED
    code: None = None


@dataclass(frozen=True)
class Exited:
    stay_seconds: int | None
    result: Result = Result.EXITED
    code: None = None


@dataclass(frozen=True)
class Denied:
    code: str
    result: Result = Result.DENIED


@dataclass(frozen=True)
class Repeated:
    """A BLE detection inside the debounce window: the earlier answer stands, nothing is recorded."""

    previous: PreviousScan


Decision = Admitted | Exited | Denied | Repeated

# ``admit`` answers these shared instances (decisions are immutable values) rather than building one per scan.
_ADMITTED = Admitted()
_DENIED = {code: Denied(code) for code in DENIAL_CODES}


# Enum members looked up once: attribute access on an Enum class is slow on the hot path.
_LIVE = EventStatus.LIVE
_BLE = ScanMethod.BLE
_IN = Direction.IN
_INSIDE = CheckInStatus.INSIDE
_EXITED = CheckInStatus.EXITED


def default_direction(gate: Gate) -> Direction:
    """An exit-only gate scans ``out``; every other gate scans ``in`` unless told otherwise."""
    return Direction.OUT if gate.direction is GateDirection.OUT else Direction.IN


_STATUS_DENIALS = {
    "transferring": "transfer_in_progress",
    "pending_transfer": "transfer_in_progress",
    "transferred": "ticket_transferred",
}


def admit(
    scan: Scan,
    ticket: TicketState | None,
    gate: Gate,
    event: Event,
    last_at_gate: PreviousScan | None = None,
    *,
    ble_debounce_seconds: int = 60,
) -> Decision:
    """Decide one scan. ``ticket`` is ``None`` when no participant of this event matches."""
    if ticket is None:
        return _DENIED["unknown_token"]
    if ticket.token_version is not None and ticket.token_version < ticket.ticket_version:
        return _DENIED["revoked"]
    if ticket.status != "registered":
        return _DENIED[_STATUS_DENIALS.get(ticket.status, "participant_cancelled")]
    if event.status is not _LIVE:
        return _DENIED["event_not_live"]
    if not gate.is_open_at(scan.occurred_at):
        return _DENIED["gate_closed"]
    if scan.method not in gate.methods:
        return _DENIED["method_not_allowed"]
    if not gate.allows_direction(scan.direction):
        return _DENIED["direction_not_allowed"]
    if (
        scan.method is _BLE
        and last_at_gate is not None
        and abs((scan.occurred_at - last_at_gate.occurred_at).total_seconds()) < ble_debounce_seconds
    ):
        return Repeated(last_at_gate)
    if scan.direction is _IN:
        if ticket.check_in_status is _INSIDE:
            return _DENIED["already_admitted"]
        if ticket.check_in_status is _EXITED and not event.allow_reentry:
            return _DENIED["reentry_not_allowed"]
        return _ADMITTED
    if ticket.check_in_status is not _INSIDE:
        return _DENIED["not_inside"]
    stay = None
    if ticket.last_accepted_at is not None:
        stay = max(0, int((scan.occurred_at - ticket.last_accepted_at).total_seconds()))
    return Exited(stay_seconds=stay)


def status_after(decision: Decision, current: CheckInStatus) -> CheckInStatus:
    """The participant's ``check_in_status`` once ``decision`` is applied."""
    if isinstance(decision, Admitted):
        return CheckInStatus.INSIDE
    if isinstance(decision, Exited):
        return CheckInStatus.EXITED
    return current
