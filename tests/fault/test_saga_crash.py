"""Transfer sagas survive a worker killed (SIGKILL) again and again at whatever it is doing, on SQLite
and PostgreSQL: every saga ends completed or fully undone, the gate system's list of valid tokens
equals Turnout's (no ticket valid twice, none lost), and nobody is emailed their new ticket twice.

The worker (``turnout worker``, its own process) is killed again and again while 24 transfers run
against a slow gate system that refuses three of them, each time a random moment after it made its
first move (so the kills follow the sagas through their steps on a fast or a slow machine); the
test records which step each running saga was at when a kill came, and checks that kills landed
mid-saga at more than one step (the gate system or the attendee app being told, or a
compensation)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.e2e.test_transfer_saga import connect
from turnout.adapters.db.tables_mail import email_jobs
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.sagas import SagaKind
from turnout.services.events import create_event
from turnout.services.transfer import transfer_ticket

ROOT = Path(__file__).resolve().parents[2]
TRANSFERS = 24
GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP

pytestmark = pytest.mark.slow


class GateSystem:
    """Keeps its list of valid tokens from what it is told; applies each webhook-id once (a
    repeat is acknowledged, not applied again); answers slowly, so kills land mid-request;
    refuses the transfers to 양수인3, 양수인13 and 양수인23 (422)."""

    def __init__(self, server: HTTPServer) -> None:
        self.valid: set[str] = set()
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        for system in (GATE, APP):
            server.expect_request(f"/{system.value}").respond_with_handler(self._handle)
        self.server = server

    def _handle(self, request: Request) -> Response:
        time.sleep(0.02)
        body = json.loads(request.get_data())
        data = body["data"]
        refused = data.get("accept", {}).get("name", "").endswith("3")  # 양수인3, 양수인13, 양수인23
        if body["type"] == "ticket.transferred" and refused:
            return Response('{"error": "not allowed"}', 422)
        with self.lock:
            if request.headers["webhook-id"] in self.seen:
                return Response("{}", 200)
            self.seen.add(request.headers["webhook-id"])
            if body["type"] == "ticket.transferred" and "accept" in data:
                self.valid.discard(data["drop"]["token"])
                self.valid.add(data["accept"]["token"])
            elif body["type"] == "ticket.transfer.reverted":
                self.valid.discard(data["drop"]["token"])
                self.valid.add(data["keep"]["token"])
        return Response("{}", 200)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "turnout.entrypoints.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def at_steps(turnout: Turnout) -> set[tuple[str, str]]:
    """(step, state) of each running saga's step that is not pending or done."""
    with turnout.uow(readonly=True) as uow:
        return {
            (step.name, step.state.value)
            for saga in uow.sagas.find(states=("running", "compensating"), limit=1000)
            for step in saga.steps
            if step.state.value in ("waiting", "undoing", "failed")
        }


def progress(turnout: Turnout) -> list[tuple[str, str]]:
    """Every step's (name, state), of every saga: it changes whenever a worker makes a move."""
    with turnout.uow(readonly=True) as uow:
        return sorted(
            (step.name, step.state.value) for saga in uow.sagas.find(limit=1000) for step in saga.steps
        )


def unfinished(turnout: Turnout) -> int:
    with turnout.uow(readonly=True) as uow:
        return len(uow.sagas.find(states=("running", "compensating"), limit=1000))


