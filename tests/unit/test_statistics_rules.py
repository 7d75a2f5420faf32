"""Live statistics and anonymised analytics (``services.statistics``) on the fake read model: the
arithmetic from tallies to the numbers shown, the per-process cache and the change counter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.fakes_spine import FakeParticipant, FakeScan
from turnout.domain.errors import NotFound
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered
from turnout.services.events import create_event
from turnout.services.statistics import Statistics, analytics, changed, signal_live, snapshot

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
    fill(
        uow_factory,
        FakeParticipant(event_id, birth_date=date(2006, 6, 2), region="서울", first_checked_in_at=T0),  # 19
        FakeParticipant(event_id, birth_date=date(2006, 6, 1), region="서울"),  # 20 that day
        FakeParticipant(event_id, birth_date=date(1960, 1, 1)),
        FakeParticipant(event_id, birth_date=date(1999, 1, 1), status="cancelled", region="부산"),
        FakeScan(event_id, "qr", "admitted", T0 + timedelta(minutes=10)),  # 09:10 in Seoul
        FakeScan(event_id, "qr", "admitted", T0 + timedelta(hours=1)),
        FakeScan(event_id, "ble", "admitted", T0 + timedelta(hours=1, minutes=30)),
        FakeScan(event_id, "qr", "exited", T0 + timedelta(hours=2), stay_seconds=30 * 60),
        FakeScan(event_id, "qr", "exited", T0 + timedelta(hours=5), stay_seconds=4 * 3600),
        FakeScan(event_id, "qr", "exited", T0 + timedelta(hours=8), stay_seconds=2 * 3600),
        FakeScan(event_id, "qr", "denied", T0 + timedelta(hours=8)),
    )
    with uow_factory(readonly=True) as uow:
        view = analytics(uow, event_id=event_id)
    assert (view["total_participants"], view["attendance_rate"]) == (3, 0.3333)
    assert view["demographics"] == {
        "age_groups": {"under_20": 1, "20s": 1, "60_plus": 1},
        "regions": {"서울": 2, "unknown": 1},
    }
    assert view["behaviour"]["check_in_times"] == {"09:00": 1, "10:00": 2}
    assert view["behaviour"]["stay_duration"] == {
        "count": 3,
        "average_minutes": 130.0,
        "median_minutes": 120.0,
        "buckets": {"under_1h": 1, "1h_to_3h": 1, "3h_to_6h": 1},
    }
    assert view["anonymised"]["check_in_methods"] == {"qr": 2, "ble": 1}
    # the busiest local hours, admissions and exits (denied scans do not count); ties in reading order
    assert view["anonymised"]["peak_hours"] == ["10:00", "09:00", "11:00"]


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
