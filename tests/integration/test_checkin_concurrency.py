"""Exactly once under real concurrency: two server processes, several threads each, every thread at its
own gate (one of them through the async path the HTTP route uses), all scanning the same ticket at the
same moment. 500 rounds on SQLite and 500 on PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.attendance_support import add_gate, add_participants, live_event
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings
from turnout.services.checkin import ScanInput

ROUNDS = 500
PROCESSES = 2
THREADS = 3


def scanner_process(
    database_url: str,
    var_dir: str,
    event_id: str,
    gate_ids: list[str],
    tokens: list[str],
    barrier: Any,
    results: Any,
) -> None:
    """One 'server process': a Turnout of its own, one thread per gate, all meeting at the barrier."""
    settings = Settings(
        database_url=database_url, var_dir=Path(var_dir), secret_key="test-secret-key", _env_file=None
    )
    turnout = bootstrap(settings)
    checkin = turnout.checkin
    found: list[tuple[int, str, str | None]] = []
    lock = threading.Lock()

    def run(gate_id: str, use_async: bool) -> None:
        # one thread per process goes through the async path the HTTP route uses
        loop = asyncio.new_event_loop() if use_async else None
        for round_no, token in enumerate(tokens):
            scan = ScanInput(gate_id=gate_id, token=token)
            barrier.wait()
            if loop is not None:
                answer = loop.run_until_complete(checkin.scan_async(event_id=event_id, scan=scan))
            else:
                answer = checkin.scan(event_id=event_id, scan=scan)
            with lock:
                found.append((round_no, answer.result.value, answer.code))
        if loop is not None:
            loop.close()

    threads = [threading.Thread(target=run, args=(gate_id, i == 0)) for i, gate_id in enumerate(gate_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turnout.close()
    results.put(found)


def test_exactly_one_admission_per_ticket_when_scanned_everywhere_at_once(
    turnout: Turnout, settings: Settings
) -> None:
    event_id = live_event(turnout)
    gates = [add_gate(turnout, event_id, name=f"gate {i}") for i in range(PROCESSES * THREADS)]
    tokens = [token for _, token in add_participants(turnout, event_id, ROUNDS)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES * THREADS, timeout=60)
    results = context.Queue()
    workers = [
        context.Process(
            target=scanner_process,
            args=(
                settings.database_url,
                str(settings.var_dir),
                event_id,
                gates[i * THREADS : (i + 1) * THREADS],
                tokens,
                barrier,
                results,
            ),
        )
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    answers = [item for _ in workers for item in results.get(timeout=240)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    by_round: dict[int, Counter[tuple[str, str | None]]] = {}
    for round_no, result, code in answers:
        by_round.setdefault(round_no, Counter())[(result, code)] += 1
    assert len(by_round) == ROUNDS
    expected = Counter({("admitted", None): 1, ("denied", "already_admitted"): PROCESSES * THREADS - 1})
    wrong = {r: c for r, c in by_round.items() if c != expected}
    assert wrong == {}
    with turnout.uow(readonly=True) as uow:
        admitted = uow.conn.execute(
            sa.select(sa.func.count()).select_from(scans).where(scans.c.result == "admitted")
        ).scalar_one()
        inside = uow.conn.execute(
            sa.select(sa.func.count())
            .select_from(t.participants)
            .where(t.participants.c.check_in_status == "inside")
        ).scalar_one()
        recorded = uow.conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.type == "attendance.recorded")
        ).scalar_one()
    assert admitted == inside == recorded == ROUNDS
