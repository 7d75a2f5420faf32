"""``SqlMessageStore``: the message bus's state on SQLite and PostgreSQL (``uow.messages``).

The ``ports.MessageStore`` part serves the services (cache versions, dead letters, replay, the bus
figures). The rest serves the relay and the stream consumer (``adapters/outbox.py``,
``adapters/kafka.py``): reading the outbox, claiming and moving consumer cursors, the stream
publisher's lease, recording and retrying deliveries. Tables: ``tables_messaging.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_messaging import cache_versions as cv
from turnout.adapters.db.tables_messaging import message_deliveries as md
from turnout.adapters.db.tables_messaging import relay_cursors as rc
from turnout.messages.base import Envelope
from turnout.ports import ConsumerCursor, Delivery, DeliveryCount, DeliveryFilter, OutboxTotals

#: PostgreSQL: the oldest running transaction, the next transaction id, and the newest outbox seq
SNAPSHOT = sa.text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,"
    " (SELECT coalesce(max(seq), 0) FROM outbox) FROM pg_current_snapshot() AS s"
)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox message and its place in the outbox."""

    seq: int
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class OutboxSnapshot:
    """PostgreSQL's view of running transactions when the newest outbox seq was read."""

    xmin: int  # every transaction below this has ended
    xmax: int  # every transaction from this on had not started
    newest_seq: int


@dataclass(frozen=True, slots=True)
class OutboxLag:
    messages: int
    oldest_at: datetime | None


def envelope_from_row(row: Any) -> Envelope:
    return Envelope(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        key=row.key,
        data=row.data,
        version=row.version,
    )


