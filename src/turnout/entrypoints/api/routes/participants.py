"""Participants: staff registration, public self-registration, list/search, one participant."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse

from turnout.adapters import participant_export
from turnout.adapters.participant_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from turnout.domain.access import Permission, authorize
from turnout.domain.consent import Channel
from turnout.domain.participants import CheckInStatus, ParticipantFilter, ParticipantStatus, Source
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor, permits
from turnout.entrypoints.api.errors import locale_of
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import (
    ParticipantCreate,
    ParticipantPage,
    ParticipantRead,
    RegistrationRead,
)
from turnout.services import participants as participant_service
from turnout.services.consent import consent_of
from turnout.services.registration import register_participant, register_publicly

router = APIRouter(prefix="/api/v1", tags=["participants"], route_class=JsonRoute)


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


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
    """Registration by staff: the same rules as every intake path; 422 with field errors. Staff
    attest the person's ``consents`` (recorded through the ``staff`` channel); without the required
    consent, ``422 consent_required``."""
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
        consent = consent_of(uow, participant.id)
        uow.commit()
    return ParticipantRead.of(participant, consent)


@router.post("/events/{event_id}/registrations", status_code=status.HTTP_201_CREATED)
def self_register(
    event_id: str,
    body: ParticipantCreate,
    request: Request,
    turnout: TurnoutDep,
    idempotency_key: IdempotencyKey = None,
) -> RegistrationRead:
    """Public self-registration (no key) for open events; rate-limited per client (an IPv6 address
    by its /64). A known email or phone gets the same answer as a new one (the holder is emailed
    their ticket again). Without the required ``consents``, ``422 consent_required``."""
    answer = register_publicly(
        turnout.uow,
        tickets=turnout.tickets,
        rate_limit=turnout.settings.registration_rate_limit,
        event_id=event_id,
        data=body.data(),
        client=client_of(request),
        idempotency_key=idempotency_key,
        mail_from=turnout.settings.mail_from,
        resend_interval_seconds=turnout.settings.registration_resend_interval_seconds,
        channel=Channel.API,
    )
    return RegistrationRead.of(answer)


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
    check_in: Annotated[CheckInStatus | None, Query(description="not_checked_in, inside or exited")] = None,
) -> ParticipantPage:
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        items = participant_service.list_participants(
            uow,
            event_id=event_id,
            q=q,
            status=status_filter.value if status_filter else None,
            check_in=check_in.value if check_in else None,
            after_id=page.after,
            limit=page.limit,
        )
        consents = uow.consent.of_participants([p.id for p in items])  # one query for the page
    last = items[-1].id if items else None
    return ParticipantPage(
        items=[ParticipantRead.of(p, consents.get(p.id)) for p in items],
        next_cursor=next_cursor(last, len(items), page.limit),
    )


class ExportHeaders(StrEnum):
    NAMES = "names"  # in the requester's language (?lang= or Accept-Language)
    CODES = "codes"  # the column codes, for scripts


@router.get(
    "/events/{event_id}/participants/export",
    responses={200: {"content": {CSV_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}}}},
)
def export_participants(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.XLSX,
    q: Annotated[
        str | None, Query(max_length=200, description="name, email, phone or its last 4 digits")
    ] = None,
    status_filter: Annotated[ParticipantStatus | None, Query(alias="status")] = None,
    check_in: Annotated[CheckInStatus | None, Query()] = None,
    headers: Annotated[ExportHeaders, Query()] = ExportHeaders.NAMES,
) -> StreamingResponse:
    """The participant list filtered like the list (``q``, ``status``, ``check_in``), with its
    check-in status, first check-in, last scan and consent, times in the event's zone, as XLSX or
    CSV (UTF-8 with a BOM, CRLF). Headers in the requester's language, or the column codes with
    ``headers=codes``. Streamed: CSV a page at a time as it is read; XLSX once written (to a
    temporary file). Every cell a spreadsheet would run as a formula is neutralised (a leading
    apostrophe)."""
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=event_id)
    where = ParticipantFilter.of(
        q, status_filter.value if status_filter else None, check_in.value if check_in else None
    )
    export = participant_service.participants_to_export(turnout.uow, event_id=event_id, where=where)
    locale = None if headers is ExportHeaders.CODES else locale_of(request)
    filename = f"participants-{event_id}.{export_format.value}"
    return StreamingResponse(
        participant_export.chunks(export, export_format.value, locale),
        media_type=participant_export.media_type(export_format.value),
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/participants/{participant_id}")
def get_participant(participant_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> ParticipantRead:
    authorize(principal, Permission.PARTICIPANTS_READ)
    with turnout.uow(readonly=True) as uow:
        participant = participant_service.get_participant(uow, participant_id=participant_id)
        consent = consent_of(uow, participant.id)
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=participant.event_id)
    return ParticipantRead.of(participant, consent)
