"""Operator alerts: what a person must act on (a saga's compensation that failed after its
retries; a participant's request to be erased). An alert is stored, sent to the event's
``alerts`` integration (a signed delivery like any other), announced by an ``alert.raised`` fact,
and emailed to ``TURNOUT_ALERT_EMAIL`` when it is set (``email_due_alerts``, the worker's
``alert-mail`` loop: outside any transaction, each attempt recorded, retried with backoff);
``GET /api/v1/alerts`` lists them and an operator acknowledges each."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from typing import Any

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.sagas import ALERT_OPEN, Alert
from turnout.messages.facts import AlertRaised
from turnout.ports import DeliveryError, Mailer, OutboundMessage, OutgoingMail, UnitOfWork, UnitOfWorkFactory
from turnout.services.mail_queue import mail_domain

MESSAGES = {
    "compensation_failed": (
        "A step of a {saga_kind} saga could not be undone after {attempts} attempts ({step}: {error}); "
        "{resource} needs a person to put it right."
    ),
    "erasure_requested": (
        "A participant asked for their personal data to be erased (erasure request {erasure_request_id}); "
        "approve or reject it."
    ),
    # crowd safety (services/crowd.py): ``area`` is ``event`` or a gate's id
    "crowd_amber": "{inside} people inside {where} for {capacity} places ({percent} %): amber, 80 % reached.",
    "crowd_red": "{inside} people inside {where} for {capacity} places ({percent} %): red, 95 % reached.",
}

#: what the alert email tells the operator to do, by code (default: the saga's)
WHAT_TO_DO = {
    "erasure_requested": (
        "참가자가 개인정보 삭제를 요청했습니다. 요청을 승인하거나 거절하십시오 (승인하면 신청이 취소되고 "
        "그 사람의 개인정보가 삭제되며, 알림은 자동으로 확인 처리됩니다).\n"
        "A participant asked to be erased: approve or reject the request (approving cancels the "
        "registration and erases that person's personal data; the alert is acknowledged with it).\n\n"
    ),
    "crowd_amber": (
        "입장 인원이 수용 인원의 80 %에 이르렀습니다. 입장 속도를 늦추고 현장을 확인하십시오.\n"
        "The crowd reached 80 % of the capacity: slow the entries down and check the area.\n\n"
    ),
    "crowd_red": (
        "입장 인원이 수용 인원의 95 %에 이르렀습니다. 입장을 멈추고 즉시 현장을 확인하십시오.\n"
        "The crowd reached 95 % of the capacity: stop the entries and check the area now.\n\n"
    ),
}


def raise_alert(
    uow: UnitOfWork,
    *,
    event_id: str,
    saga_id: str | None,
    code: str,
    details: dict[str, Any],
    actor: str = "sagas",
) -> Alert:
    """Store an alert, deliver it to the event's ``alerts`` integration, announce it; ``details``
    name ids only (the alert leaves Turnout by email and webhook)."""
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
        actor=actor,
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


# --- the alert email (TURNOUT_ALERT_EMAIL) -------------------------------------------------------------

EMAIL_ATTEMPTS = 10  # then the alert stays unmailed (it is still listed, shown and delivered)
_EMAIL_BACKOFF_SECONDS = (30, 60, 120, 300, 600, 1800, 3600, 3600, 3600)


def alert_mail(alert: Alert, *, to: str, mail_from: str) -> OutgoingMail:
    """The operator's email for ``alert`` (Korean first, then English; no participant's data)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = f"[Turnout] 확인이 필요한 알림 / Alert: {alert.code}"
    message_id = f"<alert-{alert.id}@{mail_domain(mail_from)}>"  # stable: a repeat is one message
    message["Message-ID"] = message_id
    details = json.dumps(alert.details, ensure_ascii=False, indent=2, sort_keys=True)
    request_id = alert.details.get("erasure_request_id")
    if alert.code == "erasure_requested":
        commands = (
            f"turnout privacy approve {request_id}\nturnout privacy reject {request_id} --note ...\n"
            f"POST /api/v1/erasure-requests/{request_id}/approve\n"
        )
        head = WHAT_TO_DO[alert.code]
    elif alert.code in ("crowd_amber", "crowd_red"):
        commands = f"/events/{alert.event_id}/dashboard\nPOST /api/v1/alerts/{alert.id}/ack\n"
        head = WHAT_TO_DO[alert.code]
    else:
        commands = f"turnout sagas show {alert.saga_id}\nPOST /api/v1/alerts/{alert.id}/ack\n"
        head = (
            "확인이 필요한 알림이 있습니다. "
            "외부 시스템의 상태를 확인해 바로잡은 뒤 알림을 확인 처리하십시오.\n"
            "An alert needs a person: check the external system, put it right, then acknowledge the "
            "alert.\n\n"
        )
    message.set_content(
        f"{head}{alert.message}\n\n"
        f"alert: {alert.id}\nevent: {alert.event_id}\nsaga: {alert.saga_id}\n"
        f"raised: {alert.created_at.isoformat()}\n\n{details}\n\n{commands}"
    )
    return OutgoingMail(
        sender=parseaddr(mail_from)[1] or mail_from,
        recipients=(to,),
        message_id=message_id,
        data=message.as_bytes(policy=SMTP),
    )


async def email_due_alerts(
    uow_factory: UnitOfWorkFactory, mailer: Mailer, *, to: str, mail_from: str, limit: int = 20
) -> int:
    """Email the open alerts not yet emailed to ``to``, each attempt recorded (and audited) after
    it; a failure is tried again later (backing off). How many were attempted."""
    with uow_factory(readonly=True) as uow:
        due = uow.alerts.due_for_email(now=uow.clock.now(), limit=limit, max_attempts=EMAIL_ATTEMPTS)
    for alert in due:
        error: str | None = None
        try:
            await mailer.send(alert_mail(alert, to=to, mail_from=mail_from))
        except DeliveryError as failure:
            error = str(failure)[:500]
        with uow_factory() as uow:
            now = uow.clock.now()
            wait = _EMAIL_BACKOFF_SECONDS[min(alert.email_attempts, len(_EMAIL_BACKOFF_SECONDS) - 1)]
            uow.alerts.record_email(alert.id, now=now, error=error, next_at=now + timedelta(seconds=wait))
            uow.audit.record(
                actor="alerts",
                action="alert.emailed" if error is None else "alert.email_failed",
                subject_type="alert",
                subject_id=alert.id,
                event_id=alert.event_id,
                data={"to": to, "attempt": alert.email_attempts + 1, "error": error},
            )
            uow.commit()
    return len(due)
