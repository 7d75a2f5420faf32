"""Claiming among many unfinished deliveries stays fast on a table without statistics (a new
database's first burst), on SQLite and PostgreSQL.

PostgreSQL used to answer "is an earlier delivery of this ordering key unfinished?" through the
(event_id, system, seq) index, reading every earlier delivery of the system for each due one:
with 20,000 deliveries one claim took 46 s (0.1 s once the table was analyzed)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from tests.fakes import FakeClock
from tests.integration.test_integration_store_contract import integration, new_event
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.tables_integrations import outbound_deliveries
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.domain.ids import new_id
from turnout.domain.integrations import BreakerPolicy, IntegrationSystem
from turnout.ports import DueDelivery, OutboundMessage

pytestmark = pytest.mark.slow

SYSTEMS = (IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP)
PEOPLE = 5000


def test_a_claim_among_20000_unfinished_deliveries_without_statistics_is_fast(
    database_url: str, clock: FakeClock
) -> None:
    engine = make_engine(database_url)

    def uows(*, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, readonly=readonly)

    try:
        event_id = new_event(uows)
        keys = [new_id() for _ in range(PEOPLE)]  # participant ids, as the feeds use them

        def enqueue(change: str) -> None:
            with uows() as uow:
                uow.outbound.enqueue(
                    [
                        OutboundMessage(
                            event_id,
                            system.value,
                            "participant.status",
                            {"change": change, "participant_id": key, "pad": "x" * 300},
                            ordering_key=key,
                        )
                        for key in keys
                        for system in SYSTEMS
                    ],
                    now=clock.now(),
                )
                uow.commit()

        def claim() -> list[DueDelivery]:
            with uows(readonly=True) as uow:
                due = uow.outbound.due(now=clock.now(), limit=256, breaker=BreakerPolicy())
            with uows() as uow:
                found = uow.outbound.lease(
                    due, now=clock.now(), lease_seconds=60, worker="w", breaker=BreakerPolicy()
                )
                uow.commit()
            return found

        with uows() as uow:
            for system in SYSTEMS:
                uow.integrations.put(integration(event_id, system, clock))
            uow.commit()
        enqueue("participant.registered")
        assert len(claim()) == 256
        d = outbound_deliveries.c
        with engine.begin() as conn:  # most first changes went out; the rest wait for a retry
            conn.execute(outbound_deliveries.update().where(d.seq % 10 < 7).values(status="delivered"))
            conn.execute(outbound_deliveries.update().where(d.status == "sending").values(status="pending"))
        if engine.dialect.name == "postgresql":  # as if never analyzed (an earlier test's data may be)
            try:
                with engine.begin() as conn:
                    conn.execute(
                        sa.text("DELETE FROM pg_statistic WHERE starelid = 'outbound_deliveries'::regclass")
                    )
            except sa.exc.DBAPIError:  # not a superuser: the statistics stay
                pass
        enqueue("participant.cancelled")

        clock.advance(seconds=1)
        started = time.monotonic()
        claimed = claim()
        took = time.monotonic() - started

        assert len(claimed) == 256
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(d.system, d.ordering_key, d.seq, d.status).where(d.event_id == event_id)
            )
            unfinished = [
                (r.system, r.ordering_key, r.seq) for r in rows if r.status in ("pending", "sending")
            ]
        earliest: dict[tuple[str, str], int] = {}
        for system, key, seq in unfinished:
            earliest[(system, key)] = min(seq, earliest.get((system, key), seq))
        # each claimed delivery is the earliest unfinished one of its key (its system's)
        assert [earliest[(c.system, str(json.loads(c.payload_json)["participant_id"]))] for c in claimed] == [
            c.seq for c in claimed
        ]
        assert took < 2.0, f"one claim took {took:.1f} s"
    finally:
        engine.dispose()
