"""Ports: what the services need from the outside world, as ``Protocol``s.

Services import only ``domain``, ``messages``, this module and each other (``import-linter`` checks
it). Adapters implement the ports (``adapters/db`` for storage, on SQLite and PostgreSQL); tests
fake them (``tests/fakes*.py``); ``bootstrap.py`` picks the implementations and passes them in.

The storage ports come in two kinds:

* the **unit of work** (``UnitOfWork``): one transaction, the repositories and stores that share
  it, and the outbox (``emit``). Most use cases run inside one.
* **stores with their own transactions** (``CheckInStore``): where the fastest way to store a use
  case's writes is the adapter's business (a writer process, multi-row statements), the store
  drives the transactions and calls back into the service's steps (read, decide) inside them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, TypeVar

from turnout.domain.participants import ParticipantFilter

if TYPE_CHECKING:
    from turnout.domain.access import Principal, Role
    from turnout.domain.admission import CheckInStatus, PreviousScan
    from turnout.domain.consent import ConsentRecord, PrivacyNotice
    from turnout.domain.crowd import CrowdLevel
    from turnout.domain.errors import DomainError, FieldError
    from turnout.domain.events import Event, EventStatus, Gate
    from turnout.domain.imports import (
        ImportCounts,
        ImportJob,
        ImportStatus,
        OnDuplicate,
        Outcome,
        RawRow,
        RowCleaning,
    )
    from turnout.domain.integrations import BreakerPolicy, Integration
    from turnout.domain.participants import Participant, ParticipantInput
    from turnout.domain.privacy import BirthDateBand, ErasureRequest
    from turnout.domain.sagas import Alert, Saga
    from turnout.messages.base import Envelope, Fact, Message
    from turnout.messages.facts import ParticipantRegistered


# --- time ------------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


# --- mail ------------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A message was not delivered. ``permanent`` (5xx) means never retry; otherwise retry later."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class OutgoingMail:
    """One message ready for the wire: envelope addresses and the RFC 5322 bytes (CRLF lines)."""

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes


class Mailer(Protocol):
    """Sends one email message; raises ``DeliveryError`` when it was not accepted."""

    async def send(self, mail: OutgoingMail) -> None: ...

    async def close(self) -> None:
        """Release connections (idempotent)."""
        ...


# --- the stream ------------------------------------------------------------------------------------


class Publisher(Protocol):
    """Streams messages (Kafka in production). ``publish`` returns how many of ``envelopes``, counted
    from the first, are durably on the stream; the rest are offered again later."""

    def publish(self, envelopes: Sequence[Envelope]) -> int: ...

    def close(self) -> None: ...


# --- ticket keys -----------------------------------------------------------------------------------


class SigningKey(Protocol):
    """One event's Ed25519 key pair."""

    def sign(self, body: bytes) -> bytes:
        """The 64-byte signature of ``body``."""
        ...

    def verify(self, signature: bytes, body: bytes) -> bool: ...

    def public_b64(self) -> str:
        """The public key, 32 raw bytes in base64 (what gate systems are given)."""
        ...

    def private_bytes(self) -> bytes:
        """The 32-byte private seed (for signing in helper processes)."""
        ...


class KeyVault(Protocol):
    """Makes ticket signing keys and seals them for storage (a copy of the database alone cannot
    mint tickets)."""

    def generate(self) -> tuple[SigningKey, str]:
        """A new key and its sealed form."""
        ...

    def open(self, sealed: str) -> SigningKey: ...


# --- the unit of work and the spine's repositories -------------------------------------------------


class EventRepository(Protocol):
    def add(self, event: Event, *, now: datetime) -> None: ...

    def get(self, event_id: str, *, for_update: bool = False) -> Event | None:
        """``for_update``: the row stays locked until the transaction ends (where the database
        locks rows; SQLite's writer holds the whole database anyway)."""
        ...

    def set_status(self, event_id: str, status: EventStatus, *, now: datetime) -> None: ...

    def update(self, event: Event, *, now: datetime) -> None:
        """Store the event's editable facts (name, times, zone, venue, capacity, minimum age,
        language, settings); its status is changed by ``set_status`` only."""
        ...

    def list(
        self, *, after_id: str | None, limit: int, only_ids: Sequence[str] | None = None
    ) -> list[Event]: ...


class GateRepository(Protocol):
    def add(self, gate: Gate, *, now: datetime) -> None: ...

    def get(self, gate_id: str) -> Gate | None: ...

    def list_for_event(
        self, event_id: str, *, after_id: str | None = None, limit: int = 1000
    ) -> list[Gate]: ...

    def update(self, gate: Gate) -> bool:
        """Store ``gate``'s settings (name, direction, methods, opening hours, location) over the
        gate with its id; False when there is none. Its event never changes."""
        ...


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """An API key as a list shows it: never its secret."""

    key_id: str
    name: str
    role: Role
    event_id: str | None
    gate_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyRepository(Protocol):
    def add(
        self,
        *,
        key_id: str,
        secret_hash: str,
        name: str,
        role: Role,
        event_id: str | None,
        gate_id: str | None,
        now: datetime,
    ) -> None: ...

    def find(self, key_id: str) -> tuple[str, Principal] | None:
        """The stored secret hash and the principal of a key that is not revoked."""
        ...

    def count(self) -> int: ...

    def list_all(self) -> list[dict[str, Any]]: ...

    def revoke(self, key_id: str, *, now: datetime) -> bool: ...

    def describe(self, key_id: str) -> KeyInfo | None:
        """The key (revoked or not), without its secret."""
        ...

    def list_for_event(self, event_id: str) -> list[KeyInfo]:
        """The keys scoped to the event (staff and gate keys, revoked ones too), oldest first."""
        ...

    # console sessions: a signed-in browser's random id, stored as its hash, tied to a key

    def add_session(self, *, id_hash: str, key_id: str, now: datetime, expires_at: datetime) -> None: ...

    def find_session(self, id_hash: str, *, now: datetime) -> tuple[datetime, Principal] | None:
        """The expiry and the key's principal of a session not expired whose key is not revoked."""
        ...

    def delete_session(self, id_hash: str) -> None: ...

    def delete_expired_sessions(self, *, now: datetime) -> int: ...


