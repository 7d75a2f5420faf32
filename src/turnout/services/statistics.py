"""Live statistics of an event, computed from the tables with a few indexed aggregates.

``snapshot(uow, event_id=...)`` is the truth; ``Statistics`` caches it per process for about a second
and keeps a change counter per event that the live stream (``/stats/live``) watches. Check-ins in
this process, bulk batches and the bus handlers (``participant.registered``,
``attendance.recorded``) bump the counter; the stream also re-reads every second, so changes made by
other processes show up within a second.

``analytics(uow, event_id=...)`` is the anonymised view for external platforms: counts and
distributions only, never a name, email, phone or id of a person.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.uow import UnitOfWork
from turnout.domain.errors import NotFound
from turnout.messages.base import Envelope

CACHE_SECONDS = 1.0
ARRIVAL_BUCKET_SECONDS = 300

p = t.participants


def _bucket(column: Any, dialect: str, seconds: int) -> Any:
    """The start (epoch seconds) of the ``seconds``-long bucket holding ``column``."""
    if dialect == "postgresql":
        pg_epoch = sa.func.extract("epoch", column)
        return sa.cast(sa.func.floor(pg_epoch / seconds) * seconds, sa.BigInteger)
    epoch = sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return (epoch / seconds) * seconds


def snapshot(uow: UnitOfWork, *, event_id: str) -> dict[str, Any]:
    conn = uow.conn
    event = conn.execute(sa.select(t.events.c.status).where(t.events.c.id == event_id)).first()
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    registered = cancelled = checked_in = inside = 0
    emails: Counter[str] = Counter()
    came = sa.case((p.c.first_checked_in_at.is_(None), 0), else_=1)
    for row in conn.execute(
        sa.select(
            p.c.status, p.c.check_in_status, p.c.email_status, came.label("came"), sa.func.count().label("n")
        )
        .where(p.c.event_id == event_id)
        .group_by(p.c.status, p.c.check_in_status, p.c.email_status, came)
    ):
        n = int(row.n)
        if row.status == "cancelled":
            cancelled += n
            continue
        registered += n
        emails[row.email_status] += n
        if row.came:
            checked_in += n
        if row.check_in_status == "inside":
            inside += n
    gate_names = dict(
        conn.execute(sa.select(t.gates.c.id, t.gates.c.name).where(t.gates.c.event_id == event_id)).all()
    )
    by_gate: dict[str, dict[str, Any]] = {
        gate_id: {"name": name, "admitted": 0, "exited": 0, "denied": 0}
        for gate_id, name in gate_names.items()
    }
    by_method: dict[str, dict[str, int]] = {}
    denied_by_code: Counter[str] = Counter()
    total = denied = 0
    for row in conn.execute(
        sa.select(scans.c.gate_id, scans.c.method, scans.c.result, scans.c.code, sa.func.count().label("n"))
        .where(scans.c.event_id == event_id)
        .group_by(scans.c.gate_id, scans.c.method, scans.c.result, scans.c.code)
    ):
        n = int(row.n)
        total += n
        if row.result == "denied":
            denied += n
            denied_by_code[row.code or "denied"] += n
        if row.gate_id is not None:
            gate = by_gate.setdefault(row.gate_id, {"name": None, "admitted": 0, "exited": 0, "denied": 0})
            gate[row.result] = gate.get(row.result, 0) + n
        method = by_method.setdefault(row.method, {"admitted": 0, "exited": 0, "denied": 0})
        method[row.result] = method.get(row.result, 0) + n
    bucket = _bucket(scans.c.occurred_at, uow.dialect, ARRIVAL_BUCKET_SECONDS).label("bucket")
    arrivals = [
        {"at": datetime.fromtimestamp(int(row.bucket), UTC).isoformat(), "admitted": int(row.n)}
        for row in conn.execute(
            sa.select(bucket, sa.func.count().label("n"))
            .where(scans.c.event_id == event_id, scans.c.result == "admitted")
            .group_by(bucket)
            .order_by(bucket)
        )
    ]
    return {
        "event_id": event_id,
        "event_status": event.status,
        "registered": registered,
        "cancelled": cancelled,
        "checked_in": checked_in,
        "inside": inside,
        "scans": total,
        "denied": denied,
        "denied_by_code": dict(denied_by_code),
        "by_gate": by_gate,
        "by_method": by_method,
        "arrivals": arrivals,
        "attendance_rate": round(checked_in / registered, 4) if registered else 0.0,
        "emails": dict(emails),
        "at": uow.clock.now().isoformat(),
    }


class Statistics:
    """Per-process cache of snapshots and a change counter per event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self._versions: dict[str, int] = {}

    def version(self, event_id: str) -> int:
        return self._versions.get(event_id, 0)

    def changed(self, event_id: str) -> None:
        with self._lock:
            self._versions[event_id] = self._versions.get(event_id, 0) + 1

    def get(self, uow_factory: Any, *, event_id: str, max_age: float = CACHE_SECONDS) -> dict[str, Any]:
        now = time.monotonic()
        version = self.version(event_id)
        cached = self._cache.get(event_id)
        if cached is not None and cached[0] > now and cached[1] == version:
            return cached[2]
        with uow_factory(readonly=True) as uow:
            data = snapshot(uow, event_id=event_id)
        with self._lock:
            self._cache[event_id] = (now + max_age, version, data)
        return data


