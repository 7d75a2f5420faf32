"""Sagas (ticket transfer; each saga with its steps) and operator alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from turnout.domain.access import Permission, authorize
from turnout.domain.errors import NotFound
from turnout.domain.sagas import Alert, Saga, SagaKind
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep, permits
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import ParticipantCreate
from turnout.services import alerts as alert_service
from turnout.services import sagas as saga_service
from turnout.services.transfer import transfer_ticket

router = APIRouter(prefix="/api/v1", tags=["sagas"], route_class=JsonRoute)


class SagaStepRead(BaseModel):
    position: int
    name: str
    kind: str
    state: str
    attempts: int
    error: str | None
    delivery_id: str | None
    started_at: datetime | None
    finished_at: datetime | None


class SagaRead(BaseModel):
    id: str
    kind: str
    event_id: str
    resource: str
    state: str
    error: str | None
    actor: str
    deadline: datetime
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    data: dict[str, Any]
    steps: list[SagaStepRead]

    @classmethod
    def of(cls, saga: Saga) -> SagaRead:
        # what the steps need, without the new holder's personal data
        data = {k: v for k, v in saga.data.items() if k != "new_holder"}
        return cls(
            id=saga.id,
            kind=saga.kind.value,
            event_id=saga.event_id,
            resource=saga.resource,
            state=saga.state.value,
            error=saga.error,
            actor=saga.actor,
            deadline=saga.deadline,
            created_at=saga.created_at,
            updated_at=saga.updated_at,
            finished_at=saga.finished_at,
            data=data,
            steps=[
                SagaStepRead(
                    position=s.index,
                    name=s.name,
                    kind=s.kind.value,
                    state=s.state.value,
                    attempts=s.attempts,
                    error=s.error,
                    delivery_id=s.delivery_id,
                    started_at=s.started_at,
                    finished_at=s.finished_at,
                )
                for s in saga.steps
            ],
        )


class SagaPage(BaseModel):
    items: list[SagaRead]


class AlertRead(BaseModel):
    id: str
    event_id: str | None
    saga_id: str | None
    code: str
    message: str
    details: dict[str, Any]
    state: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    email_attempts: int
    emailed_at: datetime | None
    email_error: str | None

    @classmethod
    def of(cls, alert: Alert) -> AlertRead:
        return cls.model_validate(alert, from_attributes=True)


class AlertPage(BaseModel):
    items: list[AlertRead]


SagaStateName = Literal["running", "compensating", "completed", "compensated", "failed"]


@router.post(
    "/participants/{participant_id}/transfer",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[permits(Permission.PARTICIPANTS_WRITE)],
)
def transfer(
    participant_id: str, body: ParticipantCreate, turnout: TurnoutDep, principal: PrincipalDep
) -> SagaRead:
    """Pass the participant's ticket to the person in the body (the registration rules and codes
    apply): ``202`` with the transfer saga, which goes on in the worker (``GET /sagas/{id}``)."""
    authorize(principal, Permission.PARTICIPANTS_WRITE)
    with turnout.uow() as uow:
        participant = uow.participants.get(participant_id)
        if participant is None:
            raise NotFound("participant_not_found", participant_id=participant_id)
        authorize(principal, Permission.PARTICIPANTS_WRITE, event_id=participant.event_id)
        saga = transfer_ticket(
            uow,
            definition=turnout.sagas[SagaKind.TRANSFER],
            policy=turnout.saga_policy(),
            participant_id=participant_id,
            data=body.data(),
            actor=principal.actor,
        )
        uow.commit()
    return SagaRead.of(saga)


@router.get("/events/{event_id}/sagas")
def list_sagas(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    state: SagaStateName | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> SagaPage:
    """The event's sagas, newest first, each with its steps."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        found = saga_service.list_sagas(uow, event_id=event_id, states=(state,) if state else (), limit=limit)
    return SagaPage(items=[SagaRead.of(s) for s in found])


@router.get("/sagas/{saga_id}")
def get_saga(saga_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> SagaRead:
    """One saga with every step's state, attempts and error."""
    authorize(principal, Permission.EVENT_READ)
    with turnout.uow(readonly=True) as uow:
        saga = saga_service.get_saga(uow, saga_id=saga_id)
    authorize(principal, Permission.EVENT_MANAGE, event_id=saga.event_id)
    return SagaRead.of(saga)


@router.post("/sagas/{saga_id}/retry")
def retry_saga(saga_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> SagaRead:
    """Look at the saga again now; a saga whose compensation failed tries it once more."""
    authorize(principal, Permission.EVENT_READ)
    with turnout.uow() as uow:
        saga = saga_service.get_saga(uow, saga_id=saga_id)
        authorize(principal, Permission.EVENT_MANAGE, event_id=saga.event_id)
        saga = saga_service.retry_saga(uow, saga_id=saga_id, actor=principal.actor)
        uow.commit()
    return SagaRead.of(saga)


@router.get("/alerts")
def list_alerts(
    turnout: TurnoutDep,
    principal: PrincipalDep,
    state: Literal["open", "acknowledged"] | None = None,
    event_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> AlertPage:
    """Operator alerts, newest first (filter by ``state`` and ``event_id``)."""
    event_id = event_id or principal.event_id  # a staff key sees its own event's alerts
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        found = alert_service.list_alerts(uow, state=state, event_id=event_id, limit=limit)
    return AlertPage(items=[AlertRead.of(a) for a in found])


@router.post("/alerts/{alert_id}/ack")
def acknowledge_alert(alert_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> AlertRead:
    """Mark the alert as seen and handled by the caller."""
    authorize(principal, Permission.EVENT_MANAGE)
    with turnout.uow() as uow:
        alert = uow.alerts.get(alert_id)
        if alert is None:
            raise NotFound("alert_not_found", alert_id=alert_id)
        authorize(principal, Permission.EVENT_MANAGE, event_id=alert.event_id)
        alert = alert_service.acknowledge_alert(uow, alert_id=alert_id, actor=principal.actor)
        uow.commit()
    return AlertRead.of(alert)
