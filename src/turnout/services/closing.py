"""Closing an event, as a saga (``services.sagas``; ``docs/sagas.md``), and the one way to change an
event's status (``set_event_status``: a live event is closed through the saga).

Every step is retriable:

1. ``stop_scans``: the event is ``closed`` (in the request's transaction): from that commit on every
   scan is refused (``event_not_live``), so the event shows ``closed`` only once scans have stopped.
   The check-in store sees to it that no scan straddles the commit: a scan transaction that read the
   event live holds the close off until it commits, and a scan during the close waits for it
   (SQLite's write lock; on PostgreSQL the scan reads the event row ``FOR SHARE``).
   ``event.status.changed`` is emitted (the feeds leave the outside world to the saga).
2. ``final_analytics``: the analytics platform's final ``analytics.snapshot``.
3. ``notify_<system>``: each enabled system is told ``event.status.changed`` (``closed``), in order
   with what it was told before.
"""

from __future__ import annotations

from typing import Any

from turnout.domain.events import Event, EventStatus
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.sagas import SagaKind, StepKind
from turnout.ports import UnitOfWork
from turnout.services import gate_sync
from turnout.services.events import change_status, get_event
from turnout.services.feeds import ANALYTICS_SNAPSHOT, STATUS_CHANGED, analytics_ordering_key
from turnout.services.sagas import (
    DONE,
    Outcome,
    SagaContext,
    SagaDefinition,
    SagaPolicy,
    SagaRegistry,
    Send,
    StepDefinition,
    begin_saga,
)
from turnout.services.statistics import analytics

_NOTIFIED = (
    IntegrationSystem.GATE_MANAGEMENT,
    IntegrationSystem.ATTENDEE_APP,
    IntegrationSystem.ANALYTICS_PLATFORM,
    IntegrationSystem.ALERTS,
)


def event_resource(event_id: str) -> str:
    return f"event:{event_id}"


def set_event_status(
    uow: UnitOfWork,
    *,
    sagas: SagaRegistry,
    policy: SagaPolicy,
    event_id: str,
    status: EventStatus,
    actor: str,
) -> Event:
    """Move the event one lifecycle step (``services.events.change_status``); closing a live event
    runs the closing saga, whose first step closes it in this transaction."""
    event = get_event(uow, event_id=event_id)
    if status is not EventStatus.CLOSED or event.status is not EventStatus.LIVE:
        return change_status(uow, event_id=event_id, status=status, actor=actor)
    begin_saga(
        uow,
        sagas[SagaKind.CLOSE_EVENT],
        event_id=event_id,
        resource=event_resource(event_id),
        data={"event_id": event_id},
        actor=actor,
        policy=policy,
    )
    return get_event(uow, event_id=event_id)


def close_event_saga() -> SagaDefinition:
    def stop_scans(ctx: SagaContext) -> Outcome:
        event = get_event(ctx.uow, event_id=ctx.saga.event_id)
        if event.status is EventStatus.LIVE:
            change_status(
                ctx.uow,
                event_id=event.id,
                status=EventStatus.CLOSED,
                actor=ctx.saga.actor,
                saga_id=ctx.saga.id,
            )
            ctx.data["closed_at"] = ctx.uow.clock.now().isoformat()
        return DONE

    def final_analytics(ctx: SagaContext) -> Outcome:
        event_id = ctx.saga.event_id
        return Send(
            IntegrationSystem.ANALYTICS_PLATFORM.value,
            ANALYTICS_SNAPSHOT,
            analytics(ctx.uow, event_id=event_id),
            ordering_key=analytics_ordering_key(event_id),
            tagged=False,  # the same snapshot as the periodic ones
        )

    def notify(system: IntegrationSystem) -> StepDefinition:
        def tell(ctx: SagaContext) -> Outcome:
            event_id = ctx.saga.event_id
            payload: dict[str, Any] = {
                "event_id": event_id,
                "previous": EventStatus.LIVE.value,
                "status": EventStatus.CLOSED.value,
                "changed_at": ctx.data.get("closed_at"),
            }
            key = gate_sync.sync_ordering_key(event_id) if system is _GATE else f"event:{event_id}"
            return Send(system.value, STATUS_CHANGED, payload, ordering_key=key, tagged=False)

        return StepDefinition(f"notify_{system.value.replace('-', '_')}", StepKind.RETRIABLE, tell)

    return SagaDefinition(
        kind=SagaKind.CLOSE_EVENT,
        busy_code="event_closing",
        steps=(
            StepDefinition("stop_scans", StepKind.RETRIABLE, stop_scans),
            StepDefinition("final_analytics", StepKind.RETRIABLE, final_analytics),
            *(notify(system) for system in _NOTIFIED),
        ),
    )


_GATE = IntegrationSystem.GATE_MANAGEMENT
