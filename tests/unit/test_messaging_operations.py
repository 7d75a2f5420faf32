"""The message bus's operations and default handlers (``services.messaging``) on the fake stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.messages.base import Envelope
from turnout.messages.facts import EventStatusChanged
from turnout.ports import Delivery, DeliveryFilter
from turnout.services.messaging import (
    EVENT_SCOPE,
    MessageNotFound,
    audit_status_change,
    cache_version,
    dead_letters,
    invalidate_event_caches,
    message_stats,
    replay,
)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def uow_factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeClock(T0 + timedelta(days=1)))


def failed(
    message_id: str, handler: str, *, status: str = "dead", at: datetime = T0, **fields: Any
) -> Delivery:
    values: dict[str, Any] = {
        "message_id": message_id,
        "handler": handler,
        "message_type": "probe.happened",
        "message_seq": None,
        "envelope": {"id": message_id},
        "source": "outbox",
        "status": status,
        "attempts": 8,
        "next_attempt_at": None,
        "last_error": "ValueError: bad data\nTraceback (most recent call last): ...",
        "created_at": at,
        "updated_at": at,
    }
    values.update(fields)
    return Delivery(**values)


def store(uow_factory: FakeUnitOfWorkFactory, *deliveries: Delivery) -> None:
    with uow_factory() as uow:
        for delivery in deliveries:
            uow.messages.add_delivery(delivery)
        uow.commit()


def test_dead_letters_show_the_first_error_line_newest_first_when_listed(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    store(
        uow_factory,
        failed("m1", "h", at=T0),
        failed("m2", "h", at=T0 + timedelta(hours=1), updated_at=T0 + timedelta(hours=2)),
        failed("m3", "h", status="pending"),
    )
    with uow_factory(readonly=True) as uow:
        letters = dead_letters(uow)
    assert [(d["message_id"], d["error"]) for d in letters] == [
        ("m2", "ValueError: bad data"),
        ("m1", "ValueError: bad data"),
    ]
    assert letters[0] == {
        "message_id": "m2",
        "handler": "h",
        "type": "probe.happened",
        "source": "outbox",
        "attempts": 8,
        "first_failed_at": (T0 + timedelta(hours=1)).isoformat(),
        "last_failed_at": (T0 + timedelta(hours=2)).isoformat(),
        "error": "ValueError: bad data",
        "envelope": {"id": "m2"},
    }


def test_dead_letters_are_filtered_by_type_time_and_message_when_asked(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    store(
        uow_factory,
        failed("m1", "h", at=T0),
        failed("m2", "h", at=T0 + timedelta(hours=1), message_type="other.type"),
        failed("m3", "h", at=T0 + timedelta(hours=2)),
    )
    with uow_factory(readonly=True) as uow:
        assert [d["message_id"] for d in dead_letters(uow, message_type="other.type")] == ["m2"]
        assert [d["message_id"] for d in dead_letters(uow, since=T0 + timedelta(minutes=30))] == ["m3", "m2"]
        assert [d["message_id"] for d in dead_letters(uow, message_id="m1")] == ["m1"]
        assert [d["message_id"] for d in dead_letters(uow, limit=1)] == ["m3"]
        with pytest.raises(MessageNotFound):
            dead_letters(uow, message_id="nope")


def test_replay_revives_matching_dead_deliveries_but_not_undecodable_records_when_asked(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    store(
        uow_factory,
        failed("m1", "a"),
        failed("m1", "b"),
        failed("kafka:t/0/1", "-", message_type="undecodable"),
        failed("m2", "a", message_type="other.type"),
    )
    with uow_factory() as uow:
        assert replay(uow, message_id="m1", handler="b") == 1
        assert replay(uow, message_type="undecodable") == 0
        assert replay(uow) == 2  # m1/a and m2/a; the undecodable record stays dead
        uow.commit()
        now = uow.clock.now()
    with uow_factory(readonly=True) as uow:
        revived = uow.messages.deliveries(DeliveryFilter(status="pending"), limit=10)
        still_dead = uow.messages.deliveries(DeliveryFilter(status="dead"), limit=10)
    assert {(d.message_id, d.handler) for d in revived} == {("m1", "a"), ("m1", "b"), ("m2", "a")}
    assert {(d.attempts, d.next_attempt_at) for d in revived} == {(0, now)}
    assert [(d.message_id, d.handler) for d in still_dead] == [("kafka:t/0/1", "-")]


def test_replay_refuses_when_the_message_is_unknown(uow_factory: FakeUnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(MessageNotFound):
        replay(uow, message_id="nope")


def test_replay_revives_nothing_when_a_known_message_has_no_dead_delivery(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        envelope = uow.emit(EventStatusChanged(event_id="e1", previous="draft", status="open", actor="t"))
        uow.commit()
    with uow_factory() as uow:
        assert replay(uow, message_id=envelope.id) == 0


def test_stats_count_lag_over_subscribed_consumers_only_when_a_cursor_is_left_over(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        for n in range(5):
            uow.emit(EventStatusChanged(event_id=f"e{n}", previous="draft", status="open", actor="t"))
        uow.messages.set_cursor("fast", position=5, handled=4)
        uow.messages.set_cursor("slow", position=2, handled=2)
        uow.messages.set_cursor("retired", position=0, handled=0)
        uow.messages.add_delivery(failed("m1", "fast", status="pending", at=T0 + timedelta(minutes=3)))
        uow.messages.add_delivery(failed("m2", "fast", status="pending", at=T0 + timedelta(minutes=1)))
        uow.messages.add_delivery(failed("m3", "slow", status="dead"))
        uow.messages.add_delivery(failed("m4", "gone", status="done"))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        stats = message_stats(uow, consumers=["fast", "slow", "new"])
    rows = {row["consumer"]: row for row in stats["consumers"]}
    assert list(rows) == ["fast", "gone", "new", "retired", "slow"]
    assert rows["fast"] == {
        "consumer": "fast",
        "subscribed": True,
        "position": 5,
        "handled": 4,
        "behind": 0,
        "pending": 2,
        "done": 0,
        "dead": 0,
    }
    assert (rows["slow"]["behind"], rows["slow"]["dead"]) == (3, 1)
    assert (rows["new"]["position"], rows["new"]["behind"]) == (0, 5)  # subscribed, no cursor yet
    assert (rows["retired"]["subscribed"], rows["retired"]["behind"]) == (False, 5)
    assert (rows["gone"]["subscribed"], rows["gone"]["done"]) == (False, 1)
    assert stats["lag"] == 5  # "new" is furthest behind; "retired" is not subscribed
    assert (stats["outbox_messages"], stats["outbox_newest_seq"]) == (5, 5)
    assert (stats["pending"], stats["dead"]) == (2, 1)
    assert stats["oldest_pending_at"] == (T0 + timedelta(minutes=1)).isoformat()


def status_changed(*, occurred_at: datetime) -> Envelope:
    fact = EventStatusChanged(event_id="e1", previous="open", status="live", actor="t")
    return Envelope.wrap(fact, occurred_at)


def test_status_change_handlers_audit_the_delay_and_bump_the_cache_version_when_run(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    with uow_factory() as uow:
        envelope = status_changed(occurred_at=uow.clock.now() - timedelta(seconds=2.5))
        audit_status_change(envelope, uow)
        invalidate_event_caches(envelope, uow)
        invalidate_event_caches(envelope, uow)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        (entry,) = uow.audit.for_subject("event", "e1")
        assert cache_version(uow, scope=EVENT_SCOPE, key="e1") == 2
    assert (entry["action"], entry["actor"], entry["event_id"]) == ("event.status.propagated", "relay", "e1")
    assert entry["data"] == {
        "message_id": envelope.id,
        "previous": "open",
        "status": "live",
        "delay_seconds": 2.5,
    }
