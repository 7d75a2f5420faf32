"""``/metrics`` under ``turnout serve --workers 2`` with its background worker: one view of the deployment.

Real processes: two uvicorn workers answer the API and ``turnout worker`` runs the outbox relay; each counts
into its own files under the metrics directory, and whichever API worker answers ``/metrics`` adds them up.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import EVENT_BODY

TURNOUT = [sys.executable, "-m", "turnout.entrypoints.cli"]
STALE = "counter_4194303.db"  # a file left by an earlier deployment (pid above any live one here)


@dataclass
class Deployment:
    proc: subprocess.Popen[bytes]
    base: str
    key: str
    metrics_dir: Path
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = {int(k) for k in children.read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def samples(body: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == name
    ]


def value(body: str, name: str, **labels: str) -> float:
    return sum(v for found, v in samples(body, name) if labels.items() <= found.items())


def wait_for(condition: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {condition}")


@pytest.fixture(params=[2])
def deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """``turnout serve --workers N`` (N from ``params``, 2 unless a test says otherwise) with its
    background worker, on a fresh SQLite database, answering; its first admin key read from its output."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "TURNOUT_DATABASE_URL": f"sqlite:///{tmp_path}/var/t.sqlite3",
        "TURNOUT_RELAY_POLL_INTERVAL": "0.05",
        "LANG": "C.UTF-8",
    }
    env.pop("TURNOUT_METRICS_DIR", None)
    upgrade = subprocess.run(
        [*TURNOUT, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert upgrade.returncode == 0, upgrade.stderr
    metrics_dir = tmp_path / "var" / "metrics"  # the default: <var_dir>/metrics
    metrics_dir.mkdir(parents=True)
    (metrics_dir / STALE).write_bytes(b"\0" * 64)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*TURNOUT, "serve", "--port", str(port), "--workers", str(request.param), "--json"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        key: list[str] = []

        def started() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited: {log.read_text()}")
            if not key:
                found = re.search(r"(trn_[0-9a-f]+_[A-Za-z0-9_-]+)", log.read_text())
                if not found:
                    return False
                key.append(found.group(1))
            try:
                return httpx.get(f"{base}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for("serve to answer", started)
        yield Deployment(proc, base, key[0], metrics_dir, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            for pid in descendants(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_metrics_add_up_every_process_when_served_by_two_workers_and_a_background_worker(
    deployment: Deployment,
) -> None:
    d = deployment
    # The directory was emptied for the new deployment.
    assert not (d.metrics_dir / STALE).exists()
    children = descendants(d.proc.pid)
    assert len(children) >= 3, "expected two uvicorn workers and the background worker"

    # Status changes write event.status.changed facts to the outbox; the worker's relay handles them.
    with httpx.Client(base_url=d.base, headers=d.headers) as api:
        created = api.post("/api/v1/events", json=EVENT_BODY)
        assert created.status_code == 201, created.text
        url = f"/api/v1/events/{created.json()['id']}/status"
        for status in ("open", "live"):
            assert api.post(url, json={"status": status}).status_code == 200

    def scrape() -> str:
        response = httpx.get(f"{d.base}/metrics", timeout=5)
        assert response.status_code == 200
        return response.text

    handlers = ("messaging.audit_status_change", "messaging.invalidate_event_caches")
    wait_for(
        "the worker to deliver the status changes",
        lambda: (
            all(value(scrape(), "turnout_bus_handled_total", consumer=h) >= 2 for h in handlers)
            and value(scrape(), "turnout_outbox_lag_messages") == 0
        ),
    )

    # Requests on fresh connections, in parallel, until both API workers have answered some (each
    # process's own file tells how many it counted).
    sent = 0

    def get_events(_: int) -> int:
        return httpx.get(f"{d.base}/api/v1/events", headers=d.headers, timeout=10).status_code

    def counted_per_process() -> dict[str, float]:
        counts: dict[str, float] = {}
        for file in d.metrics_dir.glob("counter_*.db"):
            alone = d.metrics_dir.parent / f"one-{file.stem}"
            alone.mkdir(exist_ok=True)
            shutil.copy(file, alone / file.name)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]  # no annotations upstream
            n = sum(
                s.value
                for family in registry.collect()
                for s in family.samples
                if s.name == "turnout_http_requests_total"
                and s.labels.get("route") == "/api/v1/events"
                and s.labels.get("method") == "GET"
            )
            shutil.rmtree(alone)
            if n:
                counts[file.stem] = n
        return counts

    with ThreadPoolExecutor(8) as pool:
        while sent < 800 and (sent == 0 or len(counted_per_process()) < 2):
            assert set(pool.map(get_events, range(40))) == {200}
            sent += 40
    per_process = counted_per_process()
    assert len(per_process) >= 2, f"one API worker answered all {sent} requests: {per_process}"
    assert sum(per_process.values()) == sent

    # Whichever worker answers the scrape, it shows the whole deployment.
    for _ in range(8):
        body = scrape()
        assert value(body, "turnout_http_requests_total", method="GET", route="/api/v1/events") == sent
        assert value(body, "turnout_http_requests_total", method="POST", route="/api/v1/events") == 1
        for handler in handlers:
            # Counted by the background worker, which has no HTTP endpoint of its own.
            assert value(body, "turnout_messages_delivered_total", handler=handler) == 2
        assert value(body, "turnout_outbox_lag_messages") == 0
        assert len(samples(body, "turnout_outbox_lag_messages")) == 1

    # SIGTERM stops serve and every process it started; the counter files of the stopped processes go.
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=30) == 0, d.log.read_text()
    wait_for("the children to exit", lambda: not any(running(pid) for pid in children), timeout=15)
    assert list(d.metrics_dir.glob("*.db")) == []


@pytest.mark.parametrize("deployment", [1], indirect=True)
def test_metrics_show_the_background_workers_counts_when_served_by_one_process(
    deployment: Deployment,
) -> None:
    d = deployment
    children = descendants(d.proc.pid)
    assert children, "expected the background worker"
    with httpx.Client(base_url=d.base, headers=d.headers) as api:
        created = api.post("/api/v1/events", json=EVENT_BODY)
        assert created.status_code == 201, created.text
        assert api.post(f"/api/v1/events/{created.json()['id']}/status", json={"status": "open"}).is_success

    def delivered() -> float:
        body = httpx.get(f"{d.base}/metrics", timeout=5).text
        return value(body, "turnout_messages_delivered_total", handler="messaging.audit_status_change")

    wait_for("the worker's delivery to show on /metrics", lambda: delivered() == 1)
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=30) == 0, d.log.read_text()
    wait_for("the background worker to exit", lambda: not any(running(pid) for pid in children), timeout=15)
    assert list(d.metrics_dir.glob("*.db")) == []
