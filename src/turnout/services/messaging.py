"""The message bus as a use case: default handlers, and operations (stats, dead letters, replay).

Default handlers for ``event.status.changed`` (registered in ``bootstrap.register_handlers``):

* ``audit_status_change``: the audit log records that the change reached the handlers (with how long
  it took), next to the ``event.status.changed`` entry the change itself wrote.
* ``invalidate_event_caches``: bumps the event's row in ``cache_versions``, the cross-process signal
  that process-local caches of the event (statistics, check-in desks) compare against.

The external-system notification of a status change belongs to the integrations (webhooks) area: it
will subscribe its own handler that enqueues a signed delivery per configured system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_messaging import cache_versions as cv
from turnout.adapters.db.tables_messaging import message_deliveries as md
from turnout.adapters.db.tables_messaging import relay_cursors as rc
from turnout.adapters.db.uow import UnitOfWork
from turnout.domain.errors import NotFound
from turnout.messages.base import Envelope

EVENT_SCOPE = "event"


class MessageNotFound(NotFound):
    code = "message_not_found"


# --- default handlers -------------------------------------------------------------------------------


def audit_status_change(envelope: Envelope, uow: UnitOfWork) -> None:
    """Audit: the status change was propagated to the local handlers (and when)."""
    now = uow.clock.now()
    uow.audit.record(
        actor="relay",
        action="event.status.propagated",
        subject_type="event",
        subject_id=envelope.key,
        event_id=envelope.key,
        data={
            "message_id": envelope.id,
            "previous": envelope.data.get("previous"),
            "status": envelope.data.get("status"),
            "delay_seconds": round(max(0.0, (now - envelope.occurred_at).total_seconds()), 3),
        },
    )


def invalidate_event_caches(envelope: Envelope, uow: UnitOfWork) -> None:
    """Bump the event's cache version: every process drops what it cached about the event."""
    bump_cache_version(uow, scope=EVENT_SCOPE, key=envelope.key, reason=envelope.type)


def bump_cache_version(uow: UnitOfWork, *, scope: str, key: str, reason: str) -> int:
    now = uow.clock.now()
    updated = uow.conn.execute(
        cv.update()
        .where(cv.c.scope == scope, cv.c.key == key)
        .values(version=cv.c.version + 1, reason=reason, updated_at=now)
    ).rowcount
    if not updated:
        uow.conn.execute(cv.insert().values(scope=scope, key=key, version=1, reason=reason, updated_at=now))
    return cache_version(uow, scope=scope, key=key)


def cache_version(uow: UnitOfWork, *, scope: str, key: str) -> int:
    """The current version of a cached thing (0 when it never changed)."""
    found = uow.conn.scalar(sa.select(cv.c.version).where(cv.c.scope == scope, cv.c.key == key))
    return int(found or 0)


# --- operations -------------------------------------------------------------------------------------


def message_stats(uow: UnitOfWork, *, consumers: list[str]) -> dict[str, Any]:
    """Per consumer (each local handler, and ``kafka`` when streaming): cursor, messages handled on
    the fast path, messages still ahead of it; per handler: pending / done / dead deliveries."""
    conn = uow.conn
    total, newest = conn.execute(sa.select(sa.func.count(), sa.func.max(t.outbox.c.seq))).one()
    newest = int(newest or 0)
    cursors = {r.consumer: r for r in conn.execute(sa.select(rc))}
    counts: dict[str, dict[str, int]] = {}
    for handler, status, n in conn.execute(
        sa.select(md.c.handler, md.c.status, sa.func.count()).group_by(md.c.handler, md.c.status)
    ):
        counts.setdefault(handler, {"pending": 0, "done": 0, "dead": 0})[status] = int(n)
    rows = []
    for name in sorted(set(consumers) | set(cursors) | set(counts)):
        cursor = cursors.get(name)
        position = int(cursor.position) if cursor else 0
        behind = int(conn.scalar(sa.select(sa.func.count()).where(t.outbox.c.seq > position)) or 0)
        by_status = counts.get(name, {"pending": 0, "done": 0, "dead": 0})
        rows.append(
            {
                "consumer": name,
                "subscribed": name in consumers,
                "position": position,
                "handled": int(cursor.handled) if cursor else 0,
                "behind": behind,
                **by_status,
            }
        )
    oldest_pending = conn.scalar(sa.select(sa.func.min(md.c.created_at)).where(md.c.status == "pending"))
    return {
        "outbox_messages": int(total),
        "outbox_newest_seq": newest,
        "lag": max((r["behind"] for r in rows if r["subscribed"]), default=0),
        "pending": sum(r["pending"] for r in rows),
        "dead": sum(r["dead"] for r in rows),
        "oldest_pending_at": oldest_pending.isoformat() if oldest_pending else None,
        "consumers": rows,
    }


def _filters(
    *, message_id: str | None, message_type: str | None, since: datetime | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [md.c.status == "dead"]
    if message_id:
        where.append(md.c.message_id == message_id)
    if message_type:
        where.append(md.c.message_type == message_type)
    if since:
        where.append(md.c.created_at >= since)
    return where


def dead_letters(
    uow: UnitOfWork,
    *,
    message_id: str | None = None,
    message_type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deliveries given up on (newest first)."""
    if message_id:
        _require_message(uow, message_id=message_id)
    rows = uow.conn.execute(
        sa.select(md)
        .where(*_filters(message_id=message_id, message_type=message_type, since=since))
        .order_by(md.c.updated_at.desc(), md.c.message_id)
        .limit(limit)
    ).all()
    return [
        {
            "message_id": r.message_id,
            "handler": r.handler,
            "type": r.message_type,
            "source": r.source,
            "attempts": r.attempts,
            "first_failed_at": r.created_at.isoformat(),
            "last_failed_at": r.updated_at.isoformat(),
            "error": (r.last_error or "").splitlines()[0] if r.last_error else None,
            "envelope": r.envelope,
        }
        for r in rows
    ]


def replay(
    uow: UnitOfWork,
    *,
    message_id: str | None = None,
    message_type: str | None = None,
    since: datetime | None = None,
    handler: str | None = None,
) -> int:
    """Give dead deliveries a fresh set of attempts, due now; returns how many. Undecodable stream
    records (handler ``-``) have nothing to run and are left alone."""
    if message_id:
        _require_message(uow, message_id=message_id)
    where = _filters(message_id=message_id, message_type=message_type, since=since)
    where.append(md.c.handler != "-")
    if handler:
        where.append(md.c.handler == handler)
    return int(
        uow.conn.execute(
            md.update()
            .where(*where)
            .values(status="pending", attempts=0, next_attempt_at=uow.clock.now(), updated_at=uow.clock.now())
        ).rowcount
    )


def _require_message(uow: UnitOfWork, *, message_id: str) -> None:
    known = uow.conn.scalar(
        sa.select(sa.func.count()).where(md.c.message_id == message_id)
    ) or uow.conn.scalar(sa.select(sa.func.count()).where(t.outbox.c.id == message_id))
    if not known:
        raise MessageNotFound(message_id=message_id)
