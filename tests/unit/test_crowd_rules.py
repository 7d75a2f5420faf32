"""Crowd safety's rules (``domain.crowd``): levels at 80 % and 95 %, one alarm per upward crossing,
re-armed below 75 % and 90 %."""

from __future__ import annotations

import pytest

from turnout.domain.crowd import (
    AreaReading,
    CrowdLevel,
    alert_code,
    area_inside,
    fill_ratio,
    level_of,
    next_alarm,
)

OK, AMBER, RED = CrowdLevel.OK, CrowdLevel.AMBER, CrowdLevel.RED


@pytest.mark.parametrize(
    ("inside", "capacity", "level"),
    [(0, 100, OK), (79, 100, OK), (80, 100, AMBER), (94, 100, AMBER), (95, 100, RED), (130, 100, RED)],
)
def test_level_turns_amber_at_80_and_red_at_95_percent_when_a_capacity_is_set(
    inside: int, capacity: int, level: CrowdLevel
) -> None:
    assert level_of(inside, capacity) is level


@pytest.mark.parametrize("capacity", [None, 0])
def test_there_is_no_level_when_no_capacity_is_set(capacity: int | None) -> None:
    assert (fill_ratio(50, capacity), level_of(50, capacity)) == (None, None)
    assert next_alarm(OK, 50, capacity).raise_level is None


def test_an_area_holds_entries_minus_exits_and_never_less_than_nobody_when_counted() -> None:
    assert (area_inside(10, 4), area_inside(3, 5)) == (6, 0)


def walk(figures: list[int], capacity: int = 100) -> list[CrowdLevel | None]:
    """The alarms raised while the area goes through ``figures`` (one look each)."""
    fired, raised = OK, []
    for inside in figures:
        step = next_alarm(fired, inside, capacity)
        fired = step.fired
        raised.append(step.raise_level)
    return raised


def test_an_alarm_is_raised_once_per_upward_crossing_when_the_crowd_hovers() -> None:
    assert walk([70, 80, 82, 79, 81, 80]) == [None, AMBER, None, None, None, None]


def test_amber_fires_again_only_after_falling_below_75_percent_when_it_rose_again() -> None:
    assert walk([80, 76, 80, 74, 80]) == [AMBER, None, None, None, AMBER]


def test_red_fires_again_only_after_falling_below_90_percent_when_it_rose_again() -> None:
    assert walk([80, 95, 91, 96, 89, 95]) == [AMBER, RED, None, None, None, RED]


def test_a_jump_from_ok_to_red_raises_red_only_and_amber_stays_fired_when_it_drops_a_little() -> None:
    assert walk([10, 97, 85, 95, 80, 70, 81]) == [None, RED, None, RED, None, None, AMBER]


def test_a_removed_capacity_rearms_the_area_when_it_is_seen() -> None:
    assert next_alarm(RED, 500, None).fired is OK


def test_a_reading_reports_its_ratio_and_level_when_turned_into_the_snapshot() -> None:
    reading = AreaReading("g1", "정문", inside=19, capacity=20)
    assert reading.as_dict() == {
        "area": "g1",
        "name": "정문",
        "inside": 19,
        "capacity": 20,
        "ratio": 0.95,
        "level": "red",
    }
    assert alert_code(RED) == "crowd_red"
