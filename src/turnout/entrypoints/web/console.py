"""The organisers' web console: sign in with an API key, see events, open the live dashboard."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from turnout.domain.access import PERMISSIONS, Permission, Principal, Role, authorize
from turnout.domain.errors import DomainError
from turnout.entrypoints.api.deps import TurnoutDep, get_principal
from turnout.entrypoints.web.session import COOKIE, MAX_AGE_SECONDS, SessionSealer
from turnout.entrypoints.web.templating import page_locale, render
from turnout.services import alerts as alert_service
from turnout.services import events as event_service

router = APIRouter(include_in_schema=False)


def current_principal(request: Request, turnout: Any) -> Principal | None:
    try:
        return get_principal(request, turnout)
    except DomainError:
        return None


@router.get("/")
def console(request: Request, turnout: TurnoutDep) -> Response:
    principal = current_principal(request, turnout)
    if principal is None:
        return render(request, "console_signin.html", error=None)
    only = None if principal.role is Role.ADMIN else principal.event_id
    with turnout.uow(readonly=True) as uow:
        events = event_service.list_events(uow, after_id=None, limit=1000, only_event_id=only)
    if principal.role is Role.GATE:
        return RedirectResponse("/scan", status_code=303)
    return render(request, "console_events.html", principal=principal, events=events, zone=ZoneInfo)


@router.post("/signin")
def sign_in(request: Request, turnout: TurnoutDep, key: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        principal = turnout.authenticator.authenticate(key.strip())
    except DomainError:
        return render(request, "console_signin.html", status_code=401, error="signin_failed")
    target = "/scan" if principal.role is Role.GATE else "/"
    lang = page_locale(request)
    response = RedirectResponse(f"{target}?lang={lang}", status_code=303)
    sealer = SessionSealer(turnout.settings.resolve_secret_key())
    response.set_cookie(
        COOKIE,
        sealer.seal(key.strip()),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=turnout.settings.base_url.startswith("https://"),
    )
    return response


@router.post("/signout")
def sign_out() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/events/{event_id}/dashboard")
def dashboard(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    principal = current_principal(request, turnout)
    if principal is None:
        return render(request, "console_signin.html", status_code=401, error=None)
    try:
        authorize(principal, Permission.STATS_READ, event_id=event_id)
        with turnout.uow(readonly=True) as uow:
            event = event_service.get_event(uow, event_id=event_id)
            gates = uow.gates.list_for_event(event_id)
            manages = Permission.EVENT_MANAGE in PERMISSIONS[principal.role]
            alerts = alert_service.list_alerts(uow, state="open", event_id=event_id) if manages else []
    except DomainError as error:
        status = 404 if error.code.endswith("not_found") else 403
        return render(request, "console_error.html", status_code=status, code=error.code)
    return render(
        request, "dashboard.html", event=event, gate_names={g.id: g.name for g in gates}, alerts=alerts
    )
