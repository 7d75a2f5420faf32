"""Cancelling a registration, as a saga (``services.sagas``; ``docs/sagas.md``).

Every step is retriable (a cancellation is never undone; the later steps are retried until they
succeed):

1. ``revoke``: status ``cancelled``, the ticket on the revocation list, ``participant.cancelled``
   emitted (statistics; the feeds leave this one to the saga) — in the request's transaction.
2. ``gate_system``: the gate system is told (``participant.changed``, ``status: cancelled``) and
   the saga waits for it to accept.
3. ``attendee_app``: the attendee app is told (``participant.status``).
4. ``email``: the participant's cancellation notice is queued (the email sender takes it from there);
   not when the cancellation is an approved erasure request's (``notify=False``).

A participant cancelled already is answered as they are (no second saga).
"""

from __future__ import annotations

from turnout.domain.errors import NotFound
from turnout.domain.participants import Participant, ParticipantStatus
from turnout.domain.sagas import Saga, SagaKind, StepKind
from turnout.ports import ParticipantFeedRow, UnitOfWork
from turnout.services.events import get_event
from turnout.services.feeds import (
    APP,
    GATE,
    PARTICIPANT_CHANGED,
    PARTICIPANT_STATUS,
    participant_changed,
    participant_status,
)
from turnout.services.mail_queue import queue_notice
from turnout.services.mail_templates import KIND_CANCELLED
from turnout.services.sagas import (
    DONE,
    Outcome,
    SagaContext,
    SagaDefinition,
    SagaPolicy,
    Send,
    StepDefinition,
    StepFailed,
    begin_saga,
)
from turnout.services.ticketing import cancel_participant
from turnout.services.transfer import participant_resource

CANCELLED = "participant.cancelled"


def cancel_registration(
    uow: UnitOfWork,
    *,
    definition: SagaDefinition,
    policy: SagaPolicy,
    participant_id: str,
    actor: str,
    notify: bool = True,
) -> tuple[Participant, Saga | None]:
    """Cancel through the cancellation saga; the participant afterwards, and the saga (None when
    they were cancelled already). ``notify=False`` sends no cancellation notice (a person whose data
    is being erased: their address is about to go). Refusals: ``participant_not_found``,
    ``transfer_in_progress``, ``saga_in_progress`` (another saga holds the participant)."""
    participant = uow.participants.get(participant_id)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    if participant.status in (ParticipantStatus.CANCELLED, ParticipantStatus.TRANSFERRED):
        return participant, None
    saga = begin_saga(
        uow,
        definition,
        event_id=participant.event_id,
        resource=participant_resource(participant_id),
        data={"participant_id": participant_id}
        if notify
        else {"participant_id": participant_id, "notify": False},
        actor=actor,
        policy=policy,
    )
    found = uow.participants.get(participant_id)
    assert found is not None
    return found, saga


def cancellation_saga(*, mail_from: str) -> SagaDefinition:
    def revoke(ctx: SagaContext) -> Outcome:
        cancel_participant(
            ctx.uow, participant_id=ctx.data["participant_id"], actor=ctx.saga.actor, saga_id=ctx.saga.id
        )
        return DONE

    def gate_system(ctx: SagaContext) -> Outcome:
        row = _feed_row(ctx)
        return Send(
            GATE, PARTICIPANT_CHANGED, participant_changed(row.event_id, row, CANCELLED), ordering_key=row.id
        )

    def attendee_app(ctx: SagaContext) -> Outcome:
        row = _feed_row(ctx)
        event = ctx.once(("event", row.event_id), lambda: get_event(ctx.uow, event_id=row.event_id))
        return Send(APP, PARTICIPANT_STATUS, participant_status(event, row, CANCELLED), ordering_key=row.id)

    def email(ctx: SagaContext) -> Outcome:
        if ctx.data.get("notify") is False:  # an erasure's cancellation: no one to write to
            return DONE
        participant = ctx.uow.participants.get(ctx.data["participant_id"])
        if participant is None:
            raise StepFailed("the participant is gone")
        queue_notice(ctx.uow, participant=participant, kind=KIND_CANCELLED, mail_from=mail_from)
        return DONE

    return SagaDefinition(
        kind=SagaKind.CANCELLATION,
        busy_code="saga_in_progress",
        steps=(
            StepDefinition("revoke", StepKind.RETRIABLE, revoke),
            StepDefinition("gate_system", StepKind.RETRIABLE, gate_system),
            StepDefinition("attendee_app", StepKind.RETRIABLE, attendee_app),
            StepDefinition("email", StepKind.RETRIABLE, email),
        ),
    )


def _feed_row(ctx: SagaContext) -> ParticipantFeedRow:
    rows = ctx.uow.participants.feed_rows([ctx.data["participant_id"]])
    if not rows:
        raise StepFailed("the participant is gone")
    return rows[0]
