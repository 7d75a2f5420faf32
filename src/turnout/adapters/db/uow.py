"""``SqlUnitOfWork``: the ``ports.UnitOfWork`` over one SQLAlchemy connection (SQLite or PostgreSQL).

    with uow_factory() as uow:
        uow.events.add(...)
        uow.emit(EventStatusChanged(...))   # written to the outbox in the same transaction
        uow.commit()

Leaving the block without ``commit()`` rolls everything back, messages included. The repositories
and stores share the connection; they are the only code that reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.consent_store import SqlConsentStore
from turnout.adapters.db.crowd_store import SqlCrowdAlarms
from turnout.adapters.db.email_queue import SqlEmailQueue, SqlMailTemplateStore
from turnout.adapters.db.import_store import SqlImportStore
from turnout.adapters.db.integration_store import SqlIntegrationStore, SqlOutboundStore
from turnout.adapters.db.message_store import SqlMessageStore
from turnout.adapters.db.outbox_rows import outbox_row
from turnout.adapters.db.participant_export_store import SqlParticipantExport
from turnout.adapters.db.participant_store import SqlParticipantStore
from turnout.adapters.db.privacy_store import SqlPrivacyStore
from turnout.adapters.db.rate_limits import SqlRateLimits
from turnout.adapters.db.repositories import (
    ApiKeyRepository,
    AuditLog,
    EventRepository,
    GateRepository,
    IdempotencyStore,
)
from turnout.adapters.db.saga_store import SqlAlertStore, SqlSagaStore
from turnout.adapters.db.statistics_store import SqlStatistics
from turnout.adapters.db.ticket_store import SqlTicketStore
from turnout.messages.base import Envelope, Message
from turnout.ports import Clock


class SqlUnitOfWork:
    events: EventRepository
    gates: GateRepository
    participants: SqlParticipantStore
    api_keys: ApiKeyRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    tickets: SqlTicketStore
    mail: SqlEmailQueue
    mail_templates: SqlMailTemplateStore
    rate_limits: SqlRateLimits
    messages: SqlMessageStore
    statistics: SqlStatistics
    imports: SqlImportStore
    integrations: SqlIntegrationStore
    outbound: SqlOutboundStore
    sagas: SqlSagaStore
    alerts: SqlAlertStore
    privacy: SqlPrivacyStore
    consent: SqlConsentStore
    participant_export: SqlParticipantExport

    def __init__(self, engine: sa.Engine, clock: Clock, *, readonly: bool = False) -> None:
        self._engine = engine
        self.clock = clock
        self.readonly = readonly
        self._conn: sa.Connection | None = None
        self._committed = False
        self._after_commit: list[Callable[[], Any]] = []
        self.emitted: list[Envelope] = []

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def conn(self) -> sa.Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._conn

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        if self.readonly:
            conn = conn.execution_options(turnout_readonly=True)
        conn.begin()
        self._conn = conn
        self.events = EventRepository(conn)
        self.gates = GateRepository(conn)
        self.participants = SqlParticipantStore(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.audit = AuditLog(conn, self.clock)
        self.idempotency = IdempotencyStore(conn)
        self.tickets = SqlTicketStore(conn)
        self.mail = SqlEmailQueue(conn)
        self.mail_templates = SqlMailTemplateStore(conn)
        self.rate_limits = SqlRateLimits(conn)
        self.messages = SqlMessageStore(conn)
        self.statistics = SqlStatistics(conn)
        self.imports = SqlImportStore(conn)
        self.integrations = SqlIntegrationStore(conn)
        self.outbound = SqlOutboundStore(conn)
        self.sagas = SqlSagaStore(conn)
        self.alerts = SqlAlertStore(conn)
        self.crowd = SqlCrowdAlarms(conn)
        self.privacy = SqlPrivacyStore(conn)
        self.consent = SqlConsentStore(conn)
        self.participant_export = SqlParticipantExport(conn)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        try:
            if not self._committed:
                conn.rollback()
        finally:
            conn.close()
        if self._committed and exc_type is None:
            for callback in self._after_commit:
                callback()

    def emit(self, message: Message) -> Envelope:
        """Write ``message`` to the outbox in this transaction."""
        return self.emit_all([message])[0]

    def emit_all(self, messages: Sequence[Message], *, occurred_at: datetime | None = None) -> list[Envelope]:
        at = occurred_at or self.clock.now()
        envelopes = [Envelope.wrap(message, at) for message in messages]
        self.emit_envelopes(envelopes)
        return envelopes

    def emit_envelopes(self, envelopes: Sequence[Envelope]) -> None:
        """Envelopes already made (the relay re-emits dead letters as they are)."""
        if not envelopes:
            return
        self.conn.execute(t.outbox.insert(), [outbox_row(envelope) for envelope in envelopes])
        self.emitted.extend(envelopes)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        self.conn.commit()
        self._committed = True

    def rollback(self) -> None:
        self.conn.rollback()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT: an exception inside rolls back its writes, the messages emitted and the
        ``after_commit`` callbacks added inside it, and propagates."""
        callbacks, emitted = len(self._after_commit), len(self.emitted)
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            if nested.is_active:
                nested.rollback()
            del self._after_commit[callbacks:]
            del self.emitted[emitted:]
            raise
        nested.commit()


UnitOfWork = SqlUnitOfWork  # transitional name, until every service takes ``ports.UnitOfWork``
