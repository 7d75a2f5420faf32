"""How many scans the database has recorded, read cheaply enough to ask several times a second.

* SQLite: the ``scans`` table's largest ``rowid`` (the last row of its b-tree: one page read).
* PostgreSQL: the table's inserted-rows counter in ``pg_stat_user_tables`` (kept by the server,
  no table read; each session adds its inserts to it at most about once a second).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

log = logging.getLogger(__name__)

_SQLITE = sa.text("SELECT max(rowid) FROM scans")
_POSTGRES = sa.text("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = to_regclass('scans')")


class SqlGateTraffic:
    """``ports.GateTraffic`` on the database ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._query = _POSTGRES if engine.dialect.name == "postgresql" else _SQLITE

    def scans_recorded(self) -> int | None:
        try:
            with self.engine.connect() as conn:
                value = conn.execute(self._query).scalar()
        except sa.exc.SQLAlchemyError:
            log.debug("could not read the scan counter", exc_info=True)
            return None
        return int(value or 0)
