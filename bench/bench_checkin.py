"""Check-in throughput against the real HTTP server.

Starts ``turnout serve --workers 2 --no-background`` on a temporary SQLite database (``--postgres
URL``: a new database on that server), registers
participants with real ticket tokens, then drives it with CONCURRENCY keep-alive connections, one
request in flight per connection. The load generator is ``wrk`` when ``/usr/bin/wrk`` is installed
(C, two threads; a Lua script generated into the temp dir walks a file of request bodies and prints
latency percentiles from its ``done()`` hook), else a small asyncio HTTP/1.1 client in this process
(which competes with the server for CPU: its figures are lower). The output says which was used.

1. ceiling: ``GET /health`` (a trivial JSON endpoint: no database, no thread hop), same client;
2. scans: ``POST /api/v1/events/{id}/attendance`` with a gate key, each ticket once (admitted:
   each scan is a write transaction with its scan record, participant update and outbox fact;
   with wrk the run lasts ``--duration`` seconds and would wrap round to denied repeats if the
   tickets ran out: the line says how many requests were made);
3. bulk: ``POST /api/v1/events/{id}/attendance/bulk`` with 10,000 records (5,000 tickets, entry
   and exit each), ``--bulk-runs`` times (3) on fresh tickets; each upload is printed, and the
   median is what the target is judged on (one upload lasts under half a second, and single runs
   on this 2-core VM vary by +-15%).

Targets (issue 6): >= 2,000 scans/s at concurrency 32 with p99 <= 50 ms; bulk >= 20,000 records/s.

``--background`` serves with the background workers (outbox relay, deliveries, ...) running beside
the API, as in production. ``--integrations`` (issue 14) also enables the gate-management,
attendee-app and analytics-platform integrations against a local receiver (``bench/receiver.py``,
its own process): every scan then becomes a signed delivery to the attendee app while the scans
run. Compare ``--background`` with ``--integrations`` (target: scans within 10 %); at the end the
deliveries the receiver got and the ones still pending are printed.

    .venv/bin/python bench/bench_checkin.py [--scans 40000] [--concurrency 32] [--client wrk|python]
                                            [--background | --integrations] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench_deliveries import SECRET as RECEIVER_SECRET
from bench_deliveries import database, receiver_counts, start_receiver

ROOT = Path(__file__).resolve().parent.parent
WRK = "/usr/bin/wrk"

WRK_SCRIPT = r"""
local bodies_file, method, path, auth = "%(bodies)s", "%(method)s", "%(path)s", "%(auth)s"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = %(threads)d
  bodies = {}
  if bodies_file ~= "" then
    local i = 0
    for line in io.lines(bodies_file) do
      if i %% nthreads == id then table.insert(bodies, line) end
      i = i + 1
    end
  end
  headers = {["Content-Type"] = "application/json"}
  if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
  pos = 0
end

