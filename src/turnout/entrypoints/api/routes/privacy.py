"""Personal data: a closed event's people erased (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from turnout.domain.access import Permission, authorize
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.services.privacy import erase_event

router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=JsonRoute)


@router.post("/events/{event_id}/privacy/erase")
def erase_event_personal_data(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> dict[str, Any]:
    """Remove the personal data of a closed event's people (names, emails, phones, birth dates as
    such, custom fields, tokens, and their traces in mail, scans, messages, deliveries and the audit
    log); its statistics and analytics stay as they were. ``409 event_not_closed`` otherwise."""
    authorize(principal, Permission.PRIVACY_ERASE, event_id=event_id)
    with turnout.uow() as uow:
        result = erase_event(uow, event_id=event_id, actor=principal.actor)
        uow.commit()
    return result
