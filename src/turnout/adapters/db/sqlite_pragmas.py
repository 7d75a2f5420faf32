"""How every SQLite connection of Turnout is set up (the engine's, and a bulk upload's writer
process's, which has no SQLAlchemy). Plain ``sqlite3``: nothing else is imported here."""

from __future__ import annotations

import sqlite3

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: WAL pages after which a committing connection checkpoints by itself (SQLite's default is 1,000).
#: A ``WalCheckpointer`` normally keeps the WAL far below this; it is the safety net without one.
SQLITE_AUTOCHECKPOINT_PAGES = 4000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
    f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}",
)


def configure(connection: sqlite3.Connection) -> None:
    """Transaction control taken from the driver (we say ``BEGIN IMMEDIATE`` ourselves), then
    ``PRAGMAS``."""
    connection.isolation_level = None
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
