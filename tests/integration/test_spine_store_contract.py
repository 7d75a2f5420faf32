"""The spine's stores (rate limits, the message bus's state, the statistics read model): the same
checks on the fakes (``tests/fakes_spine.py``) and on the SQL stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import POSTGRES_ENV, _truncate_all, require_service
from tests.fakes import FakeClock, FakeUnitOfWork, FakeUnitOfWorkFactory
from tests.fakes_spine import FakeMessageStore, FakeParticipant, FakeScan, FakeStatistics
from turnout.adapters.db import tables as t
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.tables_attendance import scans
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.messages.facts import EventCreated
from turnout.ports import (
    ArrivalCount,
    AttendeeProfile,
    ConsumerCursor,
    DayFigures,
    Delivery,
    DeliveryCount,
    DeliveryFilter,
    EventCounts,
    OutboxTotals,
    ParticipantTally,
    RateWindow,
    ScanMoment,
    ScanTally,
)
from turnout.services.events import create_event

AnyUnitOfWork = FakeUnitOfWork | SqlUnitOfWork
Factory = Callable[..., AnyUnitOfWork]
T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def uow_factory(
    request: pytest.FixtureRequest, clock: FakeClock, postgres_server_url: str | None
) -> Iterator[Factory]:
    """Units of work over the fakes, or over a fresh migrated database (as ``database_url`` makes)."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory(clock)
        return
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        if not postgres_server_url:
            require_service(f"PostgreSQL tests need {POSTGRES_ENV}")
        url = request.getfixturevalue("postgres_database")
        _truncate_all(url)
    engine = make_engine(url)

    def factory(*, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, readonly=readonly)

    yield factory
    engine.dispose()


# --- rate limits -----------------------------------------------------------------------------------


