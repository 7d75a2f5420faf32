"""Tickets: QR codes, resend / reissue / cancel, the public key and revocation list, email templates
and the sent-mail list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from turnout.adapters import qr
from turnout.bootstrap import Turnout
from turnout.domain.access import Permission, Principal, authorize
from turnout.domain.errors import DomainError, NotFound
from turnout.domain.participants import Participant
from turnout.domain.sagas import SagaKind
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor, permits
from turnout.entrypoints.api.fields import INT64_MAX
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import (
    EmailJobPage,
    EmailJobRead,
    MailTemplateList,
    MailTemplateRead,
    MailTemplateUpdate,
    ParticipantRead,
    RevocationPage,
    RevocationRead,
    TicketKeyRead,
)
from turnout.ports import UnitOfWork
from turnout.services import events as event_service
from turnout.services import mail_queue, mail_templates, ticketing
from turnout.services import participants as participant_service
from turnout.services.cancellation import cancel_registration

router = APIRouter(prefix="/api/v1", tags=["tickets"], route_class=JsonRoute)

Scale = Annotated[
    int,
    Query(
        ge=qr.MIN_SCALE,
        le=qr.MAX_SCALE,
        description="pixels per module: 8 (default) suits phone screens, 16 print",
    ),
]
Locale = Literal["ko", "en"]
#: which email: the ticket, or a notice (``transferred`` to a ticket's previous holder, ``cancelled``)
MailKind = Annotated[Literal["ticket", "transferred", "cancelled"], Query(description="which email")]


def _participant_for(
    uow: UnitOfWork, principal: Principal, participant_id: str, permission: Permission
) -> Participant:
    participant = uow.participants.get(participant_id)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    authorize(principal, permission, event_id=participant.event_id)
    return participant


def _token_of(turnout: Turnout, principal: Principal, participant_id: str) -> str:
    with turnout.uow(readonly=True) as uow:
        participant = _participant_for(uow, principal, participant_id, Permission.PARTICIPANTS_READ)
    if not participant.token:
        raise NotFound("unknown_token", participant_id=participant_id)
    return participant.token


_NO_STORE = {"Cache-Control": "private, no-store"}


@router.get(
    "/participants/{participant_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def participant_qr_png(
    participant_id: str, turnout: TurnoutDep, principal: PrincipalDep, scale: Scale = qr.SCREEN_SCALE
) -> Response:
    """The ticket's QR code (error correction M; it encodes the ticket token)."""
    token = _token_of(turnout, principal, participant_id)
    return Response(qr.png(token, scale=scale), media_type="image/png", headers=_NO_STORE)


@router.get(
    "/participants/{participant_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def participant_qr_svg(
    participant_id: str, turnout: TurnoutDep, principal: PrincipalDep, scale: Scale = qr.SCREEN_SCALE
) -> Response:
    token = _token_of(turnout, principal, participant_id)
    return Response(qr.svg(token, scale=scale), media_type="image/svg+xml", headers=_NO_STORE)


