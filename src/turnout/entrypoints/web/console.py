"""The organisers' web console: sign in with an API key, see events (the dashboard is in
``dashboard_pages``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from turnout.domain.access import PERMISSIONS, Permission, Principal, Role
from turnout.domain.errors import DomainError
from turnout.entrypoints.api.deps import TurnoutDep, page_principal
from turnout.entrypoints.web import session
from turnout.entrypoints.web.pages import safe_next
from turnout.entrypoints.web.templating import page_locale, render
from turnout.services import events as event_service
from turnout.services import statistics as statistics_service
from turnout.services.registration import RateLimited

router = APIRouter(include_in_schema=False)

#: events listed at ``/`` (the API pages through more)
EVENT_LIST_LIMIT = 1000


def current_principal(request: Request, turnout: Any) -> Principal | None:
    try:
        return page_principal(request, turnout)
    except DomainError:
        return None


def signin_refused(request: Request, template: str, refusal: DomainError, error: str) -> Response:
    """The sign-in form again: 429 with ``Retry-After`` past the attempt limit, else 401."""
    if isinstance(refusal, RateLimited):
        response = render(request, template, status_code=429, error="rate_limited")
        response.headers["Retry-After"] = str(refusal.params.get("retry_after", 60))
        return response
    return render(request, template, status_code=401, error=error)


@router.get("/")
def console(request: Request, turnout: TurnoutDep) -> Response:
    """Signed in: the events the key may see (a staff key: its own), each with its registered and
    checked-in counts (one grouped query for the whole list); else the sign-in form. A gate key is
    sent to the scanner."""
    principal = current_principal(request, turnout)
    if principal is None:
        return render(request, "console_signin.html", error=None)
    if principal.role is Role.GATE:
        return RedirectResponse("/scan", status_code=303)
    only = None if principal.role is Role.ADMIN else principal.event_id
    with turnout.uow(readonly=True) as uow:
        events = event_service.list_events(uow, after_id=None, limit=EVENT_LIST_LIMIT, only_event_id=only)
        counts = statistics_service.event_counts(uow, event_ids=[e.id for e in events])
    return render(
        request,
        "console_events.html",
        principal=principal,
        events=events,
        counts=counts,
        may_create=Permission.EVENTS_CREATE in PERMISSIONS[principal.role],
    )


@router.post("/signin")
def sign_in(
    request: Request,
    turnout: TurnoutDep,
    key: Annotated[str, Form(max_length=200)],
    next_page: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    try:
        principal, token = session.sign_in(request, turnout, key.strip())
    except DomainError as refusal:
        return signin_refused(request, "console_signin.html", refusal, "signin_failed")
    target = "/scan" if principal.role is Role.GATE else (safe_next(next_page) or "/")
    lang = page_locale(request)
    if "lang=" not in target:
        target += f"{'&' if '?' in target else '?'}lang={lang}"
    response = RedirectResponse(target, status_code=303)
    session.set_session_cookie(request, turnout, response, token)
    return response


@router.post("/signout")
def sign_out(
    request: Request, turnout: TurnoutDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    response = RedirectResponse("/", status_code=303)
    try:
        session.sign_out(request, turnout, response, csrf_token)
    except DomainError as refusal:
        return render(request, "console_error.html", status_code=403, code=refusal.code)
    return response
