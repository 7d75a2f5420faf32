"""Operator alerts: what a person must act on (a saga's compensation that failed after its
retries). An alert is stored, sent to the event's ``alerts`` integration (a signed delivery like
any other) and announced by an ``alert.raised`` fact, whose handler emails ``TURNOUT_ALERT_EMAIL``
when it is set; ``GET /api/v1/alerts`` lists them and an operator acknowledges each."""

from __future__ import annotations

from typing import Any

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.sagas import ALERT_OPEN, Alert
from turnout.messages.facts import AlertRaised
from turnout.ports import OutboundMessage, UnitOfWork

MESSAGES = {
    "compensation_failed": (
        "A step of a {saga_kind} saga could not be undone after {attempts} attempts ({step}: {error}); "
        "{resource} needs a person to put it right."
    ),
}


def raise_alert(
    uow: UnitOfWork,
    *,
    event_id: str,
    saga_id: str | None,
    code: str,
    details: dict[str, Any],
) -> Alert:
    now = uow.clock.now()
    template = MESSAGES.get(code, code)
    alert = Alert(
        id=new_id(),
        event_id=event_id,
        saga_id=saga_id,
        code=code,
        message=template.format_map(_Missing(details)),
        details=details,
        state=ALERT_OPEN,
        created_at=now,
    )
    uow.alerts.add(alert)
    integration = uow.integrations.get(event_id, IntegrationSystem.ALERTS.value)
    if integration is not None and integration.enabled:
        uow.outbound.enqueue(
            [OutboundMessage(event_id, IntegrationSystem.ALERTS.value, "alert.raised", alert_payload(alert))],
            now=now,
        )
    uow.emit(AlertRaised(event_id=event_id, alert_id=alert.id, code=code, saga_id=saga_id))
    uow.audit.record(
        actor="sagas",
        action="alert.raised",
        subject_type="alert",
        subject_id=alert.id,
        event_id=event_id,
        data={"code": code, "saga_id": saga_id},
    )
    return alert


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "event_id": alert.event_id,
        "saga_id": alert.saga_id,
        "code": alert.code,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


def list_alerts(
    uow: UnitOfWork, *, state: str | None = None, event_id: str | None = None, limit: int = 100
) -> list[Alert]:
    return uow.alerts.find(state=state, event_id=event_id, limit=limit)


def acknowledge_alert(uow: UnitOfWork, *, alert_id: str, actor: str) -> Alert:
    alert = uow.alerts.get(alert_id)
    if alert is None:
        raise NotFound("alert_not_found", alert_id=alert_id)
    if not uow.alerts.acknowledge(alert_id, by=actor, now=uow.clock.now()):
        raise Conflict("alert_acknowledged", alert_id=alert_id)
    uow.audit.record(
        actor=actor,
        action="alert.acknowledged",
        subject_type="alert",
        subject_id=alert_id,
        event_id=alert.event_id,
        data={},
    )
    found = uow.alerts.get(alert_id)
    assert found is not None
    return found


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
