"""``SqlCrowdAlarms``: crowd safety's alarm state per area (``ports.CrowdAlarmStore``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.tables_crowd import crowd_alarms
from turnout.adapters.db.upsert import insert_for
from turnout.domain.crowd import CrowdLevel


class SqlCrowdAlarms:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def live_event_ids(self) -> list[str]:
        query = sa.select(t.events.c.id).where(t.events.c.status == "live").order_by(t.events.c.id)
        return list(self.conn.execute(query).scalars())

    def inside_now(self, event_id: str) -> int:
        p = t.participants
        query = sa.select(sa.func.count()).where(
            p.c.event_id == event_id, p.c.check_in_status == "inside", p.c.status != "cancelled"
        )
        return int(self.conn.execute(query).scalar() or 0)

    def gate_moves(self, event_id: str, gate_ids: Collection[str]) -> dict[str, tuple[int, int]]:
        if not gate_ids:
            return {}
        rows = self.conn.execute(
            sa.select(scans.c.gate_id, scans.c.result, sa.func.count().label("n"))
            .where(
                scans.c.event_id == event_id,
                scans.c.gate_id.in_(list(gate_ids)),
                scans.c.result.in_(("admitted", "exited")),
            )
            .group_by(scans.c.gate_id, scans.c.result)
        )
        moves: dict[str, tuple[int, int]] = {}
        for row in rows:
            admitted, exited = moves.get(row.gate_id, (0, 0))
            if row.result == "admitted":
                admitted = int(row.n)
            else:
                exited = int(row.n)
            moves[row.gate_id] = (admitted, exited)
        return moves

    def fired(self, event_id: str) -> dict[str, CrowdLevel]:
        rows = self.conn.execute(
            sa.select(crowd_alarms.c.area, crowd_alarms.c.fired).where(crowd_alarms.c.event_id == event_id)
        )
        return {row.area: CrowdLevel(row.fired) for row in rows}

    def set_fired(self, event_id: str, area: str, level: CrowdLevel, *, now: datetime) -> None:
        where = (crowd_alarms.c.event_id == event_id) & (crowd_alarms.c.area == area)
        if level is CrowdLevel.OK:
            self.conn.execute(crowd_alarms.delete().where(where))
            return
        insert = insert_for(self.conn, crowd_alarms).values(
            event_id=event_id, area=area, fired=level.value, changed_at=now
        )
        self.conn.execute(
            insert.on_conflict_do_update(
                index_elements=["event_id", "area"], set_={"fired": level.value, "changed_at": now}
            )
        )
