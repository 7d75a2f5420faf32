"""Use cases for events: create, read, list, edit, change status."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.events import (
    DEFAULT_MIN_AGE,
    DEFAULT_TIMEZONE,
    Event,
    EventStatus,
    localize,
    validate_event,
    zone_exists,
)
from turnout.domain.ids import new_id
from turnout.messages.facts import EventCreated, EventStatusChanged
from turnout.ports import UnitOfWork


def create_event(
    uow: UnitOfWork,
    *,
    actor: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    venue: str | None = None,
    capacity: int | None = None,
    min_age: int = DEFAULT_MIN_AGE,
    locale: str = "ko",
    allow_reentry: bool = True,
    dedup_by_phone: bool = False,
    settings: dict[str, Any] | None = None,
) -> Event:
    """Validate and save a new event in ``draft``. Naive times are read in the event's timezone."""
    name = name.strip()
    # Naive times are read in the event's zone; an unknown zone is reported by validate_event below.
    zone = timezone if zone_exists(timezone) else "UTC"
    event = Event(
        id=new_id(),
        name=name,
        starts_at=localize(starts_at, zone),
        ends_at=localize(ends_at, zone),
        timezone=timezone,
        venue=venue,
        capacity=capacity,
        min_age=min_age,
        locale=locale,
        allow_reentry=allow_reentry,
        dedup_by_phone=dedup_by_phone,
        settings=settings or {},
    )
    validate_event(
        name=event.name,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=timezone,
        capacity=capacity,
        min_age=min_age,
        locale=locale,
    )
    now = uow.clock.now()
    uow.events.add(event, now=now)
    uow.audit.record(
        actor=actor,
        action="event.created",
        subject_type="event",
        subject_id=event.id,
        event_id=event.id,
        data={"name": event.name},
    )
    uow.emit(
        EventCreated(
            event_id=event.id,
            name=event.name,
            starts_at=event.starts_at.isoformat(),
            ends_at=event.ends_at.isoformat(),
            status=event.status.value,
        )
    )
    return event


def get_event(uow: UnitOfWork, *, event_id: str, for_update: bool = False) -> Event:
    event = uow.events.get(event_id, for_update=for_update)
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    return event


def change_status(
    uow: UnitOfWork, *, event_id: str, status: EventStatus, actor: str, saga_id: str | None = None
) -> Event:
    """Move the event one lifecycle step; audit it and emit ``event.status.changed`` in one transaction."""
    event = get_event(uow, event_id=event_id, for_update=True)
    changed = event.transition(status)
    uow.events.set_status(event_id, changed.status, now=uow.clock.now())
    uow.audit.record(
        actor=actor,
        action="event.status.changed",
        subject_type="event",
        subject_id=event_id,
        event_id=event_id,
        data={"previous": event.status.value, "status": changed.status.value},
    )
    uow.emit(
        EventStatusChanged(
            event_id=event_id,
            previous=event.status.value,
            status=changed.status.value,
            actor=actor,
            saga_id=saga_id,
        )
    )
    return changed


#: events whose facts can no longer be edited
READ_ONLY_STATUSES = frozenset({EventStatus.ARCHIVED})
#: what ``update_event`` changes
EDITABLE = ("name", "starts_at", "ends_at", "timezone", "venue", "capacity", "min_age", "locale", "settings")


def update_event(
    uow: UnitOfWork,
    *,
    actor: str,
    event_id: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    venue: str | None,
    capacity: int | None,
    min_age: int,
    locale: str,
    settings: dict[str, Any] | None = None,
) -> Event:
    """Replace the event's editable facts, by the rules of ``create_event`` (naive times read in the
    event's new zone); ``settings``, when given, replaces the event's settings. An archived event
    is refused (``event_read_only``). Audited with the names of the fields that changed."""
    event = get_event(uow, event_id=event_id, for_update=True)
    if event.status in READ_ONLY_STATUSES:
        raise Conflict("event_read_only", status=event.status.value)
    zone = timezone if zone_exists(timezone) else "UTC"
    changed = replace(
        event,
        name=name.strip(),
        starts_at=localize(starts_at, zone),
        ends_at=localize(ends_at, zone),
        timezone=timezone,
        venue=venue,
        capacity=capacity,
        min_age=min_age,
        locale=locale,
        settings=event.settings if settings is None else settings,
    )
    validate_event(
        name=changed.name,
        starts_at=changed.starts_at,
        ends_at=changed.ends_at,
        timezone=timezone,
        capacity=capacity,
        min_age=min_age,
        locale=locale,
    )
    fields = [
        name
        for name in (
            "name",
            "starts_at",
            "ends_at",
            "timezone",
            "venue",
            "capacity",
            "min_age",
            "locale",
            "settings",
        )
        if getattr(event, name) != getattr(changed, name)
    ]
    if not fields:
        return event
    uow.events.update(changed, now=uow.clock.now())
    uow.audit.record(
        actor=actor,
        action="event.updated",
        subject_type="event",
        subject_id=event_id,
        event_id=event_id,
        data={"fields": fields},
    )
    return changed


def list_events(
    uow: UnitOfWork, *, after_id: str | None, limit: int, only_event_id: str | None = None
) -> list[Event]:
    only = [only_event_id] if only_event_id else None
    return uow.events.list(after_id=after_id, limit=limit, only_ids=only)
