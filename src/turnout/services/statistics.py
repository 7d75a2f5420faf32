"""Live statistics of an event, and its anonymised analytics, from the read model (``uow.statistics``).

``snapshot(uow, event_id=...)`` is the truth; ``Statistics`` caches it per process for about a second
and keeps a change counter per event that the live stream (``/stats/live``) watches. Check-ins in
this process, bulk batches and the bus handlers (``participant.registered``,
``attendance.recorded``) bump the counter; the stream also re-reads every second, so changes made by
other processes show up within a second.

``analytics(uow, event_id=...)`` is the anonymised view for external platforms: counts of people
and distributions only, never a name, email, phone or id of a person, every group of fewer than
five people merged into ``other`` and no small group computable from what is published
(k-anonymity).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from turnout.domain.errors import NotFound
from turnout.domain.events import Event
from turnout.messages.base import Envelope
from turnout.ports import DayFigures, EventCounts, FlowCount, UnitOfWork, UnitOfWorkFactory
from turnout.services import crowd

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
    admissions (and exits) per five minutes, people inside over time, the attendance rate, the
    welcome emails by state, and crowd safety's readings (``crowd``: the event's and each gate
    area's people inside against its capacity, with the level: ``domain.crowd``)."""
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
    tallies = read.scan_tallies(event_id)
    for scans in tallies:
        total += scans.count
        if scans.result == "denied":
            denied += scans.count
            denied_by_code[scans.code or "denied"] += scans.count
        if scans.gate_id is not None:
            gate = by_gate.setdefault(scans.gate_id, {"name": None, **dict.fromkeys(SCAN_RESULTS, 0)})
            gate[scans.result] = gate.get(scans.result, 0) + scans.count
        method = by_method.setdefault(scans.method, dict.fromkeys(SCAN_RESULTS, 0))
        method[scans.result] = method.get(scans.result, 0) + scans.count
    flows = read.flows(event_id, bucket_seconds=ARRIVAL_BUCKET_SECONDS)
    arrivals = [
        {"at": bucket.starts_at.isoformat(), "admitted": bucket.admitted}
        for bucket in flows
        if bucket.admitted
    ]
    areas = crowd.area_readings(
        event, uow.gates.list_for_event(event_id), inside=inside, moves=crowd.moves_of(tallies)
    )
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
        "inside_over_time": inside_over_time(flows),
        "exits": [
            {"at": bucket.starts_at.isoformat(), "exited": bucket.exited} for bucket in flows if bucket.exited
        ],
        "capacity": event.capacity,
        "crowd": [reading.as_dict() for reading in areas],
        "attendance_rate": round(checked_in / registered, 4) if registered else 0.0,
        "emails": dict(emails),
        "at": uow.clock.now().isoformat(),
    }


def event_counts(uow: UnitOfWork, *, event_ids: Sequence[str]) -> dict[str, EventCounts]:
    """Registered and checked-in participants of each listed event (the console's event list), in
    one grouped query; an event without participants gets zeros."""
    counts = uow.statistics.event_counts(list(event_ids))
    return {event_id: counts.get(event_id, EventCounts()) for event_id in event_ids}


def local_day(moment: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The day holding ``moment`` in ``timezone``: its first instant and the next day's (a day of a
    daylight-saving change is 23 or 25 hours long)."""
    zone = ZoneInfo(timezone)
    today = moment.astimezone(zone).date()
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    following = today + timedelta(days=1)
    return start, datetime(following.year, following.month, following.day, tzinfo=zone)


def today(uow: UnitOfWork, *, event: Event) -> tuple[DayFigures, datetime]:
    """The event page's figures for today in the event's zone (registered, inside now, came through
    a gate today, scans and refusals today), and the day's start."""
    since, until = local_day(uow.clock.now(), event.timezone)
    return uow.statistics.day_figures(event.id, since=since, until=until), since


