"""The outbound delivery log of an event, and sending one delivery again."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from turnout.domain.access import Permission, authorize
from turnout.domain.integrations import IntegrationSystem
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep
from turnout.entrypoints.api.fields import INT64_MAX
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.services import deliveries as delivery_service

router = APIRouter(prefix="/api/v1", tags=["integrations"], route_class=JsonRoute)

DeliveryStatusName = Literal["pending", "sending", "delivered", "dead"]


class AttemptRead(BaseModel):
    attempt: int
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int | None
    error: str | None


class DeliveryRead(BaseModel):
    id: str
    event_id: str
    system: str
    type: str
    ordering_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptRead]
    payload: dict[str, Any] | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    #: pass as ``before`` for the next (older) page; null on the last page
    next_cursor: int | None
    counts: dict[str, dict[str, int]]


@router.get("/events/{event_id}/deliveries")
def list_deliveries(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    system: IntegrationSystem | None = None,
    status_: DeliveryStatusName | None = Query(default=None, alias="status"),
    before: int | None = Query(default=None, ge=1, le=INT64_MAX),
    limit: int = Query(default=50, ge=1, le=500),
) -> DeliveryPage:
    """Newest first, each with its attempts (status code, latency, error)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        found = delivery_service.list_deliveries(
            uow,
            event_id=event_id,
            system=system.value if system else None,
            status=status_,
            before_seq=before,
            limit=limit,
        )
        counts = uow.outbound.counts(event_id)
    return DeliveryPage(
        items=[DeliveryRead.model_validate(delivery_service.delivery_view(r)) for r in found],
        next_cursor=found[-1].seq if len(found) == limit else None,
        counts=counts,
    )


@router.get("/deliveries/{delivery_id}")
def get_delivery(delivery_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> DeliveryRead:
    """One delivery with its payload and attempts."""
    with turnout.uow(readonly=True) as uow:
        found = delivery_service.get_delivery(uow, delivery_id=delivery_id)
    authorize(principal, Permission.EVENT_MANAGE, event_id=found.event_id)
    return DeliveryRead.model_validate(delivery_service.delivery_view(found))


@router.post("/deliveries/{delivery_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry_delivery(delivery_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> DeliveryRead:
    """Send a delivered or dead delivery again (same ``webhook-id``); ``409 delivery_not_finished``
    while it is pending or being sent."""
    with turnout.uow(readonly=True) as uow:
        event_id = delivery_service.get_delivery(uow, delivery_id=delivery_id).event_id
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        found = delivery_service.retry_delivery(
            uow,
            delivery_id=delivery_id,
            actor=principal.actor,
            retry_hours=turnout.settings.delivery_retry_hours,
        )
        uow.commit()
    return DeliveryRead.model_validate(delivery_service.delivery_view(found))
