"""The console's pages. Integrations and operations: setup forms, test delivery, delivery retry, sagas,
alerts.

The integrations page itself (``GET /events/{event_id}/integrations``) is ``web.integrations`` and
the delivery log ``web.deliveries``; their forms post here. Every action is the service the API
uses, with its codes: ``integrations.put_integration`` (``invalid_url``, ``private_address``,
``invalid_secret``, ``required``), ``deliveries.retry_delivery`` (``delivery_not_finished``,
``delivery_superseded``), ``sagas.retry_saga`` (``saga_finished``), ``alerts.acknowledge_alert``
(``alert_acknowledged``). "Send a test delivery" enqueues an ``integration.test`` delivery and sends
it at once through a ``DeliverySender`` (signed, recorded, in the log), then shows how it went.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from turnout.bootstrap import delivery_sender
from turnout.domain.access import Permission
from turnout.domain.errors import DomainError, NotFound, ValidationFailed
from turnout.domain.integrations import system_of
from turnout.domain.sagas import SagaState
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.api.errors import status_for
from turnout.entrypoints.web.integrations import integrations_view
from turnout.entrypoints.web.pages import ConsolePage, console_page
from turnout.i18n import translate
from turnout.ports import DeliveryResult, DueDelivery
from turnout.services import alerts as alert_service
from turnout.services import deliveries as delivery_service
from turnout.services import integrations as integration_service
from turnout.services import sagas as saga_service

router = APIRouter(include_in_schema=False)

Token = Annotated[str | None, Form()]
SAGAS_SHOWN = 100
ACKNOWLEDGED_SHOWN = 20
ALERTS_SHOWN = 200


# --- integrations -----------------------------------------------------------------------------------


@router.post("/events/{event_id}/integrations/{system}")
def save_integration(
    event_id: str,
    system: str,
    request: Request,
    turnout: TurnoutDep,
    url: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "",
    enabled: Annotated[str | None, Form()] = None,
    csrf_token: Token = None,
) -> Response:
    """Create or change the integration (a blank secret keeps the stored one); refused: the page
    again (422) with each field's error and what was typed (never the secret)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    chosen = system_of(system)
    on = enabled in ("true", "on", "1")
    try:
        integration_service.put_integration(
            turnout.uow,
            sealer=turnout.sealer,
            guard=turnout.address_guard,
            actor=page.principal.actor,
            event_id=event_id,
            system=chosen.value,
            url=url[:4000],
            secret=secret.strip() or None,
            enabled=on,
        )
    except ValidationFailed as refused:
        errors: dict[str, dict[str, str]] = {}
        for error in refused.errors:
            errors.setdefault(
                error.field, {"code": error.code, "message": translate(error.code, page.locale, error.params)}
            )
        return integrations_view(
            page, status_code=422, failed=chosen.value, errors=errors, entered={"url": url, "enabled": on}
        )
    return page.redirect(f"/events/{event_id}/integrations?saved={chosen.value}")


def _send_test(turnout: TurnoutDep, due: DueDelivery) -> list[DeliveryResult]:
    sender = delivery_sender(turnout)

    async def go() -> list[DeliveryResult]:
        try:
            return await sender.send_now([due])
        finally:
            await sender.close()

    return asyncio.run(go())


@router.post("/events/{event_id}/integrations/{system}/test")
def send_test_delivery(
    event_id: str, system: str, request: Request, turnout: TurnoutDep, csrf_token: Token = None
) -> Response:
    """Send a test delivery now and show how it went (status, HTTP code, error) on the page."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    chosen = system_of(system)
    try:
        with turnout.uow() as uow:
            due = delivery_service.enqueue_test_delivery(
                uow, event_id=event_id, system=chosen.value, actor=page.principal.actor
            )
            uow.commit()
    except DomainError as refusal:
        return refused_action(page, refusal, back=f"/events/{event_id}/integrations")
    _send_test(turnout, due)
    return page.redirect(f"/events/{event_id}/integrations?tested={due.id}")


# --- deliveries -------------------------------------------------------------------------------------


@router.post("/events/{event_id}/deliveries/{delivery_id}/retry")
def retry_delivery(
    event_id: str, delivery_id: str, request: Request, turnout: TurnoutDep, csrf_token: Token = None
) -> Response:
    """Send a delivered or dead delivery again (``delivery_not_finished``, ``delivery_superseded``)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    try:
        with turnout.uow() as uow:
            found = delivery_service.get_delivery(uow, delivery_id=delivery_id)
            if found.event_id != event_id:
                raise delivery_service.DeliveryNotFound(delivery_id=delivery_id)
            delivery_service.retry_delivery(
                uow,
                delivery_id=delivery_id,
                actor=page.principal.actor,
                retry_hours=turnout.settings.delivery_retry_hours,
            )
            uow.commit()
    except DomainError as refusal:
        return refused_action(page, refusal, back=f"/events/{event_id}/deliveries")
    return page.redirect(f"/events/{event_id}/deliveries?retried={delivery_id}")


