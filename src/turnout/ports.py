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

from collections.abc import Callable, Collection, Generator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from turnout.domain.access import Principal, Role
    from turnout.domain.admission import CheckInStatus, PreviousScan
    from turnout.domain.events import Event, EventStatus, Gate
    from turnout.domain.participants import Participant
    from turnout.messages.base import Envelope, Fact, Message


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
# (import jobs, their errors; the import pipeline)


# --- mail ------------------------------------------------------------------------------------------
# (templates, the email queue, composing)


# --- messaging -------------------------------------------------------------------------------------
# (deliveries, dead letters, cache versions)


# --- statistics ------------------------------------------------------------------------------------
# (the read model behind snapshots and analytics)


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


class TicketKeys(Protocol):
    """Each event's ticket signing key (made on first use, inside the caller's transaction)."""

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> SigningKey: ...


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
