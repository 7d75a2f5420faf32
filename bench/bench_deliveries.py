"""Outbound deliveries: how fast signed webhooks leave Turnout for a local receiver.

1. ``deliveries/s``: ``--deliveries`` pending deliveries (one per participant key, attendee-app
   changes) are sent by one ``DeliverySender`` (httpx, ``delivery_concurrency`` in flight, Standard
   Webhooks signatures) to a local receiver (uvicorn, its own process, verifying every signature):
   from the first claim to the last recorded outcome.
2. ``gate sync``: a full gate-management sync of ``--sync-participants`` participants (pages of
   5,000): from the sync call to the last page recorded delivered.

The database is a temporary SQLite file (``--postgres URL`` for a PostgreSQL server database).

    .venv/bin/python bench/bench_deliveries.py [--deliveries 20000] [--sync-participants 100000]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ceiling import measure_ceiling, scaled

SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-32byte").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(__file__).resolve().parent),
            "receiver:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "RECEIVER_VERIFY": SECRET},
        # the receiver stands for another machine: on this one it must not take the CPU from Turnout
        preexec_fn=lambda: os.nice(19),
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return receiver
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the receiver did not start")


def receiver_counts(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as answer:
        counts: dict[str, int] = json.loads(answer.read())
    return counts


def database(args: argparse.Namespace, workdir: Path) -> str:
    if not args.postgres:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import sqlalchemy as sa

    from turnout.adapters.db.engine import make_engine

    name = f"turnout_bench_{os.getpid()}"
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--sync-participants", type=int, default=100_000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a database is created)")
    args = parser.parse_args()

    from turnout.domain.ids import new_id
    from turnout.domain.integrations import IntegrationSystem
    from turnout.ports import OutboundMessage

    with bench_world(args, list(IntegrationSystem)) as (turnout, event, port, ceiling):
        now = datetime.now(UTC)

        # 1. deliveries/s
        payload: dict[str, Any] = {
            "event": {
                "id": event.id,
                "name": "서울 개발자 컨퍼런스",
                "start": now.isoformat(),
                "location": "코엑스",
            },
            "status": "registered",
            "check_in_status": "inside",
        }
        messages = [
            OutboundMessage(
                event.id,
                IntegrationSystem.ATTENDEE_APP.value,
                "participant.status",
                {**payload, "participant_id": pid, "token": "T" * 60},
                ordering_key=pid,
            )
            for pid in (new_id() for _ in range(args.deliveries))
        ]
        with turnout.uow() as uow:
            uow.outbound.enqueue(messages, now=now)
            uow.commit()
        before = receiver_counts(port)
        elapsed = deliver_all(turnout)
        sent = args.deliveries
        after = receiver_counts(port)
        got = after["distinct"] - before["distinct"]
        print(
            f"{'signed deliveries':<28} {sent / elapsed:>9,.0f}/s  ({sent:,} in {elapsed:.2f} s; "
            f"receiver got {got:,} distinct, {after['bad_signatures']} bad signatures)"
        )

        # 2. a full gate-management sync
        sync_seconds = sync(turnout, event.id, args.sync_participants, port)
        rate_target = scaled(1000, ceiling)
        sync_target = 10 * (1000 / rate_target) * args.sync_participants / 100_000
        print(
            f"target >= 1,000 deliveries/s ({rate_target:,.0f}/s at this ceiling): "
            f"{'met' if sent / elapsed >= rate_target else 'NOT met'}"
        )
        print(
            f"target sync of 100,000 in <= 10 s ({sync_target:.1f} s for {args.sync_participants:,} at this "
            f"ceiling): {'met' if sync_seconds <= sync_target else 'NOT met'}"
        )


@contextlib.contextmanager
def bench_world(args: argparse.Namespace, systems: list[Any]) -> Iterator[tuple[Any, Any, int, float | None]]:
    """What the integration benches share: the ``/health`` ceiling (printed), a database (a
    temporary SQLite file, or a new one on ``args.postgres``) migrated and named in the
    environment (``turnout worker`` started from here uses it), a receiver (``bench/receiver.py``)
    and an event whose integrations with ``systems`` point at it. Yields (turnout, event, the
    receiver's port, the ceiling)."""
    ceiling = measure_ceiling()
    if ceiling is not None:
        print(f"{'ceiling: GET /health':<28} {ceiling:>9,.0f}/s  (wrk, c=32, turnout serve --workers 2)")
    workdir = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    url = database(args, workdir)
    os.environ.update(
        {
            "TURNOUT_DATABASE_URL": url,
            "TURNOUT_VAR_DIR": str(workdir / "var"),
            "TURNOUT_SECRET_KEY": "bench-secret-key",
            "TURNOUT_BROKER_URL": "",
            "TURNOUT_ALLOW_PRIVATE_WEBHOOKS": "1",
        }
    )
    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.domain.integrations import Integration
    from turnout.services.events import create_event

    upgrade(url)
    turnout = bootstrap()
    port = free_port()
    receiver = start_receiver(port)
    try:
        now = datetime.now(UTC)
        with turnout.uow() as uow:
            event = create_event(
                uow, actor="bench", name="bench", starts_at=now, ends_at=now + timedelta(hours=8), min_age=0
            )
            sealed = turnout.sealer.seal(SECRET)
            for system in systems:
                uow.integrations.put(
                    Integration(
                        event.id, system, f"http://127.0.0.1:{port}/hooks", sealed, True, None, now, now
                    )
                )
            uow.commit()
        print(f"database: {turnout.dialect}; receiver: uvicorn on :{port} (verifies every signature)")
        yield turnout, event, port, ceiling
    finally:
        receiver.terminate()
        receiver.wait()
        turnout.close()


def deliver_all(turnout: Any) -> float:
    """Run the worker's delivery loop (``entrypoints.workers.deliveries_loop``: its batches, pauses
    and rush pacing, as in ``turnout worker``) until no delivery is pending or sending; seconds."""
    from turnout.entrypoints.workers import deliveries_loop

    stop = threading.Event()
    started = time.perf_counter()
    worker = threading.Thread(target=deliveries_loop, args=(turnout, stop), daemon=True)
    worker.start()
    try:
        while True:
            with turnout.uow(readonly=True) as uow:
                unfinished = uow.conn.execute(
                    sa.text("select count(*) from outbound_deliveries where status in ('pending', 'sending')")
                ).scalar_one()
            if not unfinished:
                return time.perf_counter() - started
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=30)


