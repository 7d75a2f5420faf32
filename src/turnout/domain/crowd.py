"""Crowd safety: how full the venue (and each gate's area) is, and when to raise an alarm.

*Inside now* for the event is the number of registered participants whose check-in state is
``inside``. A gate may guard an *area* with its own capacity (a hall behind its door): the people
inside that area are the entries admitted through that gate minus the exits recorded through that
same gate, never below zero. Someone who enters through the gate and leaves through another one
stays counted in the first gate's area: the figure errs on the side of caution, and it is right for
the usual case of an area with one door used both ways.

The level shown is ``ok`` below 80 % of the capacity, ``amber`` from 80 % and ``red`` from 95 %.
An alarm is raised once per upward crossing of a threshold, then not again until the figure fell
back below a lower *re-arm* point (75 % for amber, 90 % for red): a crowd hovering around 80 %
raises one alarm, not one per scan. Jumping from below 80 % straight to 95 % raises the red alarm
only (amber counts as passed). Without a capacity (none, or 0) there is no level and no alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

AMBER_AT = 0.80
RED_AT = 0.95
AMBER_REARM_BELOW = 0.75
RED_REARM_BELOW = 0.90

#: the area of the whole event (a gate's area is named by the gate's id)
EVENT_AREA = "event"


class CrowdLevel(StrEnum):
    OK = "ok"
    AMBER = "amber"
    RED = "red"


#: the alert code raised when an area crosses into ``level`` (``crowd_amber``, ``crowd_red``)
def alert_code(level: CrowdLevel) -> str:
    return f"crowd_{level.value}"


def fill_ratio(inside: int, capacity: int | None) -> float | None:
    """``inside / capacity``, or ``None`` when there is no capacity to measure against."""
    if not capacity or capacity <= 0:
        return None
    return max(0, inside) / capacity


def level_of(inside: int, capacity: int | None) -> CrowdLevel | None:
    """The level to show now (no hysteresis), ``None`` without a capacity."""
    ratio = fill_ratio(inside, capacity)
    if ratio is None:
        return None
    if ratio >= RED_AT:
        return CrowdLevel.RED
    if ratio >= AMBER_AT:
        return CrowdLevel.AMBER
    return CrowdLevel.OK


def area_inside(admitted: int, exited: int) -> int:
    """People inside a gate's area: entries through the gate minus exits through it, at least 0."""
    return max(0, admitted - exited)


@dataclass(frozen=True, slots=True)
class AlarmStep:
    """What one look at an area decides: the alarm level now *fired* (the highest threshold crossed
    and not yet re-armed) and the level to raise an alert for now, if any."""

    fired: CrowdLevel
    raise_level: CrowdLevel | None = None


def next_alarm(fired: CrowdLevel, inside: int, capacity: int | None) -> AlarmStep:
    """The alarm state after seeing ``inside`` people against ``capacity``, from the ``fired``
    state: raise on an upward crossing of an armed threshold, re-arm below the re-arm points."""
    ratio = fill_ratio(inside, capacity)
    if ratio is None:
        return AlarmStep(CrowdLevel.OK)
    if ratio >= RED_AT and fired is not CrowdLevel.RED:
        return AlarmStep(CrowdLevel.RED, CrowdLevel.RED)
    if ratio >= AMBER_AT and fired is CrowdLevel.OK:
        return AlarmStep(CrowdLevel.AMBER, CrowdLevel.AMBER)
    if fired is CrowdLevel.RED and ratio < RED_REARM_BELOW:
        fired = CrowdLevel.AMBER
    if fired is CrowdLevel.AMBER and ratio < AMBER_REARM_BELOW:
        fired = CrowdLevel.OK
    return AlarmStep(fired)


@dataclass(frozen=True, slots=True)
class AreaReading:
    """One area's figures: the event (``area == EVENT_AREA``) or a gate's area (its id)."""

    area: str
    name: str | None
    inside: int
    capacity: int | None

    @property
    def ratio(self) -> float | None:
        return fill_ratio(self.inside, self.capacity)

    @property
    def level(self) -> CrowdLevel | None:
        return level_of(self.inside, self.capacity)

    def as_dict(self) -> dict[str, object]:
        ratio = self.ratio
        level = self.level
        return {
            "area": self.area,
            "name": self.name,
            "inside": self.inside,
            "capacity": self.capacity,
            "ratio": None if ratio is None else round(ratio, 4),
            "level": None if level is None else level.value,
        }
