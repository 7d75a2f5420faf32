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

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

if TYPE_CHECKING:
    from turnout.domain.access import Principal, Role
    from turnout.domain.events import Event, EventStatus, Gate
    from turnout.domain.participants import Participant
    from turnout.messages.base import Envelope, Message


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
class AttendeeProfile:
    """What anonymised analytics read of one registered participant."""

    birth_date: date | None
    region: str | None
    came: bool


@dataclass(frozen=True, slots=True)
class ScanMoment:
    """What anonymised analytics read of one admission or exit."""

    occurred_at: datetime
    method: str
    result: str  # admitted | exited
    stay_seconds: int | None


class StatisticsReadModel(Protocol):
    """Aggregates behind the live statistics and the anonymised analytics of an event."""

    def participant_tallies(self, event_id: str) -> list[ParticipantTally]: ...

    def gate_names(self, event_id: str) -> dict[str, str]:
        """Gate id -> name, for every gate of the event."""
        ...

    def scan_tallies(self, event_id: str) -> list[ScanTally]: ...

    def arrivals(self, event_id: str, *, bucket_seconds: int) -> list[ArrivalCount]:
        """Admissions per ``bucket_seconds``-long bucket, earliest first; empty buckets left out."""
        ...

    def attendee_profiles(self, event_id: str) -> list[AttendeeProfile]:
        """One per registered (not cancelled) participant."""
        ...

    def scan_moments(self, event_id: str) -> list[ScanMoment]:
        """Every scan of the event that was not denied."""
        ...


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
    def rate_limits(self) -> RateLimitStore: ...

    @property
    def messages(self) -> MessageStore: ...

    @property
    def statistics(self) -> StatisticsReadModel: ...

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
