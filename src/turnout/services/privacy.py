"""Personal data: old operational records pruned (retention), a closed event's people erased.

``prune_expired`` is one bounded batch (the ``retention`` worker loop and ``turnout privacy prune``
repeat it until nothing is left). ``erase_event`` removes the personal data of a closed event's
people and keeps its statistics and analytics exactly as they were (``domain.privacy``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from turnout.domain.errors import NotFound
from turnout.domain.privacy import ERASABLE_STATUSES, EventNotClosed, birth_date_bands, retention_cutoff
from turnout.ports import UnitOfWork, UnitOfWorkFactory

#: rows per table in one pruning transaction
PRUNE_BATCH = 1000


def prune_expired(uow: UnitOfWork, *, retention_days: int, limit: int = PRUNE_BATCH) -> dict[str, int]:
    """Delete one batch of finished records older than ``retention_days``; rows deleted per table.
    The caller commits."""
    before = retention_cutoff(uow.clock.now(), retention_days)
    return uow.privacy.prune(before=before, limit=limit)


def prune_all_expired(
    uow_factory: UnitOfWorkFactory, *, retention_days: int, limit: int = PRUNE_BATCH
) -> dict[str, int]:
    """Prune batch after batch, each in its own transaction, until a batch deletes nothing."""
    totals: dict[str, int] = {}
    while True:
        with uow_factory() as uow:
            counts = prune_expired(uow, retention_days=retention_days, limit=limit)
            uow.commit()
        for table, count in counts.items():
            totals[table] = totals.get(table, 0) + count
        if not any(counts.values()):
            return totals


def erase_event(uow: UnitOfWork, *, event_id: str, actor: str) -> dict[str, Any]:
    """Erase the personal data of a closed (or archived) event's people: ``event_not_closed``
    otherwise. What was changed, per table. The caller commits."""
    event = uow.events.get(event_id, for_update=True)
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    if event.status not in ERASABLE_STATUSES:
        raise EventNotClosed(status=event.status.value)
    first_day = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
    now = uow.clock.now()
    counts = uow.privacy.erase_event(event_id, birth_date_bands=birth_date_bands(first_day), now=now)
    uow.audit.record(
        actor=actor,
        action="privacy.erased",
        subject_type="event",
        subject_id=event_id,
        event_id=None,  # kept apart from the event's own entries, whose data is what was erased
        data={"event_id": event_id, "counts": counts},
    )
    return {"event_id": event_id, "erased_at": now.isoformat(), "counts": counts}
