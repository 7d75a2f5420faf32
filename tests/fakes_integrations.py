"""Fakes of the integration and outbound-delivery stores (``ports.IntegrationStore``,
``ports.OutboundStore``) over a ``FakeDatabase``; the store contract suite runs the same checks on
them and on the SQL stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from turnout.domain.ids import sequential_ids
from turnout.domain.integrations import DeliveryStatus, Integration
from turnout.ports import OutboundMessage

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeIntegrationStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[tuple[str, str], Integration]:
        rows: dict[tuple[str, str], Integration] = self._db.table("integrations")
        return rows

    def get(self, event_id: str, system: str) -> Integration | None:
        return self._rows.get((event_id, system))

    def list_for_event(self, event_id: str) -> list[Integration]:
        return sorted(
            (i for i in self._rows.values() if i.event_id == event_id), key=lambda i: i.system.value
        )

    def put(self, integration: Integration) -> None:
        key = (integration.event_id, integration.system.value)
        before = self._rows.get(key)
        if before is not None:
            integration = replace(integration, created_at=before.created_at)
        self._rows[key] = integration

    def delete(self, event_id: str, system: str) -> bool:
        return self._rows.pop((event_id, system), None) is not None

    def disable(self, event_id: str, system: str, *, reason: str, now: datetime) -> bool:
        found = self._rows.get((event_id, system))
        if found is None or not found.enabled:
            return False
        self._rows[(event_id, system)] = replace(
            found, enabled=False, disabled_reason=reason[:200], updated_at=now
        )
        return True

    def enabled_for(self, event_id: str) -> list[Integration]:
        return [i for i in self.list_for_event(event_id) if i.enabled]


@dataclass
class FakeDelivery:
    """A stored outbound delivery as the fake keeps it."""

    seq: int
    id: str
    message: OutboundMessage
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any]


class FakeOutboundStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> list[FakeDelivery]:
        rows: list[FakeDelivery] = self._db.tables.setdefault("outbound_deliveries", [])
        return rows

    def last_enqueued_at(self, event_id: str, system: str, message_type: str) -> datetime | None:
        wanted = (event_id, system, message_type)
        found = [
            r.created_at
            for r in self._rows
            if (r.message.event_id, r.message.system, r.message.type) == wanted
        ]
        return found[-1] if found else None

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> list[str]:
        ids = sequential_ids(len(messages))
        rows = self._rows
        for delivery_id, message in zip(ids, messages, strict=True):
            rows.append(
                FakeDelivery(
                    len(rows) + 1, delivery_id, message, DeliveryStatus.PENDING, 0, now, now, now, {}
                )
            )
        return ids
