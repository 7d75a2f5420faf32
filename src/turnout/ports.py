"""Ports: what the services need from the outside world, as ``Protocol``s.

Services import only ``domain``, ``messages``, this module and each other (``import-linter`` checks
it). Adapters implement the ports (``adapters/db`` for storage, on SQLite and PostgreSQL); tests
fake them (``tests/fakes*.py``); ``bootstrap.py`` picks the implementations and passes them in.

The storage ports come in two kinds:

* the **unit of work** (``UnitOfWork``): one transaction, the repositories and stores that share
  it, and the outbox (``emit``). Most use cases run inside one.
* **stores with their own transactions** (``CheckInStore``): where the fastest way to store a use
  case's writes is the adapter's business (group commit, a writer process, multi-row statements),
  the service hands over what it decided and the store commits it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from turnout.domain.access import Principal, Role
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
    from turnout.domain.participants import Participant, ParticipantInput
    from turnout.messages.base import Envelope, Message
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

    def list(
        self, *, after_id: str | None, limit: int, only_ids: Sequence[str] | None = None
    ) -> list[Event]: ...


class GateRepository(Protocol):
    def add(self, gate: Gate, *, now: datetime) -> None: ...

    def get(self, gate_id: str) -> Gate | None: ...

    def list_for_event(
        self, event_id: str, *, after_id: str | None = None, limit: int = 1000
    ) -> list[Gate]: ...


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

    def for_subject(self, subject_type: str, subject_id: str) -> list[dict[str, Any]]: ...


class IdempotencyStore(Protocol):
    """Stored answers for requests that carry an ``Idempotency-Key``."""

    def get(self, scope: str, key: str) -> tuple[str, int, Any] | None:
        """``(request hash, status code, response)`` stored under the key."""
        ...

    def put(
        self, scope: str, key: str, *, request_hash: str, status_code: int, response: Any, now: datetime
    ) -> None: ...


# --- participants ----------------------------------------------------------------------------------


class ParticipantStore(Protocol):
    """Participants of events: look-ups, search, and the writes registration and tickets make."""

    def get(self, participant_id: str, *, for_update: bool = False) -> Participant | None:
        """``for_update``: the row stays locked until the transaction ends (see ``EventRepository``)."""
        ...

    def insert_many(self, records: list[dict[str, Any]]) -> None:
        """Complete participant rows (every column given)."""
        ...

    def update_fields(self, participant_id: str, values: dict[str, Any]) -> None: ...

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
        q: str | None = None,
        phone_suffix: str | None = None,
        phone_exact: str | None = None,
        status: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[Participant]:
        """In registration order; ``q`` in the name (any case) or the email, or the phone's last
        digits, or the whole phone number."""
        ...


# --- tickets ---------------------------------------------------------------------------------------
# (the ticket key and revocation store)


# --- intake ----------------------------------------------------------------------------------------
# An import (services/importing.py) reads a file (``ImportFiles``), has its rows cleaned and their
# tickets signed (``RowCleaner``), decides each batch and hands it to a ``BatchSaver``, whose saves
# store it through the unit of work's ``ImportStore``. Records of the job and the rules: domain/imports.


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
    stored: Any = None  # the store's own form of it, when made ahead of the save (see ``BatchSaver``)


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

    def set_header(self, import_id: str, *, header: list[str], encoding: str | None) -> None:
        """The file's header (for errors.csv) and the encoding it was read in."""
        ...

    def header(self, import_id: str) -> list[str]: ...

    def record_progress(self, import_id: str, counts: ImportCounts, *, lease_until: datetime) -> None: ...

    def finish(
        self, import_id: str, *, status: ImportStatus, now: datetime, error: DomainError | None = None
    ) -> None:
        """Done or failed (with ``error``'s code and its plain params); the lease ends."""
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


class SaveLine(Protocol):
    def put(self, batch: ImportBatch) -> None:
        """Save ``batch`` after those put before. Raises the error of an earlier save, if any."""
        ...


class BatchSaver(Protocol):
    """Runs an import's saves one at a time, in order; the reading may go on meanwhile."""

    def run(self, save: Callable[[ImportBatch], None]) -> AbstractContextManager[SaveLine]:
        """Leaving the block waits for every save put and raises the first one's error."""
        ...


class Processes(Protocol):
    """Who runs an import (``owner``), and whether that runner is gone."""

    def this_process(self) -> str: ...

    def has_ended(self, owner: str | None) -> bool:
        """True when ``owner`` is empty or a process on this host that no longer runs."""
        ...


class TicketKeys(Protocol):
    def keypair(self, uow: UnitOfWork, *, event_id: str) -> SigningKey:
        """The event's key pair (made on first use, in ``uow``'s transaction)."""
        ...


# --- mail ------------------------------------------------------------------------------------------
# (templates, the email queue, composing)


# --- messaging -------------------------------------------------------------------------------------
# (deliveries, dead letters, cache versions)


# --- statistics ------------------------------------------------------------------------------------
# (the read model behind snapshots and analytics)


# --- check-in --------------------------------------------------------------------------------------
# (the check-in store: scans decided by the service, stored by the adapter)


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
    def imports(self) -> ImportStore: ...

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
