"""Helpers for the check-in tests: live events, gates and participants with real ticket tokens.

Participants are written straight to the table (the registration service belongs to another area);
tokens are minted by the real ``TicketBook``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from turnout.adapters.db import tables as t
from turnout.bootstrap import Turnout
from turnout.domain.events import EventStatus, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.services.events import change_status, create_event
from turnout.services.gates import create_gate

STARTS = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def live_event(
    turnout: Turnout, *, allow_reentry: bool = True, status: EventStatus = EventStatus.LIVE
) -> str:
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="test",
            name="행사",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=10),
            allow_reentry=allow_reentry,
            min_age=0,  # no age rule
        )
        for step in (EventStatus.OPEN, EventStatus.LIVE):
            if event.status is status:
                break
            event = change_status(uow, event_id=event.id, status=step, actor="test")
        uow.commit()
    return event.id


def add_gate(
    turnout: Turnout,
    event_id: str,
    *,
    name: str = "정문",
    direction: GateDirection = GateDirection.BOTH,
    methods: tuple[ScanMethod, ...] = (ScanMethod.QR, ScanMethod.BLE, ScanMethod.MANUAL),
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> str:
    with turnout.uow() as uow:
        gate = create_gate(
            uow,
            actor="test",
            event_id=event_id,
            name=name,
            direction=direction,
            methods=methods,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        uow.commit()
    return gate.id


def add_participants(
    turnout: Turnout, event_id: str, count: int, *, prefix: str = "참가자", **fields: Any
) -> list[tuple[str, str]]:
    """``count`` registered participants; returns ``(participant_id, token)`` pairs."""
    ids = [new_id() for _ in range(count)]
    now = turnout.clock.now()
    with turnout.uow() as uow:
        tokens = turnout.tickets.mint_many(uow, event_id=event_id, items=[(pid, 1) for pid in ids])
        rows = []
        for i, (pid, token) in enumerate(zip(ids, tokens, strict=True)):
            row = {
                "id": pid,
                "event_id": event_id,
                "name": f"{prefix} {i}",
                "email": f"{pid}@example.com",
                "phone": f"+8210{i:08d}",
                "custom_fields": {},
                "status": "registered",
                "check_in_status": "not_checked_in",
                "ticket_version": 1,
                "token": token,
                "source": "api",
                "created_at": now,
                "updated_at": now,
            }
            row.update(fields)
            rows.append(row)
        uow.conn.execute(t.participants.insert(), rows)
        uow.commit()
    return list(zip(ids, tokens, strict=True))


def add_participant(turnout: Turnout, event_id: str, **fields: Any) -> tuple[str, str]:
    return add_participants(turnout, event_id, 1, **fields)[0]


def set_participant(turnout: Turnout, participant_id: str, **values: Any) -> None:
    with turnout.uow() as uow:
        uow.conn.execute(
            t.participants.update().where(t.participants.c.id == participant_id).values(**values)
        )
        uow.commit()
