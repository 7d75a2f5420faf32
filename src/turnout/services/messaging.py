"""The message bus as a use case: default handlers, and operations (stats, dead letters, replay).

Default handlers for ``event.status.changed`` (registered in ``bootstrap.register_handlers``):

* ``audit_status_change``: the audit log records that the change reached the handlers (with how long
  it took), next to the ``event.status.changed`` entry the change itself wrote.
* ``invalidate_event_caches``: bumps the event's cache version (``uow.messages``), the cross-process
  signal that process-local caches of the event (statistics, check-in desks) compare against.

The external-system notification of a status change belongs to the integrations (webhooks) area: it
will subscribe its own handler that enqueues a signed delivery per configured system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from turnout.domain.errors import NotFound
from turnout.messages.base import Envelope
from turnout.ports import Delivery, DeliveryFilter, UnitOfWork

EVENT_SCOPE = "event"
#: the handler name of a stream record nobody could decode (recorded dead; nothing to run again)
UNDECODABLE = "-"
DELIVERY_STATUSES = ("pending", "done", "dead")


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
    return uow.messages.bump_cache_version(scope=scope, key=key, reason=reason, now=uow.clock.now())


def cache_version(uow: UnitOfWork, *, scope: str, key: str) -> int:
    """The current version of a cached thing (0 when it never changed)."""
    return uow.messages.cache_version(scope=scope, key=key)


# --- operations -------------------------------------------------------------------------------------


def message_stats(uow: UnitOfWork, *, consumers: list[str]) -> dict[str, Any]:
    """Per consumer (each local handler, and ``kafka`` when streaming): cursor, messages handled on
    the fast path, messages still ahead of it; per handler: pending / done / dead deliveries.
    Consumers that are not subscribed any more but left a cursor or deliveries are listed too."""
    store = uow.messages
    totals = store.outbox_totals()
    cursors = {cursor.consumer: cursor for cursor in store.cursors()}
    counts: dict[str, dict[str, int]] = {}
    for found in store.delivery_counts():
        counts.setdefault(found.handler, dict.fromkeys(DELIVERY_STATUSES, 0))[found.status] = found.count
    rows: list[dict[str, Any]] = []
    for name in sorted(set(consumers) | set(cursors) | set(counts)):
        cursor = cursors.get(name)
        position = cursor.position if cursor else 0
        rows.append(
            {
                "consumer": name,
                "subscribed": name in consumers,
                "position": position,
                "handled": cursor.handled if cursor else 0,
                "behind": store.count_after(position),
                **counts.get(name, dict.fromkeys(DELIVERY_STATUSES, 0)),
            }
        )
    oldest_pending = store.oldest_pending_at()
    return {
        "outbox_messages": totals.messages,
        "outbox_newest_seq": totals.newest_seq,
        "lag": max((r["behind"] for r in rows if r["subscribed"]), default=0),
        "pending": sum(r["pending"] for r in rows),
        "dead": sum(r["dead"] for r in rows),
        "oldest_pending_at": oldest_pending.isoformat() if oldest_pending else None,
        "consumers": rows,
    }


def dead_letters(
    uow: UnitOfWork,
    *,
    message_id: str | None = None,
    message_type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deliveries given up on (the most recently failed first), with the first line of the last
    error. ``message_not_found`` for a ``message_id`` neither the outbox nor a delivery knows."""
    if message_id:
        _require_message(uow, message_id=message_id)
    where = DeliveryFilter(status="dead", message_id=message_id, message_type=message_type, since=since)
    return [_dead_letter(delivery) for delivery in uow.messages.deliveries(where, limit=limit)]


def _dead_letter(delivery: Delivery) -> dict[str, Any]:
    return {
        "message_id": delivery.message_id,
        "handler": delivery.handler,
        "type": delivery.message_type,
        "source": delivery.source,
        "attempts": delivery.attempts,
        "first_failed_at": delivery.created_at.isoformat(),
        "last_failed_at": delivery.updated_at.isoformat(),
        "error": delivery.last_error.splitlines()[0] if delivery.last_error else None,
        "envelope": delivery.envelope,
    }


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
    where = DeliveryFilter(
        status="dead",
        message_id=message_id,
        message_type=message_type,
        since=since,
        handler=handler,
        exclude_handlers=(UNDECODABLE,),
    )
    return uow.messages.revive(where, now=uow.clock.now())


def _require_message(uow: UnitOfWork, *, message_id: str) -> None:
    if not uow.messages.message_known(message_id):
        raise MessageNotFound(message_id=message_id)