def inside_over_time(flows: Sequence[FlowCount]) -> list[dict[str, Any]]:
    """People inside at the end of each five-minute bucket with movement: admissions minus exits
    so far (from the scans, never below 0; the ``inside`` tile counts participants instead, so
    the two differ only when a person inside was cancelled or changed by hand)."""
    series = []
    inside = 0
    for bucket in flows:
        inside = max(0, inside + bucket.admitted - bucket.exited)
        series.append({"at": bucket.starts_at.isoformat(), "inside": inside})
    return series


@dataclass(frozen=True, slots=True)
class _Cached:
    expires: float  # on the ``monotonic`` clock
    version: int
    snapshot: dict[str, Any]
    read_at: float = 0.0  # on the ``monotonic`` clock


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

    def peek(self, *, event_id: str, max_age: float = 60.0) -> dict[str, Any] | None:
        """The event's last snapshot read in this process if it is at most ``max_age`` seconds old,
        else None (nothing is read: for a page that must answer fast and then follows the stream)."""
        cached = self._cache.get(event_id)
        if cached is None or cached.read_at + max_age < self._monotonic():
            return None
        return cached.snapshot

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
        self._cache[event_id] = _Cached(
            now + (self._max_age if max_age is None else max_age), version, data, now
        )
        return data


def changed(statistics: Statistics, *, event_id: str) -> None:
    """Tell this process's live streams that ``event_id``'s numbers moved."""
    statistics.changed(event_id)


def signal_live(statistics: Statistics, envelope: Envelope, uow: UnitOfWork) -> None:
    """Bus handler for ``participant.registered`` and ``attendance.recorded``: wake the live stream
    once the relay's transaction commits (no database effect of its own)."""
    uow.after_commit(lambda: statistics.changed(envelope.key))


# --- anonymised analytics ---------------------------------------------------------------------------
# What the analytics platform receives (``analytics.snapshot``, services/feeds.py) and what
# ``GET /events/{id}/analytics`` answers: the same payload. Counts and distributions only, and every
# count is of people, never of scans (one person scanned five times is one). Every group of fewer
# than ``K_ANONYMITY`` people is merged into ``other``; while ``other`` is then below
# ``K_ANONYMITY`` (but not empty) the smallest kept group joins it too, so that no small group can
# be read back as a published total minus the published groups; ``other`` itself is left out when
# it stays below ``K_ANONYMITY``. The attendance rate, the stay figures and the count of people with
# a stay are null when they would describe fewer than ``K_ANONYMITY`` people. No name, email, phone,
# token, birth date or id of a person is read into it (``AttendeeProfile`` carries none, and
# ``ScanMoment.person`` is an opaque key that never leaves this module).

K_ANONYMITY = 5
P90_PEOPLE = 2 * K_ANONYMITY  # below this, the nearest-rank 90th percentile is the longest stay
OTHER = "other"
PEAK_HOURS = 3
AGE_GROUPS = ((0, 19, "under_20"), (20, 29, "20s"), (30, 39, "30s"), (40, 49, "40s"), (50, 59, "50s"))


def age_group(birth_date: date | None, on: date) -> str:
    if birth_date is None:
        return "unknown"
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    for low, high, label in AGE_GROUPS:
        if low <= age <= high:
            return label
    return "60_plus"


def k_anonymous(counts: Mapping[str, int], k: int = K_ANONYMITY) -> dict[str, int]:
    """Groups of at least ``k`` kept (largest first, then by name); the smaller ones merged into
    ``other`` (a group already named ``other`` joins it). While ``other`` holds between 1 and
    ``k - 1``, the smallest kept group (the last listed) is merged into it as well: otherwise the
    sum of all groups minus the published ones would give the size of the groups left out.
    ``other`` is kept only if it reaches ``k``."""
    kept = sorted(
        ((group, n) for group, n in counts.items() if n >= k and group != OTHER),
        key=lambda item: (-item[1], item[0]),
    )
    merged = sum(counts.values()) - sum(n for _, n in kept)
    while 0 < merged < k and kept:
        merged += kept.pop()[1]
    ordered = dict(kept)
    if merged >= k:
        ordered[OTHER] = merged
    return ordered


