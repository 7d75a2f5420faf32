"""Participants: staff registration, public self-registration, list/search, one participant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status

from turnout.domain.access import Permission, authorize
from turnout.domain.participants import ParticipantStatus, Source
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor, permits
from turnout.entrypoints.api.schemas import (
    ParticipantCreate,
    ParticipantPage,
    ParticipantRead,
    RegistrationRead,
)
from turnout.services import participants as participant_service
from turnout.services.registration import register_participant, register_publicly

router = APIRouter(prefix="/api/v1", tags=["participants"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/events/{event_id}/participants",
    status_code=status.HTTP_201_CREATED,
    dependencies=[permits(Permission.PARTICIPANTS_WRITE)],
)
def create_participant(
    event_id: str,
    body: ParticipantCreate,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> ParticipantRead:
    """Registration by staff: the same rules as every intake path; 422 with field errors."""
    authorize(principal, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    with turnout.uow() as uow:
        participant = register_participant(
            uow,
            tickets=turnout.tickets,
            event_id=event_id,
            data=body.data(),
            source=Source.API,
            actor=principal.actor,
            idempotency_key=idempotency_key,
        )
        uow.commit()
    return ParticipantRead.of(participant)


@router.post("/events/{event_id}/registrations", status_code=status.HTTP_201_CREATED)
def self_register(
    event_id: str,
    body: ParticipantCreate,
    request: Request,
    turnout: TurnoutDep,
    idempotency_key: IdempotencyKey = None,
) -> RegistrationRead:
    """Public self-registration (no key) for open events; rate-limited per client."""
    participant = register_publicly(
        turnout.uow,
        tickets=turnout.tickets,
        rate_limit=turnout.settings.registration_rate_limit,
        event_id=event_id,
        data=body.data(),
        client=client_of(request),
        idempotency_key=idempotency_key,
    )
    return RegistrationRead.of(participant)


@router.get("/events/{event_id}/participants")
def list_participants(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=200, description="name, email, phone or its last 4 digits")
    ] = None,
    status_filter: Annotated[ParticipantStatus | None, Query(alias="status")] = None,
) -> ParticipantPage:
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        items = participant_service.list_participants(
            uow,
            event_id=event_id,
            q=q,
            status=status_filter.value if status_filter else None,
            after_id=page.after,
            limit=page.limit,
        )
    last = items[-1].id if items else None
    return ParticipantPage(
        items=[ParticipantRead.of(p) for p in items], next_cursor=next_cursor(last, len(items), page.limit)
    )


@router.get("/participants/{participant_id}")
def get_participant(participant_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> ParticipantRead:
    authorize(principal, Permission.PARTICIPANTS_READ)
    with turnout.uow(readonly=True) as uow:
        participant = participant_service.get_participant(uow, participant_id=participant_id)
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=participant.event_id)
    return ParticipantRead.of(participant)
