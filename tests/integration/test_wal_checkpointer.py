"""The background WAL checkpointer copies committed pages into the database file, off the commit path."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from turnout.adapters.db.engine import checkpointer_for, make_engine
from turnout.adapters.db.sqlite_pragmas import SQLITE_AUTOCHECKPOINT_PAGES
from turnout.bootstrap import bootstrap
from turnout.config import Settings
from turnout.entrypoints.api.app import create_app

_ROWS = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
    "INSERT INTO {table} SELECT hex(randomblob({size})) FROM n"
)


def test_engine_connections_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_AUTOCHECKPOINT_PAGES
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_passive_checkpoint_copies_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        conn.exec_driver_sql(_ROWS.format(table="t", size=200, count=2000))
    checkpointer = checkpointer_for(f"sqlite:///{path}")
    assert checkpointer is not None
    busy, frames, copied = checkpointer.checkpoint()
    assert busy == 0
    assert frames > 10
    assert copied == frames
    checkpointer.stop()
    # the database file alone (WAL set aside) holds the rows
    engine.dispose()
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(path.read_bytes())
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM t").fetchone()[0] == 2000


def test_the_thread_checkpoints_while_writers_commit(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
    checkpointer = checkpointer_for(f"sqlite:///{path}", interval=0.01)
    assert checkpointer is not None
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints < 3 and time.monotonic() < deadline:
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (hex(randomblob(500)))")
        assert checkpointer.checkpoints >= 3
    finally:
        checkpointer.stop()
    assert checkpointer._thread is None
    with engine.connect() as conn:
        assert (conn.exec_driver_sql("SELECT count(*) FROM t").scalar() or 0) > 0


def test_no_checkpointer_for_postgresql_or_memory() -> None:
    assert checkpointer_for("postgresql://postgres@127.0.0.1/x") is None
    assert checkpointer_for("sqlite://") is None
    assert checkpointer_for("sqlite:///:memory:") is None


def _threads() -> list[str]:
    return [thread.name for thread in threading.enumerate()]


def test_the_api_process_runs_one_for_its_lifetime(sqlite_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var", secret_key="k", _env_file=None)
    wired = bootstrap(settings)
    try:
        assert "sqlite-checkpointer" not in _threads()
        with TestClient(create_app(wired)) as client:
            assert "sqlite-checkpointer" in _threads()
            assert client.get("/health").status_code == 200
        assert "sqlite-checkpointer" not in _threads()
    finally:
        wired.close()
