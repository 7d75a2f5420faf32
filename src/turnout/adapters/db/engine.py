"""Engines for SQLite (WAL, foreign keys, busy timeout, ``BEGIN IMMEDIATE`` for writers) and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

from turnout.adapters.db.sqlite_pragmas import SQLITE_BUSY_TIMEOUT_MS, configure

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine whose errors and logs never show a statement's parameter values (personal data:
    names, emails, phones, tokens): ``hide_parameters``."""
    url = normalise_url(url)
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=kwargs.pop("pool_size", 20),
            max_overflow=kwargs.pop("max_overflow", 20),
            # the connection a thread just gave back is the one it gets next: its page cache is warm
            pool_use_lifo=kwargs.pop("pool_use_lifo", True),
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url,
        pool_size=kwargs.pop("pool_size", 10),
        max_overflow=kwargs.pop("max_overflow", 20),
        pool_pre_ping=True,
        **kwargs,
    )


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure(dbapi_connection)

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front: no deadlock-prone lock upgrades, fair queueing
        # through busy_timeout. Read-only units of work ask for a deferred (snapshot) transaction.
        mode = "DEFERRED" if connection.get_execution_options().get("turnout_readonly") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


class WalCheckpointer:
    """Checkpoints a SQLite database's WAL from a background thread, so that commits do not.

    With SQLite's automatic checkpoints the commit that crosses the threshold copies the WAL into
    the database file and syncs it, inside the request that happened to commit: a stall of tens of
    milliseconds in a scan's latency every few hundred commits. Here a thread with its own
    connection runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds: a passive
    checkpoint takes no lock that writers or readers wait for, and copies only what no reader still
    needs. Several processes may each run one; SQLite lets one checkpoint run at a time.
    """

    def __init__(self, database: str, *, interval: float = 0.25) -> None:
        self.database = database
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self.checkpoints = 0  # checkpoints that copied frames (for tests and logs)

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint now: ``(busy, frames in the WAL, frames checkpointed)``."""
        if self._conn is None:
            self._conn = sqlite3.connect(self.database, check_same_thread=False, isolation_level=None)
        row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        busy, frames, copied = (int(v) for v in row)
        if copied > 0:
            self.checkpoints += 1
        return busy, frames, copied

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:  # a locked or vanished file: try again next time
                log.debug("WAL checkpoint skipped: %s", exc)

    def start(self) -> WalCheckpointer:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def sqlite_file(url: str) -> str | None:
    """The SQLite database file named by the URL (None: PostgreSQL, in memory, a ``file:`` URI)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def checkpointer_for(url: str, *, interval: float = 0.25) -> WalCheckpointer | None:
    """A ``WalCheckpointer`` for a SQLite database file, or None (PostgreSQL, in-memory SQLite)."""
    database = sqlite_file(url)
    return None if database is None else WalCheckpointer(database, interval=interval)


def ping(engine: sa.Engine) -> None:
    """One trivial query in a read-only transaction: raises when the database does not answer."""
    with engine.connect().execution_options(turnout_readonly=True) as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()
