"""A ``turnout import`` killed with SIGKILL mid-way is run again to completion: no duplicate, no lost row.

Real processes and a real SQLite file: the import commits per batch (participants, their outbox
messages and the job's progress together), so the second run resumes after the last committed
batch of the same job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.tables_intake import import_jobs

TURNOUT = [sys.executable, "-m", "turnout.entrypoints.cli"]
ROWS = 30_000  # large enough that a loaded machine cannot finish before the kill


def env_for(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TURNOUT_DATABASE_URL": f"sqlite:///{workdir}/t.sqlite3",
        "TURNOUT_IMPORT_BATCH_SIZE": "100",
        "TURNOUT_SECRET_KEY": "fault-test",
        "LANG": "C.UTF-8",
    }


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*TURNOUT, *args], cwd=workdir, env=env_for(workdir), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def new_event(workdir: Path, name: str) -> dict[str, Any]:
    """A fresh database in ``workdir`` with one event, made through the CLI."""
    cli(workdir, "db", "upgrade")
    made = cli(
        workdir,
        "events",
        "create",
        "--name",
        name,
        "--starts",
        "2026-06-01T09:00",
        "--ends",
        "2026-06-01T18:00",
        "--min-age",
        "0",
        "--json",
    )
    event: dict[str, Any] = json.loads(made.stdout)
    return event


def test_import_killed_with_sigkill_resumes_to_completion_without_duplicates(tmp_path: Path) -> None:
    event = new_event(tmp_path, "장애 시험")
    data = tmp_path / "people.csv"
    lines = ["이름,이메일,휴대폰,메모,개인정보 동의"]
    lines += [
        f"참가자{i},p{i}@example.com,010-{2000 + i % 3000}-{i % 10000:04d},{'x' * 40},Y" for i in range(ROWS)
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")

    engine = make_engine(f"sqlite:///{tmp_path}/t.sqlite3")
    first = subprocess.Popen(
        [*TURNOUT, "import", event["id"], str(data), "--json"],
        cwd=tmp_path,
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        processed = 0
        while time.monotonic() < deadline:
            with engine.connect().execution_options(turnout_readonly=True) as conn:
                processed = conn.execute(sa.select(sa.func.max(import_jobs.c.rows_processed))).scalar() or 0
            if processed >= 1000 or first.poll() is not None:
                break
            time.sleep(0.02)
        assert first.poll() is None, "the import finished before it could be killed; make the file bigger"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    with engine.connect() as conn:
        saved_before = conn.execute(sa.select(sa.func.count()).select_from(t.participants)).scalar_one()
    assert 0 < saved_before < ROWS

    second = json.loads(cli(tmp_path, "import", event["id"], str(data), "--json").stdout)

    with engine.connect() as conn:
        participants = conn.execute(sa.select(t.participants.c.email, t.participants.c.token)).fetchall()
        messages = conn.execute(
            sa.select(t.outbox.c.data).where(t.outbox.c.type == "participant.registered")
        ).fetchall()
        jobs = conn.execute(sa.select(import_jobs)).fetchall()
    engine.dispose()
    emails = [p.email for p in participants]
    assert len(emails) == ROWS
    assert set(emails) == {f"p{i}@example.com" for i in range(ROWS)}
    assert all(p.token for p in participants)
    message_ids = [
        m.data["participant_id"] if isinstance(m.data, dict) else json.loads(m.data)["participant_id"]
        for m in messages
    ]
    assert len(message_ids) == len(set(message_ids)) == ROWS
    # the second run resumed the killed job: one job, its summary covers the whole file
    assert len(jobs) == 1
    assert second["import_id"] == jobs[0].id
    assert {k: second[k] for k in ("total", "created", "duplicates", "invalid")} == {
        "total": ROWS,
        "created": ROWS,
        "duplicates": 0,
        "invalid": 0,
    }


def test_importing_the_same_file_again_after_completion_creates_nothing(tmp_path: Path) -> None:
    event = new_event(tmp_path, "재시험")
    data = tmp_path / "people.csv"
    data.write_text("이름,이메일\n김민준,a@example.com\n이서연,b@example.com\n", encoding="utf-8")
    confirmed = "--consent-collected-elsewhere"
    first = json.loads(cli(tmp_path, "import", event["id"], str(data), confirmed, "--json").stdout)
    again = json.loads(cli(tmp_path, "import", event["id"], str(data), confirmed, "--json").stdout)
    assert first["created"] == 2
    assert (again["created"], again["duplicates"]) == (0, 2)