# --- sagas ------------------------------------------------------------------------------------------


def _retriable(state: SagaState) -> bool:
    """What ``retry_saga`` takes: a saga still going, or one whose compensation failed."""
    return state is SagaState.FAILED or not state.finished


@router.get("/events/{event_id}/sagas")
def sagas_page(event_id: str, request: Request, turnout: TurnoutDep, state: str | None = None) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    states = [s.value for s in SagaState]
    wanted = state if state in states else None
    with turnout.uow(readonly=True) as uow:
        found = saga_service.list_sagas(
            uow, event_id=event_id, states=(wanted,) if wanted else (), limit=SAGAS_SHOWN
        )
    return page.render("sagas.html", sagas=found, states=states, state=wanted, retriable=_retriable)


@router.get("/events/{event_id}/sagas/{saga_id}")
def saga_page(event_id: str, saga_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        saga = saga_service.get_saga(uow, saga_id=saga_id)
    if saga.event_id != event_id:
        raise NotFound("saga_not_found", saga_id=saga_id)
    return page.render("sagas_detail.html", saga=saga, retriable=_retriable(saga.state))


@router.post("/events/{event_id}/sagas/{saga_id}/retry")
def retry_saga(
    event_id: str, saga_id: str, request: Request, turnout: TurnoutDep, csrf_token: Token = None
) -> Response:
    """Look at the saga again now; a failed compensation is tried once more (``saga_finished``)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    try:
        with turnout.uow() as uow:
            saga = saga_service.get_saga(uow, saga_id=saga_id)
            if saga.event_id != event_id:
                raise NotFound("saga_not_found", saga_id=saga_id)
            saga_service.retry_saga(uow, saga_id=saga_id, actor=page.principal.actor)
            uow.commit()
    except DomainError as refusal:
        return refused_action(page, refusal, back=f"/events/{event_id}/sagas")
    return page.redirect(f"/events/{event_id}/sagas/{saga_id}?retried=1")


# --- alerts -----------------------------------------------------------------------------------------


@router.get("/events/{event_id}/alerts")
def alerts_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    """The event's open alerts, then the latest acknowledged ones."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        open_ = alert_service.list_alerts(uow, state="open", event_id=event_id, limit=ALERTS_SHOWN)
        done = alert_service.list_alerts(
            uow, state="acknowledged", event_id=event_id, limit=ACKNOWLEDGED_SHOWN
        )
    return page.render("alerts.html", open_list=open_, acknowledged=done)


@router.post("/events/{event_id}/alerts/{alert_id}/ack")
def acknowledge_alert(
    event_id: str, alert_id: str, request: Request, turnout: TurnoutDep, csrf_token: Token = None
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    try:
        with turnout.uow() as uow:
            alert = uow.alerts.get(alert_id)
            if alert is None or alert.event_id != event_id:
                raise NotFound("alert_not_found", alert_id=alert_id)
            alert_service.acknowledge_alert(uow, alert_id=alert_id, actor=page.principal.actor)
            uow.commit()
    except DomainError as refusal:
        return refused_action(page, refusal, back=f"/events/{event_id}/alerts")
    return page.redirect(f"/events/{event_id}/alerts?acknowledged={alert_id}")


def refused_action(page: ConsolePage, refusal: DomainError, *, back: str) -> Response:
    """An action the service refused (``delivery_not_finished``, ``saga_finished``…): its message
    in full (with its params, which the generic error page does not show) and a way back."""
    status = 404 if refusal.code.endswith("_not_found") else status_for(refusal)
    message = translate(refusal.code, page.locale, refusal.params)
    return page.render(
        "ops_refused.html", status_code=status, code=refusal.code, status=status, message=message, back=back
    )
