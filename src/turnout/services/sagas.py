"""The saga engine: runs a multi-step operation's steps in order, waits for the external systems'
answers through the outbound deliveries, and on failure compensates in reverse order
(``domain.sagas`` holds the rules; ``services.transfer`` and the others define the steps).

Every move happens inside a unit of work together with the saga's record, so a worker killed at any
point leaves either the move done and recorded, or neither: another worker takes the saga over when
its lease ends and goes on from the record (``next_move``). A step that talks to an external system
enqueues a delivery (signed, retried, logged, in order with the participant's other changes) and the
saga waits for its outcome; the delivery's id is the message's ``webhook-id``, so a receiver that
gets it twice can tell. A compensation that fails ``undo_attempts`` times raises an operator alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.integrations import DeliveryStatus
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
from turnout.ports import AuditEntry, DeliveryRecord, OutboundMessage, UnitOfWork, UnitOfWorkFactory
from turnout.services.alerts import raise_alert

# --- what a step does -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """A message to an external system; the step waits for its delivery."""

    system: str
    type: str
    payload: dict[str, Any]
    ordering_key: str | None = None
    #: the payload carries ``saga_id`` and ``step`` (off for a message of the same shape as a
    #: feed's, so that a receiver sees one schema per type)
    tagged: bool = True


class Done:
    """The step finished in the saga's transaction."""


DONE = Done()
Outcome = Send | Done


