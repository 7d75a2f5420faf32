"""A participant sees what Turnout holds about them and asks to be erased; the organiser decides.

``person_record`` is what the participant's data page shows (``/t/{token}/data``): every personal
field, the ticket's status, every scan and every email. ``request_erasure`` records the request
(a repeat while one is open answers with the open one) and raises an ``erasure_requested`` alert
naming only ids, so it reaches the organiser by email and the ``alerts`` integration.
``approve_erasure`` runs in one transaction: a registration still active is cancelled as
``services.cancellation`` does (ticket revoked, the gate system and attendee app told; no notice),
then that one person's personal data is erased with the event erasure's rules (statistics and
analytics kept), the request becomes ``done`` and its alert is acknowledged. ``reject_erasure``
records the refusal. A decided request is not decided again (``erasure_request_decided``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from turnout.domain.consent import ConsentRecord
from turnout.domain.errors import NotFound
from turnout.domain.events import Event
from turnout.domain.ids import new_id
from turnout.domain.participants import Participant, ParticipantStatus
from turnout.domain.privacy import (
    NOTE_MAX,
    ErasureRequest,
    ErasureRequestDecided,
    ErasureStatus,
    birth_date_bands,
    clean_reason,
)
from turnout.domain.tickets import TicketError
from turnout.ports import EmailJob, PersonScan, UnitOfWork
from turnout.services.alerts import raise_alert
from turnout.services.cancellation import cancel_registration
from turnout.services.sagas import SagaDefinition, SagaPolicy
from turnout.services.ticketing import TicketBook, lookup_ticket

ALERT_CODE = "erasure_requested"
#: the ticket page's states in which the token is the current, valid ticket
CURRENT = ("valid", "checked_in")
EMAILS_SHOWN = 500


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What Turnout holds about one participant, as their own data page shows it. ``consent`` is their
    consent record (None: registered before consent was recorded)."""

    event: Event
    participant: Participant
    ticket_status: str
    scans: list[PersonScan]
    emails: list[EmailJob]
    open_request: ErasureRequest | None
    consent: ConsentRecord | None = None


def _current(uow: UnitOfWork, *, tickets: TicketBook, token: str) -> tuple[str, Event, Participant]:
    """The ticket's status, event and participant when ``token`` is the participant's current valid
    ticket; ``unknown_token`` (or the token's own refusal) otherwise."""
    found = lookup_ticket(uow, tickets=tickets, token=token)
    if found.status not in CURRENT:
        raise TicketError("unknown_token")
    return found.status, found.event, found.participant


def person_record(uow: UnitOfWork, *, tickets: TicketBook, token: str) -> PersonRecord:
    status, event, participant = _current(uow, tickets=tickets, token=token)
    return PersonRecord(
        event=event,
        participant=participant,
        ticket_status=status,
        scans=uow.privacy.scans_of(participant.id),
        emails=uow.mail.list_for_event(event.id, participant_id=participant.id, limit=EMAILS_SHOWN),
        open_request=uow.privacy.open_erasure_request(participant.id),
        consent=uow.consent.of_participant(participant.id),
    )


def request_erasure(
    uow: UnitOfWork, *, tickets: TicketBook, token: str, reason: str | None
) -> tuple[ErasureRequest, bool]:
    """Record the ticket holder's request to be erased and alert the organiser; the request, and
    whether it is new (False: the one still open, answered again). The caller commits."""
    _status, event, participant = _current(uow, tickets=tickets, token=token)
    uow.participants.get(participant.id, for_update=True)  # one open request per person
    existing = uow.privacy.open_erasure_request(participant.id)
    if existing is not None:
        return existing, False
    request_id = new_id()
    alert = raise_alert(
        uow,
        event_id=event.id,
        saga_id=None,
        code=ALERT_CODE,
        details={"erasure_request_id": request_id, "participant_id": participant.id},
        actor="participant",
    )
    request = ErasureRequest(
        id=request_id,
        event_id=event.id,
        participant_id=participant.id,
        status=ErasureStatus.REQUESTED,
        reason=clean_reason(reason),
        requested_at=uow.clock.now(),
        alert_id=alert.id,
    )
    uow.privacy.add_erasure_request(request)
    uow.audit.record(
        actor="participant",
        action="privacy.erasure_requested",
        subject_type="erasure_request",
        subject_id=request_id,
        event_id=None,  # kept apart from the event's entries about the person (erased with them)
        data={"erasure_request_id": request_id, "event_id": event.id, "alert_id": alert.id},
    )
    return request, True


