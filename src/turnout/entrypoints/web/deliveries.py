"""The console's delivery log: counts by system and state, the newest deliveries (filtered
by system and state) with each attempt, paged with ``before``; a delivered or dead one has a retry
button (``ops_pages``). Never a payload (payloads hold tokens)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.domain.access import Permission
from turnout.domain.integrations import DeliveryStatus, IntegrationSystem
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.pages import console_page
from turnout.entrypoints.web.templating import page_locale
from turnout.services import deliveries as delivery_service

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
SYSTEMS = [s.value for s in IntegrationSystem]
STATUSES = [s.value for s in DeliveryStatus]


def _cursor(value: str | None) -> int | None:
    """``before`` from the query string: a positive sequence number, anything else ignored."""
    if value is None or not value.isdigit():
        return None
    number = int(value)
    return number if number >= 1 else None


@router.get("/events/{event_id}/deliveries")
def deliveries_page(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    system: str | None = None,
    status: str | None = None,
    before: str | None = None,
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    wanted_system = system if system in SYSTEMS else None
    wanted_status = status if status in STATUSES else None
    cursor = _cursor(before)
    with turnout.uow(readonly=True) as uow:
        records = delivery_service.list_deliveries(
            uow,
            event_id=event_id,
            system=wanted_system,
            status=wanted_status,
            before_seq=cursor,
            limit=PAGE_SIZE,
        )
        counts = uow.outbound.counts(event_id)

    def link(**changes: str | int | None) -> str:
        params: dict[str, str | int | None] = {
            "system": wanted_system,
            "status": wanted_status,
            "lang": page_locale(request),
        }
        params.update(changes)
        return "?" + urlencode({k: v for k, v in params.items() if v is not None})

    older = link(before=records[-1].seq) if len(records) == PAGE_SIZE else None
    return page.render(
        "deliveries.html",
        retried=request.query_params.get("retried"),
        records=records,
        systems=SYSTEMS,
        statuses=STATUSES,
        counts=[
            (name, [counts.get(name, {}).get(s, 0) for s in STATUSES], sum(counts.get(name, {}).values()))
            for name in SYSTEMS
        ],
        system=wanted_system,
        status=wanted_status,
        before=cursor,
        older=older,
        newest=link() if cursor is not None else None,
        link=link,
    )
