"""Pushes to external systems on demand: the gate-management full sync."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from turnout.domain.access import Permission, authorize
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.services import gate_sync

router = APIRouter(prefix="/api/v1", tags=["integrations"], route_class=JsonRoute)


@router.post("/events/{event_id}/sync/gate-management", status_code=status.HTTP_202_ACCEPTED)
def sync_gate_management(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> dict[str, Any]:
    """Enqueue a full push of the participant list, the event and its gates to the gate system
    (pages of at most 5,000 participants); ``404 integration_not_enabled`` when the event has no
    enabled gate-management integration."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        summary = gate_sync.full_sync(uow, event_id=event_id, actor=principal.actor, reason="manual")
        uow.commit()
    return summary.as_dict()
