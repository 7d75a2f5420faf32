"""The delivery queue's contract (``uow.outbound``: claim, record, the log, retry): the same checks
on the fake and on the SQL store, on SQLite and PostgreSQL (``any_uows``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.fakes import FakeClock
from tests.integration.test_integration_store_contract import integration, new_event
from turnout.domain.integrations import BreakerPolicy, IntegrationSystem, barrier_key
from turnout.ports import DeliveryResult, DueDelivery, OutboundMessage, UnitOfWorkFactory

POLICY = BreakerPolicy(failures_to_open=3, cooldown_seconds=60)
APP = IntegrationSystem.ATTENDEE_APP


def setup(any_uows: UnitOfWorkFactory, clock: FakeClock, *, keys: list[str | None]) -> tuple[str, list[str]]:
    event_id = new_event(any_uows)
    with any_uows() as uow:
        uow.integrations.put(integration(event_id, APP, clock))
        ids = uow.outbound.enqueue(
            [
                OutboundMessage(event_id, APP.value, "participant.status", {"n": n}, ordering_key=key)
                for n, key in enumerate(keys)
            ],
            now=clock.now(),
        )
        uow.commit()
    return event_id, ids


def claim(
    any_uows: UnitOfWorkFactory, clock: FakeClock, *, worker: str = "w1", limit: int = 100
) -> list[DueDelivery]:
    with any_uows(readonly=True) as uow:
        due = uow.outbound.due(now=clock.now(), limit=limit, breaker=POLICY)
    with any_uows() as uow:
        found = uow.outbound.lease(due, now=clock.now(), lease_seconds=60, worker=worker, breaker=POLICY)
        uow.commit()
    return found


def result(
    d: DueDelivery,
    at: datetime,
    outcome: str,
    *,
    code: int | None = 200,
    ok: bool | None = True,
    next_at: datetime | None = None,
) -> DeliveryResult:
    return DeliveryResult(
        delivery_id=d.id,
        event_id=d.event_id,
        system=d.system,
        attempt=d.attempts + 1,
        started_at=at,
        finished_at=at,
        outcome=outcome,
        status_code=code,
        latency_ms=3,
        error=None if outcome == "delivered" else f"HTTP {code}",
        next_attempt_at=next_at,
        endpoint_ok=ok,
    )


def record(any_uows: UnitOfWorkFactory, results: list[DeliveryResult], *, worker: str = "w1") -> None:
    with any_uows() as uow:
        uow.outbound.record(results, worker=worker, breaker=POLICY)
        uow.commit()


def test_one_key_has_one_delivery_out_at_a_time_in_order(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, ids = setup(any_uows, clock, keys=["p1", "p2", "p1", None, "p1"])
    first = claim(any_uows, clock)
    assert [d.id for d in first] == [ids[0], ids[1], ids[3]]  # p1's second and third wait
    assert first[0].url == f"https://{APP.value}.example.com/hooks"
    assert first[0].secret_sealed == "sealed-secret"
    assert json.loads(first[0].payload_json) == {"n": 0}
    assert claim(any_uows, clock) == []  # all leased; the rest wait behind p1's first
    record(any_uows, [result(first[0], clock.now(), "delivered")])
    assert [d.id for d in claim(any_uows, clock)] == [ids[2]]
    with any_uows(readonly=True) as uow:
        delivered = uow.outbound.get(ids[0])
        log = uow.outbound.list_for_event(event_id)
        counts = uow.outbound.counts(event_id)
    assert delivered is not None
    assert delivered.status == "delivered"
    assert delivered.attempts == 1
    assert [(a.attempt, a.outcome, a.status_code, a.latency_ms) for a in delivered.attempt_log] == [
        (1, "delivered", 200, 3)
    ]
    assert delivered.payload == {"n": 0}
    assert [r.id for r in log] == list(reversed(ids))  # newest first
    assert counts == {APP.value: {"delivered": 1, "sending": 3, "pending": 1}}


def test_a_failed_delivery_waits_for_its_next_attempt_and_holds_its_key(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _, ids = setup(any_uows, clock, keys=["p1", "p1"])
    (first,) = claim(any_uows, clock)
    record(
        any_uows,
        [
            result(
                first,
                clock.now(),
                "failed",
                code=500,
                ok=False,
                next_at=clock.now() + timedelta(seconds=30),
            )
        ],
    )
    assert claim(any_uows, clock) == []  # not due yet, and p1's second waits behind it
    clock.advance(seconds=31)
    again = claim(any_uows, clock)
    assert [(d.id, d.attempts) for d in again] == [(ids[0], 1)]
    with any_uows(readonly=True) as uow:
        found = uow.outbound.get(ids[0])
    assert found is not None
    assert found.last_status_code == 500
    assert found.last_error == "HTTP 500"


def test_an_expired_lease_is_claimed_again_and_the_old_workers_result_is_dropped(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _, ids = setup(any_uows, clock, keys=["p1"])
    (first,) = claim(any_uows, clock, worker="w1")
    clock.advance(seconds=61)
    (taken,) = claim(any_uows, clock, worker="w2")
    assert taken.id == first.id
    record(any_uows, [result(first, clock.now(), "delivered")], worker="w1")  # w1 lost its lease
    with any_uows(readonly=True) as uow:
        found = uow.outbound.get(ids[0])
    assert found is not None
    assert found.status == "sending"
    assert found.attempt_log == ()
    record(any_uows, [result(taken, clock.now(), "delivered")], worker="w2")
    with any_uows(readonly=True) as uow:
        found = uow.outbound.get(ids[0])
    assert found is not None
    assert found.status == "delivered"


def test_nothing_is_claimed_for_a_disabled_integration(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    event_id, _ = setup(any_uows, clock, keys=[None])
    with any_uows() as uow:
        assert uow.integrations.disable(event_id, APP.value, reason="410", now=clock.now())
        uow.commit()
    assert claim(any_uows, clock) == []


def test_the_breaker_opens_after_failures_in_a_row_then_lets_one_probe_through(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _, ids = setup(any_uows, clock, keys=[None] * 6)
    batch = claim(any_uows, clock, limit=3)
    now = clock.now()
    record(any_uows, [result(d, now, "failed", code=503, ok=False, next_at=now) for d in batch])
    assert claim(any_uows, clock) == []  # open: the other three wait out the cooldown
    clock.advance(seconds=61)
    probe = claim(any_uows, clock)
    assert len(probe) == 1
    assert probe[0].probe
    assert claim(any_uows, clock) == []  # one probe at a time
    record(any_uows, [result(probe[0], clock.now(), "failed", code=503, ok=False, next_at=clock.now())])
    assert claim(any_uows, clock) == []  # the probe failed: open again
    clock.advance(seconds=61)
    (probe2,) = claim(any_uows, clock)
    record(any_uows, [result(probe2, clock.now(), "delivered")])
    rest = claim(any_uows, clock)
    assert len(rest) == 5
    assert not any(d.probe for d in rest)
    assert {d.id for d in rest} | {probe2.id} == set(ids)


def test_a_4xx_answer_does_not_count_toward_the_breaker(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    setup(any_uows, clock, keys=[None] * 5)
    batch = claim(any_uows, clock, limit=4)
    now = clock.now()
    record(any_uows, [result(d, now, "failed", code=422, ok=True, next_at=now) for d in batch])
    assert len(claim(any_uows, clock)) == 5


def test_retry_makes_a_finished_delivery_pending_again(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    _, ids = setup(any_uows, clock, keys=["p1"])
    (d,) = claim(any_uows, clock)
    with any_uows() as uow:
        assert not uow.outbound.retry(ids[0], now=clock.now(), retry_until=clock.now())  # still out
        uow.commit()
    record(any_uows, [result(d, clock.now(), "dead", code=None, ok=False)])
    until = clock.now() + timedelta(hours=24)
    with any_uows() as uow:
        assert uow.outbound.retry(ids[0], now=clock.now(), retry_until=until)
        assert uow.outbound.oldest_due(now=clock.now()) == clock.now()
        uow.commit()
    (again,) = claim(any_uows, clock)
    assert (again.id, again.attempts, again.retry_until) == (ids[0], 1, until)


def test_a_delivery_another_worker_leased_since_it_was_read_is_not_leased_again(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _, ids = setup(any_uows, clock, keys=["p1", "p2"])
    with any_uows(readonly=True) as uow:
        seen_by_w2 = uow.outbound.due(now=clock.now(), limit=10, breaker=POLICY)
    assert [d.id for d in claim(any_uows, clock, worker="w1", limit=1)] == [ids[0]]
    with any_uows() as uow:
        late = uow.outbound.lease(seen_by_w2, now=clock.now(), lease_seconds=60, worker="w2", breaker=POLICY)
        uow.commit()
    assert [d.id for d in late] == [ids[1]]  # w1 holds the first


def test_only_one_worker_takes_a_half_open_endpoints_probe(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    setup(any_uows, clock, keys=[None] * 5)
    batch = claim(any_uows, clock, limit=3)
    now = clock.now()
    record(any_uows, [result(d, now, "failed", code=503, ok=False, next_at=now) for d in batch])
    clock.advance(seconds=61)
    with any_uows(readonly=True) as uow:
        first = uow.outbound.due(now=clock.now(), limit=10, breaker=POLICY)
        second = uow.outbound.due(now=clock.now(), limit=10, breaker=POLICY)
    assert [d.probe for d in first] == [True]
    with any_uows() as uow:
        took = uow.outbound.lease(first, now=clock.now(), lease_seconds=60, worker="w1", breaker=POLICY)
        uow.commit()
    with any_uows() as uow:
        also = uow.outbound.lease(second, now=clock.now(), lease_seconds=60, worker="w2", breaker=POLICY)
        uow.commit()
    assert (len(took), also) == (1, [])


def test_a_manual_retry_is_refused_once_a_later_delivery_of_its_key_exists(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _, ids = setup(any_uows, clock, keys=["p1", "p1", "p2"])
    (first, other) = claim(any_uows, clock)
    record(any_uows, [result(first, clock.now(), "delivered"), result(other, clock.now(), "delivered")])
    with any_uows(readonly=True) as uow:
        assert uow.outbound.later_of_its_key(ids[0]) == ids[1]
        assert uow.outbound.later_of_its_key(ids[1]) is None
        assert uow.outbound.later_of_its_key(ids[2]) is None


def test_the_lag_gauge_does_not_count_deliveries_nothing_will_send(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, _ = setup(any_uows, clock, keys=["p1"])
    with any_uows(readonly=True) as uow:
        assert uow.outbound.oldest_due(now=clock.now()) == clock.now()
    with any_uows() as uow:
        assert uow.integrations.disable(event_id, APP.value, reason="410 Gone", now=clock.now())
        uow.commit()
    clock.advance(hours=6)
    with any_uows(readonly=True) as uow:
        assert uow.outbound.oldest_due(now=clock.now()) is None


def test_a_sync_page_read_before_a_cancellation_is_delivered_before_it_and_the_next_sync_after(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    gate = IntegrationSystem.GATE_MANAGEMENT
    event_id = new_event(any_uows)
    with any_uows() as uow:
        uow.integrations.put(integration(event_id, gate, clock))
        earlier, page, change, later_page = uow.outbound.enqueue(
            [
                OutboundMessage(event_id, gate.value, "participant.changed", {"n": 0}, ordering_key="p0"),
                OutboundMessage(
                    event_id, gate.value, "gate-management.sync", {"n": 1}, ordering_key=barrier_key(event_id)
                ),
                OutboundMessage(event_id, gate.value, "participant.changed", {"n": 2}, ordering_key="p1"),
                OutboundMessage(
                    event_id, gate.value, "gate-management.sync", {"n": 3}, ordering_key=barrier_key(event_id)
                ),
            ],
            now=clock.now(),
        )
        uow.commit()
    assert [d.id for d in claim(any_uows, clock)] == [earlier]  # the page waits for what came before it
    record(any_uows, [result(d, clock.now(), "delivered") for d in claim_none_or(any_uows, clock, earlier)])
    (first_page,) = claim(any_uows, clock)
    assert first_page.id == page  # p1's cancellation waits until the page is delivered
    record(any_uows, [result(first_page, clock.now(), "delivered")])
    assert [d.id for d in claim(any_uows, clock)] == [change]  # the next sync waits for the change
    with any_uows(readonly=True) as uow:
        assert uow.outbound.get(later_page) is not None


def claim_none_or(any_uows: UnitOfWorkFactory, clock: FakeClock, delivery_id: str) -> list[DueDelivery]:
    """The delivery ``delivery_id`` as a leased one (it was claimed by the test just before)."""
    with any_uows(readonly=True) as uow:
        found = uow.outbound.get(delivery_id)
    assert found is not None
    return [
        DueDelivery(
            id=found.id,
            seq=found.seq,
            event_id=found.event_id,
            system=found.system,
            type=found.type,
            payload_json="{}",
            attempts=found.attempts,
            created_at=found.created_at,
            retry_until=None,
            url="",
            secret_sealed="",
        )
    ]


def test_a_retry_behind_its_own_later_changes_is_not_crowded_out_by_them(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    # p1's first change failed and waits for its retry; its ten later changes, queued earlier than
    # that retry is due, come first in due order and fill every read of the claim
    _, ids = setup(any_uows, clock, keys=["p1"] * 11)
    (first,) = claim(any_uows, clock, limit=2)
    assert first.id == ids[0]
    retry_at = clock.now() + timedelta(seconds=30)
    record(any_uows, [result(first, clock.now(), "failed", code=500, ok=None, next_at=retry_at)])
    assert claim(any_uows, clock, limit=2) == []  # the retry is not due yet, the rest wait behind it
    clock.advance(seconds=31)
    assert [d.id for d in claim(any_uows, clock, limit=2)] == [ids[0]]
