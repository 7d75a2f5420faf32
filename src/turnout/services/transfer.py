"""Ticket transfer to another person, as a saga (``services.sagas``).

Steps (``docs/sagas.md``):

1. ``new_holder`` (compensatable): the new holder is saved with their own ticket, not yet valid
   (``pending_transfer``); the old holder's ticket is held (``transferring``). A scan of either
   answers ``transfer_in_progress``. Undo: the new holder is removed (their token revoked), the old
   ticket is valid again.
2. ``gate_system`` (compensatable): the gate system is told to accept the new token and drop the old
   one, and the saga waits for its answer. A refusal (4xx) or no answer before the deadline
   (``TURNOUT_TRANSFER_DEADLINE_SECONDS``, 10 minutes) fails the transfer. Undo: the gate system is
   told to keep the old token and drop the new one.
3. ``attendee_app`` (retriable): the attendee app is told.
4. ``complete`` (retriable): the old ticket is revoked (``transferred``), the new one becomes valid;
   ``ticket.transferred`` and ``participant.registered`` are emitted (so the new holder gets their
   ticket email) and the old holder's notice that the ticket was passed on is queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from turnout.domain.consent import Channel, ConsentGiven, consent_from, drop_unconsented
from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.integrations import IntegrationSystem
from turnout.domain.participants import (
    CheckInStatus,
    Participant,
    ParticipantInput,
    ParticipantStatus,
    Source,
)
from turnout.domain.sagas import Saga, SagaKind, StepKind
from turnout.messages.facts import ParticipantRegistered, TicketTransferred
from turnout.ports import AuditEntry, UnitOfWork
from turnout.services.consent import optional_items, record_for
from turnout.services.events import get_event
from turnout.services.feeds import event_card
from turnout.services.mail_queue import queue_notice
from turnout.services.mail_templates import KIND_TRANSFERRED
from turnout.services.privacy_notice import notice_in_force
from turnout.services.registration import (
    checked_consent,
    clean_or_refuse,
    event_rules,
    participant_record,
    refuse_if_registered,
)
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
from turnout.services.ticketing import REASON_TRANSFERRED, TicketBook, revoke_ticket

TRANSFER_IN_PROGRESS = "transfer_in_progress"


def participant_resource(participant_id: str) -> str:
    return f"participant:{participant_id}"


def transfer_ticket(
    uow: UnitOfWork,
    *,
    definition: SagaDefinition,
    policy: SagaPolicy,
    participant_id: str,
    data: Mapping[str, Any] | ParticipantInput,
    actor: str,
) -> Saga:
    """Start passing ``participant_id``'s ticket to the person in ``data`` (validated by the
    registration rules: ``ValidationFailed`` 422, ``already_registered`` 409). Refusals:
    ``participant_not_found``, ``participant_cancelled``, ``ticket_used`` (the holder was
    admitted already), ``transfer_in_progress``. Returns the saga (already past its first step)."""
    old = uow.participants.get(participant_id, for_update=True)
    if old is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    _check_transferable(old)
    event = get_event(uow, event_id=old.event_id)
    rules = event_rules(event)
    cleaned = data if isinstance(data, ParticipantInput) else clean_or_refuse(data, rules)
    consent = checked_consent(cleaned, rules)
    refuse_if_registered(uow, event, cleaned)
    notice = notice_in_force(uow, event)
    if not consent.optional:
        cleaned = drop_unconsented(cleaned, optional_items(notice, event))
    guardian = consent.guardian
    return begin_saga(
        uow,
        definition,
        event_id=old.event_id,
        resource=participant_resource(old.id),
        data={
            "participant_id": old.id,
            "new_participant_id": new_id(),
            "new_holder": {
                **cleaned.as_record(),
                "birth_date": cleaned.birth_date.isoformat() if cleaned.birth_date else None,
            },
            # what the new holder agreed to (recorded with them, through the ``transfer`` channel)
            "consent": {
                "notice_version": notice.version,
                "required": consent.required,
                "optional": consent.optional,
                "marketing": consent.marketing,
                "guardian": {
                    "name": guardian.name,
                    "contact": guardian.contact,
                    "consent": guardian.consented,
                }
                if guardian
                else None,
            },
        },
        actor=actor,
        policy=policy,
    )


def _check_transferable(old: Participant) -> None:
    if old.status in (ParticipantStatus.TRANSFERRING, ParticipantStatus.PENDING_TRANSFER):
        raise Conflict(TRANSFER_IN_PROGRESS)
    if old.status != ParticipantStatus.REGISTERED:
        raise Conflict("participant_cancelled", status=old.status.value)
    if old.check_in_status != CheckInStatus.NOT_CHECKED_IN:
        raise Conflict("ticket_used", check_in_status=old.check_in_status.value)


def transfer_saga(tickets: TicketBook, *, mail_from: str) -> SagaDefinition:
    """The transfer's steps, with the ticket book that mints the new holder's token."""

    def new_holder(ctx: SagaContext) -> Outcome:
        uow, data = ctx.uow, ctx.data
        old = _participant(uow, data["participant_id"], for_update=True)
        if old.status != ParticipantStatus.REGISTERED or old.check_in_status != CheckInStatus.NOT_CHECKED_IN:
            raise StepFailed(f"the ticket can no longer be transferred ({old.status.value})")
        new_participant_id = data["new_participant_id"]
        token = tickets.mint(uow, event_id=old.event_id, participant_id=new_participant_id, version=1)
        holder = dict(data["new_holder"])
        record = participant_record(
            participant_id=new_participant_id,
            event_id=old.event_id,
            data=ParticipantInput(**{**holder, "birth_date": _date(holder.get("birth_date"))}),
            token=token,
            source=Source.TRANSFER,
            import_id=None,
            now=uow.clock.now(),
        )
        record["status"] = ParticipantStatus.PENDING_TRANSFER.value
        uow.participants.insert_many([record])
        _record_consent(uow, old.event_id, new_participant_id, data.get("consent"))
        _set_status(uow, old.id, ParticipantStatus.TRANSFERRING)
        return DONE

    def remove_new_holder(ctx: SagaContext) -> Outcome:
        uow, data = ctx.uow, ctx.data
        new = uow.participants.get(data["new_participant_id"], for_update=True)
        if new is not None:
            revoke_ticket(uow, participant=new, reason=REASON_TRANSFERRED)
            uow.participants.delete(new.id)
        old = _participant(uow, data["participant_id"], for_update=True)
        if old.status == ParticipantStatus.TRANSFERRING:  # still (the gate system was not told)
            _set_status(uow, old.id, ParticipantStatus.REGISTERED)
        return DONE

    def gate_accepts_new_token(ctx: SagaContext) -> Outcome:
        old, new = _pair(ctx)
        return Send(
            IntegrationSystem.GATE_MANAGEMENT.value,
            "ticket.transferred",
            {
                "event_id": old.event_id,
                "drop": {"participant_id": old.id, "token": old.token},
                "accept": {
                    "participant_id": new.id,
                    "token": new.token,
                    "name": new.name,
                    "status": "registered",
                },
            },
            ordering_key=old.id,
        )

    def gate_keeps_old_token(ctx: SagaContext) -> Outcome:
        old, new = _pair(ctx, for_update=True)
        # in the transaction that tells the gate system: a sync page made after it says the same
        _set_status(ctx.uow, old.id, ParticipantStatus.REGISTERED)
        _set_status(ctx.uow, new.id, ParticipantStatus.CANCELLED)
        return Send(
            IntegrationSystem.GATE_MANAGEMENT.value,
            "ticket.transfer.reverted",
            {
                "event_id": old.event_id,
                "keep": {
                    "participant_id": old.id,
                    "token": old.token,
                    "name": old.name,
                    "status": "registered",
                },
                "drop": {"participant_id": new.id, "token": new.token},
            },
            ordering_key=old.id,
        )

    def attendee_app(ctx: SagaContext) -> Outcome:
        old, new = _pair(ctx)
        event = ctx.once(("event", old.event_id), lambda: get_event(ctx.uow, event_id=old.event_id))
        return Send(
            IntegrationSystem.ATTENDEE_APP.value,
            "ticket.transferred",
            {
                "event": event_card(event),
                "previous": {"participant_id": old.id, "status": ParticipantStatus.TRANSFERRED.value},
                "participant_id": new.id,
                "token": new.token,
                "status": ParticipantStatus.REGISTERED.value,
                "check_in_status": new.check_in_status.value,
            },
            ordering_key=new.id,
        )

    def complete(ctx: SagaContext) -> Outcome:
        uow, saga = ctx.uow, ctx.saga
        old, new = _pair(ctx, for_update=True)
        if old.status == ParticipantStatus.TRANSFERRED:
            return DONE  # done already (a retried step)
        revoke_ticket(uow, participant=old, reason=REASON_TRANSFERRED)
        _set_status(uow, old.id, ParticipantStatus.TRANSFERRED)
        _set_status(uow, new.id, ParticipantStatus.REGISTERED)
        queue_notice(
            uow, participant=old, kind=KIND_TRANSFERRED, mail_from=mail_from
        )  # the new holder: ticket
        ctx.audit.append(  # written with the saga's own entries
            AuditEntry(
                actor=saga.actor,
                action="ticket.transferred",
                subject_type="participant",
                subject_id=old.id,
                event_id=old.event_id,
                data={"new_participant_id": new.id, "saga_id": saga.id},
            )
        )
        uow.emit_all(
            [
                TicketTransferred(
                    event_id=old.event_id, participant_id=old.id, new_participant_id=new.id, saga_id=saga.id
                ),
                ParticipantRegistered(
                    event_id=old.event_id, participant_id=new.id, source=Source.TRANSFER.value
                ),
            ]
        )
        return DONE

    return SagaDefinition(
        kind=SagaKind.TRANSFER,
        busy_code=TRANSFER_IN_PROGRESS,
        steps=(
            StepDefinition("new_holder", StepKind.COMPENSATABLE, new_holder, remove_new_holder),
            StepDefinition(
                "gate_system", StepKind.COMPENSATABLE, gate_accepts_new_token, gate_keeps_old_token
            ),
            StepDefinition("attendee_app", StepKind.RETRIABLE, attendee_app),
            StepDefinition("complete", StepKind.RETRIABLE, complete),
        ),
    )


def _record_consent(uow: UnitOfWork, event_id: str, participant_id: str, given: Any) -> None:
    """The new holder's consent record, under the notice version the transfer was asked under (a
    saga begun before consent was recorded carries none: the required consent of the staff's
    request, under the notice in force)."""
    event = get_event(uow, event_id=event_id)
    consent = consent_from(given) or ConsentGiven(required=True)
    notice = None
    if isinstance(given, dict) and given.get("notice_version"):
        notice = next(
            (n for n in uow.consent.notices(event_id) if n.version == given["notice_version"]), None
        )
    notice = notice or notice_in_force(uow, event)
    uow.consent.record_many(
        [
            record_for(
                participant_id=participant_id,
                event=event,
                notice=notice,
                consent=consent,
                channel=Channel.TRANSFER,
                uow=uow,
            )
        ]
    )


def _participant(uow: UnitOfWork, participant_id: str, *, for_update: bool = False) -> Participant:
    found = uow.participants.get(participant_id, for_update=for_update)
    if found is None:
        raise StepFailed(f"participant {participant_id} is gone")
    return found


def _pair(ctx: SagaContext, *, for_update: bool = False) -> tuple[Participant, Participant]:
    old_id, new_id_ = ctx.data["participant_id"], ctx.data["new_participant_id"]
    found = ctx.uow.participants.get_many([old_id, new_id_], for_update=for_update)
    for participant_id in (old_id, new_id_):
        if participant_id not in found:
            raise StepFailed(f"participant {participant_id} is gone")
    return found[old_id], found[new_id_]


def _set_status(uow: UnitOfWork, participant_id: str, status: ParticipantStatus) -> None:
    uow.participants.update_fields(participant_id, {"status": status.value, "updated_at": uow.clock.now()})


def _date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value
