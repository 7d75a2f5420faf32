"""A server process (``create_app_from_env``) freezes its start-up heap; an embedded app does not."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from turnout.bootstrap import Turnout
from turnout.entrypoints.api.app import create_app

_CHILD = """
import gc
from fastapi.testclient import TestClient
from turnout.entrypoints.api.app import create_app_from_env
before = gc.get_freeze_count()
with TestClient(create_app_from_env()) as client:
    assert client.get("/health").status_code == 200
    print(before, gc.get_freeze_count())
"""


def test_a_server_process_freezes_its_start_up_heap(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TURNOUT_DATABASE_URL": sqlite_url,
        "TURNOUT_VAR_DIR": str(tmp_path / "var"),
        "TURNOUT_SECRET_KEY": "k",
        "TURNOUT_BROKER_URL": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    before, after = (int(n) for n in done.stdout.split())
    assert before == 0
    assert after > 10_000  # modules, routes, schemas: the bulk of the heap


def test_an_embedded_app_leaves_the_collector_alone(turnout: Turnout) -> None:
    frozen = gc.get_freeze_count()
    with TestClient(create_app(turnout)) as client:
        assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() == frozen
