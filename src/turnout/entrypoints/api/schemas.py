"""API schemas: one family per resource (``ThingCreate``, ``ThingRead``, ``ThingPage``). Only here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from turnout.domain.consent import GUARDIAN_CONTACT_MAX, GUARDIAN_NAME_MAX, ConsentRecord
from turnout.domain.events import (
    DEFAULT_MIN_AGE,
    MAX_CAPACITY,
    Event,
    EventStatus,
    Gate,
    GateDirection,
    ScanMethod,
    zone_exists,
)
from turnout.domain.participants import Participant
from turnout.domain.privacy import NOTE_MAX, ErasureRequest
from turnout.entrypoints.api.fields import Finite, Int64, JsonObject, Line, Text, check_json_value
from turnout.ports import EmailJob, Revocation
from turnout.services.registration import PublicRegistration


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_zone(value: str) -> str:
    if not zone_exists(value):
        raise PydanticCustomError("turnout_invalid_timezone", "unknown timezone")
    return value


class EventCreate(Strict):
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    starts_at: datetime
    ends_at: datetime
    timezone: Annotated[Line, Field(max_length=64)] = "Asia/Seoul"
    venue: Annotated[Line | None, Field(max_length=300)] = None
    capacity: Annotated[int | None, Field(ge=0, le=MAX_CAPACITY)] = None
    min_age: Annotated[
        int,
        Field(
            ge=0,
            le=150,
            description="above 0 the birth date is required; under 14 needs a legal guardian's consent",
        ),
    ] = DEFAULT_MIN_AGE
    locale: Literal["ko", "en"] = "ko"
    allow_reentry: bool = True
    dedup_by_phone: bool = False

    _zone = field_validator("timezone")(_check_zone)


class EventUpdate(Strict):
    """``PATCH /events/{event_id}``: the fields given replace the event's, the others are kept (the
    same rules as ``EventCreate``; ``venue`` and ``capacity`` may be set to null)."""

    name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: Annotated[Line, Field(max_length=64)] | None = None
    venue: Annotated[Line | None, Field(max_length=300)] = None
    capacity: Annotated[int | None, Field(ge=0, le=MAX_CAPACITY)] = None
    min_age: Annotated[int, Field(ge=0, le=150)] | None = None
    locale: Literal["ko", "en"] | None = None

    @field_validator("name", "starts_at", "ends_at", "timezone", "min_age", "locale", mode="before")
    @classmethod
    def _given(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("turnout_missing_field", "may not be null")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


class EventRead(BaseModel):
    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue: str | None
    capacity: int | None
    min_age: int
    locale: str
    status: EventStatus
    allow_reentry: bool
    dedup_by_phone: bool

    @classmethod
    def of(cls, event: Event) -> EventRead:
        zone = ZoneInfo(event.timezone)
        return cls(
            id=event.id,
            name=event.name,
            starts_at=event.starts_at.astimezone(zone),
            ends_at=event.ends_at.astimezone(zone),
            timezone=event.timezone,
            venue=event.venue,
            capacity=event.capacity,
            min_age=event.min_age,
            locale=event.locale,
            status=event.status,
            allow_reentry=event.allow_reentry,
            dedup_by_phone=event.dedup_by_phone,
        )


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None


class EventStatusUpdate(Strict):
    status: EventStatus


class GateCreate(Strict):
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    direction: GateDirection = GateDirection.BOTH
    methods: Annotated[list[ScanMethod], Field(min_length=1)] = [
        ScanMethod.QR,
        ScanMethod.BLE,
        ScanMethod.MANUAL,
    ]
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    location: Annotated[Line | None, Field(max_length=300)] = None
    #: people the gate's area holds; crowd safety watches it (amber at 80 %, red at 95 %)
    capacity: Annotated[int | None, Field(ge=0, le=MAX_CAPACITY)] = None


class GateUpdate(Strict):
    """A gate's settings changed: the fields given replace the gate's (``opens_at``, ``closes_at``
    and ``location`` given as null clear them); the rest stay."""

    name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    direction: GateDirection | None = None
    methods: Annotated[list[ScanMethod], Field(min_length=1)] | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    location: Annotated[Line | None, Field(max_length=300)] = None
    capacity: Annotated[int | None, Field(ge=0, le=MAX_CAPACITY)] = None


class GateRead(BaseModel):
    id: str
    event_id: str
    name: str
    direction: GateDirection
    methods: list[ScanMethod]
    opens_at: datetime | None
    closes_at: datetime | None
    location: str | None
    capacity: int | None = None

    @classmethod
    def of(cls, gate: Gate, timezone: str = "UTC") -> GateRead:
        zone = ZoneInfo(timezone)
        return cls(
            id=gate.id,
            event_id=gate.event_id,
            name=gate.name,
            direction=gate.direction,
            methods=list(gate.methods),
            opens_at=gate.opens_at.astimezone(zone) if gate.opens_at else None,
            closes_at=gate.closes_at.astimezone(zone) if gate.closes_at else None,
            location=gate.location,
            capacity=gate.capacity,
        )


class GatePage(BaseModel):
    items: list[GateRead]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    field: str | None = None
    code: str
    message: str
    row: int | None = None
    value: Any = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- intake: participants, registrations, imports ---------------------------------------------------

CustomKey = Annotated[Line, Field(min_length=1, max_length=100)]
CustomValue = Annotated[Text, Field(max_length=1000)] | Int64 | Finite | bool | None


class GuardianCreate(Strict):
    """A legal guardian's consent, for a participant under 14."""

    name: Annotated[Line, Field(max_length=GUARDIAN_NAME_MAX)] = ""
    contact: Annotated[Line, Field(max_length=GUARDIAN_CONTACT_MAX, description="phone or email")] = ""
    consent: bool = False


