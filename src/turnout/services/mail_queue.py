"""The email queue: putting ticket emails on it, and looking at it.

``queue_ticket_email`` (the ``participant.registered`` / ``ticket.reissued`` handler) only adds an
email job, in the relay's transaction: at most one per (participant, kind, ticket version), so a
message delivered twice queues one email. ``resend_ticket`` always adds a new job (a new message with
its own Message-ID). The sender (``services.mail_sending``) takes it from there.
"""

from __future__ import annotations

from email.utils import parseaddr

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.participants import Participant, ParticipantStatus
from turnout.messages.base import Envelope
from turnout.ports import EmailAttempt, EmailJob, NewEmailJob, UnitOfWork
from turnout.services.mail_templates import KIND_TICKET


def mail_domain(mail_from: str) -> str:
    """The domain of the sender's address (Message-IDs and Content-IDs are made under it)."""
    _local, at, domain = parseaddr(mail_from)[1].rpartition("@")
    return domain if at and domain else "turnout.localhost"


def _add_job(
    uow: UnitOfWork, *, participant: Participant, kind: str, dedup_key: str | None, mail_from: str
) -> str | None:
    """Queue a job for the participant's current ticket; its id, or None when ``dedup_key`` exists."""
    job_id = new_id()
    added = uow.mail.add(
        NewEmailJob(
            id=job_id,
            event_id=participant.event_id,
            participant_id=participant.id,
            kind=kind,
            ticket_version=participant.ticket_version,
            dedup_key=dedup_key,
            message_id=f"<{job_id}.{kind}@{mail_domain(mail_from)}>",
            to_address=participant.email,
            created_at=uow.clock.now(),
        )
    )
    return job_id if added else None


def queue_ticket_email(envelope: Envelope, uow: UnitOfWork, *, mail_from: str) -> None:
    """Handler for ``participant.registered`` and ``ticket.reissued``: one ticket email per version."""
    participant_id = envelope.data.get("participant_id")
    if not participant_id:
        return
    participant = uow.participants.get(str(participant_id))
    if participant is None or participant.status == ParticipantStatus.CANCELLED or not participant.email:
        return
    dedup_key = f"{participant.id}:{KIND_TICKET}:{participant.ticket_version}"
    _add_job(uow, participant=participant, kind=KIND_TICKET, dedup_key=dedup_key, mail_from=mail_from)


def queue_notice(uow: UnitOfWork, *, participant: Participant, kind: str, mail_from: str) -> str | None:
    """Queue a notice (``mail_templates.NOTICE_KINDS``: the ticket was passed on, or cancelled) to
    the participant, at most one per (participant, kind, ticket version); its job id, or None when
    it was queued already (a retried saga step) or the participant has no address."""
    if not participant.email:
        return None
    dedup_key = f"{participant.id}:{kind}:{participant.ticket_version}"
    return _add_job(uow, participant=participant, kind=kind, dedup_key=dedup_key, mail_from=mail_from)


def queue_ticket_again(
    uow: UnitOfWork, *, participant: Participant, dedup_key: str, mail_from: str
) -> str | None:
    """Queue the participant's current ticket once more (someone registered again with their email
    or phone): at most one job per ``dedup_key``; its job id, or None when queued already, the
    participant is cancelled or has no address."""
    if participant.status == ParticipantStatus.CANCELLED or not participant.email:
        return None
    return _add_job(uow, participant=participant, kind=KIND_TICKET, dedup_key=dedup_key, mail_from=mail_from)


def resend_ticket(uow: UnitOfWork, *, participant_id: str, actor: str, mail_from: str) -> EmailJob:
    """A new job for the participant's current ticket (always a new message, a new Message-ID)."""
    participant = uow.participants.get(participant_id)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    if participant.status == ParticipantStatus.CANCELLED:
        raise Conflict("participant_cancelled")
    job_id = _add_job(uow, participant=participant, kind=KIND_TICKET, dedup_key=None, mail_from=mail_from)
    assert job_id is not None  # no dedup key: always added
    uow.audit.record(
        actor=actor,
        action="ticket.resent",
        subject_type="participant",
        subject_id=participant_id,
        event_id=participant.event_id,
        data={"job_id": job_id},
    )
    return get_job(uow, job_id=job_id)


def get_job(uow: UnitOfWork, *, job_id: str) -> EmailJob:
    job = uow.mail.get(job_id)
    if job is None:
        raise NotFound("not_found", job_id=job_id)
    return job


def list_jobs(
    uow: UnitOfWork,
    *,
    event_id: str,
    after_id: str | None = None,
    limit: int = 100,
    status: str | None = None,
    participant_id: str | None = None,
    newest_first: bool = False,
) -> list[EmailJob]:
    """The event's jobs in creation order (``newest_first``: the other way), with participant names."""
    return uow.mail.list_for_event(
        event_id,
        after_id=after_id,
        limit=limit,
        status=status,
        participant_id=participant_id,
        newest_first=newest_first,
    )


def retry_email(uow: UnitOfWork, *, job_id: str, actor: str, event_id: str | None = None) -> EmailJob:
    """An operator's retry of a ``failed`` or ``dead`` email: queued again, due now (the same
    message, its Message-ID and attempt log kept). Refusals: ``email_not_found`` (none, or not of
    ``event_id`` when given), ``email_not_retriable`` (queued, being sent, or sent)."""
    job = uow.mail.get(job_id)
    if job is None or (event_id is not None and job.event_id != event_id):
        raise NotFound("email_not_found", job_id=job_id)
    if not uow.mail.requeue(job_id, now=uow.clock.now()):
        raise Conflict("email_not_retriable", job_id=job_id, email_status=job.status)
    uow.audit.record(
        actor=actor,
        action="email.retried",
        subject_type="participant",
        subject_id=job.participant_id,
        event_id=job.event_id,
        data={"job_id": job_id, "previous_status": job.status},
    )
    return get_job(uow, job_id=job_id)


def attempts_of(uow: UnitOfWork, *, job_id: str) -> list[EmailAttempt]:
    return uow.mail.attempts(job_id)


def count_by_status(uow: UnitOfWork, *, event_id: str) -> dict[str, int]:
    return uow.mail.count_by_status(event_id)
