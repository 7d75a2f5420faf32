"""What the console's participant pages read: a filtered page of the list with its count, and one
participant with their ticket, scans, emails (every attempt), consent and the gates a manual
check-in may pick. The actions (cancel, resend, reissue, check in) are the API's own services."""

from __future__ import annotations

from dataclasses import dataclass, field

from turnout.domain.consent import ConsentRecord
from turnout.domain.events import Event, Gate
from turnout.domain.participants import Participant, ParticipantFilter
from turnout.ports import EmailAttempt, EmailJob, PersonScan, UnitOfWork
from turnout.services import mail_queue
from turnout.services.consent import consent_of
from turnout.services.events import get_event
from turnout.services.participants import get_participant

#: a list's count stops here ("more than 1,000"); a search matching that many reads the event in order
COUNT_UP_TO = 1_000


@dataclass(frozen=True, slots=True)
class ParticipantListPage:
    items: list[Participant]
    count: int  # matching participants, at most COUNT_UP_TO
    next_after: str | None  # the cursor of the next page (None: this is the last)

    @property
    def count_capped(self) -> bool:
        return self.count >= COUNT_UP_TO


def list_page(
    uow: UnitOfWork,
    *,
    event_id: str,
    where: ParticipantFilter,
    after_id: str | None = None,
    limit: int = 50,
) -> ParticipantListPage:
    """One page of the event's participants in registration order (keyset: ``after_id``)."""
    get_event(uow, event_id=event_id)
    count = uow.participants.count(event_id=event_id, where=where, up_to=COUNT_UP_TO)
    found = uow.participants.search(
        event_id=event_id, where=where, after_id=after_id, limit=limit + 1, many=count >= COUNT_UP_TO
    )
    items = found[:limit]
    return ParticipantListPage(items, count, items[-1].id if len(found) > limit else None)


@dataclass(frozen=True, slots=True)
class MailRecord:
    job: EmailJob
    attempts: list[EmailAttempt]


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    participant: Participant
    event: Event
    consent: ConsentRecord | None
    scans: list[PersonScan]
    mails: list[MailRecord]
    gates: list[Gate] = field(default_factory=list)


#: emails shown on a participant's page (newest first)
MAILS_SHOWN = 50


def participant_record(uow: UnitOfWork, *, participant_id: str) -> ParticipantRecord:
    """Everything the participant's page shows (``participant_not_found``)."""
    participant = get_participant(uow, participant_id=participant_id)
    event = get_event(uow, event_id=participant.event_id)
    jobs = mail_queue.list_jobs(
        uow, event_id=event.id, participant_id=participant_id, limit=MAILS_SHOWN, newest_first=True
    )
    return ParticipantRecord(
        participant=participant,
        event=event,
        consent=consent_of(uow, participant_id),
        scans=uow.privacy.scans_of(participant_id),
        mails=[MailRecord(job, mail_queue.attempts_of(uow, job_id=job.id)) for job in jobs],
        gates=uow.gates.list_for_event(event.id),
    )
