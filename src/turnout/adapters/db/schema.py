"""All tables of every area on one MetaData (what Alembic compares migrations with)."""

from turnout.adapters.db.tables import metadata

__all__ = ["metadata"]