def test_transfers_end_completed_or_undone_when_the_worker_is_killed_again_and_again(
    database_url: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="saga-crash-test",
        broker_url="",
        allow_private_webhooks=True,
        _env_file=None,
    )
    turnout = bootstrap(settings)
    gate_system = GateSystem(httpserver)
    try:
        event_id, holders = setup(turnout, httpserver)
        with turnout.uow(readonly=True) as uow:
            gate_system.valid = {
                p.token for p in uow.participants.search(event_id=event_id, limit=100) if p.token
            }
        definition, policy = turnout.sagas[SagaKind.TRANSFER], turnout.saga_policy()
        for n, pid in enumerate(holders):
            with turnout.uow() as uow:
                transfer_ticket(
                    uow,
                    definition=definition,
                    policy=policy,
                    participant_id=pid,
                    data={
                        "name": f"양수인{n}",
                        "email": f"new{n}@example.com",
                        "consents": {"required": True},
                    },
                    actor="test",
                )
                uow.commit()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TURNOUT_DATABASE_URL": database_url,
            "TURNOUT_SECRET_KEY": "saga-crash-test",
            "TURNOUT_VAR_DIR": str(tmp_path / "var"),
            "TURNOUT_BROKER_URL": "",
            "TURNOUT_ALLOW_PRIVATE_WEBHOOKS": "1",
            "TURNOUT_DELIVERY_LEASE_SECONDS": "1",
            "TURNOUT_SAGA_LEASE_SECONDS": "1",
            "TURNOUT_DELIVERY_BACKOFF_SECONDS": "0.2",
            "TURNOUT_DELIVERY_CONCURRENCY": "4",
        }
        rng = random.Random(15)
        seen_at_kill: set[tuple[str, str]] = set()
        kills = 0
        while unfinished(turnout) and kills < 40:
            worker = start_worker(env)
            # each worker is let make some progress (whatever its start-up takes on this machine),
            # then killed a random moment later: the kills follow the sagas through their steps
            before, deadline = progress(turnout), time.monotonic() + 20
            while progress(turnout) == before and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
            seen_at_kill |= at_steps(turnout)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
        worker = start_worker(env)
        try:
            deadline = time.monotonic() + 90
            while unfinished(turnout) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # let the last outcomes settle (email jobs, feeds)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()

        with turnout.uow(readonly=True) as uow:
            sagas = uow.sagas.find(event_id=event_id, limit=1000)
            valid_in_turnout = {
                p.token
                for p in uow.participants.search(event_id=event_id, limit=100)
                if p.status.value == "registered"
            }
            emails = list(
                uow.conn.execute(
                    sa.select(email_jobs.c.participant_id, email_jobs.c.kind, sa.func.count())
                    .where(email_jobs.c.event_id == event_id)
                    .group_by(email_jobs.c.participant_id, email_jobs.c.kind)
                )
            )
        states = {s.state.value for s in sagas}
        assert kills >= 3, "the sagas finished before the worker was killed a few times"
        assert states <= {"completed", "compensated"}, [(s.id, s.state, s.steps) for s in sagas]
        completed = [s for s in sagas if s.state.value == "completed"]
        compensated = [s for s in sagas if s.state.value == "compensated"]
        assert len(compensated) == sum(1 for n in range(TRANSFERS) if str(n).endswith("3"))
        assert len(completed) == TRANSFERS - len(compensated)
        assert gate_system.valid == valid_in_turnout  # no ticket valid twice, none lost
        assert all(n == 1 for _pid, _kind, n in emails), emails  # nobody emailed anything twice
        notices = {pid for pid, kind, _n in emails if kind == "transferred"}
        assert notices == {s.data["participant_id"] for s in completed}  # each old holder, once
        # kills landed mid-saga, at more than one step (which ones varies with the machine's speed)
        assert len(seen_at_kill) >= 2, seen_at_kill
    finally:
        turnout.close()


def setup(turnout: Turnout, server: HTTPServer) -> tuple[str, list[str]]:
    from datetime import UTC, datetime, timedelta

    from turnout.services.registration import register_participant

    now = datetime.now(UTC)
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="test", name="crash", starts_at=now, ends_at=now + timedelta(hours=8), min_age=0
        )
        uow.commit()
    with turnout.uow() as uow:
        from turnout.domain.events import EventStatus
        from turnout.services.events import change_status

        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="test")
        holders: list[Any] = [
            register_participant(
                uow,
                tickets=turnout.tickets,
                event_id=event.id,
                data={"name": f"참가자{n}", "email": f"p{n}@example.com", "consents": {"required": True}},
                source="api",
                actor="test",
            ).id
            for n in range(TRANSFERS)
        ]
        uow.commit()
    connect(turnout, event.id, server, GATE, APP)
    return event.id, holders