def add_participants(turnout: Any, event_id: str, participants: int) -> None:
    from datetime import date

    from turnout.domain.ids import sequential_ids
    from turnout.domain.participants import ParticipantInput, Source
    from turnout.services.registration import participant_record

    now = datetime.now(UTC)
    ids = sequential_ids(participants)
    with turnout.uow() as uow:
        for start in range(0, len(ids), 10_000):
            uow.participants.insert_many(
                [
                    participant_record(
                        participant_id=pid,
                        event_id=event_id,
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


def sync(turnout: Any, event_id: str, participants: int, port: int) -> float:
    from turnout.services.gate_sync import full_sync

    add_participants(turnout, event_id, participants)
    before = receiver_counts(port)
    started = time.perf_counter()
    with turnout.uow() as uow:
        summary = full_sync(uow, event_id=event_id, actor="bench", reason="bench")
        uow.commit()
    enqueued = time.perf_counter() - started
    elapsed = enqueued + deliver_all(turnout)
    after = receiver_counts(port)
    label = f"gate sync, {participants:,} participants"
    print(
        f"{label:<28} {elapsed:>9.2f} s  (enqueued in {enqueued:.2f} s; {summary.pages} pages; receiver "
        f"got {after['distinct'] - before['distinct']} pages, "
        f"{(after['bytes'] - before['bytes']) / 1e6:.1f} MB)"
    )
    return elapsed


if __name__ == "__main__":
    main()
