"""``TURNOUT_SECRET_KEY``: required with PostgreSQL (several machines share it); on SQLite generated
once into ``var/secret_key``, written atomically with mode 0600 and never replaced by a second
process starting at the same moment."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from turnout.bootstrap import bootstrap
from turnout.config import SecretKeyRequired, Settings


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(var_dir=tmp_path / "var", _env_file=None, **values)


def test_postgresql_refuses_to_start_when_no_secret_key_is_set(tmp_path: Path) -> None:
    configured = settings(tmp_path, database_url="postgresql+psycopg://u@db.invalid/turnout")
    with pytest.raises(SecretKeyRequired) as refused:
        bootstrap(configured)
    assert "TURNOUT_SECRET_KEY" in str(refused.value)
    assert not (tmp_path / "var" / "secret_key").exists()  # nothing generated for one machine alone
    explicit = settings(tmp_path, database_url="postgresql+psycopg://u@db.invalid/t", secret_key="shared")
    assert explicit.resolve_secret_key() == "shared"


def test_generated_key_file_has_mode_0600_and_no_temporary_left_when_sqlite(tmp_path: Path) -> None:
    previous = os.umask(0)  # even a permissive umask gives no one else a look
    try:
        key = settings(tmp_path).resolve_secret_key()
    finally:
        os.umask(previous)
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key
    assert len(key) >= 48
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]
    assert settings(tmp_path).resolve_secret_key() == key


def _resolve(var_dir: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(Settings(var_dir=Path(var_dir), _env_file=None).resolve_secret_key())


def test_processes_starting_together_agree_on_one_key_when_none_exists_yet(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    count = 8
    for attempt in range(4):  # a race: several rounds make a lost one likely to show
        var_dir = tmp_path / f"round{attempt}" / "var"
        barrier = context.Barrier(count)
        results = context.Queue()
        processes = [
            context.Process(target=_resolve, args=(str(var_dir), barrier, results)) for _ in range(count)
        ]
        for process in processes:
            process.start()
        keys = {results.get(timeout=30) for _ in range(count)}
        for process in processes:
            process.join(timeout=30)
        assert len(keys) == 1
        assert (var_dir / "secret_key").read_text() == keys.pop()


def test_empty_key_file_is_refused_when_read(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("")
    with pytest.raises(SecretKeyRequired, match="empty"):
        settings(tmp_path).resolve_secret_key()
