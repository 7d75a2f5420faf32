"""``services.sagas`` over in-memory stores: a batch whose move raises is advanced again one saga at a
time (the others go on), a retriable step that fails runs again after its wait, a busy resource is
refused with the definition's code, and the audit has an entry per step."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import add_event
from turnout.domain.errors import Conflict
from turnout.domain.sagas import SagaKind, SagaState, StepKind, StepState
from turnout.services.sagas import (
    DONE,
    Outcome,
    SagaContext,
    SagaDefinition,
    SagaPolicy,
    SagaRegistry,
    StepDefinition,
    StepFailed,
    advance_due_sagas,
    begin_saga,
)

POLICY = SagaPolicy(retry_seconds=5.0)


def definition(run: StepDefinition) -> SagaDefinition:
    return SagaDefinition(
        kind=SagaKind.CANCELLATION,
        busy_code="busy",
        steps=(StepDefinition("first", StepKind.COMPENSATABLE, lambda _c: DONE, lambda _c: DONE), run),
    )


def start(uows: FakeUnitOfWorkFactory, saga_def: SagaDefinition, resource: str) -> str:
    with uows() as uow:
        event = add_event(uow)
        saga = begin_saga(
            uow,
            saga_def,
            event_id=event.id,
            resource=resource,
            data={"n": resource},
            actor="test",
            policy=POLICY,
        )
        uow.commit()
    return saga.id


def test_a_move_that_raises_rolls_back_only_its_own_saga_and_is_taken_up_after_its_lease() -> None:
    clock = FakeClock()
    uows = FakeUnitOfWorkFactory(clock)
    broken = {"b"}

    def second(ctx: SagaContext) -> Outcome:
        if ctx.data["n"] in broken:
            raise RuntimeError("a bug in a step")
        return DONE

    registry = SagaRegistry()
    # begin runs as far as it goes: the second step fails once there, so the worker takes it on
    calls: dict[str, int] = {}

    def flaky(ctx: SagaContext) -> Outcome:
        calls[ctx.data["n"]] = calls.get(ctx.data["n"], 0) + 1
        if calls[ctx.data["n"]] == 1:
            raise StepFailed("not yet")
        return second(ctx)

    saga_def = definition(StepDefinition("second", StepKind.RETRIABLE, flaky))
    registry.add(saga_def)
    ids = {n: start(uows, saga_def, n) for n in ("a", "b", "c")}
    clock.advance(seconds=6)
    assert advance_due_sagas(uows, registry, policy=POLICY, worker="w1") == 3
    with uows() as uow:
        states = {n: s.state for n, i in ids.items() if (s := uow.sagas.get(i)) is not None}
    assert states == {"a": SagaState.COMPLETED, "b": SagaState.RUNNING, "c": SagaState.COMPLETED}
    assert advance_due_sagas(uows, registry, policy=POLICY, worker="w2") == 0  # b is under w1's lease
    broken.clear()
    clock.advance(seconds=POLICY.lease_seconds + 1)
    assert advance_due_sagas(uows, registry, policy=POLICY, worker="w2") == 1
    with uows() as uow:
        saga = uow.sagas.get(ids["b"])
        assert saga is not None
        assert saga.state is SagaState.COMPLETED
        actions = [row["action"] for row in uow.audit.for_subject("saga", ids["b"])]
    assert actions[0] == "saga.cancellation.started"
    assert "saga.step.failed" in actions
    assert actions[-1] == "saga.cancellation.completed"


def test_a_retriable_step_that_fails_runs_again_after_its_wait_and_a_busy_resource_is_refused() -> None:
    clock = FakeClock()
    uows = FakeUnitOfWorkFactory(clock)
    tries: list[int] = []

    def twice(_ctx: SagaContext) -> Outcome:
        tries.append(1)
        if len(tries) < 3:
            raise StepFailed(f"try {len(tries)} failed")
        return DONE

    saga_def = definition(StepDefinition("second", StepKind.RETRIABLE, twice))
    registry = SagaRegistry()
    registry.add(saga_def)
    saga_id = start(uows, saga_def, "r")
    with pytest.raises(Conflict) as refused:
        start(uows, saga_def, "r")
    assert refused.value.code == "busy"
    assert advance_due_sagas(uows, registry, policy=POLICY, worker="w") == 0  # waits 5 s first
    clock.advance(seconds=5)
    advance_due_sagas(uows, registry, policy=POLICY, worker="w")
    with uows() as uow:
        saga = uow.sagas.get(saga_id)
        assert saga is not None
        assert (saga.state, saga.steps[1].state, saga.steps[1].error) == (
            SagaState.RUNNING,
            StepState.PENDING,
            "try 2 failed",
        )
    clock.advance(seconds=5)
    advance_due_sagas(uows, registry, policy=POLICY, worker="w")
    with uows() as uow:
        saga = uow.sagas.get(saga_id)
        assert saga is not None
        assert (saga.state, saga.steps[1].attempts) == (SagaState.COMPLETED, 3)
    start(uows, saga_def, "r")  # its lock was released when it completed