class AuditLog(Protocol):
    def record(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        event_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None: ...

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """``record`` for each entry, in one statement."""
        ...

    def for_subject(self, subject_type: str, subject_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str
    subject_type: str
    subject_id: str
    event_id: str | None = None
    data: dict[str, Any] | None = None


class IdempotencyStore(Protocol):
    """Stored answers for requests that carry an ``Idempotency-Key``."""

    def get(self, scope: str, key: str) -> tuple[str, int, Any] | None:
        """``(request hash, status code, response)`` stored under the key."""
        ...

    def put(
        self, scope: str, key: str, *, request_hash: str, status_code: int, response: Any, now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RateWindow:
    """A client's current fixed rate-limit window: when it began and the requests counted in it."""

    started_at: datetime
    count: int


class RateLimitStore(Protocol):
    """Request counts per client, shared by every process (public registration's rate limit)."""

    def window(self, client: str) -> RateWindow | None: ...

    def start_window(self, client: str, *, started_at: datetime) -> None:
        """The client's window begins at ``started_at`` with one request counted."""
        ...

    def count_request(self, client: str) -> None:
        """One more request in the client's current window."""
        ...

    def forget_idle(self, *, before: datetime) -> None:
        """Drop clients whose window began before ``before``."""
        ...


# --- participants ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantFeedRow:
    """What the external systems are told of a participant (``services/feeds.py``): no contact data."""

    id: str
    event_id: str
    token: str | None
    name: str
    status: str  # registered | cancelled
    check_in_status: str  # not_checked_in | inside | exited
    first_checked_in_at: datetime | None
    last_scan_at: datetime | None
    updated_at: datetime


class ParticipantStore(Protocol):
    """Participants of events: look-ups, search, and the writes registration and tickets make."""

    def get(self, participant_id: str, *, for_update: bool = False) -> Participant | None:
        """``for_update``: the row stays locked until the transaction ends (see ``EventRepository``)."""
        ...

    def get_many(self, participant_ids: Sequence[str], *, for_update: bool = False) -> dict[str, Participant]:
        """The ones of ``participant_ids`` that exist, by id (one read; ``for_update`` as ``get``,
        the rows locked in id order)."""
        ...

    def insert_many(self, records: list[dict[str, Any]]) -> None:
        """Complete participant rows (every column given)."""
        ...

    def update_fields(self, participant_id: str, values: dict[str, Any]) -> None: ...

    def delete(self, participant_id: str) -> None:
        """Remove the participant (a transfer's new holder, when the transfer is undone)."""
        ...

    def count_active(self, event_id: str) -> int:
        """Registered (not cancelled) participants of the event."""
        ...

    def ids_by_email(self, event_id: str, emails: Sequence[str]) -> dict[str, str]:
        """Normalised email -> participant id, for those of ``emails`` the event has."""
        ...

    def ids_by_phone(self, event_id: str, phones: Sequence[str]) -> dict[str, str]: ...

    def search(
        self,
        *,
        event_id: str,
        where: ParticipantFilter = ParticipantFilter(),
        after_id: str | None = None,
        limit: int = 100,
        many: bool = False,
    ) -> list[Participant]:
        """In registration order; ``q`` in the name (any case) or the email, or the phone's last
        digits, or the whole phone number. ``many``: a hint that the filter matches many (``count``
        said so): the store may then read the event in order rather than start from the search's
        index (the same answer either way)."""
        ...

    def count(
        self, *, event_id: str, where: ParticipantFilter = ParticipantFilter(), up_to: int = 10_000
    ) -> int:
        """How many participants ``search`` would find, counted up to ``up_to`` (a list shows
        "10,000+" rather than count a whole large event for every keystroke)."""
        ...

    def feed_rows(self, participant_ids: Collection[str]) -> list[ParticipantFeedRow]:
        """The feed rows of those of ``participant_ids`` that exist (any event, any order)."""
        ...

    def stream_feed_rows(self, event_id: str) -> Iterator[ParticipantFeedRow]:
        """Every participant of the event (cancelled ones too) in id order, read in one streaming
        query: the rows are not all held in memory at once. Consume it inside the transaction."""
        ...


#: what one row of a participant export holds, in this order (``ParticipantExportReader.page``)
EXPORT_FIELDS = (
    "id",
    "name",
    "email",
    "phone",
    "birth_date",
    "region",
    "organization",
    "gender",
    "locale",
    "status",
    "check_in_status",
    "first_checked_in_at",
    "last_scan_at",
    "registered_at",
    "consent_channel",
    "consent_basis",
    "consent_optional",
    "consent_marketing",
    "consent_given_at",
    "notice_version",
    "custom_fields",
)
#: one participant of an export: a plain tuple in ``EXPORT_FIELDS`` order (``None`` for a value
#: not set; the consent's six are ``None`` without a consent record; datetimes aware (any zone);
#: ``custom_fields`` a dict)
ExportRecord = tuple[Any, ...]


class ParticipantExportReader(Protocol):
    """The participant export's reads: plain rows, a page at a time, with their consent joined."""

    def custom_field_keys(self, event_id: str, where: ParticipantFilter) -> list[str]:
        """Every custom field name the filtered participants have, in the order first seen (by
        participant id), read in one query (the export's columns are known before its rows)."""
        ...

    def page(
        self, event_id: str, where: ParticipantFilter, *, after_id: str | None, limit: int
    ) -> list[ExportRecord]:
        """Up to ``limit`` filtered participants with ids after ``after_id``, in id order (keyset
        paging: each page is one query, whatever its place in the list)."""
        ...


# --- tickets ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revocation:
    """A revoked ticket token (``reason``: ``reissued`` or ``cancelled``); ``id`` orders the list."""

    id: int
    event_id: str
    participant_id: str
    version: int
    token: str
    reason: str
    revoked_at: datetime


class TicketStore(Protocol):
    """Each event's sealed signing key, and the revocation list."""

    def sealed_key(self, event_id: str) -> str | None:
        """The event's sealed private key, if it has one."""
        ...

    def add_key(self, *, event_id: str, public_key: str, sealed: str, now: datetime) -> None:
        """Store the event's key pair, unless it has one already (then nothing changes: concurrent
        first uses agree on whichever was stored first)."""
        ...

    def revoke(
        self, *, event_id: str, participant_id: str, version: int, token: str, reason: str, now: datetime
    ) -> None:
        """Put ``token`` on the revocation list (nothing when it is there already)."""
        ...

    def revocations(
        self, event_id: str, *, after_id: int | None = None, limit: int = 1000
    ) -> list[Revocation]:
        """The event's revocations in ``id`` order, those after ``after_id``."""
        ...


class TicketKeys(Protocol):
    """Each event's ticket signing key (``services.ticketing.TicketBook``), for the use cases that
    sign or verify tickets themselves (check-in, imports)."""

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> SigningKey:
        """The event's key pair (made on first use, in ``uow``'s transaction)."""
        ...


# --- intake ----------------------------------------------------------------------------------------
# An import (services/importing.py) reads a file (``ImportFiles``), has its rows cleaned and their
# tickets signed (``RowCleaner``), decides each batch and stores it through the unit of work's
# ``ImportStore``. Records of the job and the rules: domain/imports.


class SaveConflict(Exception):
    """Another writer saved some of the same participants meanwhile: decide the batch again."""


@dataclass(slots=True)
class CleanRow:
    """A row that cleaned and is the first of its dedup keys in the file: a new participant unless
    the event has it already."""

    row: int
    cells: list[Any]
    data: ParticipantInput
    participant_id: str
    token: str
    registered: ParticipantRegistered  # its fact, stored with it (in the outbox, as ``message_id``)
    message_id: str


@dataclass(slots=True)
class ImportBatch:
    """Consecutive records of a file, decided as far as the file alone allows; saved in one transaction."""

    event_id: str
    import_id: str
    consumed: int  # records taken from the file (blank ones too)
    position: int  # bytes of the file read so far (progress)
    registered_at: datetime  # the moment its participants are registered at
    clean_rows: list[CleanRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    error_rows: dict[int, list[Any]] = field(default_factory=dict)  # row number -> its cells as read
    total: int = 0  # non-blank records
    invalid: int = 0
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class StoredRowError:
    """One error of an import's row, as stored (``id`` orders them)."""

    id: int
    row: int
    column: str | None
    code: str
    value: str | None
    params: dict[str, Any]


class ImportStore(Protocol):
    """Import jobs, their errors and the participants they save (on the unit of work)."""

    def add(self, job: ImportJob) -> None: ...

    def get(self, import_id: str) -> ImportJob | None: ...

    def for_event(self, event_id: str, *, limit: int = 50) -> list[ImportJob]:
        """The event's imports, newest first (``created_at``, then id), at most ``limit``."""
        ...

    def claim(self, job: ImportJob, *, owner: str, lease_until: datetime, now: datetime) -> bool:
        """Mark ``job`` running by ``owner`` (one more attempt, ``started_at`` kept once set) if its
        status and attempts are still those of ``job``; False when another runner got there first."""
        ...

    def unfinished(self, *, event_id: str, sha256: str, on_duplicate: OnDuplicate) -> list[ImportJob]:
        """Queued and running jobs of the same file and policy, oldest first."""
        ...

    def due(self, *, now: datetime, limit: int) -> list[ImportJob]:
        """Queued jobs and running jobs whose lease ended before ``now``, oldest first."""
        ...

    def set_header(
        self, import_id: str, *, header: list[str], encoding: str | None, owner: str, attempt: int
    ) -> bool:
        """The file's header (for errors.csv) and the encoding it was read in, if the runner
        (``owner``, ``attempt``) still runs the job; False (nothing written) otherwise."""
        ...

    def abandon(self, job: ImportJob, *, now: datetime, error: DomainError) -> bool:
        """Mark ``job`` failed with ``error`` (its runners keep dying: it is not tried again) if its
        status and attempts are still those of ``job``; False when another runner got there first."""
        ...

    def header(self, import_id: str) -> list[str]: ...

    def record_progress(
        self, import_id: str, counts: ImportCounts, *, owner: str, attempt: int, lease_until: datetime
    ) -> bool:
        """The job's counters and a longer lease, if the runner still runs it: ``owner`` and the
        lease generation ``attempt`` (the job's ``attempts`` when it claimed it; every claim adds
        one, so a runner whose job was claimed again, even by its own process, is fenced off);
        False (nothing written) when another runner took it over or it is finished."""
        ...

    def finish(
        self,
        import_id: str,
        *,
        owner: str,
        attempt: int,
        status: ImportStatus,
        now: datetime,
        error: DomainError | None = None,
    ) -> bool:
        """Done or failed (with ``error``'s code and its plain params), the lease ended, if the
        runner (``owner``, ``attempt``) still runs the job; False (nothing written) when another
        runner took it over or it is finished already."""
        ...

    def add_errors(self, import_id: str, errors: Sequence[FieldError], rows: Mapping[int, list[Any]]) -> None:
        """Row errors, and the cells of the rows they are about (errors.csv shows both)."""
        ...

    def errors(self, import_id: str, *, after_id: int = 0, limit: int = 1000) -> list[StoredRowError]:
        """Errors in the order they were added, after ``after_id``."""
        ...

    def error_rows(self, import_id: str, rows: Sequence[int]) -> dict[int, list[Any]]: ...

    def add_participants(
        self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
    ) -> None:
        """New participants (registered, ticket version 1, source ``import``) with their tokens, and
        each one's ``registered`` fact in the outbox. Raises ``SaveConflict`` when the event has one
        of them already (saved by another writer since the caller looked)."""
        ...

    def participants(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        """The participants of those ids that exist."""
        ...


@dataclass(frozen=True, slots=True)
class FileDigest:
    sha256: str
    size: int


class Table(Protocol):
    """An opened file: its header and its records, streamed. Close it (or use ``with``)."""

    @property
    def header(self) -> list[str]: ...

    @property
    def encoding(self) -> str | None:
        """The text encoding it is read in (None for a workbook)."""
        ...

    def rows(self) -> Iterator[RawRow]: ...

    def position(self) -> int:
        """Bytes of the file read so far (0 where unknown)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class ImportFiles(Protocol):
    """Uploaded files: read as tables (``FileRefused`` for what cannot be read) and fingerprinted."""

    def open(self, path: str | None, *, filename: str, encoding: str | None) -> Table:
        """``filename`` (the name the user gave) decides the allowed types; a missing file is
        ``unreadable_file``."""
        ...

    def digest(self, path: str) -> FileDigest: ...

    def count_rows(self, path: str, *, filename: str) -> int | None:
        """The data rows the file holds, counted without reading them (an estimate, for a progress
        bar); None when it cannot be counted."""
        ...

    def discard(self, path: str | None) -> None:
        """An import ended: delete its file if it is an upload (stored by the server); a file
        imported from the command line is the user's own and stays."""
        ...


@dataclass(slots=True)
class RowsToClean:
    """Rows of a file on their way to be cleaned; the cleaner fills ``outcomes`` (one per row, in
    order) and ``tokens`` (one per row that cleaned, when signing)."""

    rows: list[RawRow]
    participant_ids: list[str]  # one per row when signing: the id its participant gets
    outcomes: list[Outcome] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


RowsT = TypeVar("RowsT", bound=RowsToClean)


class CleaningRun(Protocol):
    """Cleaning (and signing) for one import; close it (or use ``with``) to release helpers."""

    def clean(
        self,
        read: Callable[[int], RowsT | None],
        *,
        cleaning: RowCleaning,
        batch_size: int,
        event_id: str,
        key: SigningKey | None,
    ) -> Iterator[RowsT]:
        """The batches ``read(most)`` makes (None at the end), cleaned, in the order read. ``most``
        is at most ``batch_size`` rows. With ``key`` each row that cleans gets the ticket token of
        its participant id (version-1 tokens of ``event_id``). Call it once with a key."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class RowCleaner(Protocol):
    """Where an import's rows are cleaned and their tickets signed (this process, or helpers)."""

    def start(self, *, file_size: int) -> CleaningRun:
        """Called first thing, so that helpers (if any) start while the import opens its file."""
        ...


class Processes(Protocol):
    """Who runs an import (``owner``), and whether that runner is gone."""

    def this_process(self) -> str: ...

    def has_ended(self, owner: str | None) -> bool:
        """True when ``owner`` is empty or a process on this host that no longer runs."""
        ...


# --- mail: templates, the email queue, composing ---------------------------------------------------


class EmailStatus:
    """An email job's states: ``queued -> sending -> sent``; ``failed`` is retried at its next
    attempt time; ``dead`` is final. A participant's ``email_status`` is its latest job's state
    (``none`` before any)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    ALL = (QUEUED, SENDING, SENT, FAILED, DEAD)


@dataclass(frozen=True, slots=True)
class NewEmailJob:
    """A job to queue. ``dedup_key`` (or None) allows at most one job per key."""

    id: str
    event_id: str
    participant_id: str
    kind: str
    ticket_version: int
    dedup_key: str | None
    message_id: str
    to_address: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EmailJob:
    """A stored job; ``participant_name`` is filled by listings only."""

    id: str
    event_id: str
    participant_id: str
    kind: str
    ticket_version: int
    dedup_key: str | None
    status: str
    message_id: str
    to_address: str
    subject: str | None
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    leased_by: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    participant_name: str | None = None


@dataclass(frozen=True, slots=True)
class EmailAttempt:
    """One try at sending a job (``outcome``: sent, failed or dead); ``id`` is set once stored."""

    job_id: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    smtp_code: int | None
    error: str | None
    sender: str | None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ClaimedEmail:
    """A job taken by a sender, with what composing it needs: its participant and event as they are
    now. ``attempt`` is the number of this attempt; ``taken_over``: the job was ``sending`` under
    another sender's lease, which had expired."""

    job_id: str
    attempt: int
    taken_over: bool
    kind: str
    message_id: str
    to_address: str
    event_id: str
    participant_id: str
    ticket_version: int
    participant_name: str
    participant_status: str
    participant_locale: str | None
    participant_token: str | None
    participant_ticket_version: int
    event_name: str
    event_locale: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue: str | None


@dataclass(frozen=True, slots=True)
class EmailOutcome:
    """How one claimed job's attempt ended, as the sender records it."""

    job_id: str
    participant_id: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None = None
    error: str | None = None
    smtp_code: int | None = None
    subject: str | None = None


class EmailQueue(Protocol):
    """Email jobs and their attempt log. Every write that sets jobs' state also sets their
    participants' ``email_status`` (and ``email_error``) to that state, for the participant's latest
    job only (ids sort by creation): an older job (a superseded ticket's) leaves it alone."""

    def add(self, job: NewEmailJob) -> bool:
        """Queue ``job`` (status ``queued``, due at ``created_at``); False, and nothing written, when a
        job with its ``dedup_key`` exists already."""
        ...

    def get(self, job_id: str) -> EmailJob | None: ...

    def list_for_event(
        self,
        event_id: str,
        *,
        after_id: str | None = None,
        limit: int = 100,
        status: str | None = None,
        participant_id: str | None = None,
        newest_first: bool = False,
    ) -> list[EmailJob]:
        """In id order (creation order), with ``participant_name``; ``after_id`` pages in that order."""
        ...

    def attempts(self, job_id: str) -> list[EmailAttempt]:
        """In the order they were recorded."""
        ...

    def count_by_status(self, event_id: str) -> dict[str, int]:
        """Jobs per state, every state present (0 when none)."""
        ...

    def claim_due(
        self, *, now: datetime, lease_until: datetime, sender: str, limit: int
    ) -> list[ClaimedEmail]:
        """Take up to ``limit`` due jobs, oldest ``next_attempt_at`` first: ``queued``/``failed`` whose
        next attempt time has come, and ``sending`` whose lease ended before ``now``. Two senders
        claiming at once never get the same job. Each becomes ``sending`` under ``sender``'s lease
        until ``lease_until``, its attempt count one higher."""
        ...

    def add_attempts(self, attempts: Sequence[EmailAttempt]) -> None: ...

    def requeue(self, job_id: str, *, now: datetime) -> bool:
        """An operator's retry: a ``failed`` or ``dead`` job becomes ``queued`` again, due ``now``
        (its attempts and their log kept), and its participant's ``email_status`` with it when it
        is their latest job; False, and nothing written, for a job in any other state (or none)."""
        ...

    def record(self, outcomes: Sequence[EmailOutcome], *, sender: str) -> None:
        """For each outcome: the job's new state, error, subject (kept when None), ``sent_at`` and next
        attempt time, its lease released, and the participant's ``email_status`` and ``email_error`` —
        these only while ``sender`` still holds the job's lease; and always an attempt row."""
        ...


@dataclass(frozen=True, slots=True)
class TemplateSources:
    """A mail template's three Jinja2 sources."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """An event's override of a built-in template (one kind, one language)."""

    event_id: str
    kind: str
    locale: str
    sources: TemplateSources
    updated_at: datetime
    updated_by: str


class MailTemplateStore(Protocol):
    """Per-event template overrides."""

    def for_events(self, event_ids: Sequence[str]) -> list[StoredTemplate]: ...

    def save(self, template: StoredTemplate) -> None:
        """Insert, or replace the event's template of that kind and language."""
        ...

    def delete(self, *, event_id: str, kind: str, locale: str) -> bool:
        """False when there was none."""
        ...


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


class TemplateProblem(Exception):
    """A template part that does not compile or render: ``message`` says why."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


class TemplateRenderer(Protocol):
    """Renders mail templates (sandboxed: a template cannot reach beyond its variables)."""

    def builtin(self, kind: str, locale: str) -> TemplateSources:
        """The built-in template of ``kind`` in ``locale``."""
        ...

    def render_part(self, part: str, source: str, context: dict[str, Any]) -> str:
        """One part (``subject``, ``html`` — auto-escaped — or ``text``); raises ``TemplateProblem``."""
        ...

    def render(self, sources: TemplateSources, context: dict[str, Any]) -> RenderedEmail:
        """All three parts; the subject on one line. Raises what rendering raised."""
        ...


@dataclass(frozen=True, slots=True)
class TicketMail:
    """What a ticket email says: ``sources`` None means the built-in template of ``kind`` and
    ``locale``; ``context`` holds the template variables (``qr_cid`` among them)."""

    message_id: str
    to_name: str
    to_address: str
    token: str
    kind: str
    locale: str
    sources: TemplateSources | None
    context: dict[str, Any]
    qr_cid: str
    date: datetime
    with_qr: bool = True  # False for a notice (``transferred``, ``cancelled``): no ticket in it


@dataclass(frozen=True, slots=True)
class ComposedMail:
    mail: OutgoingMail
    subject: str


class MailComposer(Protocol):
    """Makes the message for a ticket email: rendered templates, the QR code inline and attached."""

    def compose_ticket(self, ticket: TicketMail) -> ComposedMail: ...


# --- messaging -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """The state of one message for one handler, off the relay's fast path: a failed attempt waiting
    for its retry (``pending``), a handler given up on (``dead``), a delivery made from the stream
    (``done``), or a stream record nobody could decode (``dead``, handler ``-``)."""

    message_id: str
    handler: str
    message_type: str
    message_seq: int | None  # the outbox seq, when the message came from this database's outbox
    envelope: dict[str, Any]  # ``Envelope.as_dict()`` (or what is known of an undecodable record)
    source: str  # outbox | kafka
    status: str  # pending | done | dead
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries: every field given must match; ``since`` bounds the first failure."""

    status: str = "dead"
    message_id: str | None = None
    message_type: str | None = None
    since: datetime | None = None
    handler: str | None = None
    exclude_handlers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsumerCursor:
    """How far a consumer of the outbox (a local handler, or the stream publisher) has got."""

    consumer: str
    position: int  # the last outbox seq passed
    handled: int  # messages it handled on the fast path (the stream publisher: published)


@dataclass(frozen=True, slots=True)
class DeliveryCount:
    handler: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class OutboxTotals:
    messages: int
    newest_seq: int  # 0 when the outbox is empty


class MessageStore(Protocol):
    """The message bus's own state: consumer cursors, deliveries, and cache versions."""

    def bump_cache_version(self, *, scope: str, key: str, reason: str, now: datetime) -> int:
        """One more version of a cached thing (1 the first time); returns the new version."""
        ...

    def cache_version(self, *, scope: str, key: str) -> int:
        """The current version of a cached thing (0 when it never changed)."""
        ...

    def outbox_totals(self) -> OutboxTotals: ...

    def count_after(self, seq: int) -> int:
        """Outbox messages with a seq above ``seq``."""
        ...

    def cursors(self) -> list[ConsumerCursor]: ...

    def delivery_counts(self) -> list[DeliveryCount]:
        """Deliveries per (handler, status); only pairs that have any."""
        ...

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest ``pending`` delivery was first recorded."""
        ...

    def deliveries(self, where: DeliveryFilter, *, limit: int) -> list[Delivery]:
        """Matching deliveries, the most recently updated first (then by message id)."""
        ...

    def revive(self, where: DeliveryFilter, *, now: datetime) -> int:
        """Matching deliveries become ``pending`` with no attempts made, due at ``now``; returns how
        many."""
        ...

    def message_known(self, message_id: str) -> bool:
        """The message is in the outbox or has a delivery."""
        ...


# --- statistics ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantTally:
    """How many participants of an event share these states."""

    status: str  # registered | cancelled
    check_in_status: str  # not_checked_in | inside | exited
    email_status: str
    came: bool  # checked in at least once
    count: int


@dataclass(frozen=True, slots=True)
class ScanTally:
    """How many scans of an event share gate, method, result and refusal code."""

    gate_id: str | None
    method: str
    result: str  # admitted | exited | denied
    code: str | None
    count: int


@dataclass(frozen=True, slots=True)
class ArrivalCount:
    """Admissions in the bucket that begins at ``starts_at`` (UTC, a multiple of the bucket length
    since the Unix epoch)."""

    starts_at: datetime
    admitted: int


@dataclass(frozen=True, slots=True)
class FlowCount:
    """Admissions and exits in the bucket that begins at ``starts_at`` (as ``ArrivalCount``)."""

    starts_at: datetime
    admitted: int
    exited: int


@dataclass(frozen=True, slots=True)
class AttendeeProfile:
    """What anonymised analytics read of one registered participant."""

    birth_date: date | None
    region: str | None
    came: bool


@dataclass(frozen=True, slots=True)
class ScanMoment:
    """What anonymised analytics read of one admission or exit. ``person`` is an opaque key of the
    participant scanned, so that analytics count people rather than scans: the same for every scan
    of one participant within one ``scan_moments`` answer, different between participants, and not
    their id (numbers given in the order read; scans without a participant share one)."""

    occurred_at: datetime
    method: str
    result: str  # admitted | exited
    stay_seconds: int | None
    person: int


@dataclass(frozen=True, slots=True)
class EventCounts:
    """An event's participants in the console's event list: registered (not cancelled) and, of
    those, checked in at least once."""

    registered: int = 0
    checked_in: int = 0


@dataclass(frozen=True, slots=True)
class DayFigures:
    """An event's figures for the event page: registered (not cancelled) and inside now; between
    ``since`` and ``until`` (a day in the event's zone) the registered people who came through a
    gate (their last accepted scan, an admission or an exit, is in it), the scans and the refusals."""

    registered: int
    inside: int
    came: int
    scans: int
    denied: int


class StatisticsReadModel(Protocol):
    """Aggregates behind the live statistics and the anonymised analytics of an event."""

    def event_counts(self, event_ids: Sequence[str]) -> dict[str, EventCounts]:
        """``EventCounts`` of each listed event, in one grouped query; an event without
        participants is left out."""
        ...

    def day_figures(self, event_id: str, *, since: datetime, until: datetime) -> DayFigures:
        """The event page's figures (indexed counts, no scan of the event's rows)."""
        ...

    def participant_tallies(self, event_id: str) -> list[ParticipantTally]: ...

    def gate_names(self, event_id: str) -> dict[str, str]:
        """Gate id -> name, for every gate of the event."""
        ...

    def scan_tallies(self, event_id: str) -> list[ScanTally]: ...

    def arrivals(self, event_id: str, *, bucket_seconds: int) -> list[ArrivalCount]:
        """Admissions per ``bucket_seconds``-long bucket, earliest first; empty buckets left out."""
        ...

    def flows(self, event_id: str, *, bucket_seconds: int) -> list[FlowCount]:
        """Admissions and exits per ``bucket_seconds``-long bucket, earliest first; buckets with
        neither left out (one indexed ``GROUP BY``, like ``arrivals``)."""
        ...

    def attendee_profiles(self, event_id: str) -> list[AttendeeProfile]:
        """One per registered (not cancelled) participant."""
        ...

    def scan_moments(self, event_id: str) -> list[ScanMoment]:
        """Every scan of the event that was not denied."""
        ...


# --- integrations: external systems and outbound deliveries ---------------------------------------
# A use case (a bus handler, a sync) states each call it owes an external system as an
# ``OutboundMessage`` and enqueues it in its own transaction (``uow.outbound``); the delivery
# worker sends it later, signed, with retries (``services/deliveries.py``). ``uow.integrations``
# holds each event's systems: where deliveries go, the sealed secret, enabled or not. (The bus's
# own ``message_deliveries``, facts to local handlers, are another thing: see ``MessageStore``.)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One call owed to an external system. Deliveries of one ``ordering_key`` (a participant's id)
    to one system go out in the order they were enqueued; ``None``: no order to keep."""

    event_id: str
    system: str  # an ``IntegrationSystem`` value
    type: str  # what the call says, e.g. ``participant.changed``, ``gate-management.sync``
    payload: dict[str, Any]  # the JSON body's ``data``
    ordering_key: str | None = None
    source_message_id: str | None = None  # the fact that caused it, if one did
    retry_until: datetime | None = None  # retried until then (None: the setting's window)


class IntegrationStore(Protocol):
    def get(self, event_id: str, system: str) -> Integration | None: ...

    def list_for_event(self, event_id: str) -> list[Integration]:
        """The event's integrations in system order (enabled or not)."""
        ...

    def put(self, integration: Integration) -> None:
        """Insert the integration, or replace the event's one for that system."""
        ...

    def delete(self, event_id: str, system: str) -> bool:
        """Whether there was one to delete."""
        ...

    def disable(self, event_id: str, system: str, *, reason: str, now: datetime) -> bool:
        """Turn an enabled integration off with its reason (a receiver answered ``410 Gone``);
        whether it was enabled."""
        ...

    def enabled_for(self, event_id: str) -> list[Integration]:
        """The event's enabled integrations (what its facts are delivered to)."""
        ...


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery a sender has claimed: what to send and where (the integration as it is now)."""

    id: str
    seq: int
    event_id: str
    system: str
    type: str
    payload_json: str  # the payload as stored: JSON text, spliced into the body as it is
    attempts: int  # attempts made before this one
    created_at: datetime
    retry_until: datetime | None  # set by a manual retry; else created_at + the retry window
    url: str
    secret_sealed: str
    probe: bool = False  # the one request a half-open endpoint lets through


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one attempt went, and what becomes of the delivery: ``delivered``; ``failed`` (pending
    again at ``next_attempt_at``); ``dead`` (``error`` says why)."""

    delivery_id: str
    event_id: str
    system: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str  # delivered | failed | dead
    status_code: int | None
    latency_ms: int | None
    error: str | None
    next_attempt_at: datetime | None = None
    #: whether the endpoint answered as a live one would (2xx, or a 4xx but not 408/429); a
    #: connection error, timeout, 5xx, 408 or 429 counts toward opening its circuit breaker;
    #: None: the endpoint was not asked (the address was refused, the secret would not open)
    endpoint_ok: bool | None = None
    url: str | None = None  # where it went (the integration's URL when it was claimed)


@dataclass(frozen=True, slots=True)
class DeliveryAttemptRecord:
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A delivery as the log shows it (without its payload unless asked for)."""

    id: str
    seq: int
    event_id: str
    system: str
    type: str
    ordering_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] | None = None
    attempt_log: tuple[DeliveryAttemptRecord, ...] = ()


class DeliveryQueue(Protocol):
    """The sending side of the outbound deliveries (``uow.outbound``)."""

    def due(self, *, now: datetime, limit: int, breaker: BreakerPolicy) -> list[DueDelivery]:
        """Up to ``limit`` deliveries to enabled integrations that could be sent now: pending ones
        due by ``now`` and ``sending`` ones whose lease ended. Never one whose ``ordering_key`` has
        an earlier delivery still pending or sending (so one key's deliveries go one at a time, in
        order), none to an endpoint whose circuit is open, and one probe to a half-open one. Reads
        only (a read-only unit of work will do: SQLite's write lock is not held for it)."""
        ...

    def lease(
        self,
        deliveries: Sequence[DueDelivery],
        *,
        now: datetime,
        lease_seconds: float,
        worker: str,
        breaker: BreakerPolicy,
    ) -> list[DueDelivery]:
        """Lease to ``worker`` those of ``deliveries`` that are still due (another worker may have
        leased some since ``due`` read them), and take each probe's endpoint (only one probe at a
        time); the ones leased."""
        ...

    def record(
        self, results: Sequence[DeliveryResult], *, worker: str, breaker: BreakerPolicy
    ) -> list[DeliveryResult]:
        """Store each attempt and its delivery's new state, and each endpoint's breaker state. A
        result for a delivery this worker no longer leases (another took it over) is dropped; the
        results kept."""
        ...

    def oldest_due(self, *, now: datetime) -> datetime | None:
        """When the oldest delivery that is due (pending, next attempt by ``now``) was created."""
        ...


class DeliveryLog(Protocol):
    """Reading the outbound deliveries, and sending one again (``uow.outbound``)."""

    def get(self, delivery_id: str, *, with_attempts: bool = True) -> DeliveryRecord | None: ...

    def list_for_event(
        self,
        event_id: str,
        *,
        system: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[DeliveryRecord]:
        """Newest first, each with its attempts."""
        ...

    def find_many(self, delivery_ids: Sequence[str]) -> dict[str, DeliveryRecord]:
        """id -> the delivery (no payload, no attempts), for those of ``delivery_ids`` that exist."""
        ...

    def later_of_its_key(self, delivery_id: str) -> str | None:
        """The newest delivery after this one with its ordering key (to its system), if any."""
        ...

    def retry(self, delivery_id: str, *, now: datetime, retry_until: datetime) -> bool:
        """Make a delivered or dead delivery pending again, due now, retried until
        ``retry_until``; False when it is pending or being sent."""
        ...

    def counts(self, event_id: str) -> dict[str, dict[str, int]]:
        """system -> status -> deliveries."""
        ...

    def give_up(self, delivery_id: str, *, now: datetime, reason: str) -> bool:
        """Make a pending delivery ``dead`` with ``reason`` (a saga no longer waits for it); False
        when it is being sent or already finished."""
        ...


class WebhookSender(Protocol):
    """Sends one signed webhook (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature``); never raises for what the receiver or the network did."""

    async def send(
        self,
        *,
        url: str,
        secret: str,
        message_id: str,
        timestamp: datetime,
        body: bytes,
        connect_to: str | None = None,
    ) -> SendOutcome:
        """``connect_to``: the address to connect to instead of resolving ``url``'s host again (the
        request still names the host, and TLS checks the certificate against it)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SendOutcome:
    status_code: int | None  # None: no answer (connection refused, timeout, refused redirect …)
    latency_ms: int
    error: str | None = None  # why there was no answer, or the start of a non-2xx answer's body


class OutboundStore(DeliveryQueue, DeliveryLog, Protocol):
    """Outbound deliveries: what Turnout owes external systems, and how sending each went."""

    def last_enqueued_at(self, event_id: str, system: str, message_type: str) -> datetime | None:
        """When the event's latest delivery of ``message_type`` to ``system`` was enqueued (any
        status), or None if there never was one."""
        ...

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> list[str]:
        """Record a pending delivery for each message, due ``now``, in this transaction; their
        ids, in order."""
        ...


class Sealer(Protocol):
    """Seals secrets for storage (a copy of the database alone does not reveal them)."""

    def seal(self, secret: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class AddressGuard(Protocol):
    """Where a delivery may go: ``http``/``https`` to a public address. Names are resolved: an
    address that is loopback, private, link-local or a cloud metadata endpoint is refused."""

    def problem(self, url: str) -> FieldError | None:
        """Why ``url`` may not receive deliveries (``private_address``, ``invalid_url``), or None."""
        ...

    def check(self, url: str) -> tuple[FieldError | None, str | None]:
        """``problem(url)`` and, when there is none and the host is a name, the checked address a
        request to ``url`` must connect to (so a name that resolves differently a moment later,
        DNS rebinding, cannot send it elsewhere); None when the host is an address already."""
        ...


class GateTraffic(Protocol):
    """How many gate scans the database has recorded (every event; repeats and refusals too)."""

    def scans_recorded(self) -> int | None:
        """A counter that grows by one for each scan recorded (its value alone means nothing; two
        readings a moment apart give the rate; on PostgreSQL it may lag by about a second), or None
        where it cannot be read."""
        ...


class MachineLoad(Protocol):
    """How busy this machine's CPUs are."""

    def busy(self) -> float:
        """The share of CPU time spent busy since the previous call, 0.0 to 1.0 (0.0 where unknown)."""
        ...


# --- check-in --------------------------------------------------------------------------------------
# (the check-in store: scans decided by the service, stored by the adapter)


@dataclass(slots=True)
class ParticipantCheckIn:
    """A participant as check-in reads them. The service changes ``check_in_status``,
    ``first_checked_in_at`` and ``last_scan_at`` in memory as it decides scans (a slotted dataclass,
    not a frozen one: thousands are read for an upload)."""

    id: str
    name: str
    status: str  # registered | cancelled
    check_in_status: CheckInStatus
    ticket_version: int
    first_checked_in_at: datetime | None
    last_scan_at: datetime | None  # the last accepted scan: the start of a stay
    token: str | None  # the current ticket token as stored


class StoredScan(NamedTuple):
    """A scan already stored under a nonce (what a replay answers)."""

    scan_id: str
    nonce: str
    result: str
    code: str | None
    participant_id: str | None


class ScanRecord(NamedTuple):
    """One scan to store (any outcome), in the ``scans`` table's column order."""

    id: str
    event_id: str
    participant_id: str | None
    gate_id: str
    method: str
    direction: str
    result: str
    code: str | None
    occurred_at: datetime
    recorded_at: datetime
    nonce: str | None
    stay_seconds: int | None
    actor: str | None
    device: dict[str, Any]
    location: dict[str, Any]
    metadata: dict[str, Any]


class CheckInChange(NamedTuple):
    """A participant's check-in state after a batch's scans (one per participant that moved)."""

    participant_id: str
    check_in_status: str
    first_checked_in_at: datetime | None
    last_scan_at: datetime | None


class OutboxFact(NamedTuple):
    """A fact for the outbox: what ``Envelope.wrap(fact, occurred_at, id)`` makes of it."""

    id: str
    occurred_at: datetime
    fact: Fact


@dataclass(slots=True)
class CheckInWrites:
    """What one decided batch stores, in one transaction: its scans, the participants' new states
    (``updated_at`` is ``at``) and the ``attendance.recorded`` facts for the outbox."""

    scans: list[ScanRecord]
    changes: list[CheckInChange]
    facts: list[OutboxFact]
    at: datetime


class Decided(Protocol):
    """A batch as the service decided it: the store writes ``writes`` and hands the whole back."""

    @property
    def writes(self) -> CheckInWrites: ...


class CheckInReader(Protocol):
    """What the service reads for a batch, inside the store's transaction."""

    def event(self, event_id: str) -> Event | None: ...

    def participants(
        self, event_id: str, *, ids: Collection[str] = (), tokens: Collection[str] = ()
    ) -> list[ParticipantCheckIn]:
        """The event's participants named by id or by their current token. Where the database
        locks rows, theirs stay locked until the transaction ends."""
        ...

    def stored_scans(self, event_id: str, nonces: Collection[str]) -> list[StoredScan]: ...

    def last_scan_at_gate(self, participant_id: str, gate_id: str) -> PreviousScan | None:
        """The participant's latest scan at the gate (for the BLE debounce)."""
        ...


_BatchT_contra = TypeVar("_BatchT_contra", contravariant=True)
_LedgerT = TypeVar("_LedgerT")
_DecidedT_co = TypeVar("_DecidedT_co", bound=Decided, covariant=True)
BatchT = TypeVar("BatchT")
LedgerT = TypeVar("LedgerT")
DecidedT = TypeVar("DecidedT", bound=Decided)


class CheckInSteps(Protocol[_BatchT_contra, _LedgerT, _DecidedT_co]):
    """The service's side of ``CheckInStore.record``: the store calls these inside its transactions.

    A *ledger* is what the service holds in memory while it decides: participants as the batches
    decided so far left them, tokens resolved, answers of nonces known. ``read`` adds to it what
    ``batches`` need and it lacks (what it holds already is not read again); ``decide`` decides one
    batch against it without reading, and moves it on."""

    def ledger(self) -> _LedgerT:
        """A fresh ledger: it knows the answers of the batches this upload has committed."""
        ...

    def read(self, reader: CheckInReader, ledger: _LedgerT, batches: Sequence[_BatchT_contra]) -> None: ...

    def decide(self, ledger: _LedgerT, batch: _BatchT_contra) -> _DecidedT_co: ...


class CheckInStore(Protocol):
    """Stores decided scans; the store drives the transactions and calls back into the service.

    ``record`` yields each batch once it is committed, in order. For each batch it opens a
    transaction, has the service ``read`` (through a reader of that transaction) and ``decide``,
    writes the batch's ``writes`` and commits; a batch that conflicts with a concurrent writer (a
    nonce stored meanwhile, a lock cycle) is tried again from fresh reads. How is the store's
    business: one ledger per transaction, or one for the whole upload while earlier batches are
    being written (then every batch is checked to stand on what it read)."""

    def record(
        self, *, event_id: str, batches: Sequence[BatchT], steps: CheckInSteps[BatchT, LedgerT, DecidedT]
    ) -> Generator[DecidedT, None, None]: ...

    def start(self) -> None:
        """Get ready for uploads (a server calls it at start-up); idempotent."""
        ...

    def close(self) -> None:
        """Release what ``start`` or an upload began (waits for an upload in progress)."""
        ...


ItemT = TypeVar("ItemT")
AnswerT = TypeVar("AnswerT")
_ItemT_contra = TypeVar("_ItemT_contra", contravariant=True)
_AnswerT_co = TypeVar("_AnswerT_co", covariant=True)

#: ``run(key, items)`` for a group of items submitted together under one key: an answer (or the
#: error to raise) for each item, in order
GroupRun = Callable[[str, list[ItemT]], Sequence[AnswerT | BaseException]]


class Batcher(Protocol[_ItemT_contra, _AnswerT_co]):
    """Runs together what callers submit at about the same moment (one transaction for many scans):
    each caller gets its own item's answer."""

    async def submit(self, key: str, item: _ItemT_contra) -> _AnswerT_co: ...

    def submit_waiting(self, key: str, item: _ItemT_contra) -> _AnswerT_co:
        """``submit`` for a caller that blocks (a thread)."""
        ...


# --- sagas and alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonScan:
    """One scan of a participant as the participant's own data page shows it."""

    occurred_at: datetime
    gate_id: str | None
    gate_name: str | None
    method: str
    direction: str
    result: str
    code: str | None


class PrivacyStore(Protocol):
    """Personal data kept no longer than needed: old operational records pruned, a closed event's
    personal data erased. Each method returns how many rows it changed per table."""

    def prune(self, *, before: datetime, limit: int) -> dict[str, int]:
        """Delete at most ``limit`` rows per table of finished records older than ``before``: outbox
        messages every relay cursor has passed (none waiting for a retry), outbound deliveries
        delivered or dead (with their attempts; none a running saga waits for), finished message
        deliveries, idempotency keys, the attempts of sent or dead emails, the per-row errors and
        refused rows' cells of imports that ended, and registration rate-limit windows."""
        ...

    def erase_event(
        self, event_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        """Remove the personal data of one event's people, keeping every figure statistics and
        analytics read: participants' names, emails, phones, organisations, genders, custom fields,
        tokens (birth dates replaced by their band's stand-in), email jobs' addresses and errors,
        scans' device, location and metadata, the event's outbox messages relayed everywhere, its
        finished message and outbound deliveries' payloads, its audit entries' data, finished sagas'
        data, import error cells and revoked tokens."""
        ...

    def erase_participant(
        self, participant_id: str, *, birth_date_bands: Sequence[BirthDateBand], now: datetime
    ) -> dict[str, int]:
        """``erase_event`` for one person, leaving everyone else as they are: their name, email,
        phone, organisation, gender, custom fields and token (birth date replaced by its band's
        stand-in), their email jobs' addresses and errors, their scans' device, location and
        metadata, their revoked tokens, the event's relayed outbox messages about them (with their
        finished message deliveries), the finished outbound deliveries' payloads about them, the data
        of the audit entries about them and of their finished sagas."""
        ...

    def scans_of(self, participant_id: str) -> list[PersonScan]:
        """Every scan of the participant, oldest first, with its gate's name."""
        ...

    def add_erasure_request(self, request: ErasureRequest) -> None: ...

    def get_erasure_request(self, request_id: str, *, for_update: bool = False) -> ErasureRequest | None: ...

    def open_erasure_request(self, participant_id: str) -> ErasureRequest | None:
        """The participant's request still waiting for a decision, if any."""
        ...

    def find_erasure_requests(
        self,
        event_id: str | None,
        *,
        status: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[ErasureRequest]:
        """The event's requests (every event's when None) in id (creation) order; ``after_id``
        pages in that order."""
        ...

    def decide_erasure_request(self, request: ErasureRequest) -> None:
        """Store the request's status and decision (who, when, note)."""
        ...


class SagaStore(Protocol):
    """Sagas with their steps, and the locks they hold (``uow.sagas``)."""

    def lock(self, resource: str, *, saga_id: str, now: datetime, expires_at: datetime) -> str | None:
        """Take ``resource``'s lock for ``saga_id`` (or a lock whose saga was lost: expired); None
        when taken, else the id of the saga that holds it."""
        ...

    def unlock(self, resource: str, *, saga_id: str) -> None: ...

    def add(self, saga: Saga, *, wake_at: datetime) -> None: ...

    def save(self, saga: Saga, *, wake_at: datetime) -> None:
        """Store the saga's state, data and steps; a worker looks at it again at ``wake_at``."""
        ...

    def get(self, saga_id: str, *, for_update: bool = False) -> Saga | None: ...

    def get_many(self, saga_ids: Sequence[str], *, for_update: bool = False) -> list[Saga]:
        """Those of ``saga_ids`` that exist, in id order (the order their rows are locked in)."""
        ...

    def save_many(self, moved: Sequence[tuple[Saga, datetime]], *, worker: str) -> None:
        """``save`` for each (saga, wake_at), in two statements, and release ``worker``'s lease."""
        ...

    def find(
        self, *, event_id: str | None = None, states: Sequence[str] = (), limit: int = 100
    ) -> list[Saga]:
        """Newest first."""
        ...

    def due(self, *, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` running or compensating sagas under no worker's lease that are due to be
        looked at: their ``wake_at`` passed (the longest due first), or the delivery they wait for
        has an answer (delivered, dead, or refused with a 4xx). A read: an idle worker takes no
        write lock, and the sender never writes to a saga."""
        ...

    def lease(
        self, saga_ids: Sequence[str], *, now: datetime, lease_seconds: float, worker: str
    ) -> list[str]:
        """Lease those of ``saga_ids`` that no other worker leased meanwhile; their ids."""
        ...

    def release(self, saga_id: str, *, worker: str) -> None: ...

    def counts(self) -> dict[tuple[str, str], int]:
        """(kind, state) -> sagas."""
        ...


class CrowdAlarmStore(Protocol):
    """Crowd safety's alarm state per watched area (``domain.crowd``): the level fired and not yet
    re-armed, ``OK`` (armed) when nothing is stored."""

    def live_event_ids(self) -> list[str]:
        """The events whose status is ``live`` (the ones watched)."""
        ...

    def inside_now(self, event_id: str) -> int:
        """Registered (not cancelled) participants whose check-in state is ``inside``."""
        ...

    def gate_moves(self, event_id: str, gate_ids: Collection[str]) -> dict[str, tuple[int, int]]:
        """Gate id -> (admissions, exits) recorded through it, for ``gate_ids`` (absent: none)."""
        ...

    def fired(self, event_id: str) -> dict[str, CrowdLevel]:
        """Area (``event`` or a gate id) -> level fired, for the areas not ``OK``."""
        ...

    def set_fired(self, event_id: str, area: str, level: CrowdLevel, *, now: datetime) -> None:
        """Store ``level`` as the area's fired level (``OK`` forgets the area)."""
        ...


class AlertStore(Protocol):
    """Operator alerts (``uow.alerts``)."""

    def add(self, alert: Alert) -> None: ...

    def get(self, alert_id: str) -> Alert | None: ...

    def find(self, *, state: str | None = None, event_id: str | None = None, limit: int = 100) -> list[Alert]:
        """Newest first."""
        ...

    def acknowledge(self, alert_id: str, *, by: str, now: datetime) -> bool:
        """False when it is not open (unknown, or acknowledged already)."""
        ...

    def due_for_email(self, *, now: datetime, limit: int, max_attempts: int) -> list[Alert]:
        """Open alerts not yet emailed whose next attempt is due, with fewer than ``max_attempts``
        attempts, oldest first."""
        ...

    def record_email(
        self, alert_id: str, *, now: datetime, error: str | None, next_at: datetime | None
    ) -> None:
        """One attempt to email the alert: sent (``error`` None), or failed and tried again at
        ``next_at``."""
        ...


# --- consent --------------------------------------------------------------------------------------


class ConsentStore(Protocol):
    """Events' privacy notice versions and participants' consent records (``uow.consent``)."""

    def current_notice(self, event_id: str) -> PrivacyNotice | None:
        """The event's newest notice version (None: the event has none stored yet)."""
        ...

    def notices(self, event_id: str) -> list[PrivacyNotice]:
        """Every version, newest first."""
        ...

    def add_notice(self, notice: PrivacyNotice) -> None:
        """Store a new version (its ``version`` one past the newest; a taken version is an
        ``IntegrityError`` from the database, so two editors cannot both make version N)."""
        ...

    def record_many(self, records: Sequence[ConsentRecord]) -> None:
        """Store participants' consent records (one per participant; a second replaces the first)."""
        ...

    def add_new(self, records: Sequence[ConsentRecord]) -> None:
        """Store the records of participants that have none yet (an import's new participants), in
        as few statements as the database allows (one ``COPY`` on PostgreSQL); a participant that
        has a record already is an ``IntegrityError``."""
        ...

    def add_shared(self, groups: Sequence[tuple[ConsentRecord, Sequence[str]]]) -> None:
        """``add_new`` for records that differ only by participant: each group's record (its
        ``participant_id`` aside) for each of its participant ids, all in one statement (an
        import's batch: a few distinct consents over thousands of rows)."""
        ...

    def of_participant(self, participant_id: str) -> ConsentRecord | None: ...

    def of_participants(self, participant_ids: Sequence[str]) -> dict[str, ConsentRecord]: ...


class UnitOfWork(Protocol):
    """One transaction, the repositories that share it, and the outbox.

        with uow_factory() as uow:
            uow.events.add(...)
            uow.emit(EventStatusChanged(...))   # written to the outbox in the same transaction
            uow.commit()

    Leaving the block without ``commit()`` rolls everything back, messages included. Side effects
    outside the database happen only after commit: through the outbox, or ``after_commit``.
    """

    # read-only in the protocol (properties) so that an implementation may hold its own subtypes

    @property
    def clock(self) -> Clock: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def gates(self) -> GateRepository: ...

    @property
    def participants(self) -> ParticipantStore: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def tickets(self) -> TicketStore: ...

    @property
    def mail(self) -> EmailQueue: ...

    @property
    def mail_templates(self) -> MailTemplateStore: ...

    @property
    def rate_limits(self) -> RateLimitStore: ...

    @property
    def messages(self) -> MessageStore: ...

    @property
    def statistics(self) -> StatisticsReadModel: ...

    @property
    def integrations(self) -> IntegrationStore: ...

    @property
    def outbound(self) -> OutboundStore: ...

    @property
    def sagas(self) -> SagaStore: ...

    @property
    def alerts(self) -> AlertStore: ...

    @property
    def crowd(self) -> CrowdAlarmStore: ...

    @property
    def imports(self) -> ImportStore: ...

    @property
    def privacy(self) -> PrivacyStore: ...

    @property
    def consent(self) -> ConsentStore: ...

    @property
    def participant_export(self) -> ParticipantExportReader: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def emit(self, message: Message) -> Envelope:
        """Write ``message`` to the outbox in this transaction (occurred now)."""
        ...

    def emit_all(self, messages: Sequence[Message], *, occurred_at: datetime | None = None) -> list[Envelope]:
        """Write several messages to the outbox in this transaction, in order."""
        ...

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: an exception inside rolls back what was done inside it (its
        writes, its messages and its ``after_commit`` callbacks) and propagates; the outer
        transaction goes on."""
        ...


class UnitOfWorkFactory(Protocol):
    """``uow_factory()`` for a read-write transaction, ``uow_factory(readonly=True)`` for reads."""

    def __call__(self, *, readonly: bool = False) -> UnitOfWork: ...
