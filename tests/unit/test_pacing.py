"""``services.pacing.RushWatch``: when the integrations give way to the gates."""

from __future__ import annotations

from turnout.services.pacing import RushWatch


class FakeTraffic:
    def __init__(self) -> None:
        self.count: int | None = 0
        self.reads = 0

    def scans_recorded(self) -> int | None:
        self.reads += 1
        return self.count


class FakeLoad:
    def __init__(self) -> None:
        self.share = 0.0

    def busy(self) -> float:
        return self.share


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watch(traffic: FakeTraffic, load: FakeLoad | None = None, **kwargs: float) -> tuple[RushWatch, Clock]:
    clock = Clock()
    settings = {"scans_per_second": 100.0, "busy_cpu": 0.8, "hold_seconds": 2.0, "sample_seconds": 0.25}
    settings.update(kwargs)
    return RushWatch(traffic, load, monotonic=clock, **settings), clock


def test_many_scans_a_second_are_a_rush_and_it_lasts_a_moment_after_them() -> None:
    traffic = FakeTraffic()
    rush, clock = watch(traffic)
    assert not rush.in_rush()  # the first reading has nothing to compare with
    clock.now += 1.0
    traffic.count = 50  # 50 scans a second: not a rush
    assert not rush.in_rush()
    assert rush.scan_rate == 50.0
    clock.now += 1.0
    traffic.count = 250  # 200 a second
    assert rush.in_rush()
    clock.now += 1.5  # no new scans, but within the hold
    assert rush.in_rush()
    clock.now += 1.0  # 2.5 s after the last busy reading
    assert not rush.in_rush()


def test_readings_are_taken_at_most_every_sample_interval() -> None:
    traffic = FakeTraffic()
    rush, clock = watch(traffic)
    rush.in_rush()
    for _ in range(10):
        clock.now += 0.01
        rush.in_rush()
    assert traffic.reads == 1
    clock.now += 0.25
    rush.in_rush()
    assert traffic.reads == 2


def test_a_busy_machine_is_a_rush_too_unless_that_signal_is_off() -> None:
    traffic, load = FakeTraffic(), FakeLoad()
    rush, clock = watch(traffic, load)
    load.share = 0.9
    assert rush.in_rush()
    load.share = 0.1
    clock.now += 3.0
    assert not rush.in_rush()

    off, clock = watch(FakeTraffic(), load, busy_cpu=0.0)
    load.share = 1.0
    assert not off.in_rush()


def test_a_counter_that_cannot_be_read_is_no_rush_and_a_counter_that_went_back_is_no_traffic() -> None:
    traffic = FakeTraffic()
    rush, clock = watch(traffic)
    traffic.count = None
    rush.in_rush()
    clock.now += 1.0
    assert not rush.in_rush()
    traffic.count = 1000
    clock.now += 1.0
    assert not rush.in_rush()  # no earlier reading to compare with
    traffic.count = 10  # rows deleted (a rowid reused): not negative traffic
    clock.now += 1.0
    assert not rush.in_rush()
    assert rush.scan_rate == 0.0