function request()
  local body = nil
  if #bodies > 0 then
    pos = pos + 1
    if pos > #bodies then pos = 1 end
    body = bodies[pos]
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p95_us\": %%d, "
    .. "\"p99_us\": %%d, \"mean_us\": %%f, \"non_2xx\": %%d, \"errors\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, non2xx, errors))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(env: dict[str, str], participants: int) -> dict[str, object]:
    """Schema, a live event, one gate, a gate key and ``participants`` tickets (written directly)."""
    os.environ.update(env)
    from turnout.adapters.db import tables as t
    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.domain.access import Role
    from turnout.domain.events import EventStatus
    from turnout.domain.ids import new_id
    from turnout.services.events import change_status, create_event
    from turnout.services.gates import create_gate
    from turnout.services.keys import create_key

    upgrade(env["TURNOUT_DATABASE_URL"])
    turnout = bootstrap()
    starts = datetime.now(UTC) - timedelta(hours=1)
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="bench", name="bench", starts_at=starts, ends_at=starts + timedelta(hours=12)
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="bench")
        change_status(uow, event_id=event.id, status=EventStatus.LIVE, actor="bench")
        gate = create_gate(uow, actor="bench", event_id=event.id, name="main")
        gate_key = create_key(
            uow, actor="bench", name="gate", role=Role.GATE, event_id=event.id, gate_id=gate.id
        )
        admin_key = create_key(uow, actor="bench", name="admin", role=Role.ADMIN)
        uow.commit()
    tokens: list[str] = []
    now = datetime.now(UTC)
    for start in range(0, participants, 5000):
        ids = [new_id() for _ in range(min(5000, participants - start))]
        with turnout.uow() as uow:
            minted = turnout.tickets.mint_many(uow, event_id=event.id, items=[(pid, 1) for pid in ids])
            uow.conn.execute(
                t.participants.insert(),
                [
                    {
                        "id": pid,
                        "event_id": event.id,
                        "name": f"Bench {start + i}",
                        "email": f"{pid}@bench.example",
                        "custom_fields": {},
                        "status": "registered",
                        "check_in_status": "not_checked_in",
                        "token": token,
                        "source": "api",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, (pid, token) in enumerate(zip(ids, minted, strict=True))
                ],
            )
            uow.commit()
        tokens.extend(minted)
    turnout.close()
    return {
        "event_id": event.id,
        "gate_id": gate.id,
        "gate_key": gate_key.key,
        "admin_key": admin_key.key,
        "tokens": tokens,
    }


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            return status, data
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def drive(
    port: int, requests: list[tuple[str, str, dict[str, str], bytes]], concurrency: int
) -> dict[str, float]:
    connections = [await Connection.open(port) for _ in range(concurrency)]
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker(conn: Connection) -> None:
        while queue:
            method, path, headers, body = queue.pop()
            started = time.perf_counter()
            status, _ = await conn.request(method, path, headers, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - began
    for conn in connections:
        conn.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000,
        "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
    }


def drive_wrk(
    port: int,
    workdir: Path,
    *,
    method: str,
    path: str,
    bodies: list[bytes],
    auth: str,
    concurrency: int,
    duration: float,
    threads: int = 2,
) -> dict[str, float]:
    """``wrk -t{threads} -c{concurrency} -d{duration}s``: each wrk thread walks its share of ``bodies``."""
    bodies_file = workdir / f"bodies-{len(list(workdir.iterdir()))}.txt"
    if bodies:
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    script = workdir / "bench.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "bodies": str(bodies_file) if bodies else "",
            "method": method,
            "path": path,
            "auth": auth,
            "threads": threads,
        }
    )
    out = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    return {
        "requests": raw["requests"],
        "per_second": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "non_2xx": raw["non_2xx"] + raw["errors"],
    }


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def show(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label:<34} {figures['per_second']:>9,.0f}/s  p50 {figures['p50_ms']:6.1f} ms  "
        f"p95 {figures['p95_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
        f"({int(figures['requests'])} requests, {int(figures['non_2xx'])} non-2xx)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scans", type=int, default=40_000)
    parser.add_argument("--bulk", type=int, default=10_000, help="records in each bulk upload")
    parser.add_argument(
        "--bulk-runs", type=int, default=3, help="bulk uploads (fresh tickets each); the median is judged"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("wrk", "python"), default=None, help="load generator")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--background", action="store_true", help="run the background workers too")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument(
        "--integrations", action="store_true", help="--background, and three integrations to a local receiver"
    )
    parser.add_argument(
        "--no-catch-up",
        action="store_true",
        help="with --integrations: do not wait for the deliveries to catch up after the run",
    )
    args = parser.parse_args()
    background = args.background or args.integrations
    use_wrk = args.client == "wrk" or (args.client is None and os.path.exists(WRK))

    workdir = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    port = free_port()
    env = {
        "TURNOUT_DATABASE_URL": database(args, workdir),
        "TURNOUT_VAR_DIR": str(workdir / "var"),
        "TURNOUT_SECRET_KEY": "bench-secret-key",
        "TURNOUT_BROKER_URL": "",
    }
    bulk_tickets = args.bulk // 2
    t0 = time.perf_counter()
    world = prepare(env, args.scans + bulk_tickets * args.bulk_runs)
    print(
        f"prepared {args.scans + bulk_tickets * args.bulk_runs:,} tickets in {time.perf_counter() - t0:.1f} s"
    )
    receiver = None
    if args.integrations:
        receiver_port = free_port()
        receiver = start_receiver(receiver_port)
        add_integrations(env, str(world["event_id"]), receiver_port)
        print(
            f"integrations: gate-management, attendee-app, analytics-platform -> receiver on :{receiver_port}"
        )
    turnout_bin = str(Path(sys.executable).parent / "turnout")
    server = subprocess.Popen(
        [turnout_bin, "serve", "--port", str(port), "--workers", str(args.workers)]
        + ([] if background else ["--no-background"]),
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        time.sleep(1.0)
        if background:
            settle(env)
        event_id, gate_key = world["event_id"], world["gate_key"]
        tokens: list[str] = world["tokens"]  # type: ignore[assignment]
        scan_tokens, bulk_tokens = tokens[: args.scans], tokens[args.scans :]
        auth = {"Authorization": f"Bearer {gate_key}", "Content-Type": "application/json"}

        path = f"/api/v1/events/{event_id}/attendance"
        scan_bodies = [json.dumps({"token": tok}).encode() for tok in scan_tokens]
        if use_wrk:
            print(f"load generator: wrk ({WRK}, 2 threads, {args.duration:g} s per run)")

            def run(method: str, url: str, bodies: list[bytes], key: str) -> dict[str, float]:
                return drive_wrk(
                    port,
                    workdir,
                    method=method,
                    path=url,
                    bodies=bodies,
                    auth=key,
                    concurrency=args.concurrency,
                    duration=args.duration,
                )

            drive_wrk(  # warm-up: every worker process loads its code paths
                port, workdir, method="GET", path="/health", bodies=[], auth="", concurrency=8, duration=1
            )
            health = run("GET", "/health", [], "")
            scans = run("POST", path, scan_bodies, gate_key)
            repeat = run("POST", path, scan_bodies[: args.scans // 2], gate_key)
        else:
            print("load generator: python asyncio client (in this process; install wrk for truer figures)")
            asyncio.run(drive(port, [("GET", "/health", {}, b"")] * 500, args.concurrency))
            health = asyncio.run(drive(port, [("GET", "/health", {}, b"")] * args.scans, args.concurrency))
            scans = asyncio.run(drive(port, [("POST", path, auth, b) for b in scan_bodies], args.concurrency))
            again = [("POST", path, auth, b) for b in scan_bodies[: args.scans // 2]]
            repeat = asyncio.run(drive(port, again, args.concurrency))
        show("ceiling: GET /health", health)
        wrapped = scans["requests"] > len(scan_tokens)
        show(f"scans (c={args.concurrency}, {'tickets ran out' if wrapped else 'all admitted'})", scans)
        show(f"scans again (c={args.concurrency}, denied)", repeat)
        print(
            f"{'scans / ceiling':<34} {scans['per_second'] / health['per_second']:>9.0%}"
            f"  (denied: {repeat['per_second'] / health['per_second']:.0%})"
        )

        rates = []
        for upload in range(args.bulk_runs):
            run_tokens = bulk_tokens[upload * bulk_tickets : (upload + 1) * bulk_tickets]
            base = datetime.now(UTC) - timedelta(minutes=30)
            records = []
            for i, tok in enumerate(run_tokens):
                records.append(
                    {
                        "token": tok,
                        "direction": "out",
                        "timestamp": (base + timedelta(seconds=600 + i)).isoformat(),
                        "nonce": f"o{upload}-{i}",
                    }
                )
                records.append(
                    {
                        "token": tok,
                        "direction": "in",
                        "timestamp": (base + timedelta(seconds=i)).isoformat(),
                        "nonce": f"i{upload}-{i}",
                    }
                )
            body = json.dumps({"records": records}).encode()
            started = time.perf_counter()
            status, answer = asyncio.run(
                drive_one(port, f"/api/v1/events/{event_id}/attendance/bulk", auth, body)
            )
            elapsed = time.perf_counter() - started
            summary = json.loads(answer)
            rates.append(len(records) / elapsed)
            label = f"bulk upload {upload + 1} (entry + exit)"
            print(
                f"{label:<34} {len(records) / elapsed:>9,.0f} records/s  "
                f"({len(records):,} records in {elapsed * 1000:.0f} ms; "
                f"status {status}; "
                f"successful {summary.get('successful')}, failed {summary.get('failed')})"
            )
        print()
        ok_scans = scans["per_second"] >= 2000 and scans["p99_ms"] <= 50
        print(f"target scans >= 2,000/s with p99 <= 50 ms: {'met' if ok_scans else 'NOT met'}")
        if rates:
            bulk_rate = statistics.median(rates)
            print(f"{'bulk upload, median':<34} {bulk_rate:>9,.0f} records/s  ({len(rates)} uploads)")
            print(f"target bulk >= 20,000 records/s: {'met' if bulk_rate >= 20_000 else 'NOT met'}")
        if receiver is not None and not args.no_catch_up:
            report_deliveries(env, receiver_port)
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def add_integrations(env: dict[str, str], event_id: str, receiver_port: int) -> None:
    """The three integrations, enabled, to the local receiver (private addresses allowed)."""
    from turnout.bootstrap import bootstrap
    from turnout.domain.integrations import Integration, IntegrationSystem

    env["TURNOUT_ALLOW_PRIVATE_WEBHOOKS"] = "1"
    os.environ.update(env)
    turnout = bootstrap()
    now = datetime.now(UTC)
    with turnout.uow() as uow:
        for system in (
            IntegrationSystem.GATE_MANAGEMENT,
            IntegrationSystem.ATTENDEE_APP,
            IntegrationSystem.ANALYTICS_PLATFORM,
        ):
            url = f"http://127.0.0.1:{receiver_port}/{system.value}"
            sealed = turnout.sealer.seal(RECEIVER_SECRET)
            uow.integrations.put(Integration(event_id, system, url, sealed, True, None, now, now))
        uow.commit()
    turnout.close()


def settle(env: dict[str, str], timeout: float = 120) -> None:
    """Wait until the background workers have passed every outbox message (the registrations of
    ``prepare``), so that none of the runs competes with that start-up work."""
    from turnout.bootstrap import bootstrap

    os.environ.update(env)
    turnout = bootstrap()
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            with turnout.uow(readonly=True) as uow:
                unread = uow.conn.execute(
                    sa.text(
                        "select count(*) from outbox where seq > (select coalesce(min(position), 0)"
                        " from relay_cursors)"
                    )
                ).scalar_one()
            if not unread:
                break
            time.sleep(0.5)
    finally:
        turnout.close()
    print(f"background workers caught up with the start-up work in {time.monotonic() - started:.1f} s")
    time.sleep(1.0)


def report_deliveries(env: dict[str, str], receiver_port: int) -> None:
    from turnout.bootstrap import bootstrap

    os.environ.update(env)
    turnout = bootstrap()
    started = time.monotonic()
    deadline = started + 180
    while time.monotonic() < deadline:  # the deliveries the scans caused, sent after them
        with turnout.uow(readonly=True) as uow:
            pending = uow.conn.execute(
                sa.text("select count(*) from outbound_deliveries where status in ('pending', 'sending')")
            ).scalar_one()
            # the facts the feeds have not read yet (their deliveries are not queued yet)
            unread = uow.conn.execute(
                sa.text(
                    "select count(*) from outbox where seq > (select coalesce(min(position), 0)"
                    " from relay_cursors where consumer like 'feeds.%')"
                )
            ).scalar_one()
        if not pending and not unread:
            break
        time.sleep(0.5)
    with turnout.uow(readonly=True) as uow:
        rows = uow.conn.execute(
            sa.text("select system, status, count(*) from outbound_deliveries group by system, status")
        ).all()
    turnout.close()
    counts = receiver_counts(receiver_port)
    print(
        f"deliveries: {', '.join(f'{s} {st} {n:,}' for s, st, n in rows)} "
        f"({time.monotonic() - started:.1f} s after the last upload)"
    )
    print(
        f"receiver: {counts['distinct']:,} distinct deliveries, {counts['requests']:,} requests, "
        f"{counts['bad_signatures']} bad signatures"
    )


async def drive_one(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    conn = await Connection.open(port)
    try:
        return await conn.request("POST", path, headers, body)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
