"""The ``turnout`` command as a user runs it: real processes, a real SQLite file, ``--json`` output."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

TURNOUT = [sys.executable, "-m", "turnout.entrypoints.cli"]


def run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TURNOUT_DATABASE_URL": f"sqlite:///{cwd}/var/t.sqlite3", "LANG": "C.UTF-8"}
    result = subprocess.run([*TURNOUT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    run(tmp_path, "db", "upgrade")
    return tmp_path


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def test_cli_creates_event_gate_and_keys_with_json_output(workdir: Path) -> None:
    event = as_json(
        run(
            workdir,
            "events",
            "create",
            "--name",
            "부산 페스티벌",
            "--starts",
            "2026-07-01T10:00",
            "--ends",
            "2026-07-03T22:00",
            "--capacity",
            "1000",
            "--json",
        )
    )
    assert event["starts_at"] == "2026-07-01T10:00:00+09:00"
    assert event["capacity"] == 1000
    gate = as_json(
        run(
            workdir,
            "gates",
            "create",
            event["id"],
            "--name",
            "북문",
            "--direction",
            "in",
            "--methods",
            "qr,ble",
            "--json",
        )
    )
    assert gate["methods"] == ["qr", "ble"]
    assert gate["direction"] == "in"
    key = as_json(
        run(
            workdir,
            "keys",
            "create",
            "--role",
            "gate",
            "--event",
            event["id"],
            "--gate",
            gate["id"],
            "--name",
            "scanner",
            "--json",
        )
    )
    assert key["key"].startswith("trn_")
    listed = as_json(run(workdir, "keys", "list", "--json"))["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret_hash" not in listed[0]
    assert as_json(run(workdir, "keys", "revoke", key["id"], "--json"))["revoked"] is True
    assert run(workdir, "keys", "revoke", key["id"], "--json", check=False).returncode == 1
    opened = as_json(run(workdir, "events", "status", event["id"], "open", "--json"))
    assert opened["status"] == "open"


def test_cli_refusal_exits_1_with_reason_on_stderr(workdir: Path) -> None:
    event = as_json(
        run(
            workdir,
            "events",
            "create",
            "--name",
            "x",
            "--starts",
            "2026-07-01T10:00",
            "--ends",
            "2026-07-01T12:00",
            "--json",
        )
    )
    refused = run(workdir, "events", "status", event["id"], "archived", "--json", check=False)
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["error"]["code"] == "invalid_transition"
    bad = run(
        workdir,
        "events",
        "create",
        "--name",
        "x",
        "--starts",
        "2026-07-01T10:00",
        "--ends",
        "2026-06-01T12:00",
        check=False,
    )
    assert bad.returncode == 1
    assert "ends_before_start" in bad.stderr
    scope = run(workdir, "keys", "create", "--role", "staff", "--name", "s", "--json", check=False)
    assert scope.returncode == 1
    assert json.loads(scope.stderr)["error"]["details"][0]["code"] == "key_needs_event"


def test_cli_bad_usage_exits_2(workdir: Path) -> None:
    assert run(workdir, "events", "create", "--name", "x", check=False).returncode == 2
    bad_time = run(
        workdir, "events", "create", "--name", "x", "--starts", "soon", "--ends", "later", check=False
    )
    assert bad_time.returncode == 2
    assert run(workdir, "keys", "create", "--role", "root", "--name", "x", check=False).returncode == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_prints_first_admin_key_once_and_the_key_works(workdir: Path) -> None:
    port = free_port()
    env = {**os.environ, "TURNOUT_DATABASE_URL": f"sqlite:///{workdir}/var/t.sqlite3", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [*TURNOUT, "serve", "--port", str(port), "--no-background"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        key = None
        deadline = time.monotonic() + 30
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            match = re.search(r"(trn_[0-9a-f]+_[A-Za-z0-9_-]+)", line)
            if match:
                key = match.group(1)
        assert key, "serve did not print a first admin key"
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = httpx.get(f"{base}/api/v1/events", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
        assert httpx.get(f"{base}/api/v1/events").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # A second start on the same database prints no new key.
    second = subprocess.Popen(
        [*TURNOUT, "serve", "--port", str(port), "--no-background"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        second.terminate()
        output, _ = second.communicate(timeout=20)
    assert "trn_" not in output
    assert (workdir / "var" / "secret_key").exists()


def test_demo_builds_a_live_event_with_participants_and_check_ins(workdir: Path) -> None:
    summary = as_json(run(workdir, "demo", "--participants", "30", "--json"))
    assert summary["participants"] == 30
    assert summary["scans"].get("admitted", 0) > 0
    assert summary["staff_key"].startswith("trn_")
    events = as_json(run(workdir, "events", "list", "--json"))["items"]
    assert [(e["id"], e["status"]) for e in events] == [(summary["event_id"], "live")]
