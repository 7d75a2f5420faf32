"""Facts: things that happened. One class per message type; later issues add theirs here."""

from __future__ import annotations

from dataclasses import dataclass

from turnout.messages.base import Fact


@dataclass(frozen=True)
class EventCreated(Fact):
    TYPE = "event.created"

    name: str
    starts_at: str
    ends_at: str
    status: str


@dataclass(frozen=True)
class EventStatusChanged(Fact):
    TYPE = "event.status.changed"

    previous: str
    status: str
    actor: str
    saga_id: str | None = None  # the closing saga that tells the external systems itself


@dataclass(frozen=True)
class GateCreated(Fact):
    TYPE = "gate.created"

    gate_id: str
    name: str
    direction: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class GateUpdated(Fact):
    """A gate's settings changed (the console's or the API's edit): the gate system gets the event's
    whole gate configuration again."""

    TYPE = "gate.updated"

    gate_id: str
    name: str
    direction: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class AttendanceRecorded(Fact):
    """An accepted scan (admitted or exited). Ids and outcome only: no personal data."""

    TYPE = "attendance.recorded"

    attendance_id: str
    participant_id: str
    gate_id: str
    method: str
    direction: str
    result: str
    occurred_at: str
    stay_seconds: int | None = None


# --- intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantRegistered(Fact):
    """A participant was saved (with a ticket token). No personal data: handlers look it up."""

    TYPE = "participant.registered"

    participant_id: str
    source: str  # api | form | import
    import_id: str | None = None


@dataclass(frozen=True)
class ParticipantUpdated(Fact):
    """An import with ``on_duplicate=update`` overwrote a participant's fields."""

    TYPE = "participant.updated"

    participant_id: str
    source: str
    import_id: str | None = None
    fields: tuple[str, ...] = ()


# --- tickets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantCancelled(Fact):
    """A participant's registration was cancelled; their ticket is on the revocation list."""

    TYPE = "participant.cancelled"

    participant_id: str
    ticket_version: int
    actor: str
    saga_id: str | None = None  # the cancellation saga that tells the external systems itself


@dataclass(frozen=True)
class TicketReissued(Fact):
    """A participant got a new ticket version; the previous token is on the revocation list."""

    TYPE = "ticket.reissued"

    participant_id: str
    ticket_version: int
    actor: str


# --- sagas ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketTransferred(Fact):
    """A ticket passed to another person (a transfer saga completed): the old holder's ticket is
    revoked, the new holder has their own. Ids only."""

    TYPE = "ticket.transferred"

    participant_id: str  # the previous holder
    new_participant_id: str
    saga_id: str


@dataclass(frozen=True)
class AlertRaised(Fact):
    """An operator alert was stored (a compensation failed). Ids and code only."""

    TYPE = "alert.raised"

    alert_id: str
    code: str
    saga_id: str | None = None
