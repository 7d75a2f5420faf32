"""``SqlStatistics``: the aggregates behind live statistics and anonymised analytics
(``uow.statistics``), a few indexed ``GROUP BY`` queries over participants, gates and scans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.ports import (
    ArrivalCount,
    AttendeeProfile,
    DayFigures,
    EventCounts,
    FlowCount,
    ParticipantTally,
    ScanMoment,
    ScanTally,
)

p = t.participants


def _bucket(column: Any, dialect: str, seconds: int) -> Any:
    """The start (epoch seconds) of the ``seconds``-long bucket holding ``column``."""
    if dialect == "postgresql":
        pg_epoch = sa.func.extract("epoch", column)
        return sa.cast(sa.func.floor(pg_epoch / seconds) * seconds, sa.BigInteger)
    epoch = sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return (epoch // seconds) * seconds  # ``//``: SQLAlchemy renders ``/`` as true division


class SqlStatistics:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def participant_tallies(self, event_id: str) -> list[ParticipantTally]:
        came = sa.case((p.c.first_checked_in_at.is_(None), 0), else_=1)
        rows = self.conn.execute(
            sa.select(
                p.c.status,
                p.c.check_in_status,
                p.c.email_status,
                came.label("came"),
                sa.func.count().label("n"),
            )
            .where(p.c.event_id == event_id)
            .group_by(p.c.status, p.c.check_in_status, p.c.email_status, came)
        )
        return [
            ParticipantTally(
                status=row.status,
                check_in_status=row.check_in_status,
                email_status=row.email_status,
                came=bool(row.came),
                count=int(row.n),
            )
            for row in rows
        ]

    def event_counts(self, event_ids: Sequence[str]) -> dict[str, EventCounts]:
        if not event_ids:
            return {}
        rows = self.conn.execute(
            sa.select(
                p.c.event_id, sa.func.count().label("n"), sa.func.count(p.c.first_checked_in_at).label("came")
            )
            .where(p.c.event_id.in_(list(event_ids)), p.c.status == "registered")
            .group_by(p.c.event_id)
        )
        return {row.event_id: EventCounts(registered=int(row.n), checked_in=int(row.came)) for row in rows}

    def day_figures(self, event_id: str, *, since: datetime, until: datetime) -> DayFigures:
        # one pass over the event's registered people in ``ix_participants_event_tallies`` (read
        # from the index alone), and two ranges of the scans' indexes
        people = self.conn.execute(
            sa.select(
                sa.func.count().label("registered"),
                sa.func.count().filter(p.c.check_in_status == "inside").label("inside"),
                # through a gate today: the last accepted scan (an admission or an exit) is today's
                sa.func.count().filter(p.c.last_scan_at >= since, p.c.last_scan_at < until).label("came"),
            ).where(p.c.event_id == event_id, p.c.status == "registered")
        ).one()
        today = scans.c.event_id == event_id, scans.c.occurred_at >= since, scans.c.occurred_at < until
        day = self.conn.execute(
            sa.select(
                sa.select(sa.func.count()).where(*today).scalar_subquery().label("scans"),
                sa.select(sa.func.count())
                .where(*today, scans.c.result == "denied")
                .scalar_subquery()
                .label("denied"),
            )
        ).one()
        return DayFigures(
            registered=int(people.registered),
            inside=int(people.inside),
            came=int(people.came),
            scans=int(day.scans),
            denied=int(day.denied),
        )

    def gate_names(self, event_id: str) -> dict[str, str]:
        return dict(
            self.conn.execute(
                sa.select(t.gates.c.id, t.gates.c.name).where(t.gates.c.event_id == event_id)
            ).all()
        )

    def scan_tallies(self, event_id: str) -> list[ScanTally]:
        rows = self.conn.execute(
            sa.select(
                scans.c.gate_id, scans.c.method, scans.c.result, scans.c.code, sa.func.count().label("n")
            )
            .where(scans.c.event_id == event_id)
            .group_by(scans.c.gate_id, scans.c.method, scans.c.result, scans.c.code)
        )
        return [
            ScanTally(
                gate_id=row.gate_id, method=row.method, result=row.result, code=row.code, count=int(row.n)
            )
            for row in rows
        ]

    def arrivals(self, event_id: str, *, bucket_seconds: int) -> list[ArrivalCount]:
        bucket = _bucket(scans.c.occurred_at, self.conn.dialect.name, bucket_seconds).label("bucket")
        rows = self.conn.execute(
            sa.select(bucket, sa.func.count().label("n"))
            .where(scans.c.event_id == event_id, scans.c.result == "admitted")
            .group_by(bucket)
            .order_by(bucket)
        )
        return [
            ArrivalCount(starts_at=datetime.fromtimestamp(int(row.bucket), UTC), admitted=int(row.n))
            for row in rows
        ]

    def flows(self, event_id: str, *, bucket_seconds: int) -> list[FlowCount]:
        bucket = _bucket(scans.c.occurred_at, self.conn.dialect.name, bucket_seconds).label("bucket")
        rows = self.conn.execute(
            sa.select(bucket, scans.c.result, sa.func.count().label("n"))
            .where(scans.c.event_id == event_id, scans.c.result.in_(("admitted", "exited")))
            .group_by(bucket, scans.c.result)
            .order_by(bucket)
        )
        counts: dict[int, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(int(row.bucket), {"admitted": 0, "exited": 0})[row.result] = int(row.n)
        return [
            FlowCount(
                starts_at=datetime.fromtimestamp(start, UTC), admitted=both["admitted"], exited=both["exited"]
            )
            for start, both in sorted(counts.items())
        ]

    def attendee_profiles(self, event_id: str) -> list[AttendeeProfile]:
        rows = self.conn.execute(
            sa.select(p.c.birth_date, p.c.region, p.c.first_checked_in_at.is_not(None).label("came")).where(
                p.c.event_id == event_id, p.c.status == "registered"
            )
        )
        return [
            AttendeeProfile(birth_date=row.birth_date, region=row.region, came=bool(row.came)) for row in rows
        ]

    def scan_moments(self, event_id: str) -> list[ScanMoment]:
        rows = self.conn.execute(
            sa.select(
                scans.c.occurred_at,
                scans.c.method,
                scans.c.result,
                scans.c.stay_seconds,
                scans.c.participant_id,
            ).where(scans.c.event_id == event_id, scans.c.result != "denied")
        )
        people: dict[str | None, int] = {}  # participant id -> opaque key (the id stays here)
        return [
            ScanMoment(
                occurred_at=row.occurred_at,
                method=row.method,
                result=row.result,
                stay_seconds=None if row.stay_seconds is None else int(row.stay_seconds),
                person=people.setdefault(row.participant_id, len(people)),
            )
            for row in rows
        ]
