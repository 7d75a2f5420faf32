"""Live statistics and anonymised analytics (``services.statistics``) on the fake read model: the
arithmetic from tallies to the numbers shown, the per-process cache and the change counter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.fakes_spine import FakeParticipant, FakeScan
from turnout.domain.errors import NotFound
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered
from turnout.services.events import create_event
from turnout.services.statistics import Statistics, analytics, changed, k_anonymous, signal_live, snapshot

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 09:00 in Seoul
KST = timedelta(hours=9)


@pytest.fixture
def uow_factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeClock(T0 + timedelta(hours=3)))


@pytest.fixture
def event_id(uow_factory: FakeUnitOfWorkFactory) -> str:
    with uow_factory() as uow:
        event = create_event(  # Asia/Seoul
            uow, actor="t", name="행사", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    return event.id


def fill(uow_factory: FakeUnitOfWorkFactory, *rows: FakeParticipant | FakeScan | Gate) -> None:
    with uow_factory() as uow:
        for row in rows:
            if isinstance(row, FakeParticipant):
                uow.statistics.add_participant(row)
            elif isinstance(row, FakeScan):
                uow.statistics.add_scan(row)
            else:
                uow.gates.add(row, now=T0)
        uow.commit()


def gate(event_id: str, gate_id: str, name: str) -> Gate:
    return Gate(
        id=gate_id, event_id=event_id, name=name, direction=GateDirection.BOTH, methods=(ScanMethod.QR,)
    )


def test_snapshot_counts_registered_checked_in_and_inside_without_the_cancelled_when_people_came(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    came = T0 + timedelta(hours=1)
    fill(
        uow_factory,
        FakeParticipant(event_id, email_status="sent"),
        FakeParticipant(event_id, email_status="sent", check_in_status="inside", first_checked_in_at=came),
        FakeParticipant(event_id, email_status="failed", check_in_status="exited", first_checked_in_at=came),
        FakeParticipant(event_id, status="cancelled", email_status="sent"),
        FakeParticipant("another-event", check_in_status="inside", first_checked_in_at=came),
    )
    with uow_factory(readonly=True) as uow:
        numbers = snapshot(uow, event_id=event_id)
    assert (numbers["registered"], numbers["cancelled"], numbers["checked_in"], numbers["inside"]) == (
        3,
        1,
        2,
        1,
    )
    assert numbers["attendance_rate"] == 0.6667
    assert numbers["emails"] == {"sent": 2, "failed": 1}  # of the registered only
    assert numbers["event_status"] == "draft"
    assert numbers["at"] == (T0 + timedelta(hours=3)).isoformat()


def test_snapshot_breaks_scans_down_by_gate_method_and_refusal_when_scanned(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    at = T0 + timedelta(minutes=2)
    fill(
        uow_factory,
        gate(event_id, "g-main", "정문"),
        gate(event_id, "g-quiet", "후문"),
        FakeScan(event_id, "qr", "admitted", at, gate_id="g-main"),
        FakeScan(event_id, "qr", "admitted", at + timedelta(minutes=5), gate_id="g-main"),
        FakeScan(event_id, "ble", "exited", at, gate_id="g-main"),
        FakeScan(event_id, "qr", "denied", at, gate_id="g-main", code="already_inside"),
        FakeScan(event_id, "manual", "denied", at, gate_id="g-gone", code=None),
        FakeScan(event_id, "qr", "denied", at, code="already_inside"),
    )
    with uow_factory(readonly=True) as uow:
        numbers = snapshot(uow, event_id=event_id)
    assert (numbers["scans"], numbers["denied"]) == (6, 3)
    assert numbers["denied_by_code"] == {"already_inside": 2, "denied": 1}
    assert numbers["by_gate"] == {
        "g-main": {"name": "정문", "admitted": 2, "exited": 1, "denied": 1},
        "g-quiet": {"name": "후문", "admitted": 0, "exited": 0, "denied": 0},
        "g-gone": {"name": None, "admitted": 0, "exited": 0, "denied": 1},  # a gate no longer known
    }
    assert numbers["by_method"] == {
        "qr": {"admitted": 2, "exited": 0, "denied": 2},
        "ble": {"admitted": 0, "exited": 1, "denied": 0},
        "manual": {"admitted": 0, "exited": 0, "denied": 1},
    }
    assert numbers["arrivals"] == [
        {"at": T0.isoformat(), "admitted": 1},
        {"at": (T0 + timedelta(minutes=5)).isoformat(), "admitted": 1},
    ]


def test_snapshot_rate_is_zero_when_nobody_registered(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uow_factory(readonly=True) as uow:
        numbers = snapshot(uow, event_id=event_id)
    assert (numbers["registered"], numbers["attendance_rate"], numbers["arrivals"]) == (0, 0.0, [])


def test_snapshot_and_analytics_refuse_when_the_event_is_unknown(uow_factory: FakeUnitOfWorkFactory) -> None:
    with uow_factory(readonly=True) as uow:
        with pytest.raises(NotFound) as missing:
            snapshot(uow, event_id="nope")
        assert missing.value.code == "event_not_found"
        with pytest.raises(NotFound):
            analytics(uow, event_id="nope")


def test_analytics_groups_ages_on_the_first_day_and_hours_in_the_events_zone_when_people_came(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    def people(n: int, born: date, region: str | None, **extra: Any) -> list[FakeParticipant]:
        return [FakeParticipant(event_id, birth_date=born, region=region, **extra) for _ in range(n)]

    def scans(method: str, at: datetime, *who: int) -> list[FakeScan]:
        return [FakeScan(event_id, method, "admitted", at, participant_id=f"p{n}") for n in who]

    minutes = [30, 60, 90, 120, 600]
    fill(
        uow_factory,
        *people(5, date(2006, 6, 2), "서울", first_checked_in_at=T0),  # 19
        *people(5, date(1996, 6, 1), "부산"),  # 30 that day
        FakeParticipant(event_id, birth_date=date(1996, 6, 2), region="부산", first_checked_in_at=T0),  # 29
        *people(3, date(1986, 1, 1), "대구"),  # 40s: a group of 3
        *people(2, date(1960, 1, 1), None),  # 60+: a group of 2
        FakeParticipant(event_id, birth_date=date(1999, 1, 1), status="cancelled", region="부산"),
        *scans("qr", T0 + timedelta(minutes=10), 0, 1, 2, 3, 4),  # 09:10 in Seoul
        *scans("qr", T0 + timedelta(minutes=40), 0),  # back in: still five people at 09:00
        *scans("qr", T0 + timedelta(hours=1), 5, 6, 7, 8),
        *scans("ble", T0 + timedelta(hours=1, minutes=30), 9, 10, 11, 12, 13),
        *scans("manual", T0 + timedelta(hours=2), 14),
        *[
            FakeScan(
                event_id, "qr", "exited", T0 + timedelta(hours=3), stay_seconds=m * 60, participant_id=f"p{n}"
            )
            for n, m in enumerate(minutes)
        ],
        FakeScan(
            event_id,
            "qr",
            "exited",
            T0 + timedelta(hours=3, minutes=30),
            stay_seconds=1800,
            participant_id="p0",
        ),
        *[
            FakeScan(event_id, "qr", "denied", T0 + timedelta(hours=8), participant_id=f"p{n}")
            for n in range(9)
        ],
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    assert (view["total_participants"], view["attendance_rate"], view["k_anonymity"]) == (16, 0.375, 5)
    # groups below 5 merge into "other" (kept here: 5 or more), largest first, ties by name
    assert view["demographic_insights"] == {
        "age_groups": {"30s": 5, "under_20": 5, "other": 6},  # 20s 1 + 40s 3 + 60+ 2
        "regions": {"부산": 6, "서울": 5, "other": 5},  # 대구 3 + unknown 2
    }
    # people checking in per local hour: 11:00 had one, so the smallest kept hour (09:00, five
    # people, one of them twice) joins it in "other"; denied scans do not count
    assert view["behavior_insights"]["check_in_times"] == {"10:00": 9, "other": 6}
    # each person's stays added up (p0: 30 + 30 minutes); five people: a median, no p90
    assert view["behavior_insights"]["stay_duration"] == {
        "count": 5,
        "median_minutes": 90.0,
        "p90_minutes": None,
    }
    # people per method: manual (1) is too small, so ble (5) joins it
    assert view["anonymized_metrics"]["popular_check_in_methods"] == {"qr": 9, "other": 6}
    # the hours when most people were scanned (admissions and exits), ties by hour; an hour with
    # fewer than 5 people is not named
    assert view["anonymized_metrics"]["peak_hours"] == ["10:00", "09:00", "12:00"]


def test_analytics_leave_out_stay_figures_rates_and_groups_that_describe_fewer_than_five_people(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    fill(
        uow_factory,
        FakeParticipant(event_id, birth_date=date(1990, 1, 1), region="서울", first_checked_in_at=T0),
        FakeScan(event_id, "qr", "admitted", T0, participant_id="p0"),
        FakeScan(event_id, "qr", "exited", T0 + timedelta(hours=1), stay_seconds=3600, participant_id="p0"),
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    # a rate of 1.0 over one registrant would say that this one person came
    assert (view["total_participants"], view["attendance_rate"]) == (1, None)
    assert view["demographic_insights"] == {"age_groups": {}, "regions": {}}
    assert view["behavior_insights"] == {
        "check_in_times": {},
        "stay_duration": {"count": None, "median_minutes": None, "p90_minutes": None},
    }
    assert view["anonymized_metrics"] == {"popular_check_in_methods": {}, "peak_hours": []}


def test_stay_figures_count_people_not_exits_when_one_person_goes_out_five_times(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    fill(
        uow_factory,
        FakeParticipant(event_id, birth_date=date(1990, 1, 1), region="서울", first_checked_in_at=T0),
        *[
            FakeScan(
                event_id,
                "qr",
                "exited",
                T0 + timedelta(hours=i + 1),
                stay_seconds=(i + 1) * 600,
                participant_id="p0",
            )
            for i in range(5)
        ],
    )
    with uow_factory(readonly=True) as uow:
        stay = analytics(uow, event_id=event_id)["behavior_insights"]["stay_duration"]
    assert stay == {"count": None, "median_minutes": None, "p90_minutes": None}


@pytest.mark.parametrize(
    ("people", "median_minutes", "p90_minutes"),
    [(5, 30.0, None), (9, 50.0, None), (10, 55.0, 90.0), (20, 105.0, 180.0)],
)
def test_the_90th_percentile_of_stays_needs_ten_people_and_the_median_five(
    uow_factory: FakeUnitOfWorkFactory,
    event_id: str,
    people: int,
    median_minutes: float,
    p90_minutes: float | None,
) -> None:
    fill(
        uow_factory,
        *[
            FakeScan(event_id, "qr", "exited", T0, stay_seconds=(n + 1) * 600, participant_id=f"p{n}")
            for n in range(people)
        ],
    )
    with uow_factory(readonly=True) as uow:
        stay = analytics(uow, event_id=event_id)["behavior_insights"]["stay_duration"]
    assert stay == {"count": people, "median_minutes": median_minutes, "p90_minutes": p90_minutes}


def test_hours_and_methods_count_people_when_one_person_comes_in_five_times(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    fill(
        uow_factory,
        FakeParticipant(event_id, birth_date=date(1990, 1, 1), region="서울", first_checked_in_at=T0),
        *[
            FakeScan(event_id, "manual", "admitted", T0 + timedelta(hours=18, minutes=i), participant_id="p0")
            for i in range(5)
        ],
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    assert view["behavior_insights"]["check_in_times"] == {}  # not "03:00": 5
    assert view["anonymized_metrics"] == {"popular_check_in_methods": {}, "peak_hours": []}


@pytest.mark.parametrize(
    ("total", "came", "rate"),
    [(0, 0, None), (4, 2, None), (10, 4, None), (10, 6, None), (10, 5, 0.5), (12, 7, 0.5833)],
)
def test_the_attendance_rate_is_published_only_when_five_or_more_came_and_stayed_away(
    uow_factory: FakeUnitOfWorkFactory, event_id: str, total: int, came: int, rate: float | None
) -> None:
    fill(
        uow_factory,
        *[FakeParticipant(event_id, first_checked_in_at=T0 if n < came else None) for n in range(total)],
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    assert (view["total_participants"], view["attendance_rate"]) == (total, rate)


def test_a_group_left_out_cannot_be_read_back_from_the_total_when_one_person_is_alone_in_it(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    fill(
        uow_factory,
        *[FakeParticipant(event_id, birth_date=date(1990, 1, 1), region="서울") for _ in range(10)],
        FakeParticipant(event_id, birth_date=date(1950, 1, 1), region="서울"),
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    ages = view["demographic_insights"]["age_groups"]
    assert ages == {"other": 11}  # not {"30s": 10}, which leaves the one 60_plus person
    assert view["total_participants"] - sum(ages.values()) == 0
    assert view["demographic_insights"]["regions"] == {"서울": 11}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, {}),
        ({"a": 3}, {}),
        ({"a": 5, "b": 4}, {"other": 9}),  # "a" 5 alone would give "b" as 9 - 5
        ({"a": 5, "b": 4, "c": 1}, {"a": 5, "other": 5}),
        ({"b": 7, "a": 7, "other": 2, "c": 3}, {"a": 7, "b": 7, "other": 5}),
        ({"a": 4, "b": 4, "c": 4}, {"other": 12}),
        ({"a": 9, "b": 6, "c": 6, "d": 1}, {"a": 9, "b": 6, "other": 7}),  # the last listed joins
        ({"a": 6, "b": 5, "c": 1, "d": 1}, {"a": 6, "other": 7}),
        ({"a": 20, "b": 5, "c": 0}, {"a": 20, "b": 5}),  # an empty group hides nobody
    ],
)
def test_k_anonymous_merges_groups_below_five_into_other_until_none_can_be_read_back(
    counts: dict[str, int], expected: dict[str, int]
) -> None:
    merged = k_anonymous(counts)
    assert merged == expected
    assert list(merged) == list(expected)  # largest first, ties by name, "other" last
    hidden = sum(counts.values()) - sum(merged.values())
    assert hidden == 0 or merged == {}  # all published, or nothing but the total


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cached_snapshot_is_served_until_it_ages_or_the_event_changes(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    ticker = Ticker()
    stats = Statistics(uow_factory, max_age=1.0, monotonic=ticker)
    assert stats.get(event_id=event_id)["registered"] == 0
    fill(uow_factory, FakeParticipant(event_id))
    assert stats.get(event_id=event_id)["registered"] == 0  # cached
    ticker.now += 1.5
    assert stats.get(event_id=event_id)["registered"] == 1  # aged
    fill(uow_factory, FakeParticipant(event_id))
    changed(stats, event_id=event_id)
    assert stats.get(event_id=event_id)["registered"] == 2  # changed
    assert stats.version(event_id) == 1
    assert stats.version("another-event") == 0


def test_live_signal_counts_a_change_only_when_the_relays_transaction_commits(
    uow_factory: FakeUnitOfWorkFactory, event_id: str
) -> None:
    stats = Statistics(uow_factory)
    envelope = Envelope.wrap(ParticipantRegistered(event_id=event_id, participant_id="p1", source="api"), T0)
    with uow_factory() as uow:
        signal_live(stats, envelope, uow)
        assert stats.version(event_id) == 0
    assert stats.version(event_id) == 0  # rolled back
    with uow_factory() as uow:
        signal_live(stats, envelope, uow)
        uow.commit()
    assert stats.version(event_id) == 1
