"""The participant's ticket page ``/t/{token}``: event details, the QR code and the ticket's status;
and their data page ``/t/{token}/data``: what Turnout holds about them, with a form to ask for
erasure (``POST /t/{token}/data/erasure``).

The token in the URL is the credential: the pages are not indexed, not cached and send no referrer
elsewhere. Only the current, valid ticket opens the data page (any other token: ``ticket_missing``,
404). Like the public registration form, the erasure form needs no session; the Origin guard
refuses it when a browser says it was posted from another site (``web.security``).
"""

from __future__ import annotations

from html import escape
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from turnout.adapters import qr
from turnout.domain.access import Permission
from turnout.domain.errors import DomainError
from turnout.domain.participants import display_phone
from turnout.domain.privacy import REASON_MAX
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.pages import console_page
from turnout.entrypoints.web.templating import USUAL_ZONE, page_locale, render, zone_name
from turnout.i18n import translate
from turnout.ports import EmailStatus
from turnout.services import erasure_requests as erasure_service
from turnout.services import mail_queue
from turnout.services.mail_templates import format_moment
from turnout.services.ticketing import lookup_ticket

router = APIRouter(include_in_schema=False)

_PRIVATE = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
# The data page posts its own form: a browser sends the page's Origin only when the referrer policy
# lets it (with ``no-referrer`` a form POST says ``Origin: null``, which the Origin guard refuses).
_PRIVATE_FORM = {**_PRIVATE, "Referrer-Policy": "same-origin"}


@router.get("/t/{token}")
def ticket_page(token: str, request: Request, turnout: TurnoutDep) -> Response:
    locale = page_locale(request)
    try:
        with turnout.uow(readonly=True) as uow:
            found = lookup_ticket(uow, tickets=turnout.tickets, token=token)
    except DomainError:
        response = render(request, "ticket_missing.html", status_code=404)
        response.headers.update(_PRIVATE)
        return response
    event, participant = found.event, found.participant
    show_qr = found.status in ("valid", "checked_in")
    qr_svg = qr.svg(participant.token, scale=6).decode() if show_qr and participant.token else None
    qr_title = translate("web.ticket.qr_title", locale)
    if qr_svg is not None:
        qr_svg = qr_svg.split("?>", 1)[-1]  # inline: drop the XML declaration
        qr_svg = qr_svg.replace("<title>ticket</title>", f"<title>{escape(qr_title)}</title>", 1)
    response = render(
        request,
        "ticket.html",
        status=found.status,
        event=event,
        participant_name=participant.name,
        starts=format_moment(event.starts_at, event.timezone, locale),
        ends=format_moment(event.ends_at, event.timezone, locale),
        zone_note="" if event.timezone == USUAL_ZONE else zone_name(event.starts_at, event.timezone),
        qr_svg=qr_svg,
        qr_title=qr_title,
        token=participant.token,
    )
    response.headers.update(_PRIVATE)
    return response


def _missing(request: Request) -> Response:
    response = render(request, "ticket_missing.html", status_code=404)
    response.headers.update(_PRIVATE)
    return response


def _data_page(
    request: Request,
    turnout: TurnoutDep,
    token: str,
    *,
    status_code: int = 200,
    received: bool = False,
    error: str | None = None,
    reason: str = "",
) -> Response:
    locale = page_locale(request)
    try:
        with turnout.uow(readonly=True) as uow:
            record = erasure_service.person_record(uow, tickets=turnout.tickets, token=token)
    except DomainError:
        return _missing(request)
    event, participant = record.event, record.participant
    zone = ZoneInfo(event.timezone)
    response = render(
        request,
        "person_data.html",
        status_code=status_code,
        event=event,
        participant=participant,
        phone=display_phone(participant.phone),
        ticket_status=record.ticket_status,
        scans=record.scans,
        emails=record.emails,
        consent=record.consent,
        consent_given_at=(
            format_moment(record.consent.given_at, event.timezone, locale) if record.consent else None
        ),
        open_request=record.open_request,
        requested_at=(
            format_moment(record.open_request.requested_at, event.timezone, locale)
            if record.open_request
            else None
        ),
        received=received,
        error=error,
        reason=reason,
        reason_max=REASON_MAX,
        registered_at=format_moment(participant.created_at, event.timezone, locale),
        local_zone=zone,
        token=token,
    )
    response.headers.update(_PRIVATE_FORM)
    return response


@router.get("/t/{token}/data")
def person_data_page(token: str, request: Request, turnout: TurnoutDep) -> Response:
    """What Turnout holds about the ticket's holder, and a form to ask for erasure."""
    return _data_page(request, turnout, token)


@router.post("/t/{token}/data/erasure")
def ask_for_erasure(
    token: str,
    request: Request,
    turnout: TurnoutDep,
    reason: Annotated[str, Form(max_length=REASON_MAX * 4)] = "",
) -> Response:
    """Record the holder's erasure request (a repeat answers with the open one) and alert the
    organiser; the data page again, saying it was received."""
    if len(reason.strip()) > REASON_MAX:
        locale = page_locale(request)
        message = translate("data.erasure.too_long", locale, {"limit": REASON_MAX})
        return _data_page(request, turnout, token, status_code=422, error=message, reason=reason)
    try:
        with turnout.uow() as uow:
            _request, created = erasure_service.request_erasure(
                uow, tickets=turnout.tickets, token=token, reason=reason
            )
            uow.commit()
    except DomainError:
        return _missing(request)
    return _data_page(request, turnout, token, status_code=201 if created else 200, received=True)


@router.get("/t/{token}/qr.png")
def ticket_qr(token: str, request: Request, turnout: TurnoutDep) -> Response:
    """The QR image for saving to a phone (only for a ticket that is still valid)."""
    try:
        with turnout.uow(readonly=True) as uow:
            found = lookup_ticket(uow, tickets=turnout.tickets, token=token)
    except DomainError:
        return Response(status_code=404, headers=_PRIVATE)
    if found.status not in ("valid", "checked_in") or not found.participant.token:
        return Response(status_code=404, headers=_PRIVATE)
    return Response(qr.png(found.participant.token), media_type="image/png", headers=_PRIVATE)


@router.get("/events/{event_id}/emails")
def sent_mail(event_id: str, request: Request, turnout: TurnoutDep, status: str | None = None) -> Response:
    """The console's sent-mail list: counts by state and the latest 200 messages; a failed or
    undeliverable one has a retry button (``mail_pages.retry_email``)."""
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    wanted = status if status in EmailStatus.ALL else None
    with turnout.uow(readonly=True) as uow:
        counts = mail_queue.count_by_status(uow, event_id=event_id)
        jobs = mail_queue.list_jobs(uow, event_id=event_id, limit=200, status=wanted, newest_first=True)
    return page.render(
        "mail_log.html",
        counts=counts,
        jobs=jobs,
        status=wanted,
        can_retry=page.may(Permission.PARTICIPANTS_WRITE),
    )