def delivery_from_row(row: Any) -> Delivery:
    return Delivery(
        message_id=row.message_id,
        handler=row.handler,
        message_type=row.message_type,
        message_seq=row.message_seq,
        envelope=row.envelope,
        source=row.source,
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    return {
        "message_id": delivery.message_id,
        "handler": delivery.handler,
        "message_type": delivery.message_type,
        "message_seq": delivery.message_seq,
        "envelope": delivery.envelope,
        "source": delivery.source,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
    }


def _matching(where: DeliveryFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [md.c.status == where.status]
    if where.message_id:
        conditions.append(md.c.message_id == where.message_id)
    if where.message_type:
        conditions.append(md.c.message_type == where.message_type)
    if where.since:
        conditions.append(md.c.created_at >= where.since)
    if where.handler:
        conditions.append(md.c.handler == where.handler)
    if where.exclude_handlers:
        conditions.append(md.c.handler.not_in(where.exclude_handlers))
    return conditions


class SqlMessageStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # --- cache versions ----------------------------------------------------------------------------

    def bump_cache_version(self, *, scope: str, key: str, reason: str, now: datetime) -> int:
        updated = self.conn.execute(
            cv.update()
            .where(cv.c.scope == scope, cv.c.key == key)
            .values(version=cv.c.version + 1, reason=reason, updated_at=now)
        ).rowcount
        if not updated:
            self.conn.execute(
                cv.insert().values(scope=scope, key=key, version=1, reason=reason, updated_at=now)
            )
        return self.cache_version(scope=scope, key=key)

    def cache_version(self, *, scope: str, key: str) -> int:
        found = self.conn.scalar(sa.select(cv.c.version).where(cv.c.scope == scope, cv.c.key == key))
        return int(found or 0)

    # --- figures -----------------------------------------------------------------------------------

    def outbox_totals(self) -> OutboxTotals:
        total, newest = self.conn.execute(sa.select(sa.func.count(), sa.func.max(t.outbox.c.seq))).one()
        return OutboxTotals(messages=int(total), newest_seq=int(newest or 0))

    def count_after(self, seq: int) -> int:
        return int(self.conn.scalar(sa.select(sa.func.count()).where(t.outbox.c.seq > seq)) or 0)

    def lag_after(self, seq: int) -> OutboxLag:
        """Outbox messages above ``seq`` and when the oldest of them occurred."""
        count, oldest = self.conn.execute(
            sa.select(sa.func.count(), sa.func.min(t.outbox.c.occurred_at)).where(t.outbox.c.seq > seq)
        ).one()
        return OutboxLag(messages=int(count), oldest_at=oldest)

    def cursors(self) -> list[ConsumerCursor]:
        return [
            ConsumerCursor(consumer=row.consumer, position=int(row.position), handled=int(row.handled))
            for row in self.conn.execute(
                sa.select(rc.c.consumer, rc.c.position, rc.c.handled).order_by(rc.c.consumer)
            )
        ]

    def delivery_counts(self) -> list[DeliveryCount]:
        return [
            DeliveryCount(handler=handler, status=status, count=int(n))
            for handler, status, n in self.conn.execute(
                sa.select(md.c.handler, md.c.status, sa.func.count())
                .group_by(md.c.handler, md.c.status)
                .order_by(md.c.handler, md.c.status)
            )
        ]

    def oldest_pending_at(self) -> datetime | None:
        found: datetime | None = self.conn.scalar(
            sa.select(sa.func.min(md.c.created_at)).where(md.c.status == "pending")
        )
        return found

    # --- dead letters and replay -------------------------------------------------------------------

    def deliveries(self, where: DeliveryFilter, *, limit: int) -> list[Delivery]:
        rows = self.conn.execute(
            sa.select(md)
            .where(*_matching(where))
            .order_by(md.c.updated_at.desc(), md.c.message_id)
            .limit(limit)
        )
        return [delivery_from_row(row) for row in rows]

    def revive(self, where: DeliveryFilter, *, now: datetime) -> int:
        return int(
            self.conn.execute(
                md.update()
                .where(*_matching(where))
                .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
            ).rowcount
        )

    def message_known(self, message_id: str) -> bool:
        return bool(
            self.conn.scalar(sa.select(sa.func.count()).where(md.c.message_id == message_id))
            or self.conn.scalar(sa.select(sa.func.count()).where(t.outbox.c.id == message_id))
        )

    # --- the relay: outbox and cursors -------------------------------------------------------------

    def ensure_cursors(self, consumers: Iterable[str]) -> None:
        """A cursor at the start of the outbox for each consumer that has none."""
        self._insert_ignore(rc, [{"consumer": name, "position": 0, "handled": 0} for name in consumers])

    def claim_cursors(self, consumers: Sequence[str]) -> dict[str, int]:
        """Consumer -> position, for the cursors no other transaction holds; they stay locked until
        this transaction ends (PostgreSQL; SQLite's writer holds the whole database anyway)."""
        return {
            row.consumer: int(row.position)
            for row in self.conn.execute(
                sa.select(rc.c.consumer, rc.c.position)
                .where(rc.c.consumer.in_(list(consumers)))
                .with_for_update(skip_locked=True)
            )
        }

    def lock_cursors(self, consumers: Sequence[str]) -> dict[str, int]:
        """Consumer -> position, waiting for cursors another transaction holds (in name order, so two
        lockers never deadlock)."""
        return {
            row.consumer: int(row.position)
            for row in self.conn.execute(
                sa.select(rc.c.consumer, rc.c.position)
                .where(rc.c.consumer.in_(list(consumers)))
                .order_by(rc.c.consumer)
                .with_for_update()
            )
        }

    def advance_cursor(self, consumer: str, *, position: int, handled: int, now: datetime) -> None:
        """Move the cursor to ``position``, counting ``handled`` more messages."""
        self.conn.execute(
            rc.update()
            .where(rc.c.consumer == consumer)
            .values(position=position, handled=rc.c.handled + handled, updated_at=now)
        )

    def outbox_batch(self, *, after: int, up_to: int | None, limit: int) -> list[OutboxEntry]:
        """Outbox messages with ``after < seq <= up_to`` (no upper bound when ``up_to`` is None), in
        seq order."""
        query = sa.select(t.outbox).where(t.outbox.c.seq > after).order_by(t.outbox.c.seq)
        if up_to is not None:
            query = query.where(t.outbox.c.seq <= up_to)
        return [OutboxEntry(row.seq, envelope_from_row(row)) for row in self.conn.execute(query.limit(limit))]

    def outbox_seqs(self, message_ids: Sequence[str]) -> dict[str, int]:
        """Message id -> outbox seq, for those of ``message_ids`` this database's outbox holds."""
        return {
            message_id: int(seq)
            for message_id, seq in self.conn.execute(
                sa.select(t.outbox.c.id, t.outbox.c.seq).where(t.outbox.c.id.in_(list(message_ids)))
            )
        }

    def outbox_snapshot(self) -> OutboxSnapshot | None:
        """PostgreSQL: the running transactions and the newest seq, read together. None where writers
        commit one at a time, in seq order (SQLite)."""
        if self.conn.dialect.name != "postgresql":
            return None
        xmin, xmax, newest = self.conn.execute(SNAPSHOT).one()
        return OutboxSnapshot(xmin=int(xmin), xmax=int(xmax), newest_seq=int(newest))

    # --- the stream publisher's lease --------------------------------------------------------------

    def take_lease(self, consumer: str, *, owner: str, until: datetime, now: datetime) -> int | None:
        """The consumer's position if ``owner`` now holds its lease (free, expired or its own)."""
        taken = self.conn.execute(
            rc.update()
            .where(
                rc.c.consumer == consumer,
                sa.or_(rc.c.lease_owner.is_(None), rc.c.lease_owner == owner, rc.c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=until)
        ).rowcount
        position = self.conn.scalar(sa.select(rc.c.position).where(rc.c.consumer == consumer))
        return int(position) if taken == 1 and position is not None else None

    def release_lease(self, consumer: str, *, owner: str, position: int, handled: int, now: datetime) -> None:
        """Move the cursor and free the lease, if ``owner`` still holds it."""
        self.conn.execute(
            rc.update()
            .where(rc.c.consumer == consumer, rc.c.lease_owner == owner)
            .values(
                position=position,
                handled=rc.c.handled + handled,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
        )

    # --- deliveries --------------------------------------------------------------------------------

    def recorded(self, message_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(message id, handler) of every delivery recorded for ``message_ids``."""
        return {
            (row.message_id, row.handler)
            for row in self.conn.execute(
                sa.select(md.c.message_id, md.c.handler).where(md.c.message_id.in_(list(message_ids)))
            )
        }

    def add_delivery(self, delivery: Delivery) -> None:
        self.conn.execute(md.insert().values(delivery_row(delivery)))

    def add_deliveries_once(self, deliveries: Sequence[Delivery]) -> None:
        """Record deliveries; one already recorded for the same (message id, handler) stays as it is."""
        self._insert_ignore(md, [delivery_row(delivery) for delivery in deliveries])

    def claim_due(self, handlers: Sequence[str], *, now: datetime, limit: int) -> list[Delivery]:
        """``pending`` deliveries of ``handlers`` due by ``now``, the longest due first, that no other
        transaction holds; they stay locked until this transaction ends (PostgreSQL)."""
        rows = self.conn.execute(
            sa.select(md)
            .where(md.c.status == "pending", md.c.next_attempt_at <= now, md.c.handler.in_(list(handlers)))
            .order_by(md.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [delivery_from_row(row) for row in rows]

    def record_attempt(
        self,
        *,
        message_id: str,
        handler: str,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None,
        last_error: str | None,
        now: datetime,
    ) -> None:
        """The outcome of another attempt at a delivery. ``last_error`` None keeps the previous one."""
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
            "updated_at": now,
        }
        if last_error is not None:
            values["last_error"] = last_error
        self.conn.execute(
            md.update().where(md.c.message_id == message_id, md.c.handler == handler).values(**values)
        )

    def _insert_ignore(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
        else:
            self.conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
