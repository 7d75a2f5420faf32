"""Ticket-transfer sagas: how many complete per second against a local receiver (issue 15: at least
200/s on PostgreSQL).

``--transfers`` participants (each with a gate-management and an attendee-app integration pointing
at a local receiver: uvicorn, its own process, verifying every signature) are transferred: each
transfer is started as the API starts it (``services.transfer.transfer_ticket``, one transaction,
``--starters`` threads in this process), while ``turnout worker`` (its own process, every loop:
deliveries, sagas, the outbox relay with the new holders' ticket emails and the feeds) takes them
to the end. The figure is completed sagas over the time from the first start to the last saga
completed.

    .venv/bin/python bench/bench_sagas.py [--transfers 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--starters", type=int, default=4, help="threads starting transfers (API requests)")
    parser.add_argument(
        "--workers", type=int, default=1, help="`turnout worker` processes (they share the work by leases)"
    )
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a database is created)")
    args = parser.parse_args()

    from turnout.domain.integrations import IntegrationSystem
    from turnout.domain.sagas import SagaKind
    from turnout.services.transfer import transfer_ticket

    systems = [IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP]
    with bench_world(args, systems) as (turnout, event, port, ceiling):
        add_participants(turnout, event.id, args.transfers)
        with turnout.uow(readonly=True) as uow:
            people = list(
                uow.conn.execute(
                    sa.text("select id from participants where event_id = :e"), {"e": event.id}
                ).scalars()
            )
        definition, policy = turnout.sagas[SagaKind.TRANSFER], turnout.saga_policy()

        def start(n_pid: tuple[int, str]) -> None:
            n, pid = n_pid
            with turnout.uow() as uow:
                transfer_ticket(
                    uow,
                    definition=definition,
                    policy=policy,
                    participant_id=pid,
                    data={"name": f"양수인{n}", "email": f"new{n}@example.com"},
                    actor="bench",
                )
                uow.commit()

        before = receiver_counts(port)
        workers = [
            subprocess.Popen(
                [str(Path(sys.executable).parent / "turnout"), "worker"],
                env=dict(os.environ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(args.workers)
        ]
        time.sleep(2.0)  # their start-up (imports, first polls) is not the sagas' time
        started = time.perf_counter()
        with ThreadPoolExecutor(args.starters) as pool:
            list(pool.map(start, enumerate(people)))
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


def saga_states(turnout: Any) -> dict[str, int]:
    with turnout.uow(readonly=True) as uow:
        return {
            state: int(n)
            for state, n in uow.conn.execute(sa.text("select state, count(*) from sagas group by state"))
        }


if __name__ == "__main__":
    main()