def get_request(uow: UnitOfWork, *, request_id: str, for_update: bool = False) -> ErasureRequest:
    found = uow.privacy.get_erasure_request(request_id, for_update=for_update)
    if found is None:
        raise NotFound("erasure_request_not_found", erasure_request_id=request_id)
    return found


def list_requests(
    uow: UnitOfWork,
    *,
    event_id: str | None,
    status: str | None = None,
    after_id: str | None = None,
    limit: int = 100,
) -> list[ErasureRequest]:
    """The event's requests (every event's when ``event_id`` is None), oldest first."""
    if event_id is not None and uow.events.get(event_id) is None:
        raise NotFound("event_not_found", event_id=event_id)
    return uow.privacy.find_erasure_requests(event_id, status=status, after_id=after_id, limit=limit)


def _open(uow: UnitOfWork, request_id: str) -> ErasureRequest:
    request = get_request(uow, request_id=request_id, for_update=True)
    if not request.is_open:
        raise ErasureRequestDecided(erasure_request_id=request_id, status=request.status.value)
    return request


def approve_erasure(
    uow: UnitOfWork,
    *,
    request_id: str,
    actor: str,
    cancellation: SagaDefinition,
    policy: SagaPolicy,
    note: str | None = None,
) -> tuple[ErasureRequest, dict[str, int]]:
    """Cancel the person's registration if still active, erase their personal data, mark the request
    ``done`` and acknowledge its alert; the request and the rows changed per table. Refusals:
    ``erasure_request_not_found``, ``erasure_request_decided``, and the cancellation's own
    (``transfer_in_progress``, ``saga_in_progress``). The caller commits."""
    request = _open(uow, request_id)
    participant = uow.participants.get(request.participant_id, for_update=True)
    if participant is None:  # deleted with its event: nothing left to erase
        raise NotFound("participant_not_found", participant_id=request.participant_id)
    if participant.status not in (ParticipantStatus.CANCELLED, ParticipantStatus.TRANSFERRED):
        cancel_registration(
            uow,
            definition=cancellation,
            policy=policy,
            participant_id=participant.id,
            actor=actor,
            notify=False,
        )
    event = uow.events.get(request.event_id)
    if event is None:
        raise NotFound("event_not_found", event_id=request.event_id)
    first_day = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
    now = uow.clock.now()
    counts = uow.privacy.erase_participant(
        participant.id, birth_date_bands=birth_date_bands(first_day), now=now
    )
    decided = replace(
        request,
        status=ErasureStatus.DONE,
        decided_at=now,
        decided_by=actor,
        decision_note=clean_reason(note, NOTE_MAX),
    )
    uow.privacy.decide_erasure_request(decided)
    _record_decision(uow, decided, actor=actor, data={"counts": counts})
    return decided, counts


def reject_erasure(
    uow: UnitOfWork, *, request_id: str, actor: str, note: str | None = None
) -> ErasureRequest:
    """Record the refusal (with the organiser's note) and acknowledge the alert. The caller commits."""
    request = _open(uow, request_id)
    decided = replace(
        request,
        status=ErasureStatus.REJECTED,
        decided_at=uow.clock.now(),
        decided_by=actor,
        decision_note=clean_reason(note, NOTE_MAX),
    )
    uow.privacy.decide_erasure_request(decided)
    _record_decision(uow, decided, actor=actor, data={})
    return decided


def _record_decision(uow: UnitOfWork, request: ErasureRequest, *, actor: str, data: dict[str, Any]) -> None:
    now = uow.clock.now()
    uow.audit.record(
        actor=actor,
        action=f"privacy.erasure_{request.status.value}",
        subject_type="erasure_request",
        subject_id=request.id,
        event_id=None,  # as the request's own entry: no personal data, kept after the erasure
        data={"erasure_request_id": request.id, "event_id": request.event_id, **data},
    )
    if request.alert_id is not None and uow.alerts.acknowledge(request.alert_id, by=actor, now=now):
        uow.audit.record(
            actor=actor,
            action="alert.acknowledged",
            subject_type="alert",
            subject_id=request.alert_id,
            event_id=request.event_id,
            data={"erasure_request_id": request.id},
        )
