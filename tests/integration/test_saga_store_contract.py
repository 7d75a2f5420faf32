"""``SagaStore`` and ``AlertStore`` behave alike in memory, on SQLite and on PostgreSQL: locks (held,
expired, released), the saga record round trip, claiming with leases and wake times, waking the
sagas that wait for a delivery, and alerts acknowledged once."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes import FakeClock
from tests.integration.test_integration_store_contract import new_event
from turnout.domain.ids import new_id
from turnout.domain.sagas import (
    ALERT_OPEN,
    Alert,
    Saga,
    SagaKind,
    SagaState,
    StepKind,
    StepRecord,
    StepState,
)
from turnout.ports import OutboundMessage, UnitOfWorkFactory


def saga(event_id: str, clock: FakeClock, *, resource: str = "participant:p1") -> Saga:
    now = clock.now()
    return Saga(
        id=new_id(),
        kind=SagaKind.TRANSFER,
        event_id=event_id,
        resource=resource,
        state=SagaState.RUNNING,
        data={"participant_id": "p1", "이름": "값"},
        steps=[
            StepRecord(0, "new_holder", StepKind.COMPENSATABLE),
            StepRecord(1, "gate_system", StepKind.COMPENSATABLE),
            StepRecord(2, "complete", StepKind.RETRIABLE),
        ],
        deadline=now + timedelta(minutes=10),
        created_at=now,
        updated_at=now,
        actor="key:k1",
    )


def test_a_lock_is_held_until_released_or_expired(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    now = clock.now()
    with any_uows() as uow:
        assert (
            uow.sagas.lock("participant:p1", saga_id="s1", now=now, expires_at=now + timedelta(hours=1))
            is None
        )
        uow.commit()
    with any_uows() as uow:
        assert (
            uow.sagas.lock("participant:p1", saga_id="s2", now=now, expires_at=now + timedelta(hours=1))
            == "s1"
        )
        assert (
            uow.sagas.lock("participant:p2", saga_id="s2", now=now, expires_at=now + timedelta(hours=1))
            is None
        )
        uow.sagas.unlock("participant:p1", saga_id="s2")  # not its lock: nothing happens
        hour = now + timedelta(hours=1)
        assert uow.sagas.lock("participant:p1", saga_id="s3", now=now, expires_at=hour) == "s1"
        uow.commit()
    later = now + timedelta(hours=2)  # s1's lock expired: its saga was lost
    with any_uows() as uow:
        assert (
            uow.sagas.lock("participant:p1", saga_id="s3", now=later, expires_at=later + timedelta(hours=1))
            is None
        )
        uow.sagas.unlock("participant:p2", saga_id="s2")
        assert uow.sagas.lock("participant:p2", saga_id="s4", now=later, expires_at=later) is None
        uow.commit()


def test_a_saga_round_trips_with_its_steps_and_is_found_by_event_and_state(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, other = new_event(any_uows), new_event(any_uows)
    first = saga(event_id, clock)
    with any_uows() as uow:
        uow.sagas.add(first, wake_at=clock.now())
        uow.sagas.add(saga(other, clock), wake_at=clock.now())
        uow.commit()
    clock.advance(seconds=5)
    first.steps[0].state, first.steps[0].attempts = StepState.DONE, 1
    first.steps[1].state, first.steps[1].delivery_id = StepState.WAITING, "d1"
    first.steps[1].error = "HTTP 503"
    first.state, first.error, first.updated_at = SagaState.COMPENSATING, "gate_system: refused", clock.now()
    with any_uows() as uow:
        uow.sagas.save(first, wake_at=clock.now())
        uow.commit()
    with any_uows(readonly=True) as uow:
        got = uow.sagas.get(first.id)
        assert got == first
        assert [s.id for s in uow.sagas.find(event_id=event_id)] == [first.id]
        assert uow.sagas.find(event_id=event_id, states=("running",)) == []
        assert uow.sagas.counts() == {("transfer", "compensating"): 1, ("transfer", "running"): 1}
        assert uow.sagas.get("nope") is None


def test_due_sagas_are_leased_once_and_a_saga_is_due_once_its_delivery_has_an_answer(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id = new_event(any_uows)
    with any_uows() as uow:
        (delivery_id,) = uow.outbound.enqueue(
            [OutboundMessage(event_id, "gate-management", "ticket.transferred", {})], now=clock.now()
        )
        uow.commit()
    waiting = saga(event_id, clock, resource="participant:a")
    waiting.steps[0].state, waiting.steps[0].delivery_id = StepState.WAITING, delivery_id
    due = saga(event_id, clock, resource="participant:b")
    finished = saga(event_id, clock, resource="participant:c")
    finished.state = SagaState.COMPLETED
    with any_uows() as uow:
        uow.sagas.add(waiting, wake_at=clock.now() + timedelta(minutes=5))
        uow.sagas.add(due, wake_at=clock.now())
        uow.sagas.add(finished, wake_at=clock.now())
        uow.commit()
    with any_uows() as uow:
        assert uow.sagas.due(now=clock.now(), limit=10) == [due.id]
        assert uow.sagas.lease([due.id], now=clock.now(), lease_seconds=60, worker="w1") == [due.id]
        assert uow.sagas.lease([due.id], now=clock.now(), lease_seconds=60, worker="w2") == []  # w1's
        assert uow.sagas.due(now=clock.now(), limit=10) == []  # the other one waits for its delivery
        assert uow.outbound.give_up(delivery_id, now=clock.now(), reason="test") is True  # an answer: dead
        uow.commit()
    with any_uows() as uow:
        assert uow.sagas.due(now=clock.now(), limit=10) == [waiting.id]
        uow.sagas.release(due.id, worker="w2")  # not its lease: still w1's
        uow.commit()
    clock.advance(seconds=61)  # w1 stopped: its lease ended
    with any_uows() as uow:
        assert sorted(uow.sagas.due(now=clock.now(), limit=10)) == sorted([due.id, waiting.id])
        uow.commit()


def test_an_alert_is_listed_and_acknowledged_once(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    event_id = new_event(any_uows)
    alert = Alert(
        new_id(), event_id, "s1", "compensation_failed", "…", {"step": "gate_system"}, ALERT_OPEN, clock.now()
    )
    with any_uows() as uow:
        uow.alerts.add(alert)
        uow.commit()
    with any_uows() as uow:
        assert uow.alerts.find(state="open", event_id=event_id) == [alert]
        assert uow.alerts.find(state="acknowledged") == []
        assert uow.alerts.acknowledge(alert.id, by="key:k1", now=clock.now()) is True
        assert uow.alerts.acknowledge(alert.id, by="key:k1", now=clock.now()) is False
        assert uow.alerts.acknowledge("nope", by="key:k1", now=clock.now()) is False
        uow.commit()
    with any_uows(readonly=True) as uow:
        got = uow.alerts.get(alert.id)
        assert got is not None
        assert (got.state, got.acknowledged_by, got.acknowledged_at) == (
            "acknowledged",
            "key:k1",
            clock.now(),
        )
        assert uow.alerts.find(state="open") == []
