"""Helpers for ticket and mail tests: an open event, participants made by the real registration
service, and the outbox delivered to the handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from turnout.bootstrap import Turnout
from turnout.domain.events import EventStatus
from turnout.services.events import change_status, create_event
from turnout.services.registration import register_participant


def open_event(
    turnout: Turnout, *, name: str = "서울 개발자 컨퍼런스", locale: str = "ko", **extra: Any
) -> str:
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="test",
            name=name,
            starts_at=datetime(2026, 6, 1, 9, 0),
            ends_at=datetime(2026, 6, 1, 18, 0),
            timezone=extra.pop("timezone", "Asia/Seoul"),
            venue=extra.pop("venue", "코엑스 Hall B"),
            locale=locale,
            **{"min_age": 0, **extra},  # no age rule unless a test sets one
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="test")
        uow.commit()
    return event.id


def register(turnout: Turnout, event_id: str, *, name: str, email: str, locale: str | None = None) -> Any:
    data: dict[str, Any] = {"name": name, "email": email, "consents": {"required": True, "optional": True}}
    if locale:
        data["locale"] = locale
    with turnout.uow() as uow:
        participant = register_participant(
            uow, tickets=turnout.tickets, event_id=event_id, data=data, source="api", actor="test"
        )
        uow.commit()
    return participant


def deliver(turnout: Turnout) -> None:
    """Hand every outbox message to the local handlers (queue_ticket_email among them)."""
    relay = turnout.relay()
    try:
        relay.drain(publish=False)
    finally:
        relay.close()
