"""``INSERT … ON CONFLICT`` in the connection's dialect (SQLite and PostgreSQL both have it, each
behind its own SQLAlchemy construct)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """``insert(table)`` that offers ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
