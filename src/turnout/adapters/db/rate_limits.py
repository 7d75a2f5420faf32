"""``SqlRateLimits``: request counts per client in the ``registration_rate`` table (``uow.rate_limits``),
so that every web worker process shares them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters.db.tables_intake import registration_rate as rate
from turnout.ports import RateWindow


class SqlRateLimits:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def window(self, client: str) -> RateWindow | None:
        row = self.conn.execute(
            sa.select(rate.c.window_start, rate.c.count.label("requests")).where(rate.c.client == client)
        ).first()
        return None if row is None else RateWindow(started_at=row.window_start, count=int(row.requests))

    def start_window(self, client: str, *, started_at: datetime) -> None:
        insert = (postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert)(rate)
        self.conn.execute(
            insert.values(client=client, window_start=started_at, count=1).on_conflict_do_update(
                index_elements=[rate.c.client], set_={"window_start": started_at, "count": 1}
            )
        )

    def count_request(self, client: str) -> None:
        self.conn.execute(rate.update().where(rate.c.client == client).values(count=rate.c.count + 1))

    def forget_idle(self, *, before: datetime) -> None:
        self.conn.execute(rate.delete().where(rate.c.window_start < before))
