"""Import speed: 100,000 realistic Korean rows end to end (read, validate, dedup, save, messages queued).

    .venv/bin/python bench/bench_import.py [--rows 100000] [--postgres URL] [--xlsx]

Prints rows/s, wall time, peak RSS (this process, and each import worker process) and CPU time
(this process, and the worker processes together).
Targets: <= 5 s on SQLite, <= 10 s on PostgreSQL, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.migrate import upgrade
from turnout.bootstrap import bootstrap
from turnout.config import Settings
from turnout.services import events as event_service

HEADER = [
    "이름",
    "이메일",
    "휴대폰",
    "생년월일",
    "지역",
    "소속",
    "성별",
    "티셔츠 사이즈",
    "개인정보 동의",
    "선택 동의",
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Faker ko_KR names/companies/cities; unique emails; a few bad rows and in-file duplicates."""
    from faker import Faker

    fake = Faker("ko_KR")
    Faker.seed(seed)
    rng = random.Random(seed)
    names = [fake.name() for _ in range(2000)]
    companies = [fake.company() for _ in range(500)]
    cities = [fake.city() for _ in range(200)]
    domains = ["naver.com", "gmail.com", "daum.net", "kakao.com", "hanmail.net", "example.co.kr"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            email = f"user{i}.{rng.randrange(10**6)}@{rng.choice(domains)}"
            phone = f"010-{rng.randrange(1000, 10000)}-{rng.randrange(10000):04d}"
            birth = f"{rng.randrange(1960, 2008)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            if i % 500 == 1:
                email = "broken-email"
            writer.writerow(
                [
                    rng.choice(names),
                    email.upper() if i % 7 == 0 else email,
                    phone,
                    birth,
                    rng.choice(cities),
                    rng.choice(companies),
                    rng.choice(["남", "여", ""]),
                    rng.choice(["S", "M", "L", "XL"]),
                    "동의",  # the required consent (a file carries it, or the upload confirms it)
                    "동의" if i % 10 else "미동의",  # one in ten keeps only the required items
                ]
            )


class ChildPeaks:
    """Peak RSS (``VmHWM``) of this process's child processes, polled every 50 ms while running.

    ``RUSAGE_CHILDREN`` is no use here: a child's figure includes this process's RSS at the moment
    it was forked, before the child ran its own program."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            for task in Path("/proc/self/task").glob("*/children"):
                for pid in task.read_text().split():
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            peak = int(line.split()[1])
                            self.peaks[int(pid)] = max(self.peaks.get(int(pid), 0), peak)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def fresh_postgres(server_url: str) -> str:
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"turnout_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(server_url: str, url: str) -> None:
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1)
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--xlsx", action="store_true", help="import an .xlsx of the same rows instead")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    # the file's layout is this script's: a name of its own, so an older checkout's file is not reused
    data = Path(tempfile.gettempdir()) / f"turnout-bench-consent-{args.rows}.csv"
    if not data.exists():
        started = time.perf_counter()
        generate(data, args.rows)
        print(f"generated {args.rows} rows in {time.perf_counter() - started:.1f} s -> {data}")
    if args.xlsx:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        with data.open(encoding="utf-8") as handle:
            for row in csv.reader(handle):
                sheet.append(row)
        xlsx = work / "people.xlsx"
        book.save(xlsx)
        data = xlsx

    url = fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{work}/bench.sqlite3"
    try:
        upgrade(url)
        settings = Settings(database_url=url, var_dir=work / "var", secret_key="bench", _env_file=None)  # type: ignore[call-arg]
        turnout = bootstrap(settings)
        with turnout.uow() as uow:
            event = event_service.create_event(
                uow,
                actor="bench",
                name="벤치마크",
                starts_at=datetime.fromisoformat("2026-06-01T09:00:00+09:00"),
                ends_at=datetime.fromisoformat("2026-06-01T18:00:00+09:00"),
            )
            uow.commit()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        watcher = ChildPeaks()
        started = time.perf_counter()
        try:
            job = turnout.importer.import_file(
                event_id=event.id, path=str(data.resolve()), filename=data.name, actor="bench"
            )
        finally:
            elapsed = time.perf_counter() - started
            watcher.stop()
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        helper_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        turnout.close()
    finally:
        if args.postgres:
            drop_postgres(args.postgres, url)
    if job.error_code is not None or job.total == 0:
        print(f"the import was refused: {job.error_code} {job.error_params}", file=sys.stderr)
        return 1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = sorted(watcher.peaks.values(), reverse=True)
    engine = "postgresql" if args.postgres else "sqlite"
    print(f"engine            {engine} ({data.suffix[1:]})")
    print(f"rows              {job.total}  {job.summary()}")
    print(f"wall time         {elapsed:.2f} s")
    print(f"rows/s            {job.total / elapsed:,.0f}")
    shown = " + ".join(f"{kb / 1024:.0f}" for kb in workers) or "0"
    print(f"peak RSS          {own:.0f} MB (main)  {shown} MB (workers)")
    main_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    helper_seconds = helper_cpu.ru_utime + helper_cpu.ru_stime
    print(f"CPU time          {main_cpu:.2f} s (main)  {helper_seconds:.2f} s (workers)")
    print(f"load average      {os.getloadavg()[0]:.1f} (2 cores; other work on the machine slows wall time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