def test_rate_window_starts_counts_and_restarts_when_asked(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        store = uow.rate_limits
        assert store.window("ip:a") is None
        store.start_window("ip:a", started_at=T0)
        store.count_request("ip:a")
        store.count_request("ip:a")
        store.start_window("ip:b", started_at=T0)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.rate_limits.window("ip:a") == RateWindow(started_at=T0, count=3)
        assert uow.rate_limits.window("ip:b") == RateWindow(started_at=T0, count=1)
    with uow_factory() as uow:
        uow.rate_limits.start_window("ip:a", started_at=T0 + timedelta(minutes=1))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.rate_limits.window("ip:a") == RateWindow(started_at=T0 + timedelta(minutes=1), count=1)


def test_idle_clients_are_forgotten_when_their_window_began_before_the_bound(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.rate_limits.start_window("old", started_at=T0)
        uow.rate_limits.start_window("recent", started_at=T0 + timedelta(hours=2))
        uow.rate_limits.forget_idle(before=T0 + timedelta(hours=1))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.rate_limits.window("old") is None
        assert uow.rate_limits.window("recent") is not None


def test_rate_counts_are_undone_when_the_transaction_rolls_back(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.rate_limits.start_window("ip:a", started_at=T0)
        uow.commit()
    with uow_factory() as uow:
        uow.rate_limits.count_request("ip:a")
    with uow_factory(readonly=True) as uow:
        assert uow.rate_limits.window("ip:a") == RateWindow(started_at=T0, count=1)


# --- the message bus -------------------------------------------------------------------------------


def put_cursor(uow: AnyUnitOfWork, consumer: str, *, position: int, handled: int) -> None:
    """A consumer's cursor, as the relay leaves it."""
    if isinstance(uow.messages, FakeMessageStore):
        uow.messages.set_cursor(consumer, position=position, handled=handled)
        return
    uow.messages.ensure_cursors([consumer])
    uow.messages.advance_cursor(consumer, position=position, handled=handled, now=T0)


def delivery(
    message_id: str, handler: str, *, status: str = "dead", at: datetime = T0, **fields: Any
) -> Delivery:
    values: dict[str, Any] = {
        "message_id": message_id,
        "handler": handler,
        "message_type": "probe.happened",
        "message_seq": None,
        "envelope": {"id": message_id, "data": {"n": 1}},
        "source": "outbox",
        "status": status,
        "attempts": 3,
        "next_attempt_at": None,
        "last_error": "ValueError: no\ntraceback",
        "created_at": at,
        "updated_at": at,
    }
    values.update(fields)
    return Delivery(**values)


def emit(uow: AnyUnitOfWork, n: int) -> list[str]:
    return [
        uow.emit(EventCreated(event_id=f"e{i}", name="x", starts_at="", ends_at="", status="draft")).id
        for i in range(n)
    ]


def test_cache_versions_count_up_per_key_when_bumped(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        assert uow.messages.cache_version(scope="event", key="e1") == 0
        assert uow.messages.bump_cache_version(scope="event", key="e1", reason="r", now=T0) == 1
        assert uow.messages.bump_cache_version(scope="event", key="e1", reason="r", now=T0) == 2
        assert uow.messages.bump_cache_version(scope="event", key="e2", reason="r", now=T0) == 1
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.messages.cache_version(scope="event", key="e1") == 2
        assert uow.messages.cache_version(scope="gate", key="e1") == 0


def test_outbox_totals_and_messages_after_a_position_when_counted(uow_factory: Factory) -> None:
    with uow_factory(readonly=True) as uow:
        assert uow.messages.outbox_totals() == OutboxTotals(messages=0, newest_seq=0)
        assert uow.messages.count_after(0) == 0
    with uow_factory() as uow:
        emit(uow, 3)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        totals = uow.messages.outbox_totals()
        assert totals.messages == 3
        assert uow.messages.count_after(0) == 3
        assert uow.messages.count_after(totals.newest_seq - 1) == 1
        assert uow.messages.count_after(totals.newest_seq) == 0


def test_cursors_and_delivery_counts_are_listed_when_read(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        put_cursor(uow, "b", position=0, handled=0)
        put_cursor(uow, "a", position=2, handled=2)
        for message_id, handler, status in [
            ("m1", "h1", "dead"),
            ("m2", "h1", "dead"),
            ("m3", "h1", "pending"),
            ("m1", "h2", "done"),
        ]:
            uow.messages.add_delivery(delivery(message_id, handler, status=status))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.messages.cursors() == [
            ConsumerCursor(consumer="a", position=2, handled=2),
            ConsumerCursor(consumer="b", position=0, handled=0),
        ]
        assert uow.messages.delivery_counts() == [
            DeliveryCount(handler="h1", status="dead", count=2),
            DeliveryCount(handler="h1", status="pending", count=1),
            DeliveryCount(handler="h2", status="done", count=1),
        ]


def test_oldest_pending_is_the_earliest_recorded_when_several_wait(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        assert uow.messages.oldest_pending_at() is None
        uow.messages.add_delivery(delivery("m1", "h", status="pending", at=T0 + timedelta(minutes=5)))
        uow.messages.add_delivery(delivery("m2", "h", status="pending", at=T0 + timedelta(minutes=1)))
        uow.messages.add_delivery(delivery("m3", "h", status="dead", at=T0))
        assert uow.messages.oldest_pending_at() == T0 + timedelta(minutes=1)


def test_deliveries_match_every_field_of_the_filter_when_listed(uow_factory: Factory) -> None:
    stored = [
        delivery("m1", "h1", at=T0),
        delivery("m2", "h1", at=T0 + timedelta(hours=2)),
        delivery("m2", "h2", at=T0 + timedelta(hours=2)),
        delivery("m3", "-", at=T0 + timedelta(hours=1), message_type="undecodable"),
        delivery("m4", "h1", status="pending", at=T0 + timedelta(hours=3)),
    ]
    with uow_factory() as uow:
        for item in stored:
            uow.messages.add_delivery(item)
        uow.commit()

    def found(where: DeliveryFilter, limit: int = 100) -> list[tuple[str, str]]:
        with uow_factory(readonly=True) as uow:
            return [(d.message_id, d.handler) for d in uow.messages.deliveries(where, limit=limit)]

    # the most recently updated first, then by message id
    assert found(DeliveryFilter()) == [("m2", "h1"), ("m2", "h2"), ("m3", "-"), ("m1", "h1")]
    assert found(DeliveryFilter(), limit=2) == [("m2", "h1"), ("m2", "h2")]
    assert found(DeliveryFilter(status="pending")) == [("m4", "h1")]
    assert found(DeliveryFilter(message_id="m2")) == [("m2", "h1"), ("m2", "h2")]
    assert found(DeliveryFilter(message_type="undecodable")) == [("m3", "-")]
    assert found(DeliveryFilter(since=T0 + timedelta(hours=1))) == [("m2", "h1"), ("m2", "h2"), ("m3", "-")]
    assert found(DeliveryFilter(handler="h1")) == [("m2", "h1"), ("m1", "h1")]
    assert found(DeliveryFilter(exclude_handlers=("-", "h2"))) == [("m2", "h1"), ("m1", "h1")]
    with uow_factory(readonly=True) as uow:
        (first,) = uow.messages.deliveries(DeliveryFilter(message_id="m1"), limit=10)
    assert first == stored[0]


def test_revived_deliveries_are_pending_with_no_attempts_when_matched(uow_factory: Factory) -> None:
    now = T0 + timedelta(days=1)
    with uow_factory() as uow:
        uow.messages.add_delivery(delivery("m1", "h1"))
        uow.messages.add_delivery(delivery("m1", "-"))
        uow.messages.add_delivery(delivery("m2", "h1"))
        uow.commit()
    with uow_factory() as uow:
        where = DeliveryFilter(message_id="m1", exclude_handlers=("-",))
        assert uow.messages.revive(where, now=now) == 1
        uow.commit()
    with uow_factory(readonly=True) as uow:
        (revived,) = uow.messages.deliveries(DeliveryFilter(status="pending"), limit=10)
        left = uow.messages.deliveries(DeliveryFilter(), limit=10)
    assert revived == delivery("m1", "h1", status="pending", attempts=0, next_attempt_at=now, updated_at=now)
    assert {(d.message_id, d.handler) for d in left} == {("m1", "-"), ("m2", "h1")}


def test_a_message_is_known_when_the_outbox_or_a_delivery_has_it(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        (in_outbox,) = emit(uow, 1)
        uow.messages.add_delivery(delivery("kafka:topic/0/7", "-"))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.messages.message_known(in_outbox)
        assert uow.messages.message_known("kafka:topic/0/7")
        assert not uow.messages.message_known("nope")


# --- the statistics read model ---------------------------------------------------------------------


def add_participant(uow: AnyUnitOfWork, person: FakeParticipant) -> None:
    if isinstance(uow.statistics, FakeStatistics):
        uow.statistics.add_participant(person)
        return
    assert isinstance(uow, SqlUnitOfWork)
    uow.conn.execute(
        t.participants.insert().values(
            id=person.id or new_id(),
            event_id=person.event_id,
            name="참가자",
            email=f"{new_id()}@example.com",
            birth_date=person.birth_date,
            region=person.region,
            custom_fields={},
            status=person.status,
            check_in_status=person.check_in_status,
            email_status=person.email_status,
            source="api",
            first_checked_in_at=person.first_checked_in_at,
            last_scan_at=person.last_scan_at,
            created_at=T0,
            updated_at=T0,
        )
    )


def add_scan(uow: AnyUnitOfWork, scan: FakeScan) -> None:
    if isinstance(uow.statistics, FakeStatistics):
        uow.statistics.add_scan(scan)
        return
    assert isinstance(uow, SqlUnitOfWork)
    uow.conn.execute(
        scans.insert().values(
            id=new_id(),
            event_id=scan.event_id,
            participant_id=scan.participant_id,
            gate_id=scan.gate_id,
            method=scan.method,
            direction="out" if scan.result == "exited" else "in",
            result=scan.result,
            code=scan.code,
            occurred_at=scan.occurred_at,
            recorded_at=scan.occurred_at,
            stay_seconds=scan.stay_seconds,
            device={},
            location={},
            metadata={},
        )
    )


def two_events(uow: AnyUnitOfWork) -> tuple[str, str]:
    ids = [
        create_event(
            uow, actor="t", name=name, starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        ).id
        for name in ("행사", "다른 행사")
    ]
    return ids[0], ids[1]


def add_gate(uow: AnyUnitOfWork, event_id: str, name: str) -> str:
    gate = Gate(
        id=new_id(), event_id=event_id, name=name, direction=GateDirection.BOTH, methods=(ScanMethod.QR,)
    )
    uow.gates.add(gate, now=T0)
    return gate.id


def test_participant_tallies_group_by_state_when_an_event_has_people(uow_factory: Factory) -> None:
    came = T0 + timedelta(hours=1)
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        for person in [
            FakeParticipant(event_id),
            FakeParticipant(event_id),
            FakeParticipant(
                event_id, check_in_status="inside", email_status="sent", first_checked_in_at=came
            ),
            FakeParticipant(
                event_id, check_in_status="exited", email_status="sent", first_checked_in_at=came
            ),
            FakeParticipant(event_id, status="cancelled", email_status="failed"),
            FakeParticipant(other),
        ]:
            add_participant(uow, person)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        tallies = uow.statistics.participant_tallies(event_id)
        assert uow.statistics.participant_tallies(new_id()) == []
    key = lambda tally: (tally.status, tally.check_in_status, tally.email_status)  # noqa: E731
    assert sorted(tallies, key=key) == [
        ParticipantTally("cancelled", "not_checked_in", "failed", came=False, count=1),
        ParticipantTally("registered", "exited", "sent", came=True, count=1),
        ParticipantTally("registered", "inside", "sent", came=True, count=1),
        ParticipantTally("registered", "not_checked_in", "none", came=False, count=2),
    ]


def test_scans_are_tallied_and_arrivals_bucketed_when_an_event_has_scans(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        main = add_gate(uow, event_id, "정문")
        side = add_gate(uow, event_id, "후문")
        add_gate(uow, other, "다른 문")
        for scan in [
            FakeScan(event_id, "qr", "admitted", T0 + timedelta(hours=9), gate_id=main),
            FakeScan(
                event_id, "qr", "admitted", T0 + timedelta(hours=9, minutes=4, seconds=59), gate_id=main
            ),
            FakeScan(event_id, "manual", "admitted", T0 + timedelta(hours=9, minutes=5), gate_id=side),
            FakeScan(event_id, "qr", "exited", T0 + timedelta(hours=10), gate_id=main, stay_seconds=3600),
            FakeScan(event_id, "qr", "denied", T0 + timedelta(hours=10), gate_id=main, code="already_inside"),
            FakeScan(event_id, "ble", "denied", T0 + timedelta(hours=10), code="unknown_ticket"),
            FakeScan(other, "qr", "admitted", T0 + timedelta(hours=9)),
        ]:
            add_scan(uow, scan)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        read = uow.statistics
        assert read.gate_names(event_id) == {main: "정문", side: "후문"}
        tallies = read.scan_tallies(event_id)
        arrivals = read.arrivals(event_id, bucket_seconds=300)
        moments = read.scan_moments(event_id)
    assert sorted(tallies, key=lambda s: (s.gate_id or "", s.method, s.result)) == [
        ScanTally(gate_id=None, method="ble", result="denied", code="unknown_ticket", count=1),
        ScanTally(gate_id=main, method="qr", result="admitted", code=None, count=2),
        ScanTally(gate_id=main, method="qr", result="denied", code="already_inside", count=1),
        ScanTally(gate_id=main, method="qr", result="exited", code=None, count=1),
        ScanTally(gate_id=side, method="manual", result="admitted", code=None, count=1),
    ]
    assert arrivals == [
        ArrivalCount(starts_at=T0 + timedelta(hours=9), admitted=2),
        ArrivalCount(starts_at=T0 + timedelta(hours=9, minutes=5), admitted=1),
    ]
    assert sorted(moments, key=lambda m: (m.occurred_at, m.method)) == [
        ScanMoment(T0 + timedelta(hours=9), "qr", "admitted", None, person=0),
        ScanMoment(T0 + timedelta(hours=9, minutes=4, seconds=59), "qr", "admitted", None, person=0),
        ScanMoment(T0 + timedelta(hours=9, minutes=5), "manual", "admitted", None, person=0),
        ScanMoment(T0 + timedelta(hours=10), "qr", "exited", 3600, person=0),
    ]  # scans without a participant share one key


def test_scan_moments_key_each_person_without_their_id_when_people_scanned_again(
    uow_factory: Factory,
) -> None:
    ids = [new_id() for _ in range(3)]
    with uow_factory() as uow:
        event_id, _ = two_events(uow)
        for participant_id in ids:
            add_participant(uow, FakeParticipant(event_id, id=participant_id))
        for minute, who in enumerate([0, 1, 0, 2, 1, 0]):
            at = T0 + timedelta(minutes=minute)
            add_scan(uow, FakeScan(event_id, "qr", "admitted", at, participant_id=ids[who]))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        moments = sorted(uow.statistics.scan_moments(event_id), key=lambda m: m.occurred_at)
    keys = [m.person for m in moments]
    assert len(set(keys)) == 3
    assert [keys.index(k) for k in keys] == [0, 1, 0, 3, 1, 0]  # same person, same key
    assert not {str(k) for k in keys} & set(ids)


def test_attendee_profiles_cover_registered_people_only_when_read(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        add_participant(uow, FakeParticipant(event_id, birth_date=date(1990, 3, 1), region="서울"))
        add_participant(uow, FakeParticipant(event_id, first_checked_in_at=T0))
        add_participant(uow, FakeParticipant(event_id, status="cancelled", region="부산"))
        add_participant(uow, FakeParticipant(other, region="대구"))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        profiles = uow.statistics.attendee_profiles(event_id)
    assert sorted(profiles, key=lambda a: a.came) == [
        AttendeeProfile(birth_date=date(1990, 3, 1), region="서울", came=False),
        AttendeeProfile(birth_date=None, region=None, came=True),
    ]


def test_event_counts_give_registered_and_checked_in_per_listed_event_when_read(uow_factory: Factory) -> None:
    came = T0 + timedelta(hours=1)
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        third, _ = two_events(uow)
        for person in [
            FakeParticipant(event_id),
            FakeParticipant(event_id, check_in_status="inside", first_checked_in_at=came),
            FakeParticipant(event_id, check_in_status="exited", first_checked_in_at=came),
            FakeParticipant(event_id, status="cancelled", first_checked_in_at=came),
            FakeParticipant(other),
            FakeParticipant(third),
        ]:
            add_participant(uow, person)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        counts = uow.statistics.event_counts([event_id, other, new_id()])
        assert uow.statistics.event_counts([]) == {}
    assert counts == {
        event_id: EventCounts(registered=3, checked_in=2),
        other: EventCounts(registered=1, checked_in=0),
    }  # the third event is not listed; an event without participants is left out


def test_day_figures_count_the_day_only_when_scans_and_people_span_days(uow_factory: Factory) -> None:
    day = T0 + timedelta(days=1)
    before, during, after = day - timedelta(minutes=1), day + timedelta(hours=3), day + timedelta(days=1)
    with uow_factory() as uow:
        event_id, other = two_events(uow)
        for person in [
            FakeParticipant(event_id),
            FakeParticipant(
                event_id, check_in_status="inside", first_checked_in_at=before, last_scan_at=during
            ),
            FakeParticipant(
                event_id, check_in_status="exited", first_checked_in_at=before, last_scan_at=before
            ),
            FakeParticipant(
                event_id, check_in_status="inside", first_checked_in_at=during, last_scan_at=during
            ),
            FakeParticipant(event_id, status="cancelled", check_in_status="inside", last_scan_at=during),
            FakeParticipant(other, check_in_status="inside", last_scan_at=during),
        ]:
            add_participant(uow, person)
        for scan in [
            FakeScan(event_id, "qr", "admitted", before),
            FakeScan(event_id, "qr", "admitted", day),
            FakeScan(event_id, "qr", "exited", during),
            FakeScan(event_id, "qr", "denied", during, code="already_inside"),
            FakeScan(event_id, "qr", "denied", after, code="already_inside"),
            FakeScan(other, "qr", "denied", during, code="already_inside"),
        ]:
            add_scan(uow, scan)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        figures = uow.statistics.day_figures(event_id, since=day, until=after)
        empty = uow.statistics.day_figures(new_id(), since=day, until=after)
    assert figures == DayFigures(registered=4, inside=2, came=2, scans=3, denied=1)
    assert empty == DayFigures(registered=0, inside=0, came=0, scans=0, denied=0)