class ConsentsCreate(Strict):
    """What the person agreed to, against the event's notice in force (``/events/{id}/privacy``).
    ``required`` must be true (else ``422 consent_required``); the optional items are stored only
    with ``optional``; ``marketing`` counts only where the notice asks for it; under 14 a
    ``guardian`` with name, contact and ``consent: true`` (else ``422 guardian_consent_required``)."""

    required: bool = False
    optional: bool = False
    marketing: bool = False
    guardian: GuardianCreate | None = None


class ParticipantCreate(Strict):
    """A registration (staff or public). Cleaning and rules are the domain's (422 with field errors)."""

    name: Annotated[Line, Field(max_length=1000)]
    email: Annotated[Line, Field(max_length=1000)]
    phone: Annotated[Line | None, Field(max_length=100)] = None
    birth_date: Annotated[Line | None, Field(max_length=40, description="YYYY-MM-DD (or YYYY.MM.DD)")] = None
    region: Annotated[Line | None, Field(max_length=1000)] = None
    organization: Annotated[Line | None, Field(max_length=1000)] = None
    gender: Annotated[Line | None, Field(max_length=1000)] = None
    locale: Annotated[Line | None, Field(max_length=10)] = None
    custom_fields: Annotated[dict[CustomKey, CustomValue], Field(max_length=100)] = {}
    consents: ConsentsCreate | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class GuardianRead(BaseModel):
    name: str | None
    contact: str | None
    consented: bool


class ConsentRead(BaseModel):
    """A participant's consent record: under which notice version (and its SHA-256), what, when,
    through which channel (``form``, ``api``, ``staff``, ``import``, ``transfer``) and on which basis
    (``consent``, or ``collected_elsewhere`` for an import the organiser confirmed)."""

    notice_version: int
    notice_hash: str
    required: bool
    optional: bool
    marketing: bool
    channel: str
    basis: str
    given_at: datetime
    guardian: GuardianRead | None

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentRead:
        has_guardian = record.guardian_consented or record.guardian_name or record.guardian_contact
        return cls(
            notice_version=record.notice_version,
            notice_hash=record.notice_hash,
            required=record.required,
            optional=record.optional,
            marketing=record.marketing,
            channel=record.channel.value,
            basis=record.basis.value,
            given_at=record.given_at,
            guardian=GuardianRead(
                name=record.guardian_name,
                contact=record.guardian_contact,
                consented=record.guardian_consented,
            )
            if has_guardian
            else None,
        )