def attendance_rate(total: int, came: int, k: int = K_ANONYMITY) -> float | None:
    """``came / total``, or ``None`` when the registrants, those who came or those who did not are
    fewer than ``k`` (a rate of 1.0 over one registrant says that this one person came)."""
    if min(total, came, total - came) < k:
        return None
    return round(came / total, 4)


def percentile_minutes(sorted_seconds: Sequence[int], fraction: float) -> float:
    """The nearest-rank percentile of ``sorted_seconds``, in minutes (one decimal)."""
    rank = max(1, math.ceil(fraction * len(sorted_seconds)))
    return round(sorted_seconds[rank - 1] / 60, 1)


def _people(groups: Mapping[str, set[int]]) -> dict[str, int]:
    return {group: len(people) for group, people in groups.items()}


def analytics(uow: UnitOfWork, *, event_id: str) -> dict[str, Any]:
    """The event's anonymised analytics (the seed's ``generateAnalyticsData``): participants,
    attendance rate, age groups (ages on the event's first day), regions, people checking in per
    local hour, the median and 90th percentile of the time each person stayed (all their stays
    added up), people per check-in method and the local hours when most people were scanned, every
    distribution k-anonymous (``K_ANONYMITY``). Stay figures are null below ``K_ANONYMITY`` people
    with a stay, the 90th percentile below ``P90_PEOPLE``."""
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
        regions[(profile.region or "").strip() or "unknown"] += 1
    check_in_hours: defaultdict[str, set[int]] = defaultdict(set)
    scanned_by_hour: defaultdict[str, set[int]] = defaultdict(set)
    methods: defaultdict[str, set[int]] = defaultdict(set)
    stayed: Counter[int] = Counter()  # person -> seconds inside, all their stays added up
    for scan in read.scan_moments(event_id):
        hour = f"{scan.occurred_at.astimezone(zone).hour:02d}:00"
        if scan.result == "admitted":
            check_in_hours[hour].add(scan.person)
            methods[scan.method].add(scan.person)
        scanned_by_hour[hour].add(scan.person)
        if scan.stay_seconds is not None:
            stayed[scan.person] += scan.stay_seconds
    stays = sorted(stayed.values())
    busy = sorted(
        ((hour, n) for hour, n in _people(scanned_by_hour).items() if n >= K_ANONYMITY),
        key=lambda item: (-item[1], item[0]),
    )
    return {
        "event_id": event_id,
        "event_status": event.status.value,
        "generated_at": uow.clock.now().isoformat(),
        "k_anonymity": K_ANONYMITY,
        "total_participants": total,
        "attendance_rate": attendance_rate(total, came),
        "demographic_insights": {"age_groups": k_anonymous(ages), "regions": k_anonymous(regions)},
        "behavior_insights": {
            "check_in_times": _by_hour(k_anonymous(_people(check_in_hours))),
            "stay_duration": {
                "count": len(stays) if len(stays) >= K_ANONYMITY else None,
                "median_minutes": round(median(stays) / 60, 1) if len(stays) >= K_ANONYMITY else None,
                "p90_minutes": percentile_minutes(stays, 0.9) if len(stays) >= P90_PEOPLE else None,
            },
        },
        "anonymized_metrics": {
            "popular_check_in_methods": k_anonymous(_people(methods)),
            "peak_hours": [hour for hour, _ in busy[:PEAK_HOURS]],  # busiest first, ties by hour
        },
    }


def _by_hour(counts: dict[str, int]) -> dict[str, int]:
    """Hours in clock order, ``other`` (the merged small hours) last."""
    ordered = {hour: counts[hour] for hour in sorted(counts) if hour != OTHER}
    if OTHER in counts:
        ordered[OTHER] = counts[OTHER]
    return ordered
