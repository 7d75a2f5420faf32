"""Where the processes of a deployment keep their counters, and how the directory is set up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from turnout.adapters import metrics_dir
from turnout.config import Settings


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare() sets the variable for the children of this process: keep it out of other tests.
    monkeypatch.delenv(metrics_dir.ENV, raising=False)
    monkeypatch.delenv("TURNOUT_METRICS_DIR", raising=False)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_metrics_dir_defaults_to_var_metrics_when_nothing_is_set(tmp_path: Path) -> None:
    assert metrics_dir.metrics_dir(Settings(var_dir=tmp_path)) == tmp_path / "metrics"


def test_metrics_dir_prefers_turnout_setting_then_prometheus_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(metrics_dir.ENV, str(tmp_path / "prom"))
    assert metrics_dir.metrics_dir(Settings(var_dir=tmp_path)) == tmp_path / "prom"
    monkeypatch.setenv("TURNOUT_METRICS_DIR", str(tmp_path / "mine"))
    assert metrics_dir.metrics_dir(Settings(var_dir=tmp_path)) == tmp_path / "mine"


def test_prepare_empties_the_directory_and_exports_it_when_a_deployment_starts(tmp_path: Path) -> None:
    path = tmp_path / "metrics"
    path.mkdir()
    (path / f"counter_{os.getpid()}.db").write_bytes(b"x")
    (path / "notes.txt").write_text("kept")
    prepared = metrics_dir.prepare(Settings(var_dir=tmp_path), clean=True)
    assert prepared == path.resolve()
    assert os.environ[metrics_dir.ENV] == str(prepared)
    assert sorted(p.name for p in path.iterdir()) == ["notes.txt"]


def test_prepare_keeps_live_processes_files_when_a_worker_starts_alone(tmp_path: Path) -> None:
    path = tmp_path / "metrics"
    path.mkdir()
    dead = dead_pid()
    live = [f"counter_{os.getpid()}.db", f"gauge_livesum_{os.getpid()}.db"]
    for name in [*live, f"counter_{dead}.db", f"histogram_{dead}.db", f"gauge_max_{dead}.db"]:
        (path / name).write_bytes(b"x")
    metrics_dir.prepare(Settings(var_dir=tmp_path), clean=False)
    assert sorted(p.name for p in path.iterdir()) == sorted(live)
