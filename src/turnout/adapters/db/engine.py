"""Engines for SQLite (WAL, foreign keys, busy timeout, ``BEGIN IMMEDIATE`` for writers) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=kwargs.pop("pool_size", 20),
            max_overflow=kwargs.pop("max_overflow", 20),
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
        # Take transaction control away from pysqlite so that we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front: no deadlock-prone lock upgrades, fair queueing
        # through busy_timeout. Read-only units of work ask for a deferred (snapshot) transaction.
        mode = "DEFERRED" if connection.get_execution_options().get("turnout_readonly") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")
