"""Events and their lifecycle."""

from __future__ import annotations

from fastapi import APIRouter, status

from turnout.domain.access import Permission, Role, authorize
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor, permits
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import EventCreate, EventPage, EventRead, EventStatusUpdate, EventUpdate
from turnout.services import events as event_service
from turnout.services.closing import set_event_status

router = APIRouter(prefix="/api/v1", tags=["events"], route_class=JsonRoute)


@router.post("/events", status_code=status.HTTP_201_CREATED, dependencies=[permits(Permission.EVENTS_CREATE)])
def create_event(body: EventCreate, turnout: TurnoutDep, principal: PrincipalDep) -> EventRead:
    authorize(principal, Permission.EVENTS_CREATE)
    with turnout.uow() as uow:
        event = event_service.create_event(uow, actor=principal.actor, **body.model_dump())
        uow.commit()
    return EventRead.of(event)


@router.get("/events")
def list_events(turnout: TurnoutDep, principal: PrincipalDep, page: PageDep) -> EventPage:
    authorize(principal, Permission.EVENTS_LIST)
    only = None if principal.role is Role.ADMIN else principal.event_id
    with turnout.uow(readonly=True) as uow:
        events = event_service.list_events(uow, after_id=page.after, limit=page.limit, only_event_id=only)
    last = events[-1].id if events else None
    return EventPage(
        items=[EventRead.of(e) for e in events], next_cursor=next_cursor(last, len(events), page.limit)
    )


@router.get("/events/{event_id}")
def get_event(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> EventRead:
    authorize(principal, Permission.EVENT_READ, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        event = event_service.get_event(uow, event_id=event_id)
    return EventRead.of(event)


@router.patch("/events/{event_id}", dependencies=[permits(Permission.EVENT_MANAGE)])
def update_event(event_id: str, body: EventUpdate, turnout: TurnoutDep, principal: PrincipalDep) -> EventRead:
    """The fields given replace the event's (the create rules; an archived event is
    ``409 event_read_only``). Times without an offset are read in the event's zone."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        current = event_service.get_event(uow, event_id=event_id, for_update=True)
        kept = {name: getattr(current, name) for name in event_service.EDITABLE if name != "settings"}
        event = event_service.update_event(
            uow,
            actor=principal.actor,
            event_id=event_id,
            **(kept | body.model_dump(include=body.model_fields_set)),
        )
        uow.commit()
    return EventRead.of(event)


@router.post("/events/{event_id}/status", dependencies=[permits(Permission.EVENT_MANAGE)])
def change_status(
    event_id: str, body: EventStatusUpdate, turnout: TurnoutDep, principal: PrincipalDep
) -> EventRead:
    """One lifecycle step; closing a live event runs the closing saga (scans stop in this request;
    the final analytics and the external systems follow: ``GET /events/{event_id}/sagas``)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        event = set_event_status(
            uow,
            sagas=turnout.sagas,
            policy=turnout.saga_policy(),
            event_id=event_id,
            status=body.status,
            actor=principal.actor,
        )
        uow.commit()
    return EventRead.of(event)
