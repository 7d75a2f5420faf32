"""The participant export: how long 100,000 rows take as CSV and as XLSX, and how much memory.

An event with ROWS participants (each with a consent record and two custom fields; a third checked
in, a tenth cancelled). Then, best of ``--runs``, for each format:

* ``service``: ``services.participants.participants_to_export`` and the writer
  (``adapters.participant_export``), the file's bytes thrown away;
* ``http``: ``GET /api/v1/events/{event_id}/participants/export`` on a real uvicorn server (in
  this process, a thread), read with httpx as a stream: the time to the first byte and to the last.

Printed: seconds, rows/s, the bytes, and the peak growth of this process's resident memory while
exporting (bounded: it must not grow with ROWS). Target (issue 18): 100,000 rows in under 10 s on
SQLite and PostgreSQL. Print ``cd bench && python ceiling.py`` beside the figures.

    .venv/bin/python bench/bench_export.py [--rows 100000] [--runs 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def rss() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/statm") as stats:
        return int(stats.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """The highest resident memory seen (sampled every 20 ms) above the level at the start."""

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def seed(turnout: Any, rows: int) -> str:
    from turnout.domain.consent import Basis, Channel, ConsentRecord
    from turnout.domain.events import Event, EventStatus
    from turnout.domain.ids import new_id, sequential_ids
    from turnout.domain.participants import ParticipantInput, Source
    from turnout.services.registration import participant_record

    now = turnout.clock.now()
    with turnout.uow() as uow:
        event = Event(
            id=new_id(),
            name="벤치마크 행사",
            starts_at=datetime(2026, 6, 1, tzinfo=UTC),
            ends_at=datetime(2026, 6, 2, tzinfo=UTC),
            status=EventStatus.OPEN,
        )
        uow.events.add(event, now=now)
        ids = sequential_ids(rows)
        for start in range(0, rows, 10_000):
            batch = ids[start : start + 10_000]
            records = []
            for n, pid in enumerate(batch, start):
                record = participant_record(
                    participant_id=pid,
                    event_id=event.id,
                    data=ParticipantInput(
                        name=f"참가자{n}",
                        email=f"p{n}@example.com",
                        phone=f"+8210{n:08d}",
                        birth_date=date(1990, 1, 1),
                        region="서울",
                        organization="=주식회사 턴아웃" if n % 50 == 0 else "주식회사 턴아웃",
                        custom_fields={"team": f"팀{n % 20}", "shirt": "M"},
                    ),
                    token=None,
                    source=Source.IMPORT,
                    import_id=None,
                    now=now,
                )
                if n % 3 == 0:
                    record |= {
                        "check_in_status": "inside",
                        "first_checked_in_at": now + timedelta(minutes=n % 600),
                        "last_scan_at": now + timedelta(minutes=n % 600 + 5),
                    }
                if n % 10 == 0:
                    record["status"] = "cancelled"
                records.append(record)
            uow.participants.insert_many(records)
            uow.consent.record_many(
                [
                    ConsentRecord(
                        participant_id=pid,
                        event_id=event.id,
                        notice_version=1,
                        notice_hash="0" * 64,
                        required=True,
                        optional=True,
                        marketing=n % 2 == 0,
                        channel=Channel.IMPORT,
                        basis=Basis.COLLECTED_ELSEWHERE,
                        given_at=now,
                    )
                    for n, pid in enumerate(batch, start)
                ]
            )
        uow.commit()
    return event.id


def best(runs: int, step: Callable[[], tuple[int, int]]) -> tuple[float, float, int, int, float]:
    """(seconds, CPU seconds of this process, rows, bytes, peak memory growth MB) of the fastest
    of ``runs``. The CPU time counts the server's thread too (it runs in this process); on a busy
    machine it says what the wall time would be on an idle core."""
    found: list[tuple[float, float, int, int, float]] = []
    for _ in range(runs):
        with PeakMemory() as memory:
            started, cpu = time.perf_counter(), time.process_time()
            rows, size = step()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        found.append((seconds, cpu, rows, size, memory.growth_mb))
    return min(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a scratch database is made on it")
    parser.add_argument("--only", choices=("service", "http"), help="measure one way only")
    args = parser.parse_args()

    import httpx
    import sqlalchemy as sa

    from turnout.adapters import participant_export
    from turnout.adapters.db.engine import make_engine
    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.config import Settings
    from turnout.domain.access import Role
    from turnout.entrypoints.api.app import create_app
    from turnout.services.keys import create_key
    from turnout.services.participants import participants_to_export

    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    scratch: str | None = None
    if args.postgres:
        scratch = f"bench_export_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = sa.engine.make_url(args.postgres).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{work / 'bench.sqlite3'}"
    upgrade(url)
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, var_dir=work / "var", secret_key="bench", broker_url="", _env_file=None
    )
    turnout = bootstrap(settings)
    try:
        started = time.perf_counter()
        event_id = seed(turnout, args.rows)
        seeded = time.perf_counter() - started
        print(f"database: {turnout.engine.dialect.name}, rows: {args.rows:,} (seeded in {seeded:.1f} s)")
        with turnout.uow() as uow:
            key = create_key(uow, actor="bench", name="bench", role=Role.ADMIN).key
            uow.commit()

        def service(export_format: str) -> Callable[[], tuple[int, int]]:
            def step() -> tuple[int, int]:
                tally = participant_export.Tally()
                made = participants_to_export(turnout.uow, event_id=event_id)
                size = sum(
                    len(piece) for piece in participant_export.chunks(made, export_format, "ko", tally)
                )
                return tally.rows, size

            return step

        first_byte: dict[str, list[float]] = {}

        def http(port: int, export_format: str) -> Callable[[], tuple[int, int]]:
            def step() -> tuple[int, int]:
                size = 0
                started = time.perf_counter()
                with (
                    httpx.Client(timeout=120) as client,
                    client.stream(
                        "GET",
                        f"http://127.0.0.1:{port}/api/v1/events/{event_id}/participants/export",
                        params={"format": export_format, "lang": "ko"},
                        headers={"Authorization": f"Bearer {key}"},
                    ) as response,
                ):
                    response.raise_for_status()
                    for piece in response.iter_bytes():
                        if not size:
                            first_byte.setdefault(export_format, []).append(time.perf_counter() - started)
                        size += len(piece)
                return args.rows, size

            return step

        def show(
            way: str, export_format: str, figures: tuple[float, float, int, int, float], extra: str = ""
        ) -> None:
            seconds, cpu, rows, size, growth = figures
            print(
                f"{way:8} {export_format:5} {seconds:6.2f} s ({cpu:5.2f} s CPU) "
                f"{rows / seconds:8,.0f} rows/s {size / 1e6:5.1f} MB  peak memory +{growth:5.1f} MB{extra}"
            )

        if args.only in (None, "service"):
            for export_format in ("csv", "xlsx"):
                show("service", export_format, best(args.runs, service(export_format)))
        if args.only in (None, "http"):
            app = create_app(turnout)
            with serving(app) as port:
                for export_format in ("csv", "xlsx"):
                    figures = best(args.runs, http(port, export_format))
                    show(
                        "http", export_format, figures, f"  first byte {min(first_byte[export_format]):.2f} s"
                    )
    finally:
        turnout.close()
        if scratch is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
