"""Reliability: SIGKILL the worker while it drains 10,000 messages, start it again, and check that
every message reached every handler with its effect made exactly once, and that Kafka got them all
(duplicates on the topic are allowed: a batch acknowledged by the brokers but not yet recorded as
published is published again after the crash; consumers drop them by message id)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.kafka_support import MockCluster, kafka_cluster, read_topics  # noqa: F401
from tests.messaging_support import effects, emit
from turnout.adapters.db.tables_messaging import relay_cursors
from turnout.adapters.outbox import STREAM
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 10_000
HANDLERS = ("probe-a", "probe-b")
TOPIC = "turnout.probe.happened.v1"

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "turnout.entrypoints.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def published(turnout: Turnout) -> int:
    with turnout.engine.connect().execution_options(turnout_readonly=True) as conn:
        value = conn.scalar(sa.select(relay_cursors.c.position).where(relay_cursors.c.consumer == STREAM))
    return int(value or 0)


def handled(turnout: Turnout) -> int:
    """The slowest probe handler's cursor (a cheap progress reading)."""
    with turnout.engine.connect().execution_options(turnout_readonly=True) as conn:
        value = conn.scalar(
            sa.select(sa.func.min(relay_cursors.c.position)).where(relay_cursors.c.consumer.in_(HANDLERS))
        )
    return int(value or 0)


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, worker: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            assert worker.stderr is not None  # start_worker pipes it
            raise AssertionError(
                f"worker exited ({worker.returncode}): {worker.stderr.read().decode()[-2000:]}"
            )
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_message_handled_exactly_once_when_worker_is_killed_mid_drain(
    database_url: str,
    tmp_path: Path,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    kafka_cluster.create_topic(TOPIC)
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="crash-test",
        broker_url=kafka_cluster.url,
        extra_handlers="tests.messaging_support:subscribe_probe_effects",
        _env_file=None,
    )
    turnout = bootstrap(settings)
    ids: list[str] = []
    for _ in range(10):
        ids += emit(turnout, MESSAGES // 10, event_id=f"e{len(ids) % 7}")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TURNOUT_DATABASE_URL": database_url,
        "TURNOUT_BROKER_URL": kafka_cluster.url,
        "TURNOUT_SECRET_KEY": "crash-test",
        "TURNOUT_VAR_DIR": str(tmp_path / "var"),
        "TURNOUT_EXTRA_HANDLERS": "tests.messaging_support:subscribe_slow_probe_effects",
        "TURNOUT_RELAY_BATCH_SIZE": "100",
        "TURNOUT_RELAY_LEASE_SECONDS": "2",
    }

    worker = start_worker(env)
    try:
        wait_for(lambda: handled(turnout) >= 500, 60, "the first deliveries", worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    after_kill = effects(turnout)
    assert len(after_kill) < MESSAGES * len(HANDLERS), "the worker finished before it was killed"
    assert max(after_kill.values()) == 1

    worker = start_worker(env)
    try:
        wait_for(
            lambda: handled(turnout) >= MESSAGES and published(turnout) >= MESSAGES,
            60,
            "the rest",
            worker,
        )
        time.sleep(0.5)  # anything extra would show now
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    got = effects(turnout)
    assert got == {(i, h): 1 for i in ids for h in HANDLERS}
    records = read_topics(
        kafka_cluster.bootstrap_servers, [TOPIC], expect=MESSAGES, timeout=10, distinct=True
    )
    seen = {json.loads(r.value())["id"] for r in records}
    assert seen == set(ids)
    turnout.close()
