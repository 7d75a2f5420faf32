"""Gates of an event."""

from __future__ import annotations

from fastapi import APIRouter, status

from turnout.domain.access import Permission, authorize
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor, permits
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import GateCreate, GatePage, GateRead, GateUpdate
from turnout.services import events as event_service
from turnout.services import gates as gate_service

router = APIRouter(prefix="/api/v1", tags=["gates"], route_class=JsonRoute)


@router.post(
    "/events/{event_id}/gates",
    status_code=status.HTTP_201_CREATED,
    dependencies=[permits(Permission.EVENT_MANAGE)],
)
def create_gate(event_id: str, body: GateCreate, turnout: TurnoutDep, principal: PrincipalDep) -> GateRead:
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        event = event_service.get_event(uow, event_id=event_id)
        gate = gate_service.create_gate(
            uow,
            actor=principal.actor,
            event_id=event_id,
            name=body.name,
            direction=body.direction,
            methods=tuple(body.methods),
            opens_at=body.opens_at,
            closes_at=body.closes_at,
            location=body.location,
            capacity=body.capacity,
        )
        uow.commit()
    return GateRead.of(gate, event.timezone)


@router.patch("/events/{event_id}/gates/{gate_id}", dependencies=[permits(Permission.EVENT_MANAGE)])
def update_gate(
    event_id: str, gate_id: str, body: GateUpdate, turnout: TurnoutDep, principal: PrincipalDep
) -> GateRead:
    """Change a gate's settings: the fields given (the same rules and codes as creating one)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    given = body.model_fields_set
    with turnout.uow() as uow:
        event = event_service.get_event(uow, event_id=event_id)
        gate = gate_service.get_gate(uow, gate_id=gate_id, event_id=event_id)
        gate = gate_service.update_gate(
            uow,
            actor=principal.actor,
            event_id=event_id,
            gate_id=gate_id,
            name=gate.name if body.name is None else body.name,
            direction=gate.direction if body.direction is None else body.direction,
            methods=gate.methods if body.methods is None else tuple(body.methods),
            opens_at=body.opens_at if "opens_at" in given else gate.opens_at,
            closes_at=body.closes_at if "closes_at" in given else gate.closes_at,
            location=body.location if "location" in given else gate.location,
            capacity=body.capacity if "capacity" in given else gate.capacity,
        )
        uow.commit()
    return GateRead.of(gate, event.timezone)


@router.get("/events/{event_id}/gates")
def list_gates(event_id: str, turnout: TurnoutDep, principal: PrincipalDep, page: PageDep) -> GatePage:
    authorize(principal, Permission.EVENT_READ, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        event = event_service.get_event(uow, event_id=event_id)
        gates = uow.gates.list_for_event(event_id, after_id=page.after, limit=page.limit)
    last = gates[-1].id if gates else None
    return GatePage(
        items=[GateRead.of(g, event.timezone) for g in gates],
        next_cursor=next_cursor(last, len(gates), page.limit),
    )
