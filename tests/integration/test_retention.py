"""Retention: finished operational records older than ``TURNOUT_RETENTION_DAYS`` are deleted (the
``retention`` worker loop, ``turnout privacy prune``); nothing unfinished, and no outbox message a
relay cursor has not passed. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.attendance_support import add_participant, live_event
from tests.fakes import FakeClock
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_intake import import_error_rows, import_errors, import_jobs, registration_rate
from turnout.adapters.db.tables_integrations import delivery_attempts, outbound_deliveries
from turnout.adapters.db.tables_mail import email_attempts, email_jobs
from turnout.adapters.db.tables_messaging import message_deliveries, relay_cursors
from turnout.adapters.db.tables_sagas import saga_steps, sagas
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.domain.ids import new_id
from turnout.entrypoints.workers import LOOPS, retention_loop
from turnout.services.privacy import prune_all_expired


def insert(turnout: Turnout, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with turnout.engine.begin() as conn:
        conn.execute(table.insert(), rows)


def ids(turnout: Turnout, column: Any) -> set[Any]:
    with turnout.engine.connect() as conn:
        return set(conn.execute(sa.select(column)).scalars())


def seed(turnout: Turnout, now: datetime) -> dict[str, Any]:
    """Old and new records of every kind; the old ones 31 days back (the default keeps 30)."""
    old, new = now - timedelta(days=31), now - timedelta(days=1)
    event_id = live_event(turnout)
    participant_id, _token = add_participant(turnout, event_id)
    with turnout.engine.begin() as conn:  # start from an empty outbox (the setup wrote facts)
        conn.execute(sa.delete(t.outbox))
    outbox = [
        {
            "seq": seq,
            "id": new_id(),
            "type": "x.y",
            "key": event_id,
            "version": 1,
            "occurred_at": at,
            "data": {},
        }
        for seq, at in ((1, old), (2, old), (3, old), (4, new), (5, old))
    ]
    insert(turnout, t.outbox, outbox)
    insert(
        turnout,
        relay_cursors,
        [{"consumer": "handler-a", "position": 5}, {"consumer": "handler-b", "position": 3}],
    )
    pending_message = outbox[1]["id"]  # seq 2: relayed, but waiting for a handler's retry
    insert(
        turnout,
        message_deliveries,
        [
            {
                "message_id": message_id,
                "handler": "handler-a",
                "message_type": "x.y",
                "envelope": {},
                "source": "outbox",
                "status": status,
                "created_at": at,
                "updated_at": at,
            }
            for message_id, status, at in (
                (pending_message, "pending", old),
                (outbox[0]["id"], "done", old),
                (outbox[3]["id"], "dead", new),
            )
        ],
    )
    deliveries = {name: new_id() for name in ("old_done", "old_dead", "old_pending", "new_done", "awaited")}
    statuses = {
        "old_done": "delivered",
        "old_dead": "dead",
        "old_pending": "pending",
        "new_done": "delivered",
    }
    statuses["awaited"] = "delivered"
    insert(
        turnout,
        outbound_deliveries,
        [
            {
                "id": delivery_id,
                "event_id": event_id,
                "system": "attendee-app",
                "type": "x",
                "payload": {"email": "someone@example.com"},
                "status": statuses[name],
                "next_attempt_at": old,
                "created_at": old,
                "updated_at": new if name == "new_done" else old,
            }
            for name, delivery_id in deliveries.items()
        ],
    )
    insert(
        turnout,
        delivery_attempts,
        [
            {
                "delivery_id": delivery_id,
                "attempt": 1,
                "started_at": old,
                "finished_at": old,
                "outcome": "failed",
            }
            for delivery_id in deliveries.values()
        ],
    )
    saga_id = new_id()
    insert(
        turnout,
        sagas,
        [
            {
                "id": saga_id,
                "kind": "transfer",
                "event_id": event_id,
                "resource": "r",
                "state": "running",
                "data": {},
                "actor": "t",
                "deadline": now,
                "wake_at": now,
                "created_at": old,
                "updated_at": old,
            }
        ],
    )
    insert(
        turnout,
        saga_steps,
        [
            {
                "saga_id": saga_id,
                "position": 0,
                "name": "s",
                "kind": "k",
                "state": "waiting",
                "delivery_id": deliveries["awaited"],
                "created_at": old,
            }
        ],
    )
    insert(
        turnout,
        t.idempotency_keys,
        [
            {
                "scope": "s",
                "key": key,
                "request_hash": "h",
                "status_code": 201,
                "response": {},
                "created_at": at,
            }
            for key, at in (("old", old), ("new", new))
        ],
    )
    jobs = {"sent": new_id(), "queued": new_id()}
    insert(
        turnout,
        email_jobs,
        [
            {
                "id": job_id,
                "event_id": event_id,
                "participant_id": participant_id,
                "kind": "ticket",
                "ticket_version": 1,
                "status": status,
                "message_id": f"<{job_id}@x>",
                "to_address": "someone@example.com",
                "next_attempt_at": old,
                "created_at": old,
                "updated_at": old,
            }
            for status, job_id in jobs.items()
        ],
    )
    insert(
        turnout,
        email_attempts,
        [
            {"job_id": job_id, "attempt": 1, "started_at": at, "finished_at": at, "outcome": "failed"}
            for job_id, at in ((jobs["sent"], old), (jobs["sent"], new), (jobs["queued"], old))
        ],
    )
    imports = {"old": new_id(), "new": new_id(), "running": new_id()}
    insert(
        turnout,
        import_jobs,
        [
            {
                "id": import_id,
                "event_id": event_id,
                "status": "running" if name == "running" else "done",
                "filename": "people.csv",
                "file_sha256": "0" * 64,
                "file_size": 1,
                "on_duplicate": "skip",
                "mapping": {},
                "actor": "t",
                "created_at": old,
                "finished_at": None if name == "running" else (new if name == "new" else old),
            }
            for name, import_id in imports.items()
        ],
    )
    for import_id in imports.values():
        insert(
            turnout,
            import_errors,
            [{"import_id": import_id, "row": 2, "code": "invalid_email", "value": "x@", "params": {}}],
        )
        insert(turnout, import_error_rows, [{"import_id": import_id, "row": 2, "cells": ["김", "x@"]}])
    insert(
        turnout,
        registration_rate,
        [
            {"client": client, "window_start": at, "count": 1}
            for client, at in (("10.0.0.1", old), ("10.0.0.2", new))
        ],
    )
    return {
        "outbox": outbox,
        "deliveries": deliveries,
        "jobs": jobs,
        "pending_message": pending_message,
        "imports": imports,
    }


def test_prune_deletes_only_finished_records_older_than_the_retention_when_run(
    turnout: Turnout, clock: FakeClock
) -> None:
    seeded = seed(turnout, clock.now())
    outbox = seeded["outbox"]
    deliveries = seeded["deliveries"]

    totals = prune_all_expired(turnout.uow, retention_days=30, limit=2)  # several batches

    # seq 1 and 3: old and passed by every cursor; 2 waits for a retry; 4 is new; 5 is past cursor b
    assert ids(turnout, t.outbox.c.seq) == {2, 4, 5}
    assert ids(turnout, message_deliveries.c.message_id) == {seeded["pending_message"], outbox[3]["id"]}
    assert ids(turnout, outbound_deliveries.c.id) == {
        deliveries["old_pending"],
        deliveries["new_done"],
        deliveries["awaited"],
    }
    assert ids(turnout, delivery_attempts.c.delivery_id) == ids(turnout, outbound_deliveries.c.id)
    assert ids(turnout, t.idempotency_keys.c.key) == {"new"}
    with turnout.engine.connect() as conn:
        kept = conn.execute(sa.select(email_attempts.c.job_id, email_attempts.c.finished_at)).all()
    assert sorted(job for job, _at in kept) == sorted([seeded["jobs"]["sent"], seeded["jobs"]["queued"]])
    assert ids(turnout, email_jobs.c.id) == set(seeded["jobs"].values())  # the jobs themselves stay
    kept_imports = {seeded["imports"]["new"], seeded["imports"]["running"]}
    assert ids(turnout, import_error_rows.c.import_id) == kept_imports
    assert ids(turnout, import_errors.c.import_id) == kept_imports
    assert ids(turnout, import_jobs.c.id) == set(seeded["imports"].values())  # the jobs stay
    assert ids(turnout, registration_rate.c.client) == {"10.0.0.2"}
    assert totals == {
        "outbox": 2,
        "message_deliveries": 1,
        "outbound_deliveries": 2,
        "delivery_attempts": 2,
        "idempotency_keys": 1,
        "email_attempts": 1,
        "import_error_rows": 1,
        "import_errors": 1,
        "registration_rate": 1,
    }


def test_prune_deletes_nothing_when_the_records_are_younger_than_the_retention(
    turnout: Turnout, clock: FakeClock
) -> None:
    seed(turnout, clock.now())
    assert not any(prune_all_expired(turnout.uow, retention_days=60).values())
    assert ids(turnout, t.outbox.c.seq) == {1, 2, 3, 4, 5}


def test_retention_worker_loop_prunes_when_running(turnout: Turnout, clock: FakeClock) -> None:
    assert "retention" in [name for name, _loop in LOOPS]
    seed(turnout, clock.now())
    stop = threading.Event()
    thread = threading.Thread(target=retention_loop, args=(turnout, stop))
    thread.start()
    try:
        for _ in range(200):
            if ids(turnout, t.idempotency_keys.c.key) == {"new"}:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert ids(turnout, t.idempotency_keys.c.key) == {"new"}
    assert ids(turnout, t.outbox.c.seq) == {2, 4, 5}


def test_cli_prunes_with_json_output_and_refuses_bad_days(
    turnout: Turnout, clock: FakeClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turnout.entrypoints.cli import app

    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
        "TURNOUT_RETENTION_DAYS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    clock.set(datetime.now(clock.now().tzinfo))  # the CLI runs on the real clock
    seed(turnout, clock.now())
    runner = CliRunner()
    result = runner.invoke(app, ["privacy", "prune", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted"]["idempotency_keys"] == 1
    assert ids(turnout, t.idempotency_keys.c.key) == {"new"}
    assert runner.invoke(app, ["privacy", "prune", "--days", "0"]).exit_code == 2
