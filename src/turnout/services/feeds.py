"""What Turnout tells the external systems: bus handlers that turn facts into outbound deliveries.

Each handler is its own outbox subscriber (``bootstrap.register_handlers``), so one failing never
holds up another. A handler sends nothing itself: it enqueues ``OutboundMessage``s through
``uow.outbound`` in the relay's transaction (so a delivery is recorded exactly once with its cause),
and only for the systems the event has enabled. The delivery worker signs and sends them with the
body ``{"type", "timestamp", "data": payload}``.

* ``event.status.changed`` -> every enabled system: ``event.status.changed``
  (``notify_status_change``); on ``open`` and ``live`` a gate-management full sync
  (``sync_gate_on_status``, ``services/gate_sync.py``); on ``closed`` a final
  ``analytics.snapshot`` to the analytics platform (``send_final_analytics``). Three subscribers,
  so a failing sync or snapshot never rolls back the notifications.
* participant facts (register, update, cancel, ticket reissue) -> gate management:
  ``participant.changed``; ``gate.created`` -> gate management: ``gates.changed``.
* participant facts and ``attendance.recorded`` -> attendee app: ``participant.status``.
* every ``analytics_interval_seconds`` while an event is live -> analytics platform:
  ``analytics.snapshot`` (``send_due_analytics``, driven by a worker loop).

Deliveries about one participant share the participant's id as ordering key: the worker delivers
them in the order they were enqueued. Payloads carry the participant's state when the handler ran
(the newest), and ``change``: the fact that caused it.

Handlers take a run of messages at once (``handle_many``): imports emit 100,000s of
``participant.registered``; a run reads each event's enabled systems once and its participants in
one query per 900.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from turnout.domain.events import Event, EventStatus
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.participants import Source
from turnout.messages.base import Envelope
from turnout.ports import OutboundMessage, ParticipantFeedRow, UnitOfWork
from turnout.services import gate_sync
from turnout.services.statistics import analytics

#: the names of the feeds' bus handlers start with it (``turnout worker`` runs them in their own loop)
FEED_PREFIX = "feeds."

GATE = IntegrationSystem.GATE_MANAGEMENT.value
ANALYTICS = IntegrationSystem.ANALYTICS_PLATFORM.value
APP = IntegrationSystem.ATTENDEE_APP.value

PARTICIPANT_FACTS = (
    "participant.registered",
    "participant.updated",
    "participant.cancelled",
    "ticket.reissued",
)
ATTENDANCE_FACTS = ("attendance.recorded",)

PARTICIPANT_CHANGED = "participant.changed"
GATES_CHANGED = "gates.changed"
PARTICIPANT_STATUS = "participant.status"
STATUS_CHANGED = "event.status.changed"
ANALYTICS_SNAPSHOT = "analytics.snapshot"

Outbound = OutboundMessage
SYNC_ON = (EventStatus.OPEN.value, EventStatus.LIVE.value)


def enabled_systems(uow: UnitOfWork, event_id: str) -> set[str]:
    return {integration.system.value for integration in uow.integrations.enabled_for(event_id)}


def _by_event(envelopes: Iterable[Envelope]) -> dict[str, list[Envelope]]:
    """Envelopes grouped by their event (the envelope key), each group in order."""
    grouped: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        grouped.setdefault(envelope.key, []).append(envelope)
    return grouped


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- payloads ---------------------------------------------------------------------------------------


def participant_changed(event_id: str, row: ParticipantFeedRow, change: str) -> dict[str, Any]:
    return {"event_id": event_id, "change": change, "participant": gate_sync.participant_entry(row)}


def event_card(event: Event) -> dict[str, Any]:
    """The event as the attendee app shows it."""
    return {"id": event.id, "name": event.name, "start": event.starts_at.isoformat(), "location": event.venue}


def participant_status(event: Event, row: ParticipantFeedRow, change: str) -> dict[str, Any]:
    return {
        "participant_id": row.id,
        "token": row.token,
        "event": event_card(event),
        "change": change,
        "status": row.status,
        "check_in_status": row.check_in_status,
        "checked_in_at": _iso(row.first_checked_in_at),
        "last_scan_at": _iso(row.last_scan_at),
        "updated_at": row.updated_at.isoformat(),
    }


def status_changed(event_id: str, envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "previous": envelope.data.get("previous"),
        "status": envelope.data.get("status"),
        "changed_at": envelope.occurred_at.isoformat(),
    }


# --- handlers -----------------------------------------------------------------------------------------


class _RunHandler:
    """A bus handler that takes one message (``__call__``) or a run of them (``handle_many``)."""

    def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
        self.handle_many([envelope], uow)

    def handle_many(self, envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        messages: list[OutboundMessage] = []
        for event_id, group in _by_event(envelopes).items():
            messages.extend(self.messages_for(uow, event_id, group))
        if messages:
            uow.outbound.enqueue(messages, now=uow.clock.now())

    def messages_for(self, uow: UnitOfWork, event_id: str, envelopes: list[Envelope]) -> list[Outbound]:
        raise NotImplementedError


def _participants(uow: UnitOfWork, envelopes: list[Envelope]) -> dict[str, ParticipantFeedRow]:
    ids = [str(envelope.data["participant_id"]) for envelope in envelopes]
    return {row.id: row for row in uow.participants.feed_rows(ids)}


_TRANSFER_SOURCE = Source.TRANSFER.value


def _per_participant(
    uow: UnitOfWork,
    event_id: str,
    envelopes: list[Envelope],
    system: str,
    message_type: str,
    payload: Callable[[ParticipantFeedRow, str], dict[str, Any]],
) -> list[Outbound]:
    """One message per fact about a participant of the event (their id as its ordering key), with
    the participant's state as it is now; facts about someone unknown or elsewhere are skipped, and
    so are the registration of a transfer's new holder and a cancellation made by a saga (the saga
    tells both systems itself, and waits for their answers)."""
    envelopes = [
        e for e in envelopes if e.data.get("source") != _TRANSFER_SOURCE and not e.data.get("saga_id")
    ]
    if not envelopes:
        return []
    rows = _participants(uow, envelopes)
    messages = []
    for envelope in envelopes:
        row = rows.get(str(envelope.data["participant_id"]))
        if row is None or row.event_id != event_id:
            continue
        messages.append(
            OutboundMessage(
                event_id=event_id,
                system=system,
                type=message_type,
                payload=payload(row, envelope.type),
                ordering_key=row.id,
                source_message_id=envelope.id,
            )
        )
    return messages


class GateParticipantFeed(_RunHandler):
    """Participant facts -> gate management ``participant.changed`` (id, token, name, status): a
    cancelled participant goes out with ``status: cancelled`` so the gate drops them."""

    def messages_for(self, uow: UnitOfWork, event_id: str, envelopes: list[Envelope]) -> list[Outbound]:
        if GATE not in enabled_systems(uow, event_id):
            return []
        return _per_participant(
            uow,
            event_id,
            envelopes,
            GATE,
            PARTICIPANT_CHANGED,
            lambda row, change: participant_changed(event_id, row, change),
        )


class GateConfigFeed(_RunHandler):
    """``gate.created`` and ``gate.updated`` -> gate management ``gates.changed``: the event's whole
    gate configuration."""

    def messages_for(self, uow: UnitOfWork, event_id: str, envelopes: list[Envelope]) -> list[Outbound]:
        if GATE not in enabled_systems(uow, event_id):
            return []
        gates = gate_sync.gate_configuration(uow, event_id)
        return [
            OutboundMessage(
                event_id=event_id,
                system=GATE,
                type=GATES_CHANGED,
                payload={"event_id": event_id, "change": envelope.type, "gates": gates},
                ordering_key=gate_sync.sync_ordering_key(event_id),
                source_message_id=envelope.id,
            )
            for envelope in envelopes
        ]


class AttendeeAppFeed(_RunHandler):
    """Participant facts and ``attendance.recorded`` (check-in and check-out) -> attendee app
    ``participant.status``: the ticket, the event and the check-in status."""

    def messages_for(self, uow: UnitOfWork, event_id: str, envelopes: list[Envelope]) -> list[Outbound]:
        if APP not in enabled_systems(uow, event_id):
            return []
        event = uow.events.get(event_id)
        if event is None:
            return []
        return _per_participant(
            uow,
            event_id,
            envelopes,
            APP,
            PARTICIPANT_STATUS,
            lambda row, change: participant_status(event, row, change),
        )


def notify_status_change(envelope: Envelope, uow: UnitOfWork) -> None:
    """``event.status.changed`` (the seed's ``ExternalSystemNotificationHandler``): every enabled
    system is told. The gate sync and the final analytics are their own subscribers
    (``sync_gate_on_status``, ``send_final_analytics``): one of them failing never holds this up.
    A change made by the closing saga (``services.closing``) is left to it."""
    if envelope.data.get("saga_id"):
        return
    event_id = envelope.key
    systems = sorted(enabled_systems(uow, event_id))
    if not systems:
        return
    payload = status_changed(event_id, envelope)
    uow.outbound.enqueue(
        [
            OutboundMessage(
                event_id=event_id,
                system=system,
                type=STATUS_CHANGED,
                payload=payload,
                ordering_key=gate_sync.sync_ordering_key(event_id) if system == GATE else f"event:{event_id}",
                source_message_id=envelope.id,
            )
            for system in systems
        ],
        now=uow.clock.now(),
    )


def sync_gate_on_status(envelope: Envelope, uow: UnitOfWork) -> None:
    """``event.status.changed`` to ``open`` or ``live``: push the full participant list to the gate
    system, if the event has it enabled."""
    event_id = envelope.key
    status = envelope.data.get("status")
    if status in SYNC_ON and GATE in enabled_systems(uow, event_id):
        gate_sync.full_sync(uow, event_id=event_id, actor="system", reason=f"event.{status}")


def send_final_analytics(envelope: Envelope, uow: UnitOfWork) -> None:
    """``event.status.changed`` to ``closed``: the analytics platform's final snapshot, if the event
    has it enabled (unless the closing saga closed it: it sends the snapshot itself)."""
    event_id = envelope.key
    closed = envelope.data.get("status") == EventStatus.CLOSED.value
    if closed and not envelope.data.get("saga_id") and ANALYTICS in enabled_systems(uow, event_id):
        enqueue_analytics(uow, event_id=event_id, source_message_id=envelope.id)


STATUS_HANDLERS = (
    ("feeds.notify_status_change", notify_status_change),
    ("feeds.sync_gate_on_status", sync_gate_on_status),
    ("feeds.final_analytics", send_final_analytics),
)


# --- analytics platform ---------------------------------------------------------------------------------


def analytics_ordering_key(event_id: str) -> str:
    return f"analytics:{event_id}"


def enqueue_analytics(uow: UnitOfWork, *, event_id: str, source_message_id: str | None = None) -> str:
    """Enqueue an ``analytics.snapshot`` of the event (the payload ``GET …/analytics`` answers)."""
    message = OutboundMessage(
        event_id=event_id,
        system=ANALYTICS,
        type=ANALYTICS_SNAPSHOT,
        payload=analytics(uow, event_id=event_id),
        ordering_key=analytics_ordering_key(event_id),
        source_message_id=source_message_id,
    )
    return uow.outbound.enqueue([message], now=uow.clock.now())[0]


def send_due_analytics(uow: UnitOfWork, *, interval_seconds: float, page: int = 500) -> list[str]:
    """For each live event with an enabled analytics-platform integration whose last
    ``analytics.snapshot`` was enqueued ``interval_seconds`` ago or more (or never), enqueue one.
    Returns the events sent for. (Two workers checking at the same instant may both send one: a
    snapshot replaces the one before, so a repeat is harmless.)"""
    now = uow.clock.now()
    due_before = now - timedelta(seconds=interval_seconds)
    sent: list[str] = []
    after: str | None = None
    while True:
        events = uow.events.list(after_id=after, limit=page)
        for event in events:
            if event.status is not EventStatus.LIVE:
                continue
            integration = uow.integrations.get(event.id, ANALYTICS)
            if integration is None or not integration.enabled:
                continue
            last = uow.outbound.last_enqueued_at(event.id, ANALYTICS, ANALYTICS_SNAPSHOT)
            if last is not None and last > due_before:
                continue
            enqueue_analytics(uow, event_id=event.id)
            sent.append(event.id)
        if len(events) < page:
            return sent
        after = events[-1].id
