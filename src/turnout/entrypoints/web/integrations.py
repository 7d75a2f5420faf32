"""The console's read-only integrations page: each system's URL, state and last change (no secret)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.domain.access import Permission, authorize
from turnout.domain.errors import DomainError
from turnout.domain.integrations import IntegrationSystem
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.console import current_principal
from turnout.entrypoints.web.templating import render
from turnout.services import events as event_service
from turnout.services import integrations as integration_service

router = APIRouter(include_in_schema=False)


@router.get("/events/{event_id}/integrations")
def integrations_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    principal = current_principal(request, turnout)
    if principal is None:
        return render(request, "console_signin.html", status_code=401, error=None)
    try:
        authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
        with turnout.uow(readonly=True) as uow:
            event = event_service.get_event(uow, event_id=event_id)
            views = integration_service.list_integrations(uow, event_id=event_id)
    except DomainError as error:
        code = 404 if error.code.endswith("not_found") else 403
        return render(request, "console_error.html", status_code=code, code=error.code)
    by_system = {view.system: view for view in views}
    return render(
        request,
        "integrations.html",
        event=event,
        rows=[(system, by_system.get(system)) for system in IntegrationSystem],
        configured=bool(views),
    )
