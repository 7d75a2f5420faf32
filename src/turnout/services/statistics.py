"""Live statistics of an event, and its anonymised analytics, from the read model (``uow.statistics``).

``snapshot(uow, event_id=...)`` is the truth; ``Statistics`` caches it per process for about a second
and keeps a change counter per event that the live stream (``/stats/live``) watches. Check-ins in
this process, bulk batches and the bus handlers (``participant.registered``,
``attendance.recorded``) bump the counter; the stream also re-reads every second, so changes made by
other processes show up within a second.

``analytics(uow, event_id=...)`` is the anonymised view for external platforms: counts and
distributions only, never a name, email, phone or id of a person.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from turnout.domain.errors import NotFound
from turnout.domain.events import Event
from turnout.messages.base import Envelope
from turnout.ports import UnitOfWork, UnitOfWorkFactory

CACHE_SECONDS = 1.0
ARRIVAL_BUCKET_SECONDS = 300
SCAN_RESULTS = ("admitted", "exited", "denied")


def _event(uow: UnitOfWork, event_id: str) -> Event:
    event = uow.events.get(event_id)
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    return event


def snapshot(uow: UnitOfWork, *, event_id: str) -> dict[str, Any]:
    """The event's numbers now: participants by state, scans by gate, method and refusal code,
    admissions per five minutes, the attendance rate and the welcome emails by state."""
    event = _event(uow, event_id)
    read = uow.statistics
    registered = cancelled = checked_in = inside = 0
    emails: Counter[str] = Counter()
    for tally in read.participant_tallies(event_id):
        if tally.status == "cancelled":
            cancelled += tally.count
            continue
        registered += tally.count
        emails[tally.email_status] += tally.count
        if tally.came:
            checked_in += tally.count
        if tally.check_in_status == "inside":
            inside += tally.count
    by_gate: dict[str, dict[str, Any]] = {
        gate_id: {"name": name, **dict.fromkeys(SCAN_RESULTS, 0)}
        for gate_id, name in read.gate_names(event_id).items()
    }
    by_method: dict[str, dict[str, int]] = {}
    denied_by_code: Counter[str] = Counter()
    total = denied = 0
    for scans in read.scan_tallies(event_id):
        total += scans.count
        if scans.result == "denied":
            denied += scans.count
            denied_by_code[scans.code or "denied"] += scans.count
        if scans.gate_id is not None:
            gate = by_gate.setdefault(scans.gate_id, {"name": None, **dict.fromkeys(SCAN_RESULTS, 0)})
            gate[scans.result] = gate.get(scans.result, 0) + scans.count
        method = by_method.setdefault(scans.method, dict.fromkeys(SCAN_RESULTS, 0))
        method[scans.result] = method.get(scans.result, 0) + scans.count
    arrivals = [
        {"at": bucket.starts_at.isoformat(), "admitted": bucket.admitted}
        for bucket in read.arrivals(event_id, bucket_seconds=ARRIVAL_BUCKET_SECONDS)
    ]
    return {
        "event_id": event_id,
        "event_status": event.status.value,
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


@dataclass(frozen=True, slots=True)
class _Cached:
    expires: float  # on the ``monotonic`` clock
    version: int
    snapshot: dict[str, Any]


class Statistics:
    """Per-process cache of snapshots and a change counter per event (one per process, wired in
    ``bootstrap``).

    Safe to share between threads without a lock: each dict operation is atomic, and a counter's
    ``next`` is too. Two threads that miss the cache at once both read a snapshot; the later one
    stays. Two changes at once may store their versions in either order: the version then still
    differs from what a reader saw before, which is all a reader asks."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        max_age: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._max_age = max_age
        self._monotonic = monotonic
        self._cache: dict[str, _Cached] = {}
        self._versions: dict[str, int] = {}
        self._counters: dict[str, itertools.count[int]] = {}

    def version(self, event_id: str) -> int:
        """How many times the event's numbers were reported moved in this process."""
        return self._versions.get(event_id, 0)

    def changed(self, event_id: str) -> None:
        counter = self._counters.get(event_id) or self._counters.setdefault(event_id, itertools.count(1))
        self._versions[event_id] = next(counter)

    def get(self, *, event_id: str, max_age: float | None = None) -> dict[str, Any]:
        """The event's snapshot, read again when the cached one is older than ``max_age`` seconds or
        the event changed since."""
        now = self._monotonic()
        version = self.version(event_id)
        cached = self._cache.get(event_id)
        if cached is not None and cached.expires > now and cached.version == version:
            return cached.snapshot
        with self._uow_factory(readonly=True) as uow:
            data = snapshot(uow, event_id=event_id)
        self._cache[event_id] = _Cached(now + (self._max_age if max_age is None else max_age), version, data)
        return data


def changed(statistics: Statistics, *, event_id: str) -> None:
    """Tell this process's live streams that ``event_id``'s numbers moved."""
    statistics.changed(event_id)


def signal_live(statistics: Statistics, envelope: Envelope, uow: UnitOfWork) -> None:
    """Bus handler for ``participant.registered`` and ``attendance.recorded``: wake the live stream
    once the relay's transaction commits (no database effect of its own)."""
    uow.after_commit(lambda: statistics.changed(envelope.key))


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
    leave, and regions are the participant's own coarse field). Ages are taken on the event's first
    day; hours are the event's local hours."""
    event = _event(uow, event_id)
    read = uow.statistics
    zone = ZoneInfo(event.timezone)
    on = event.starts_at.astimezone(zone).date()
    ages: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    total = came = 0
    for profile in read.attendee_profiles(event_id):
        total += 1
        came += 1 if profile.came else 0
        ages[age_group(profile.birth_date, on)] += 1
        regions[profile.region or "unknown"] += 1
    check_in_hours: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    stays: list[int] = []
    for scan in read.scan_moments(event_id):
        hour = f"{scan.occurred_at.astimezone(zone).hour:02d}:00"
        if scan.result == "admitted":
            check_in_hours[hour] += 1
            methods[scan.method] += 1
        peak[hour] += 1
        if scan.stay_seconds is not None:
            stays.append(scan.stay_seconds)
    stays.sort()
    stay = {
        "count": len(stays),
        "average_minutes": round(sum(stays) / len(stays) / 60, 1) if stays else None,
        "median_minutes": round(stays[len(stays) // 2] / 60, 1) if stays else None,
        "buckets": dict(Counter(stay_bucket(seconds) for seconds in stays)),
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


def stay_bucket(seconds: int) -> str:
    if seconds < 3600:
        return "under_1h"
    if seconds < 3 * 3600:
        return "1h_to_3h"
    if seconds < 6 * 3600:
        return "3h_to_6h"
    return "6h_plus"
