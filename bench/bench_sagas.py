"""Ticket-transfer sagas: how many complete per second against a local receiver (issue 15: at least
200/s on PostgreSQL).

``--transfers`` participants (each with a gate-management and an attendee-app integration pointing
at a local receiver: uvicorn, its own process, verifying every signature) are transferred: each
transfer is started as the API starts it (``services.transfer.transfer_ticket``, one transaction;
``--processes`` processes as ``serve --workers 2`` has, ``--starters`` threads in each), while
``turnout worker`` (its own process, every loop: deliveries, sagas, the outbox relay with the new
holders' ticket emails and the feeds; ``--split``: the sagas loop in a process of its own, the
rest in another) takes them to the end. The figure is completed sagas over the time from the first
start to the last saga completed.

    .venv/bin/python bench/bench_sagas.py [--transfers 2000] [--postgres URL] [--workers N] [--split]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench_deliveries import add_participants, bench_world, receiver_counts
from ceiling import scaled


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument(
        "--processes", type=int, default=2, help="processes starting transfers (as `serve --workers 2`)"
    )
    parser.add_argument("--starters", type=int, default=2, help="threads starting transfers in each")
    parser.add_argument(
        "--workers", type=int, default=1, help="`turnout worker` processes (they share the work by leases)"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="each worker as two processes: `--only sagas` and `--skip sagas`",
    )
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a database is created)")
    args = parser.parse_args()

    from turnout.domain.integrations import IntegrationSystem

    systems = [IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP]
    with bench_world(args, systems) as (turnout, event, port, ceiling):
        add_participants(turnout, event.id, args.transfers)
        with turnout.uow(readonly=True) as uow:
            people = list(
                uow.conn.execute(
                    sa.text("select id from participants where event_id = :e"), {"e": event.id}
                ).scalars()
            )

        before = receiver_counts(port)
        roles = [["--only", "sagas"], ["--skip", "sagas"]] if args.split else [[]]
        workers = [
            subprocess.Popen(
                [str(Path(sys.executable).parent / "turnout"), "worker", *role],
                env=dict(os.environ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(args.workers)
            for role in roles
        ]
        time.sleep(2.0)  # their start-up (imports, first polls) is not the sagas' time
        numbered = list(enumerate(people))
        shares = [numbered[i :: args.processes] for i in range(args.processes)]
        ready = multiprocessing.get_context("spawn").Barrier(args.processes + 1)
        starters = [
            multiprocessing.get_context("spawn").Process(
                target=start_transfers, args=(share, args.starters, ready)
            )
            for share in shares
        ]
        for starter in starters:
            starter.start()
        ready.wait()  # each has wired its Turnout (as a server process has before its first request)
        started = time.perf_counter()
        for starter in starters:
            starter.join()
        all_started = time.perf_counter() - started
        try:
            while True:
                counts = saga_states(turnout)
                if counts.get("running", 0) + counts.get("compensating", 0) == 0:
                    break
                if time.perf_counter() - started > 600:
                    print("gave up after 600 s", counts, file=sys.stderr)
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        after = receiver_counts(port)
        completed = counts.get("completed", 0)
        rate = completed / elapsed
        got = after["distinct"] - before["distinct"]
        print(
            f"{'transfer sagas completed':<28} {rate:>9,.0f}/s  ({completed:,} of {args.transfers:,} "
            f"in {elapsed:.2f} s; all started in {all_started:.2f} s; states {counts}; receiver got "
            f"{got:,} deliveries, {after['bad_signatures']} bad signatures)"
        )
        target = scaled(200, ceiling)
        verdict = "met" if rate >= target else "NOT met"
        print(f"target >= 200 sagas/s ({target:,.0f}/s at this ceiling): {verdict}")


def start_transfers(numbered: list[tuple[int, str]], threads: int, ready: Any) -> None:
    """One API process's share: each transfer as ``POST /participants/{id}/transfer`` starts it
    (``services.transfer.transfer_ticket``, one transaction), ``threads`` at a time."""
    from turnout.bootstrap import bootstrap
    from turnout.domain.sagas import SagaKind
    from turnout.services.transfer import transfer_ticket

    turnout = bootstrap()
    definition, policy = turnout.sagas[SagaKind.TRANSFER], turnout.saga_policy()

    def start(n_pid: tuple[int, str]) -> None:
        n, pid = n_pid
        with turnout.uow() as uow:
            transfer_ticket(
                uow,
                definition=definition,
                policy=policy,
                participant_id=pid,
                data={"name": f"양수인{n}", "email": f"new{n}@example.com", "consents": {"required": True}},
                actor="bench",
            )
            uow.commit()

    ready.wait()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(start, numbered))
    turnout.close()


def saga_states(turnout: Any) -> dict[str, int]:
    with turnout.uow(readonly=True) as uow:
        return {
            state: int(n)
            for state, n in uow.conn.execute(sa.text("select state, count(*) from sagas group by state"))
        }


if __name__ == "__main__":
    main()
