"""Unit of work: one database transaction, the repositories that share it, and the outbox.

    with uow_factory() as uow:
        uow.events.add(...)
        uow.emit(EventStatusChanged(...))   # written to the outbox in the same transaction
        uow.commit()

Leaving the block without ``commit()`` rolls everything back, messages included.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.repositories import (
    ApiKeyRepository,
    AuditLog,
    EventRepository,
    GateRepository,
    IdempotencyStore,
    ParticipantRepository,
)
from turnout.messages.base import Envelope, Message
from turnout.ports import Clock


class UnitOfWork:
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

    def __enter__(self) -> UnitOfWork:
        conn = self._engine.connect()
        if self.readonly:
            conn = conn.execution_options(turnout_readonly=True)
        conn.begin()
        self._conn = conn
        self.events = EventRepository(conn)
        self.gates = GateRepository(conn)
        self.participants = ParticipantRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.audit = AuditLog(conn, self.clock)
        self.idempotency = IdempotencyStore(conn)
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
        envelope = Envelope.wrap(message, self.clock.now())
        self.emit_envelopes([envelope])
        return envelope

    def emit_envelopes(self, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        self.conn.execute(
            t.outbox.insert(),
            [
                {
                    "id": e.id,
                    "type": e.type,
                    "key": e.key,
                    "version": e.version,
                    "occurred_at": e.occurred_at,
                    "data": e.data,
                }
                for e in envelopes
            ],
        )
        self.emitted.extend(envelopes)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        self.conn.commit()
        self._committed = True

    def rollback(self) -> None:
        self.conn.rollback()


UnitOfWorkFactory = Callable[..., UnitOfWork]
