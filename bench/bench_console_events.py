"""The events pages of the console with 100,000 participants in one event: the time each page takes.

An event with PARTICIPANTS participants (one in fifty cancelled, six in ten checked in, four in ten
inside now) and their scans (admissions over the day, exits, some refusals), and four small events
beside it; then ``/`` (the event list with its counts), ``/events/{id}`` (today's figures) and
``/events/{id}/edit`` are fetched ``--runs`` times each through the app in process (no network), and
the median and p95 printed per page. Target (issue 18): each under 100 ms.

    .venv/bin/python bench/bench_console_events.py [--participants 100000] [--runs 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def seed(url: str, participants: int) -> tuple[str, list[str]]:
    import random

    import sqlalchemy as sa

    from turnout.adapters.clock import SystemClock
    from turnout.adapters.db import tables as t
    from turnout.adapters.db.engine import make_engine
    from turnout.adapters.db.tables_attendance import scans
    from turnout.adapters.db.uow import SqlUnitOfWork
    from turnout.domain.events import Event, EventStatus, Gate
    from turnout.domain.ids import new_id, sequential_ids
    from turnout.domain.participants import ParticipantInput, Source
    from turnout.services.registration import participant_record

    engine = make_engine(url)
    clock = SystemClock()
    now = clock.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rnd = random.Random(1)
    scan_base = {"stay_seconds": None, "code": None, "device": {}, "location": {}, "metadata": {}}
    with SqlUnitOfWork(engine, clock) as uow:
        events = [
            Event(
                id=new_id(),
                name=f"벤치마크 행사 {n}",
                starts_at=day,
                ends_at=day + timedelta(days=2),
                status=EventStatus.LIVE,
            )
            for n in range(5)
        ]
        for event in events:
            uow.events.add(event, now=now)
        big = events[0].id
        gates = [Gate(id=new_id(), event_id=big, name=name) for name in ("정문", "동문")]
        for gate in gates:
            uow.gates.add(gate, now=now)
        rows: list[dict[str, Any]] = []
        scan_rows: list[dict[str, Any]] = []
        for n, pid in enumerate(sequential_ids(participants)):
            row = participant_record(
                participant_id=pid,
                event_id=big,
                data=ParticipantInput(
                    name=f"참가자{n}", email=f"p{n}@example.com", birth_date=date(1990, 1, 1)
                ),
                token=f"v1.{pid}.{'x' * 86}",
                source=Source.IMPORT,
                import_id=None,
                now=now,
            )
            row["status"] = "cancelled" if n % 50 == 0 else "registered"
            row["email_status"] = "sent" if n % 3 else "none"
            if n % 10 < 6:
                came = (
                    day - timedelta(days=1 if n % 7 == 0 else 0) + timedelta(seconds=rnd.randint(0, 40_000))
                )
                gate_id = gates[n % 2].id
                row.update(first_checked_in_at=came, last_scan_at=came)
                row["check_in_status"] = "inside" if n % 10 < 4 else "exited"
                scan = {
                    **scan_base,
                    "event_id": big,
                    "participant_id": pid,
                    "gate_id": gate_id,
                    "method": "qr",
                }
                scan_rows.append(
                    {**scan, "id": new_id(), "direction": "in", "result": "admitted", "occurred_at": came}
                )
                if n % 10 >= 4:
                    out = came + timedelta(minutes=30)
                    scan_rows.append(
                        {**scan, "id": new_id(), "direction": "out", "result": "exited", "occurred_at": out}
                    )
                if n % 20 == 0:
                    again = came + timedelta(minutes=5)
                    scan_rows.append(
                        {
                            **scan,
                            "id": new_id(),
                            "direction": "in",
                            "result": "denied",
                            "code": "already_inside",
                            "occurred_at": again,
                        }
                    )
            rows.append(row)
        for row in scan_rows:
            row["recorded_at"] = row["occurred_at"]
        for start in range(0, len(rows), 10_000):
            uow.conn.execute(t.participants.insert(), rows[start : start + 10_000])
        for start in range(0, len(scan_rows), 10_000):
            uow.conn.execute(scans.insert(), scan_rows[start : start + 10_000])
        uow.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return big, [e.id for e in events]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a scratch database is made on it")
    args = parser.parse_args()

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from turnout.adapters.db.engine import make_engine
    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.config import Settings
    from turnout.domain.access import Role
    from turnout.entrypoints.api.app import create_app
    from turnout.services.keys import create_key

    folder = Path(tempfile.mkdtemp(prefix="bench-console-events-"))
    scratch: str | None = None
    if args.postgres:
        scratch = f"bench_console_events_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = sa.engine.make_url(args.postgres).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
    try:
        upgrade(url)
        started = time.perf_counter()
        event_id, _ = seed(url, args.participants)
        print(f"seeded {args.participants:,} participants in {time.perf_counter() - started:.1f} s")
        settings = Settings(database_url=url, var_dir=folder / "var", secret_key="bench-" * 8, _env_file=None)
        turnout = bootstrap(settings)
        with turnout.uow() as uow:
            key = create_key(uow, actor="bench", name="bench", role=Role.ADMIN).key
            uow.commit()
        with TestClient(create_app(turnout)) as client:
            client.headers["Authorization"] = f"Bearer {key}"
            print(f"database: {make_engine(url).dialect.name}, runs per page: {args.runs}")
            for path in ("/", f"/events/{event_id}", f"/events/{event_id}/edit"):
                assert client.get(path).status_code == 200, path  # warm
                times = []
                for _ in range(args.runs):
                    begun = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - begun) * 1000)
                    assert answer.status_code == 200
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                shown = path.replace(event_id, "{event_id}")
                print(f"{shown:28s} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms")
        turnout.close()
    finally:
        if scratch and args.postgres:
            admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