def statistics_for(turnout: Any) -> Statistics:
    stats = turnout.extras.get("statistics")
    if stats is None:
        stats = turnout.extras.setdefault("statistics", Statistics())
    return stats  # type: ignore[no-any-return]


def changed(turnout: Any, *, event_id: str) -> None:
    """Tell this process's live streams that ``event_id``'s numbers moved."""
    statistics_for(turnout).changed(event_id)


def signal_live(turnout: Any, envelope: Envelope, uow: UnitOfWork) -> None:
    """Bus handler for ``participant.registered`` and ``attendance.recorded``: wake the live stream
    once the relay's transaction commits (no database effect of its own)."""
    uow.after_commit(lambda: changed(turnout, event_id=envelope.key))


# --- anonymised analytics ---------------------------------------------------------------------------

AGE_GROUPS = ((0, 19, "under_20"), (20, 29, "20s"), (30, 39, "30s"), (40, 49, "40s"), (50, 59, "50s"))


def age_group(birth_date: date | None, on: date) -> str:
    if birth_date is None:
        return "unknown"
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    for low, high, label in AGE_GROUPS:
        if low <= age <= high:
            return label
    return "60_plus"


def analytics(uow: UnitOfWork, *, event_id: str) -> dict[str, Any]:
    """Counts and distributions without personal data (small groups are kept: no ids, names or contacts
    leave, and regions are the participant's own coarse field)."""
    conn = uow.conn
    event_row = conn.execute(sa.select(t.events).where(t.events.c.id == event_id)).first()
    if event_row is None:
        raise NotFound("event_not_found", event_id=event_id)
    zone = ZoneInfo(event_row.timezone)
    on = event_row.starts_at.astimezone(zone).date()
    ages: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    total = came = 0
    for row in conn.execute(
        sa.select(p.c.birth_date, p.c.region, p.c.first_checked_in_at.is_not(None).label("came")).where(
            p.c.event_id == event_id, p.c.status == "registered"
        )
    ):
        total += 1
        came += 1 if row.came else 0
        ages[age_group(row.birth_date, on)] += 1
        regions[row.region or "unknown"] += 1
    check_in_hours: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    stays: list[int] = []
    for row in conn.execute(
        sa.select(scans.c.occurred_at, scans.c.method, scans.c.result, scans.c.stay_seconds).where(
            scans.c.event_id == event_id, scans.c.result != "denied"
        )
    ):
        local = row.occurred_at.astimezone(zone)
        if row.result == "admitted":
            check_in_hours[f"{local.hour:02d}:00"] += 1
            methods[row.method] += 1
        peak[f"{local.hour:02d}:00"] += 1
        if row.stay_seconds is not None:
            stays.append(int(row.stay_seconds))
    stays.sort()
    stay = {
        "count": len(stays),
        "average_minutes": round(sum(stays) / len(stays) / 60, 1) if stays else None,
        "median_minutes": round(stays[len(stays) // 2] / 60, 1) if stays else None,
        "buckets": dict(
            Counter(
                "under_1h"
                if s < 3600
                else "1h_to_3h"
                if s < 3 * 3600
                else "3h_to_6h"
                if s < 6 * 3600
                else "6h_plus"
                for s in stays
            )
        ),
    }
    return {
        "event_id": event_id,
        "total_participants": total,
        "attendance_rate": round(came / total, 4) if total else 0.0,
        "demographics": {"age_groups": dict(ages), "regions": dict(regions)},
        "behaviour": {"check_in_times": dict(sorted(check_in_hours.items())), "stay_duration": stay},
        "anonymised": {
            "check_in_methods": dict(methods),
            "peak_hours": [hour for hour, _ in peak.most_common(3)],
        },
        "generated_at": uow.clock.now().isoformat(),
    }
