"""Gate-management full sync: the whole participant list, the event and its gate configuration,
pushed to the gate system in pages (the seed's ``syncWithGateManagement``).

``full_sync`` enqueues one ``gate-management.sync`` delivery per page of at most ``PAGE_SIZE``
participants, in the caller's transaction. Every page carries the sync id, its number (from 1), the
page count and the total, with the event and the gates, so the receiver knows when it holds the
whole list (it then replaces its list with the union of the pages). The pages share the ordering key
``sync:<event_id>``: they are delivered in order, and a later sync's pages after an earlier one's.
Cancelled participants are in the list with ``status: cancelled`` (the gate refuses them).

Sent when the event opens and when it goes live (``services/feeds.py``), and on
``POST /api/v1/events/{event_id}/sync/gate-management``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnout.domain.errors import NotFound
from turnout.domain.events import Event, Gate
from turnout.domain.ids import new_id
from turnout.domain.integrations import IntegrationSystem, barrier_key
from turnout.domain.participants import ParticipantStatus
from turnout.ports import OutboundMessage, ParticipantFeedRow, UnitOfWork

PAGE_SIZE = 5000
SYNC_TYPE = "gate-management.sync"
SYSTEM = IntegrationSystem.GATE_MANAGEMENT.value


@dataclass(frozen=True, slots=True)
class SyncSummary:
    sync_id: str
    pages: int
    participants: int

    def as_dict(self) -> dict[str, Any]:
        return {"sync_id": self.sync_id, "pages": self.pages, "participants": self.participants}


def page_count(participants: int, page_size: int = PAGE_SIZE) -> int:
    """Pages a list of ``participants`` takes: at least one (an empty list is one empty page, so the
    receiver still learns that the list is empty)."""
    return max(1, -(-participants // page_size))


def sync_ordering_key(event_id: str) -> str:
    """The event's barrier key: a sync's pages wait for every earlier delivery to the gate system,
    and every later one waits for them (``domain.integrations.barrier_key``)."""
    return barrier_key(event_id)


def event_summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "start": event.starts_at.isoformat(),
        "end": event.ends_at.isoformat(),
    }


def gate_config(gate: Gate) -> dict[str, Any]:
    """One gate as the gate system is told it: direction, methods, opening hours, location."""
    return {
        "id": gate.id,
        "name": gate.name,
        "direction": gate.direction.value,
        "methods": [method.value for method in gate.methods],
        "opens_at": gate.opens_at.isoformat() if gate.opens_at else None,
        "closes_at": gate.closes_at.isoformat() if gate.closes_at else None,
        "location": gate.location,
    }


def gate_configuration(uow: UnitOfWork, event_id: str) -> list[dict[str, Any]]:
    """Every gate of the event, in id order."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        gates = uow.gates.list_for_event(event_id, after_id=after, limit=1000)
        found.extend(gate_config(gate) for gate in gates)
        if len(gates) < 1000:
            return found
        after = gates[-1].id


def participant_entry(row: ParticipantFeedRow) -> dict[str, Any]:
    """A participant as the gate system is told it (also in ``participant.changed``)."""
    return {
        "id": row.id,
        "token": row.token,
        "name": row.name,
        "status": GATE_STATUS.get(row.status, row.status),
        "updated_at": row.updated_at.isoformat(),
    }


# What the gate system holds while a ticket transfer runs (``services.transfer``): the transfer saga
# tells it to accept the new token and drop the old one in the transaction that starts the transfer,
# and to take that back in the one that starts undoing it; a sync page made in between must say
# the same, since it reaches the gate system after those messages and would otherwise undo them.
GATE_STATUS = {
    ParticipantStatus.PENDING_TRANSFER.value: ParticipantStatus.REGISTERED.value,
    ParticipantStatus.TRANSFERRING.value: ParticipantStatus.TRANSFERRED.value,
}


def gate_management_enabled(uow: UnitOfWork, event_id: str) -> bool:
    integration = uow.integrations.get(event_id, SYSTEM)
    return integration is not None and integration.enabled


def full_sync(
    uow: UnitOfWork, *, event_id: str, actor: str, reason: str, page_size: int = PAGE_SIZE
) -> SyncSummary:
    """Enqueue a full sync of the event to its gate system, in ``uow``'s transaction, and audit it.

    ``NotFound``: ``event_not_found``; ``integration_not_enabled`` when the event has no enabled
    gate-management integration."""
    event = uow.events.get(event_id)
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    if not gate_management_enabled(uow, event_id):
        raise NotFound("integration_not_enabled", event_id=event_id, system=SYSTEM)
    # one streaming query; rows kept compact until their page is built (the page count is known
    # only once the list is read, and every page carries it)
    rows = list(uow.participants.stream_feed_rows(event_id))
    total = len(rows)
    pages = page_count(total, page_size)
    sync_id = new_id()
    head = {"sync_id": sync_id, "event": event_summary(event), "gates": gate_configuration(uow, event_id)}
    now = uow.clock.now()
    key = sync_ordering_key(event_id)
    for number in range(1, pages + 1):
        chunk = rows[(number - 1) * page_size : number * page_size]
        payload = {
            **head,
            "page": number,
            "page_count": pages,
            "total": total,
            "participants": [participant_entry(row) for row in chunk],
        }
        page = OutboundMessage(
            event_id=event_id, system=SYSTEM, type=SYNC_TYPE, payload=payload, ordering_key=key
        )
        uow.outbound.enqueue([page], now=now)
    summary = SyncSummary(sync_id=sync_id, pages=pages, participants=total)
    uow.audit.record(
        actor=actor,
        action="integration.sync",
        subject_type="event",
        subject_id=event_id,
        event_id=event_id,
        data={"system": SYSTEM, "reason": reason, **summary.as_dict()},
    )
    return summary
