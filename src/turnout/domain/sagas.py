"""Sagas: multi-step operations across Turnout and the external systems. Plain Python (no I/O).

A saga is a list of steps run in order. Each step is declared

* **compensatable**: when a later step fails, it is undone (its compensation runs), in reverse
  order of completion; or
* **retriable**: once the saga has passed its compensatable steps, it is retried until it succeeds
  (nothing after the point of no return is undone).

A step either finishes in the transaction that runs it (a change to Turnout's own data) or sends a
message to an external system and **waits** for the delivery's outcome. ``next_move`` says what
to do next from the saga's record alone, so a worker that picks the saga up after a crash does the
same as the one that stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class SagaKind(StrEnum):
    TRANSFER = "transfer"
    CANCELLATION = "cancellation"
    CLOSE_EVENT = "close_event"


class SagaState(StrEnum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"  # every step done
    COMPENSATED = "compensated"  # a step failed; every completed compensatable step was undone
    FAILED = "failed"  # a compensation failed: an operator alert was raised

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED})


class StepKind(StrEnum):
    COMPENSATABLE = "compensatable"
    RETRIABLE = "retriable"


class StepState(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"  # its message was sent; the delivery's outcome is awaited
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (the system is not connected): nothing to undo either
    FAILED = "failed"
    UNDOING = "undoing"  # its compensation's message was sent; awaited
    UNDONE = "undone"
    UNDO_FAILED = "undo_failed"


@dataclass(slots=True)
class StepRecord:
    index: int
    name: str
    kind: StepKind
    state: StepState = StepState.PENDING
    attempts: int = 0
    error: str | None = None
    delivery_id: str | None = None  # the message awaited (the step's, or its compensation's)
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class Saga:
    id: str
    kind: SagaKind
    event_id: str
    resource: str  # what it holds the lock of: ``participant:<id>``, ``event:<id>``
    state: SagaState
    data: dict[str, Any]
    steps: list[StepRecord]
    deadline: datetime  # a step that waits past it has failed
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    actor: str = "system"
    finished_at: datetime | None = None


# --- what to do next --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """Run step ``index`` (its first attempt, or again after a retriable failure)."""

    index: int


@dataclass(frozen=True, slots=True)
class Await:
    """Step ``index`` waits for its delivery (or its compensation's, when ``undoing``)."""

    index: int
    undoing: bool = False


@dataclass(frozen=True, slots=True)
class Undo:
    """Run the compensation of step ``index``."""

    index: int


@dataclass(frozen=True, slots=True)
class Finish:
    state: SagaState


Move = Run | Await | Undo | Finish


def next_move(saga: Saga) -> Move:
    """The next thing to do for ``saga``, read from its record."""
    if saga.state.finished:
        return Finish(saga.state)
    if saga.state is SagaState.RUNNING:
        for step in saga.steps:
            if step.state is StepState.WAITING:
                return Await(step.index)
            if step.state is StepState.PENDING:
                return Run(step.index)
        return Finish(SagaState.COMPLETED)
    # compensating: the completed compensatable steps, last first
    for step in reversed(saga.steps):
        if step.kind is not StepKind.COMPENSATABLE:
            continue
        if step.state is StepState.UNDOING:
            return Await(step.index, undoing=True)
        if step.state is StepState.DONE or (step.state is StepState.FAILED and step.delivery_id):
            # a failed step that had sent its message is undone too: the receiver may have
            # acted on it (a timeout) or may act on it still
            return Undo(step.index)
    if any(step.state is StepState.UNDO_FAILED for step in saga.steps):
        return Finish(SagaState.FAILED)
    return Finish(SagaState.COMPENSATED)


def step_failed(saga: Saga, index: int, *, error: str, at: datetime) -> None:
    """Step ``index`` failed for good: the saga turns to compensating (a retriable step is retried
    by the caller instead, and never comes here)."""
    step = saga.steps[index]
    step.state = StepState.FAILED
    step.error = error
    step.finished_at = at
    saga.state = SagaState.COMPENSATING
    saga.error = f"{step.name}: {error}"
    saga.updated_at = at


def validate_definition(kinds: list[StepKind]) -> None:
    """Compensatable steps come first: once a retriable step ran, nothing before it is undone."""
    seen_retriable = False
    for kind in kinds:
        if kind is StepKind.RETRIABLE:
            seen_retriable = True
        elif seen_retriable:
            raise ValueError("a compensatable step after a retriable one could never be undone")


ALERT_OPEN = "open"
ALERT_ACKNOWLEDGED = "acknowledged"


@dataclass(slots=True)
class Alert:
    """Something an operator must act on (a compensation that failed after its retries)."""

    id: str
    event_id: str | None
    saga_id: str | None
    code: str  # e.g. ``compensation_failed``
    message: str
    details: dict[str, Any]
    state: str  # open | acknowledged
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    email_attempts: int = 0
    emailed_at: datetime | None = None
    email_error: str | None = None
