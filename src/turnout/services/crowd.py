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
from collections import Counter
from collections.abc import Iterable, Sequence

from turnout.domain.crowd import EVENT_AREA, AreaReading, CrowdLevel, alert_code, area_inside, next_alarm
from turnout.domain.events import Event, Gate
from turnout.ports import ScanTally, UnitOfWork, UnitOfWorkFactory
from turnout.services.alerts import raise_alert

log = logging.getLogger(__name__)

#: how often the worker looks (seconds)
WATCH_SECONDS = 5.0


def area_readings(
    event: Event, gates: Sequence[Gate], *, inside: int, scan_tallies: Iterable[ScanTally]
) -> list[AreaReading]:
    """The event's reading (always, with or without a capacity) and one per gate with a capacity."""
    through: dict[str, Counter[str]] = {}
    watched = {gate.id for gate in gates if gate.capacity}
    for tally in scan_tallies:
        if tally.gate_id in watched:
            through.setdefault(tally.gate_id, Counter())[tally.result] += tally.count
    readings = [AreaReading(EVENT_AREA, None, inside, event.capacity or None)]
    for gate in gates:
        if gate.capacity:
            moves = through.get(gate.id, Counter())
            readings.append(
                AreaReading(
                    gate.id, gate.name, area_inside(moves["admitted"], moves["exited"]), gate.capacity
                )
            )
    return readings


def inside_now(uow: UnitOfWork, event_id: str) -> int:
    return sum(
        tally.count
        for tally in uow.statistics.participant_tallies(event_id)
        if tally.status != "cancelled" and tally.check_in_status == "inside"
    )


def readings(uow: UnitOfWork, event: Event) -> list[AreaReading]:
    gates = uow.gates.list_for_event(event.id)
    tallies = uow.statistics.scan_tallies(event.id) if any(g.capacity for g in gates) else []
    return area_readings(event, gates, inside=inside_now(uow, event.id), scan_tallies=tallies)


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
