"""Wiring: what ``Turnout.close`` closes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from turnout.bootstrap import bootstrap
from turnout.config import Settings


def test_close_runs_every_hook_and_disposes_the_engine_even_when_a_hook_fails(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var", secret_key="k", _env_file=None)
    turnout = bootstrap(settings)
    ran: list[str] = []

    def failing() -> None:
        ran.append("failing")
        raise RuntimeError("hook failed")

    turnout.on_close.extend([lambda: ran.append("first"), failing, lambda: ran.append("last")])
    with turnout.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    pool = turnout.engine.pool
    with pytest.raises(RuntimeError, match="hook failed"):
        turnout.close()
    assert ran == ["last", "failing", "first"]  # the last added first, all of them
    assert turnout.engine.pool is not pool  # disposed: its connections closed, a new pool in its place
    assert turnout.on_close == []


def test_command_line_leaves_prometheus_unimported_when_loaded() -> None:
    """``turnout serve`` / ``worker`` choose the metrics directory after the command line is loaded,
    and ``prometheus_client`` picks its multiprocess mode when it is first imported: loading the
    command line (and so ``bootstrap``) must not import it."""
    import subprocess
    import sys

    probe = "import sys, turnout.entrypoints.cli; print('prometheus_client' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.strip() == "False"
