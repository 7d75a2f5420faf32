"""``SqlIntegrationStore`` and ``SqlOutboundStore``: ``ports.IntegrationStore`` and
``ports.OutboundStore`` over the unit of work's connection (tables: ``tables_integrations.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db.tables_integrations import integrations, outbound_deliveries
from turnout.adapters.db.upsert import insert_for
from turnout.domain.ids import sequential_ids
from turnout.domain.integrations import DeliveryStatus, Integration, IntegrationSystem
from turnout.ports import OutboundMessage

_C = integrations.c  # the integrations table's columns


def integration_from_row(row: Any) -> Integration:
    return Integration(
        event_id=row.event_id,
        system=IntegrationSystem(row.system),
        url=row.url,
        secret_sealed=row.secret_sealed,
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlIntegrationStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, event_id: str, system: str) -> Integration | None:
        row = self.conn.execute(
            sa.select(integrations).where(_C.event_id == event_id, _C.system == system)
        ).first()
        return integration_from_row(row) if row else None

    def list_for_event(self, event_id: str) -> list[Integration]:
        rows = self.conn.execute(sa.select(integrations).where(_C.event_id == event_id).order_by(_C.system))
        return [integration_from_row(r) for r in rows]

    def put(self, integration: Integration) -> None:
        values = {
            "url": integration.url,
            "secret_sealed": integration.secret_sealed,
            "enabled": integration.enabled,
            "disabled_reason": integration.disabled_reason,
            "updated_at": integration.updated_at,
        }
        self.conn.execute(
            insert_for(self.conn, integrations)
            .values(
                event_id=integration.event_id,
                system=integration.system.value,
                created_at=integration.created_at,
                **values,
            )
            .on_conflict_do_update(index_elements=["event_id", "system"], set_=values)
        )

    def delete(self, event_id: str, system: str) -> bool:
        result = self.conn.execute(integrations.delete().where(_C.event_id == event_id, _C.system == system))
        return bool(result.rowcount)

    def disable(self, event_id: str, system: str, *, reason: str, now: datetime) -> bool:
        result = self.conn.execute(
            integrations.update()
            .where(
                _C.event_id == event_id,
                _C.system == system,
                _C.enabled.is_(True),
            )
            .values(enabled=False, disabled_reason=reason[:200], updated_at=now)
        )
        return bool(result.rowcount)

    def enabled_for(self, event_id: str) -> list[Integration]:
        rows = self.conn.execute(
            sa.select(integrations).where(_C.event_id == event_id, _C.enabled.is_(True)).order_by(_C.system)
        )
        return [integration_from_row(r) for r in rows]


class SqlOutboundStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def last_enqueued_at(self, event_id: str, system: str, message_type: str) -> datetime | None:
        d = outbound_deliveries.c
        return self.conn.execute(
            sa.select(d.created_at)
            .where(d.event_id == event_id, d.system == system, d.type == message_type)
            .order_by(d.seq.desc())
            .limit(1)
        ).scalar()

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> list[str]:
        if not messages:
            return []
        ids = sequential_ids(len(messages))
        self.conn.execute(
            outbound_deliveries.insert(),
            [
                {
                    "id": delivery_id,
                    "event_id": message.event_id,
                    "system": message.system,
                    "type": message.type,
                    "ordering_key": message.ordering_key,
                    "payload": message.payload,
                    "source_message_id": message.source_message_id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for delivery_id, message in zip(ids, messages, strict=True)
            ],
        )
        return ids