class StepFailed(Exception):
    """A step cannot be done (a refusal): a compensatable step's saga turns to compensating."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(slots=True)
class SagaContext:
    uow: UnitOfWork
    saga: Saga
    #: what the moves of one transaction share (the deliveries read for the batch, integrations)
    shared: _Shared = field(default_factory=lambda: _Shared())
    #: the audit entries of this move, written in one statement when it is recorded
    audit: list[AuditEntry] = field(default_factory=list)
    #: the move runs in the request that began the saga (``begin_saga``)
    in_request: bool = False

    def integration_enabled(self, system: str) -> bool:
        key = (self.saga.event_id, system)
        enabled = self.shared.integrations.get(key)
        if enabled is None:
            integration = self.uow.integrations.get(self.saga.event_id, system)
            enabled = self.shared.integrations[key] = integration is not None and integration.enabled
        return enabled

    @property
    def data(self) -> dict[str, Any]:
        return self.saga.data

    def once(self, key: Any, read: Callable[[], Any]) -> Any:
        """``read()`` the first time ``key`` is asked for in this transaction, then the same value
        (what many sagas of a batch share, like their event)."""
        if key not in self.shared.values:
            self.shared.values[key] = read()
        return self.shared.values[key]

    def delivery(self, delivery_id: str) -> DeliveryRecord | None:
        found = self.shared.deliveries.get(delivery_id)
        return found if found is not None else self.uow.outbound.get(delivery_id, with_attempts=False)


@dataclass(slots=True)
class _Shared:
    deliveries: dict[str, DeliveryRecord] = field(default_factory=dict)
    integrations: dict[tuple[str, str], bool] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)  # deliveries enqueued in this transaction
    values: dict[Any, Any] = field(default_factory=dict)  # what steps read once (``SagaContext.once``)


@dataclass(frozen=True, slots=True)
class StepDefinition:
    name: str
    kind: StepKind
    run: Callable[[SagaContext], Outcome]
    undo: Callable[[SagaContext], Outcome] | None = None


@dataclass(frozen=True, slots=True)
class SagaDefinition:
    kind: SagaKind
    steps: tuple[StepDefinition, ...]
    busy_code: str  # the refusal when its resource is held by another saga
    # what to do once it ends (after its last step or its last compensation), in that transaction
    on_finish: Callable[[SagaContext], None] | None = None

    def __post_init__(self) -> None:
        validate_definition([step.kind for step in self.steps])
        for step in self.steps:
            if step.kind is StepKind.COMPENSATABLE and step.undo is None:
                raise ValueError(f"compensatable step {step.name!r} has no compensation")


@dataclass(frozen=True, slots=True)
class SagaPolicy:
    """Timings (settings ``TURNOUT_SAGA_*`` and ``TURNOUT_TRANSFER_DEADLINE_SECONDS``)."""

    deadline_seconds: float = 600.0  # a compensatable step that waits longer has failed
    poll_seconds: float = 0.2  # a waiting saga is looked at again at least this often …
    poll_max_seconds: float = 5.0  # … backing off to this
    retry_seconds: float = 5.0  # a retriable step that failed runs again after this
    undo_attempts: int = 3  # a compensation that fails this often raises an alert
    lease_seconds: float = 60.0


class SagaBusy(Conflict):
    """Another saga holds the resource."""


@dataclass
class SagaRegistry:
    definitions: dict[SagaKind, SagaDefinition] = field(default_factory=dict)

    def add(self, definition: SagaDefinition) -> None:
        self.definitions[definition.kind] = definition

    def __getitem__(self, kind: SagaKind) -> SagaDefinition:
        return self.definitions[kind]


# --- starting and advancing -----------------------------------------------------------------------


def begin_saga(
    uow: UnitOfWork,
    definition: SagaDefinition,
    *,
    event_id: str,
    resource: str,
    data: Mapping[str, Any],
    actor: str,
    policy: SagaPolicy,
) -> Saga:
    """Record a new saga holding ``resource``'s lock and run it as far as it goes without waiting
    (in the caller's transaction). Refuses with ``definition.busy_code`` when another saga holds
    the resource. The first step's refusal or error is the caller's; a later step that raises is
    rolled back to its savepoint and left to the worker."""
    now = uow.clock.now()
    saga_id = new_id()
    deadline = now + timedelta(seconds=policy.deadline_seconds)
    holder = uow.sagas.lock(
        resource, saga_id=saga_id, now=now, expires_at=deadline + timedelta(seconds=_LOCK_MARGIN_SECONDS)
    )
    if holder is not None:
        raise SagaBusy(definition.busy_code, saga_id=holder)
    saga = Saga(
        id=saga_id,
        kind=definition.kind,
        event_id=event_id,
        resource=resource,
        state=SagaState.RUNNING,
        data=dict(data),
        steps=[StepRecord(index=i, name=s.name, kind=s.kind) for i, s in enumerate(definition.steps)],
        deadline=deadline,
        created_at=now,
        updated_at=now,
        actor=actor,
    )
    ctx = SagaContext(uow, saga, in_request=True)
    ctx.audit.append(
        AuditEntry(
            actor=actor,
            action=f"saga.{saga.kind.value}.started",
            subject_type="saga",
            subject_id=saga.id,
            event_id=event_id,
            data={"resource": resource},
        )
    )
    wake_at = _advance(ctx, definition, policy)
    uow.sagas.add(saga, wake_at=wake_at)
    uow.audit.record_many(ctx.audit)
    return saga


def advance_saga(uow: UnitOfWork, registry: SagaRegistry, *, saga_id: str, policy: SagaPolicy) -> Saga:
    """Take the saga as far as it goes now (in the caller's transaction) and record it."""
    saga = uow.sagas.get(saga_id, for_update=True)
    if saga is None:
        raise NotFound("saga_not_found", saga_id=saga_id)
    if not saga.state.finished:
        ctx = SagaContext(uow, saga)
        wake_at = _advance(ctx, registry[saga.kind], policy)
        uow.sagas.save(saga, wake_at=wake_at)
        uow.audit.record_many(ctx.audit)
    return saga


def advance_due_sagas(
    uow_factory: UnitOfWorkFactory,
    registry: SagaRegistry,
    *,
    policy: SagaPolicy,
    worker: str,
    limit: int = 100,
) -> int:
    """One pass of the saga worker: lease the sagas due to be looked at (a read first: an idle
    worker takes no write lock), then advance them ``_BATCH`` to a transaction: their records, the
    deliveries they wait for and their saving are read and written for the batch at once. When a
    move raises, the batch is rolled back and its sagas advanced one by one, each in a savepoint: one
    saga's trouble rolls back its own move only (it is taken up again when its lease ends). How
    many were leased."""
    with uow_factory(readonly=True) as uow:
        due = uow.sagas.due(now=uow.clock.now(), limit=limit)
    if not due:
        return 0
    with uow_factory() as uow:
        ids = uow.sagas.lease(due, now=uow.clock.now(), lease_seconds=policy.lease_seconds, worker=worker)
        uow.commit()
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        if not _advance_batch(uow_factory, registry, chunk, policy=policy, worker=worker):
            _advance_one_by_one(uow_factory, registry, chunk, policy=policy, worker=worker)
    return len(ids)


def _advance_batch(
    uow_factory: UnitOfWorkFactory,
    registry: SagaRegistry,
    saga_ids: list[str],
    *,
    policy: SagaPolicy,
    worker: str,
) -> bool:
    with uow_factory() as uow:
        batch = uow.sagas.get_many(saga_ids, for_update=True)
        awaited = [
            s.delivery_id for saga in batch for s in saga.steps if s.delivery_id and s.state in _AWAITING
        ]
        shared = _Shared(deliveries=uow.outbound.find_many(awaited))
        moved: list[tuple[Saga, datetime]] = []
        audit: list[AuditEntry] = []
        try:
            for saga in batch:
                ctx = SagaContext(uow, saga, shared=shared)
                wake_at = _advance(ctx, registry[saga.kind], policy) if not saga.state.finished else _NEVER
                moved.append((saga, wake_at))
                audit += ctx.audit
        except Exception:
            log.warning("a saga move failed; its batch is advanced again one saga at a time", exc_info=True)
            return False  # rolled back
        uow.sagas.save_many(moved, worker=worker)
        uow.audit.record_many(audit)
        uow.commit()
    return True


def _advance_one_by_one(
    uow_factory: UnitOfWorkFactory,
    registry: SagaRegistry,
    saga_ids: list[str],
    *,
    policy: SagaPolicy,
    worker: str,
) -> None:
    with uow_factory() as uow:
        for saga_id in saga_ids:
            try:
                with uow.savepoint():
                    advance_saga(uow, registry, saga_id=saga_id, policy=policy)
                    uow.sagas.release(saga_id, worker=worker)
            except Exception:
                log.exception("saga %s not advanced; it is taken up again when its lease ends", saga_id)
        uow.commit()


#: sagas advanced in one transaction (short: on SQLite it holds the write lock the gates need)
_BATCH = 16


def retry_saga(uow: UnitOfWork, *, saga_id: str, actor: str) -> Saga:
    """Look at the saga again now (an operator's retry: a failed compensation is tried once more)."""
    saga = uow.sagas.get(saga_id, for_update=True)
    if saga is None:
        raise NotFound("saga_not_found", saga_id=saga_id)
    now = uow.clock.now()
    if saga.state is SagaState.FAILED:
        for step in saga.steps:
            if step.state is StepState.UNDO_FAILED:
                step.state, step.attempts, step.delivery_id = StepState.DONE, 0, None
        saga.state = SagaState.COMPENSATING
        saga.finished_at = None
        saga.updated_at = now
    elif saga.state.finished:
        raise Conflict("saga_finished", state=saga.state.value)
    uow.sagas.save(saga, wake_at=now)
    uow.audit.record(
        actor=actor,
        action=f"saga.{saga.kind.value}.retried",
        subject_type="saga",
        subject_id=saga.id,
        event_id=saga.event_id,
        data={},
    )
    return saga


_LOCK_MARGIN_SECONDS = 3600.0
_NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # a finished saga is not looked at again
_AWAITING = (StepState.WAITING, StepState.UNDOING)
log = logging.getLogger(__name__)
_REFUSALS_RETRIED = frozenset({408, 425, 429})


def _advance(ctx: SagaContext, definition: SagaDefinition, policy: SagaPolicy) -> datetime:
    """Move the saga on until it must wait or ends; when a worker should look at it again."""
    uow, saga = ctx.uow, ctx.saga
    now = uow.clock.now()
    while True:
        move = next_move(saga)
        if isinstance(move, Finish):
            if not saga.state.finished:
                _finish(ctx, definition, move.state, now)
            return _NEVER
        step = saga.steps[move.index]
        spec = definition.steps[move.index]
        if isinstance(move, Run):
            step.attempts += 1
            step.started_at = step.started_at or now
            guarded = ctx.in_request and move.index > 0
            try:
                if guarded:  # a later step's trouble must not fail the request that began the saga
                    with uow.savepoint():
                        outcome = spec.run(ctx)
                else:
                    outcome = spec.run(ctx)
            except StepFailed as failure:
                if _failed(ctx, step, failure.error, now, policy):
                    return now + timedelta(seconds=policy.retry_seconds)
                continue
            except Exception:
                if not guarded:
                    raise
                log.warning("saga %s: step %s left to the worker", saga.id, step.name, exc_info=True)
                step.attempts -= 1
                return now
            if not _apply(ctx, step, outcome, now, undoing=False):
                _audit_step(ctx, step, "skipped")
            continue
        if isinstance(move, Undo):
            step.attempts += 1
            assert spec.undo is not None
            try:
                outcome = spec.undo(ctx)
            except StepFailed as failure:
                _undo_failed(ctx, step, failure.error, now, policy)
                continue
            _apply(ctx, step, outcome, now, undoing=True)
            continue
        assert isinstance(move, Await)
        if step.delivery_id in ctx.shared.sent:  # sent just now: no answer yet
            return now + timedelta(seconds=policy.poll_max_seconds)
        answer = _delivery_answer(ctx, step, now, undoing=move.undoing)
        if answer is None:  # still waiting
            waited = (now - (step.started_at or now)).total_seconds()
            return now + timedelta(
                seconds=min(policy.poll_max_seconds, max(policy.poll_seconds, waited / 10))
            )
        if answer == "":
            step.state = StepState.UNDONE if move.undoing else StepState.DONE
            step.finished_at = now
            if not move.undoing:
                step.error = None
            _audit_step(ctx, step, step.state.value)
            continue
        if move.undoing:
            _undo_failed(ctx, step, answer, now, policy)
            continue
        if _failed(ctx, step, answer, now, policy):
            return now + timedelta(seconds=policy.retry_seconds)


def _apply(ctx: SagaContext, step: StepRecord, outcome: Outcome, now: datetime, *, undoing: bool) -> bool:
    """Record what a step (or its compensation) did; False when it had nothing to do."""
    saga = ctx.saga
    if isinstance(outcome, Send):
        if not ctx.integration_enabled(outcome.system):
            step.state = StepState.UNDONE if undoing else StepState.SKIPPED
            step.finished_at = now
            return False
        (step.delivery_id,) = ctx.uow.outbound.enqueue(
            [
                OutboundMessage(
                    saga.event_id,
                    outcome.system,
                    outcome.type,
                    {**outcome.payload, "saga_id": saga.id, "step": step.name}
                    if outcome.tagged
                    else outcome.payload,
                    ordering_key=outcome.ordering_key,
                    retry_until=_retry_until(saga, step, now, undoing=undoing),
                )
            ],
            now=now,
        )
        ctx.shared.sent.add(step.delivery_id)
        step.state = StepState.UNDOING if undoing else StepState.WAITING
        _audit_step(ctx, step, "sent")
        return True
    step.state = StepState.UNDONE if undoing else StepState.DONE
    step.finished_at = now
    if not undoing:
        step.error = None
    _audit_step(ctx, step, step.state.value)
    return True


def _retry_until(saga: Saga, step: StepRecord, now: datetime, *, undoing: bool) -> datetime | None:
    """How long a step's delivery is retried: a compensatable step's until the saga's deadline; a
    compensation's for as long again from now (then it counts as one failed attempt); a retriable
    step's for the settings' window (and then it is sent again)."""
    if undoing:
        return now + (saga.deadline - saga.created_at)
    return saga.deadline if step.kind is StepKind.COMPENSATABLE else None


def _delivery_answer(ctx: SagaContext, step: StepRecord, now: datetime, *, undoing: bool) -> str | None:
    """``""`` when the awaited delivery arrived, an error when it failed for good (refused,
    dead, or past the saga's deadline), None while it is still on its way."""
    uow, saga = ctx.uow, ctx.saga
    assert step.delivery_id is not None
    delivery = ctx.delivery(step.delivery_id)
    if delivery is None:
        return "delivery lost"
    if delivery.status == DeliveryStatus.DELIVERED.value:
        return ""
    if delivery.status == DeliveryStatus.DEAD.value:
        return delivery.last_error or "dead"
    code = delivery.last_status_code
    refused = code is not None and 400 <= code < 500 and code not in _REFUSALS_RETRIED
    if undoing:  # a compensation's message has as long as the saga had (it may wait behind others)
        late = now > delivery.created_at + (saga.deadline - saga.created_at)
    else:
        late = step.kind is StepKind.COMPENSATABLE and now > saga.deadline
    if refused or late:
        why = f"refused ({code})" if refused else "no answer before the deadline"
        if uow.outbound.give_up(
            step.delivery_id, now=now, reason=f"{why}; the saga {saga.id} stopped waiting"
        ):
            return why
    return None


def _failed(ctx: SagaContext, step: StepRecord, error: str, now: datetime, policy: SagaPolicy) -> bool:
    """A step failed: a compensatable one's saga compensates; a retriable one runs again later
    (True: wait before looking again)."""
    _audit_step(ctx, step, "failed", error=error)
    if step.kind is StepKind.COMPENSATABLE:
        step_failed(ctx.saga, step.index, error=error, at=now)
        return False
    step.state = StepState.PENDING
    step.error = error
    step.delivery_id = None
    return True


def _undo_failed(ctx: SagaContext, step: StepRecord, error: str, now: datetime, policy: SagaPolicy) -> None:
    step.error = error
    _audit_step(ctx, step, "undo_failed", error=error)
    if step.attempts < policy.undo_attempts:
        step.state = StepState.DONE  # undone again on the next move
        step.delivery_id = None
        return
    step.state = StepState.UNDO_FAILED
    step.finished_at = now
    saga = ctx.saga
    raise_alert(
        ctx.uow,
        event_id=saga.event_id,
        saga_id=saga.id,
        code="compensation_failed",
        details={
            "saga_kind": saga.kind.value,
            "step": step.name,
            "attempts": step.attempts,
            "error": error,
            "resource": saga.resource,
        },
    )


def _finish(ctx: SagaContext, definition: SagaDefinition, state: SagaState, now: datetime) -> None:
    saga = ctx.saga
    saga.state = state
    saga.finished_at = now
    saga.updated_at = now
    if definition.on_finish is not None:
        definition.on_finish(ctx)
    ctx.uow.sagas.unlock(saga.resource, saga_id=saga.id)
    ctx.audit.append(
        AuditEntry(
            actor=saga.actor,
            action=f"saga.{saga.kind.value}.{state.value}",
            subject_type="saga",
            subject_id=saga.id,
            event_id=saga.event_id,
            data={"error": saga.error} if saga.error else {},
        )
    )


def _audit_step(ctx: SagaContext, step: StepRecord, what: str, *, error: str | None = None) -> None:
    saga = ctx.saga
    data: dict[str, Any] = {"step": step.name, "attempt": step.attempts}
    if step.delivery_id:
        data["delivery_id"] = step.delivery_id
    if error:
        data["error"] = error
    ctx.audit.append(
        AuditEntry(
            actor=saga.actor,
            action=f"saga.step.{what}",
            subject_type="saga",
            subject_id=saga.id,
            event_id=saga.event_id,
            data=data,
        )
    )


# --- reading ----------------------------------------------------------------------------------------


def get_saga(uow: UnitOfWork, *, saga_id: str) -> Saga:
    saga = uow.sagas.get(saga_id)
    if saga is None:
        raise NotFound("saga_not_found", saga_id=saga_id)
    return saga


def list_sagas(
    uow: UnitOfWork, *, event_id: str | None = None, states: tuple[str, ...] = (), limit: int = 100
) -> list[Saga]:
    return uow.sagas.find(event_id=event_id, states=states, limit=limit)
