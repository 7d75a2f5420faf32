"""The participant's ticket page ``/t/{token}``: event details, the QR code and the ticket's status.

The token in the URL is the credential: the page is not indexed, not cached and sends no referrer.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.adapters import qr
from turnout.domain.access import Permission, authorize
from turnout.domain.errors import DomainError
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.console import current_principal
from turnout.entrypoints.web.templating import USUAL_ZONE, page_locale, render, zone_name
from turnout.i18n import translate
from turnout.ports import EmailStatus
from turnout.services import events as event_service
from turnout.services import mail_queue
from turnout.services.mail_templates import format_moment
from turnout.services.ticketing import lookup_ticket

router = APIRouter(include_in_schema=False)

_PRIVATE = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


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
    """The console's sent-mail list: counts by state and the latest 200 messages."""
    principal = current_principal(request, turnout)
    if principal is None:
        return render(request, "console_signin.html", status_code=401, error=None)
    wanted = status if status in EmailStatus.ALL else None
    try:
        authorize(principal, Permission.PARTICIPANTS_READ, event_id=event_id)
        with turnout.uow(readonly=True) as uow:
            event = event_service.get_event(uow, event_id=event_id)
            counts = mail_queue.count_by_status(uow, event_id=event_id)
            jobs = mail_queue.list_jobs(uow, event_id=event_id, limit=200, status=wanted, newest_first=True)
    except DomainError as error:
        code = 404 if error.code.endswith("not_found") else 403
        return render(request, "console_error.html", status_code=code, code=error.code)
    return render(
        request,
        "mail_log.html",
        event=event,
        counts=counts,
        jobs=jobs,
        status=wanted,
    )
