"""An event's integrations with external systems: put, list, read, delete. No answer has a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from turnout.domain.access import Permission, authorize
from turnout.domain.integrations import IntegrationSystem
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep, permits
from turnout.entrypoints.api.fields import Line
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import Strict
from turnout.services import integrations as integration_service
from turnout.services.integrations import IntegrationView

router = APIRouter(prefix="/api/v1", tags=["integrations"], route_class=JsonRoute)


class IntegrationPut(Strict):
    """``secret`` may be left out to keep the stored one (it is needed to create)."""

    url: Annotated[Line, Field(min_length=1, max_length=4000)]
    secret: Annotated[Line | None, Field(max_length=200)] = None
    enabled: bool = True


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    system: IntegrationSystem
    url: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: IntegrationView) -> IntegrationRead:
        return cls.model_validate(view)


class IntegrationPage(BaseModel):
    items: list[IntegrationRead]
    next_cursor: str | None = None


@router.put("/events/{event_id}/integrations/{system}", dependencies=[permits(Permission.EVENT_MANAGE)])
def put_integration(
    event_id: str, system: str, body: IntegrationPut, turnout: TurnoutDep, principal: PrincipalDep
) -> IntegrationRead:
    """Create or replace the event's integration with ``system`` (``gate-management``,
    ``analytics-platform``, ``attendee-app``, ``alerts``)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    result = integration_service.put_integration(
        turnout.uow,
        sealer=turnout.sealer,
        guard=turnout.address_guard,
        actor=principal.actor,
        event_id=event_id,
        system=system,
        url=body.url,
        secret=body.secret,
        enabled=body.enabled,
    )
    return IntegrationRead.of(result.view)


@router.get("/events/{event_id}/integrations")
def list_integrations(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> IntegrationPage:
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        views = integration_service.list_integrations(uow, event_id=event_id)
    return IntegrationPage(items=[IntegrationRead.of(v) for v in views])


@router.get("/events/{event_id}/integrations/{system}")
def get_integration(
    event_id: str, system: str, turnout: TurnoutDep, principal: PrincipalDep
) -> IntegrationRead:
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        view = integration_service.get_integration(uow, event_id=event_id, system=system)
    return IntegrationRead.of(view)


@router.delete("/events/{event_id}/integrations/{system}", status_code=status.HTTP_204_NO_CONTENT)
def delete_integration(event_id: str, system: str, turnout: TurnoutDep, principal: PrincipalDep) -> Response:
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        integration_service.delete_integration(uow, actor=principal.actor, event_id=event_id, system=system)
        uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
