"""The console's integrations page: for each external system a form (URL, secret, enabled) and a
"send a test delivery" button (they post to ``ops_pages``). The secret is never shown back: a blank
secret keeps the stored one. After a test delivery the page shows how it went."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.domain.access import Permission
from turnout.domain.integrations import IntegrationSystem
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.pages import ConsolePage, console_page
from turnout.services import integrations as integration_service
from turnout.services.deliveries import DeliveryNotFound, get_delivery

router = APIRouter(include_in_schema=False)


def integrations_view(
    page: ConsolePage,
    *,
    status_code: int = 200,
    failed: str | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    """The page; ``failed``: the system whose form was refused (``errors`` beside its fields, what
    was ``entered`` kept)."""
    assert page.event is not None
    event_id = page.event.id
    tested = page.request.query_params.get("tested")
    test = None
    with page.turnout.uow(readonly=True) as uow:
        views = integration_service.list_integrations(uow, event_id=event_id)
        if tested:
            try:
                found = get_delivery(uow, delivery_id=tested)
            except DeliveryNotFound:
                found = None
            test = found if found is not None and found.event_id == event_id else None
    by_system = {view.system: view for view in views}
    return page.render(
        "integrations.html",
        status_code=status_code,
        rows=[(system, by_system.get(system)) for system in IntegrationSystem],
        configured=bool(views),
        failed=failed,
        errors=errors or {},
        entered=entered or {},
        test=test,
        saved=page.request.query_params.get("saved"),
    )


@router.get("/events/{event_id}/integrations")
def integrations_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    return integrations_view(page)
