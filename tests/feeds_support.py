"""Helpers for the tests of what external systems are told (``services/feeds.py``,
``services/gate_sync.py``): integrations switched on, participants added in bulk, and the outbound
deliveries read back from the fakes or from SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from tests.fakes import FakeParticipantStore, FakeUnitOfWork
from turnout.adapters.db.tables_integrations import outbound_deliveries
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.domain.ids import sequential_ids
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.domain.participants import Participant, ParticipantInput, Source
from turnout.ports import UnitOfWork, UnitOfWorkFactory
from turnout.services.registration import participant_record


@dataclass(frozen=True)
class Sent:
    """An enqueued outbound delivery, as stored."""

    event_id: str
    system: str
    type: str
    payload: dict[str, Any]
    ordering_key: str | None
    source_message_id: str | None


def enable(uow: UnitOfWork, event_id: str, *systems: IntegrationSystem, enabled: bool = True) -> None:
    now = uow.clock.now()
    for system in systems:
        uow.integrations.put(
            Integration(
                event_id=event_id,
                system=system,
                url=f"https://{system.value}.example.com/hook",
                secret_sealed="sealed",
                enabled=enabled,
                disabled_reason=None,
                created_at=now,
                updated_at=now,
            )
        )


def enqueued(uows: UnitOfWorkFactory) -> list[Sent]:
    """Every outbound delivery enqueued so far, in the order enqueued."""
    with uows(readonly=True) as uow:
        if isinstance(uow, FakeUnitOfWork):
            return [
                Sent(
                    d.message.event_id,
                    d.message.system,
                    d.message.type,
                    d.message.payload,
                    d.message.ordering_key,
                    d.message.source_message_id,
                )
                for d in uow.db.tables.get("outbound_deliveries", [])
            ]
        assert isinstance(uow, SqlUnitOfWork)
        c = outbound_deliveries.c
        rows = uow.conn.execute(
            sa.select(c.event_id, c.system, c.type, c.payload, c.ordering_key, c.source_message_id).order_by(
                c.seq
            )
        )
        return [Sent(*row) for row in rows]


def add_people(
    uow: UnitOfWork,
    event_id: str,
    count: int,
    *,
    people: list[ParticipantInput] | None = None,
) -> list[str]:
    """``count`` registered participants (``people`` if given, else made up), token ``T-<id>``."""
    people = people or [
        ParticipantInput(
            name=f"참가자{n}", email=f"p{n}@example.com", birth_date=date(1990, 1, 1), region="서울"
        )
        for n in range(count)
    ]
    ids = sequential_ids(len(people))
    now = uow.clock.now()
    records = [
        participant_record(
            participant_id=participant_id,
            event_id=event_id,
            data=data,
            token=f"T-{participant_id}",
            source=Source.API,
            import_id=None,
            now=now,
        )
        for participant_id, data in zip(ids, people, strict=True)
    ]
    store = uow.participants
    if isinstance(store, FakeParticipantStore) and len(records) > 100:
        # the fake's insert checks every row against every other: too slow for thousands
        for record in records:
            store._rows[record["id"]] = Participant(**store._typed(record))
    else:
        store.insert_many(records)
    return ids
