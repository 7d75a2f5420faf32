"""``domain.sagas``: what comes next from a saga's record alone, and which definitions are sound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from turnout.domain.sagas import (
    Await,
    Finish,
    Run,
    Saga,
    SagaKind,
    SagaState,
    StepKind,
    StepRecord,
    StepState,
    Undo,
    next_move,
    step_failed,
    validate_definition,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
C, R = StepKind.COMPENSATABLE, StepKind.RETRIABLE


def saga(*states: tuple[StepKind, StepState], state: SagaState = SagaState.RUNNING) -> Saga:
    return Saga(
        id="s",
        kind=SagaKind.TRANSFER,
        event_id="e",
        resource="participant:p",
        state=state,
        data={},
        steps=[StepRecord(i, f"step{i}", kind, step_state) for i, (kind, step_state) in enumerate(states)],
        deadline=NOW + timedelta(minutes=10),
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_running_saga_runs_its_first_pending_step_waits_for_a_sent_one_and_completes_at_the_end() -> None:
    assert next_move(saga((C, StepState.PENDING), (R, StepState.PENDING))) == Run(0)
    assert next_move(saga((C, StepState.DONE), (C, StepState.SKIPPED), (R, StepState.PENDING))) == Run(2)
    assert next_move(saga((C, StepState.DONE), (C, StepState.WAITING), (R, StepState.PENDING))) == Await(1)
    assert next_move(saga((C, StepState.DONE), (R, StepState.DONE))) == Finish(SagaState.COMPLETED)


def test_compensation_undoes_the_completed_compensatable_steps_last_first() -> None:
    s = saga((C, StepState.DONE), (C, StepState.DONE), (C, StepState.PENDING), (R, StepState.PENDING))
    s.steps[2].state = StepState.WAITING
    step_failed(s, 2, error="refused (422)", at=NOW)
    assert (s.state, s.error) == (SagaState.COMPENSATING, "step2: refused (422)")
    # the failed step had sent its message: it is undone first (the receiver may act on it)
    s.steps[2].delivery_id = "d"
    assert next_move(s) == Undo(2)
    s.steps[2].state = StepState.UNDONE
    assert next_move(s) == Undo(1)
    s.steps[1].state = StepState.UNDOING
    assert next_move(s) == Await(1, undoing=True)
    s.steps[1].state = StepState.UNDONE
    assert next_move(s) == Undo(0)
    s.steps[0].state = StepState.UNDONE
    assert next_move(s) == Finish(SagaState.COMPENSATED)


def test_a_failed_local_step_and_skipped_steps_have_nothing_to_undo() -> None:
    s = saga((C, StepState.SKIPPED), (C, StepState.FAILED), state=SagaState.COMPENSATING)
    assert next_move(s) == Finish(SagaState.COMPENSATED)


def test_a_compensation_that_failed_ends_the_saga_failed_after_the_other_compensations() -> None:
    s = saga(
        (C, StepState.DONE), (C, StepState.UNDO_FAILED), (C, StepState.FAILED), state=SagaState.COMPENSATING
    )
    assert next_move(s) == Undo(0)
    s.steps[0].state = StepState.UNDONE
    assert next_move(s) == Finish(SagaState.FAILED)


def test_a_finished_saga_stays_finished() -> None:
    for state in (SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED):
        assert next_move(saga((C, StepState.PENDING), state=state)) == Finish(state)


def test_a_compensatable_step_after_a_retriable_one_is_refused() -> None:
    validate_definition([C, C, R, R])
    with pytest.raises(ValueError, match="never be undone"):
        validate_definition([C, R, C])