@router.post("/participants/{participant_id}/resend-ticket", status_code=status.HTTP_202_ACCEPTED)
def resend_ticket(participant_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> EmailJobRead:
    """Queue the ticket email again (a new message); the answer is the email job."""
    with turnout.uow() as uow:
        _participant_for(uow, principal, participant_id, Permission.PARTICIPANTS_WRITE)
        job = mail_queue.resend_ticket(
            uow, participant_id=participant_id, actor=principal.actor, mail_from=turnout.settings.mail_from
        )
        uow.commit()
    return EmailJobRead.of(job)


@router.post("/participants/{participant_id}/reissue-ticket")
def reissue_ticket(participant_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> ParticipantRead:
    """A new ticket version (new token, emailed); the old token is revoked."""
    with turnout.uow() as uow:
        _participant_for(uow, principal, participant_id, Permission.PARTICIPANTS_WRITE)
        ticketing.reissue_ticket(
            uow, tickets=turnout.tickets, participant_id=participant_id, actor=principal.actor
        )
        participant = participant_service.get_participant(uow, participant_id=participant_id)
        consent = uow.consent.of_participant(participant_id)
        uow.commit()
    return ParticipantRead.of(participant, consent)


@router.post("/participants/{participant_id}/cancel")
def cancel_participant(participant_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> ParticipantRead:
    """Cancel the registration: status ``cancelled``, ticket revoked, ``participant.cancelled``
    emitted, and the cancellation saga tells the gate system and the attendee app (retried until
    they accept; ``GET /events/{event_id}/sagas``)."""
    with turnout.uow() as uow:
        _participant_for(uow, principal, participant_id, Permission.PARTICIPANTS_WRITE)
        participant, _saga = cancel_registration(
            uow,
            definition=turnout.sagas[SagaKind.CANCELLATION],
            policy=turnout.saga_policy(),
            participant_id=participant_id,
            actor=principal.actor,
        )
        consent = uow.consent.of_participant(participant_id)
        uow.commit()
    return ParticipantRead.of(participant, consent)


@router.get("/events/{event_id}/ticket-key")
def ticket_key(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> TicketKeyRead:
    """The public key that verifies this event's ticket tokens offline (see docs/tickets.md)."""
    authorize(principal, Permission.EVENT_READ, event_id=event_id)
    with turnout.uow() as uow:
        event_service.get_event(uow, event_id=event_id)
        public = turnout.tickets.public_key(uow, event_id=event_id)
        uow.commit()
    return TicketKeyRead(event_id=event_id, public_key=public)


@router.get("/events/{event_id}/revocations")
def revocations(event_id: str, turnout: TurnoutDep, principal: PrincipalDep, page: PageDep) -> RevocationPage:
    """Revoked tokens (reissued or cancelled), oldest first; poll with ``cursor`` for new ones."""
    authorize(principal, Permission.EVENT_READ, event_id=event_id)
    after: int | None = None
    if page.after is not None:
        try:
            after = int(page.after)
        except ValueError as exc:
            raise DomainError("invalid_cursor") from exc
        if not 0 <= after <= INT64_MAX:
            raise DomainError("invalid_cursor")
    with turnout.uow(readonly=True) as uow:
        event_service.get_event(uow, event_id=event_id)
        rows = ticketing.list_revocations(uow, event_id=event_id, after_id=after, limit=page.limit)
    last = str(rows[-1].id) if rows else None
    cursor = next_cursor(last, len(rows), page.limit)
    return RevocationPage(items=[RevocationRead.of(r) for r in rows], next_cursor=cursor)


@router.get("/events/{event_id}/emails")
def list_emails(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[Literal["queued", "sending", "sent", "failed", "dead"] | None, Query()] = None,
    participant_id: Annotated[str | None, Query(max_length=36)] = None,
) -> EmailJobPage:
    """The event's email jobs (the console's sent-mail list), oldest first."""
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        event_service.get_event(uow, event_id=event_id)
        rows = mail_queue.list_jobs(
            uow,
            event_id=event_id,
            after_id=page.after,
            limit=page.limit,
            status=status,
            participant_id=participant_id,
        )
    last = rows[-1].id if rows else None
    return EmailJobPage(
        items=[EmailJobRead.of(r) for r in rows], next_cursor=next_cursor(last, len(rows), page.limit)
    )


def _template_read(item: mail_templates.TemplateSet) -> MailTemplateRead:
    return MailTemplateRead(
        event_id=item.event_id,
        kind=item.kind,
        locale=item.locale,
        subject=item.subject,
        html=item.html,
        text=item.text,
        overridden=item.overridden,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
    )


@router.get("/events/{event_id}/mail-templates")
def get_mail_templates(
    event_id: str, turnout: TurnoutDep, principal: PrincipalDep, kind: MailKind = "ticket"
) -> MailTemplateList:
    """The email templates of ``kind`` in effect (the event's overrides, else the built-in ones)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        event_service.get_event(uow, event_id=event_id)
        items = mail_templates.get_templates(
            uow, renderer=turnout.template_renderer, event_id=event_id, kind=kind
        )
    return MailTemplateList(items=[_template_read(i) for i in items])


@router.put("/events/{event_id}/mail-templates/{locale}", dependencies=[permits(Permission.EVENT_MANAGE)])
def put_mail_template(
    event_id: str,
    locale: Locale,
    body: MailTemplateUpdate,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    kind: MailKind = "ticket",
) -> MailTemplateRead:
    """Override the email of ``kind`` (the ticket by default) for one language. Rendered with
    sample data first (in a child process, under time, memory and size limits, outside any
    transaction): a template that does not render is refused (422, ``invalid_template`` with a
    ``template_error`` per part)."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        event_service.get_event(uow, event_id=event_id)
    mail_templates.check_template(
        turnout.template_renderer,
        locale=locale,
        subject=body.subject,
        html=body.html,
        text=body.text,
        kind=kind,
    )
    with turnout.uow() as uow:
        event_service.get_event(uow, event_id=event_id)
        saved = mail_templates.save_template(
            uow,
            renderer=turnout.template_renderer,
            event_id=event_id,
            locale=locale,
            subject=body.subject,
            html=body.html,
            text=body.text,
            actor=principal.actor,
            kind=kind,
        )
        uow.commit()
    return _template_read(saved)


@router.delete("/events/{event_id}/mail-templates/{locale}", status_code=status.HTTP_204_NO_CONTENT)
def delete_mail_template(
    event_id: str, locale: Locale, turnout: TurnoutDep, principal: PrincipalDep, kind: MailKind = "ticket"
) -> None:
    """Back to the built-in template of ``kind`` for this language."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        event_service.get_event(uow, event_id=event_id)
        mail_templates.delete_template(
            uow, event_id=event_id, locale=locale, actor=principal.actor, kind=kind
        )
        uow.commit()
