"""Crowd safety: each live event's people inside against its capacity, and each gate's area
against the gate's capacity (``domain.crowd`` defines the figures, levels and alarm rules).

``readings`` gives the figures (the dashboard's gauges show them through the statistics snapshot).
``watch_crowds`` is what the worker's ``crowd-safety`` loop runs every few seconds: for each live
event it reads the figures (two indexed ``GROUP BY`` queries; the gate scan path is not touched),
compares them with the alarm state stored per area (``uow.crowd``), and on an upward crossing
raises a ``crowd_amber`` / ``crowd_red`` alert through ``services.alerts.raise_alert`` (stored, sent
to the ``alerts`` integration, emailed to ``TURNOUT_ALERT_EMAIL``), once per crossing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from turnout.domain.crowd import EVENT_AREA, AreaReading, CrowdLevel, alert_code, area_inside, next_alarm
from turnout.domain.events import Event, Gate
from turnout.ports import GateTraffic, ScanTally, UnitOfWork, UnitOfWorkFactory
from turnout.services.alerts import raise_alert

log = logging.getLogger(__name__)


#: how often the worker looks (seconds); a look costs two counts per live event (see ``watch_crowds``)
WATCH_SECONDS = 10.0
#: when no scan was recorded since the last look, the next full look waits this long (a capacity
#: changed by hand, or a cancellation, is still seen within it)
IDLE_LOOK_SECONDS = 60.0


def area_readings(
    event: Event, gates: Sequence[Gate], *, inside: int, moves: Mapping[str, tuple[int, int]]
) -> list[AreaReading]:
    """The event's reading (always, with or without a capacity) and one per gate with a capacity;
    ``moves``: gate id -> (admissions, exits) through it."""
    readings = [AreaReading(EVENT_AREA, None, inside, event.capacity or None)]
    for gate in gates:
        if gate.capacity:
            admitted, exited = moves.get(gate.id, (0, 0))
            readings.append(AreaReading(gate.id, gate.name, area_inside(admitted, exited), gate.capacity))
    return readings


def moves_of(scan_tallies: Iterable[ScanTally]) -> dict[str, tuple[int, int]]:
    """Gate id -> (admissions, exits), from the statistics' scan tallies."""
    counts: dict[str, Counter[str]] = {}
    for tally in scan_tallies:
        if tally.gate_id is not None:
            counts.setdefault(tally.gate_id, Counter())[tally.result] += tally.count
    return {gate_id: (c["admitted"], c["exited"]) for gate_id, c in counts.items()}


def readings(uow: UnitOfWork, event: Event) -> list[AreaReading]:
    """The figures from two narrow counts (``uow.crowd``): the people inside, and the admissions
    and exits through the gates that have a capacity (none read when no gate has one)."""
    gates = uow.gates.list_for_event(event.id)
    watched = [gate.id for gate in gates if gate.capacity]
    moves = uow.crowd.gate_moves(event.id, watched) if watched else {}
    return area_readings(event, gates, inside=uow.crowd.inside_now(event.id), moves=moves)


def _steps(
    fired: dict[str, CrowdLevel], areas: Sequence[AreaReading]
) -> list[tuple[AreaReading, CrowdLevel, CrowdLevel | None]]:
    """(reading, new fired level, level to raise) for each area whose state changes."""
    changes = []
    for reading in areas:
        before = fired.get(reading.area, CrowdLevel.OK)
        step = next_alarm(before, reading.inside, reading.capacity)
        if step.fired is not before or step.raise_level is not None:
            changes.append((reading, step.fired, step.raise_level))
    return changes


def alert_details(reading: AreaReading, level: CrowdLevel) -> dict[str, object]:
    ratio = reading.ratio or 0.0
    return {
        "area": reading.area,
        "gate_id": None if reading.area == EVENT_AREA else reading.area,
        "gate_name": reading.name,
        "where": f"gate area {reading.name}" if reading.name else "the event",
        "inside": reading.inside,
        "capacity": reading.capacity,
        "percent": round(100 * ratio, 1),
        "level": level.value,
    }


def watch_event(uow: UnitOfWork, *, event_id: str) -> list[str]:
    """One look at ``event_id`` in a read-write ``uow`` (the caller commits): store the areas'
    new alarm states and raise an alert for each upward crossing. The codes raised."""
    event = uow.events.get(event_id)
    if event is None:
        return []
    raised = []
    now = uow.clock.now()
    areas = readings(uow, event)
    known = {reading.area for reading in areas}
    fired = uow.crowd.fired(event_id)
    for area in fired.keys() - known:  # a gate whose capacity was removed: re-arm it
        uow.crowd.set_fired(event_id, area, CrowdLevel.OK, now=now)
    for reading, level, raise_level in _steps(fired, areas):
        uow.crowd.set_fired(event_id, reading.area, level, now=now)
        if raise_level is not None:
            code = alert_code(raise_level)
            raise_alert(
                uow,
                event_id=event_id,
                saga_id=None,
                code=code,
                details=alert_details(reading, raise_level),
                actor="crowd-safety",
            )
            raised.append(code)
    return raised


def needs_look(uow: UnitOfWork, *, event_id: str) -> bool:
    """Whether ``event_id``'s alarm state would change (read-only: no write turn when nothing does)."""
    event = uow.events.get(event_id)
    if event is None:
        return False
    areas = readings(uow, event)
    fired = uow.crowd.fired(event_id)
    return bool(_steps(fired, areas)) or bool(fired.keys() - {reading.area for reading in areas})


def watch_crowds(uow_factory: UnitOfWorkFactory, *, read_factory: UnitOfWorkFactory | None = None) -> int:
    """One round over the live events: read-only first, and a short write transaction only for an
    event whose alarm state changes. How many alerts were raised."""
    reader = read_factory or uow_factory
    with reader(readonly=True) as uow:
        due = [event_id for event_id in uow.crowd.live_event_ids() if needs_look(uow, event_id=event_id)]
    raised = 0
    for event_id in due:
        with uow_factory() as uow:
            codes = watch_event(uow, event_id=event_id)
            uow.commit()
        if codes:
            log.warning("crowd safety: event %s raised %s", event_id, ", ".join(codes))
        raised += len(codes)
    return raised


class CrowdWatch:
    """The worker's crowd watch: ``watch_crowds`` each round, except while no scan was recorded
    since the last look (``traffic``, a cheap counter) and the last look is recent."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        read_factory: UnitOfWorkFactory | None = None,
        traffic: GateTraffic | None = None,
        idle_seconds: float = IDLE_LOOK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uow_factory = uow_factory
        self.read_factory = read_factory
        self.traffic = traffic
        self.idle_seconds = idle_seconds
        self.monotonic = monotonic
        self._seen: int | None = None
        self._looked_at: float | None = None

    def round(self) -> int:
        """One round: the alerts raised (0 when skipped)."""
        seen = self.traffic.scans_recorded() if self.traffic is not None else None
        now = self.monotonic()
        quiet = seen is not None and seen == self._seen
        if quiet and self._looked_at is not None and now - self._looked_at < self.idle_seconds:
            return 0
        raised = watch_crowds(self.uow_factory, read_factory=self.read_factory)
        self._seen, self._looked_at = seen, now
        return raised