class ParticipantRead(BaseModel):
    id: str
    event_id: str
    name: str
    email: str
    phone: str | None
    birth_date: date | None
    region: str | None
    organization: str | None
    gender: str | None
    locale: str | None
    custom_fields: dict[str, Any]
    status: str
    token: str | None
    ticket_version: int
    check_in_status: str
    email_status: str
    email_error: str | None
    source: str
    import_id: str | None
    created_at: datetime
    consent: ConsentRead | None = None

    @classmethod
    def of(cls, participant: Participant, consent: ConsentRecord | None = None) -> ParticipantRead:
        return cls(
            id=participant.id,
            event_id=participant.event_id,
            name=participant.name,
            email=participant.email,
            phone=participant.phone,
            birth_date=participant.birth_date,
            region=participant.region,
            organization=participant.organization,
            gender=participant.gender,
            locale=participant.locale,
            custom_fields=participant.custom_fields,
            status=participant.status.value,
            token=participant.token,
            ticket_version=participant.ticket_version,
            check_in_status=participant.check_in_status.value,
            email_status=participant.email_status,
            email_error=participant.email_error,
            source=participant.source.value,
            import_id=participant.import_id,
            created_at=participant.created_at,
            consent=ConsentRead.of(consent) if consent is not None else None,
        )


class ParticipantPage(BaseModel):
    items: list[ParticipantRead]
    next_cursor: str | None


class RegistrationRead(BaseModel):
    """What the public endpoint answers: no ticket token (the ticket is emailed to the address), and
    the same fields whether the address was new or known (``services.registration.PublicRegistration``)."""

    id: str
    event_id: str
    name: str
    email: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, answer: PublicRegistration) -> RegistrationRead:
        return cls.model_validate(answer, from_attributes=True)


class ImportSummary(BaseModel):
    total: int
    created: int
    updated: int
    duplicates: int
    invalid: int


class ImportRead(BaseModel):
    id: str
    event_id: str
    status: str
    filename: str
    on_duplicate: str
    encoding: str | None
    rows_read: int
    rows_processed: int
    summary: ImportSummary
    error: dict[str, Any] | None
    errors_url: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# --- attendance (check-in) --------------------------------------------------------------------------


#: a scan's ``location`` or ``device`` with its extra fields: depth and size
SCAN_PART_MAX_DEPTH = 4
SCAN_PART_MAX_BYTES = 2048
_SCAN_PART_LIMITS = (
    f"more fields are kept: together at most {SCAN_PART_MAX_DEPTH} levels deep and {SCAN_PART_MAX_BYTES}"
    " bytes as JSON, no control characters in their strings"
)


class ScanPart(BaseModel):
    """A part of a scan that takes fields of its own beyond the named ones, within limits (the named
    ones are bounded by their types; the extra ones are checked after, only when there are some)."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.model_extra:
            check_json_value(self.model_extra, max_depth=SCAN_PART_MAX_DEPTH, max_bytes=SCAN_PART_MAX_BYTES)
        return self


class ScanLocation(ScanPart):
    model_config = ConfigDict(extra="allow", json_schema_extra={"description": _SCAN_PART_LIMITS})

    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    lng: Annotated[float | None, Field(ge=-180, le=180)] = None
    accuracy: Annotated[float | None, Field(ge=0)] = None


class ScanDevice(ScanPart):
    model_config = ConfigDict(extra="allow", json_schema_extra={"description": _SCAN_PART_LIMITS})

    id: Annotated[Line | None, Field(max_length=200)] = None
    platform: Annotated[Line | None, Field(max_length=100)] = None
    version: Annotated[Line | None, Field(max_length=100)] = None


class AttendanceCreate(Strict):
    """One scan: a ticket ``token`` (QR) or a ``participant_id`` (BLE, manual check-in)."""

    token: Annotated[Line | None, Field(max_length=400)] = None
    participant_id: Annotated[Line | None, Field(max_length=36)] = None
    gate_id: Annotated[Line | None, Field(max_length=36, description="defaults to a gate key's gate")] = None
    method: ScanMethod = ScanMethod.QR
    direction: Literal["in", "out"] | None = None
    timestamp: Annotated[datetime | None, Field(description="naive times are read in the event's zone")] = (
        None
    )
    nonce: Annotated[Line | None, Field(min_length=1, max_length=100)] = None
    location: ScanLocation | None = None
    device: ScanDevice | None = None
    # a factory, not ``= {}``: pydantic deep-copies a mutable default per record (most of a bulk parse)
    metadata: JsonObject = Field(default_factory=dict)


class AttendanceParticipant(BaseModel):
    id: str
    name: str
    check_in_status: str


class AttendanceRead(BaseModel):
    result: Literal["admitted", "exited", "denied"]
    code: str | None
    message: str
    participant: AttendanceParticipant | None
    attendance_id: str | None


class AttendanceBulkCreate(Strict):
    records: Annotated[list[AttendanceCreate], Field(max_length=10_000)]


class AttendanceBulkError(BaseModel):
    index: int
    code: str
    message: str


class AttendanceBulkRead(BaseModel):
    total_processed: int
    successful: int
    failed: int
    errors: list[AttendanceBulkError]


# --- tickets and mail -----------------------------------------------------------------------------


class TicketKeyRead(BaseModel):
    """The event's Ed25519 public key (raw 32 bytes, base64) for verifying tokens offline."""

    event_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str
    token_format: Literal["turnout-ticket-v1"] = "turnout-ticket-v1"  # noqa: S105 - a format name


