"""Gate-management full sync: how long enqueuing the whole participant list takes.

An event with PARTICIPANTS participants and an enabled gate-management integration; then
``services.gate_sync.full_sync`` in one transaction (the streaming read of the list, the pages of
5,000 built and enqueued as ``outbound_deliveries`` rows, the commit). Printed: the streaming read
alone (the floor under the sync), and the whole sync, best of ``--runs``. Sending the pages is the
delivery worker's part (``bench_deliveries.py``).

Target (issue 14): 100,000 participants enqueued in well under a few seconds, on SQLite and
PostgreSQL.

    .venv/bin/python bench/bench_gate_sync.py [--participants 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a scratch database is made on it")
    args = parser.parse_args()

    import sqlalchemy as sa

    from turnout.adapters.clock import SystemClock
    from turnout.adapters.db.engine import make_engine
    from turnout.adapters.db.migrate import upgrade
    from turnout.adapters.db.uow import SqlUnitOfWork
    from turnout.domain.events import Event, EventStatus
    from turnout.domain.ids import new_id, sequential_ids
    from turnout.domain.integrations import Integration, IntegrationSystem
    from turnout.domain.participants import ParticipantInput, Source
    from turnout.services.gate_sync import full_sync
    from turnout.services.registration import participant_record

    scratch: str | None = None
    if args.postgres:
        scratch = f"bench_gate_sync_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = sa.engine.make_url(args.postgres).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-gate-sync-')) / 'bench.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    clock = SystemClock()
    try:
        with SqlUnitOfWork(engine, clock) as uow:
            now = clock.now()
            event = Event(
                id=new_id(),
                name="벤치마크 행사",
                starts_at=datetime(2026, 6, 1, tzinfo=UTC),
                ends_at=datetime(2026, 6, 2, tzinfo=UTC),
                status=EventStatus.OPEN,
            )
            uow.events.add(event, now=now)
            uow.integrations.put(
                Integration(
                    event_id=event.id,
                    system=IntegrationSystem.GATE_MANAGEMENT,
                    url="https://gates.example.com/hook",
                    secret_sealed="sealed",
                    enabled=True,
                    disabled_reason=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            ids = sequential_ids(args.participants)
            for start in range(0, len(ids), 10_000):
                uow.participants.insert_many(
                    [
                        participant_record(
                            participant_id=pid,
                            event_id=event.id,
                            data=ParticipantInput(
                                name=f"참가자{n}", email=f"p{n}@example.com", birth_date=date(1990, 1, 1)
                            ),
                            token=f"v1.{pid}.{'x' * 86}",  # about a real token's length
                            source=Source.IMPORT,
                            import_id=None,
                            now=now,
                        )
                        for n, pid in enumerate(ids[start : start + 10_000], start)
                    ]
                )
            uow.commit()

        reads, syncs = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            with SqlUnitOfWork(engine, clock, readonly=True) as uow:
                count = sum(1 for _ in uow.participants.stream_feed_rows(event.id))
            reads.append(time.perf_counter() - started)
            assert count == args.participants
            started = time.perf_counter()
            with SqlUnitOfWork(engine, clock) as uow:
                summary = full_sync(uow, event_id=event.id, actor="bench", reason="bench")
                uow.commit()
            syncs.append(time.perf_counter() - started)
        print(f"database: {engine.dialect.name}, participants: {args.participants}, pages: {summary.pages}")
        print(f"streaming read alone: {min(reads):.3f} s")
        rate = args.participants / min(syncs)
        print(f"full sync enqueued and committed: {min(syncs):.3f} s  ({rate:,.0f} participants/s)")
    finally:
        engine.dispose()
        if scratch is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