class RevocationRead(BaseModel):
    id: int
    participant_id: str
    version: int
    token: str
    reason: str
    revoked_at: datetime

    @classmethod
    def of(cls, revocation: Revocation) -> RevocationRead:
        return cls(**{k: getattr(revocation, k) for k in cls.model_fields})


class RevocationPage(BaseModel):
    items: list[RevocationRead]
    next_cursor: str | None


class EmailJobRead(BaseModel):
    id: str
    event_id: str
    participant_id: str
    participant_name: str | None = None
    kind: str
    ticket_version: int
    status: str
    to_address: str
    subject: str | None
    message_id: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, job: EmailJob) -> EmailJobRead:
        return cls(**{k: getattr(job, k) for k in cls.model_fields})


class EmailJobPage(BaseModel):
    items: list[EmailJobRead]
    next_cursor: str | None


class MailTemplateUpdate(Strict):
    """Jinja2 sources; rendered with sample data on save (a template that does not render is refused)."""

    subject: Annotated[Line, Field(min_length=1, max_length=1000)]
    html: Annotated[Text, Field(min_length=1, max_length=200_000)]
    text: Annotated[Text, Field(min_length=1, max_length=100_000)]


class MailTemplateRead(BaseModel):
    event_id: str
    kind: str
    locale: str
    subject: str
    html: str
    text: str
    overridden: bool
    updated_at: datetime | None
    updated_by: str | None


class MailTemplateList(BaseModel):
    items: list[MailTemplateRead]


# --- personal data: participants' erasure requests ------------------------------------------------


class ErasureRequestRead(BaseModel):
    """A participant's request to be erased (no personal data: ids, the reason they gave, the
    decision). ``status``: requested, rejected or done (approved requests are erased at once)."""

    id: str
    event_id: str
    participant_id: str
    status: str
    reason: str | None
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    alert_id: str | None

    @classmethod
    def of(cls, request: ErasureRequest) -> Self:
        return cls(
            id=request.id,
            event_id=request.event_id,
            participant_id=request.participant_id,
            status=request.status.value,
            reason=request.reason,
            requested_at=request.requested_at,
            decided_at=request.decided_at,
            decided_by=request.decided_by,
            decision_note=request.decision_note,
            alert_id=request.alert_id,
        )


class ErasureRequestPage(BaseModel):
    items: list[ErasureRequestRead]
    next_cursor: str | None = None


class ErasureDecision(Strict):
    """An organiser's optional note with an approval or rejection."""

    note: Annotated[Text | None, Field(max_length=NOTE_MAX)] = None


class ErasureApproval(ErasureRequestRead):
    """The approved request (``done``) and how many rows were erased per table."""

    counts: dict[str, int]
