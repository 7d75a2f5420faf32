"""Fakes of the mail ports: ``FakeEmailQueue`` and ``FakeMailTemplateStore`` (over a ``FakeDatabase``;
``tests/integration/test_mail_store_contract.py`` holds them to what the SQL stores do) and
``FakeMailer``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from turnout.domain.events import Event
from turnout.domain.participants import Participant
from turnout.ports import (
    ClaimedEmail,
    DeliveryError,
    EmailAttempt,
    EmailJob,
    EmailOutcome,
    EmailStatus,
    NewEmailJob,
    OutgoingMail,
    StoredTemplate,
)

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeEmailQueue:
    """``ports.EmailQueue``: jobs by id, attempts in a list; participants' ``email_status`` is
    written into the participants the ``FakeParticipantStore`` keeps."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _jobs(self) -> dict[str, EmailJob]:
        jobs: dict[str, EmailJob] = self._db.table("email_jobs")
        return jobs

    @property
    def _attempts(self) -> list[EmailAttempt]:
        attempts: list[EmailAttempt] = self._db.tables.setdefault("email_attempts", [])
        return attempts

    @property
    def _participants(self) -> dict[str, Participant]:
        participants: dict[str, Participant] = self._db.table("participants")
        return participants

    @property
    def _events(self) -> dict[str, Event]:
        events: dict[str, Event] = self._db.table("events")
        return events

    def _latest(self, job: EmailJob) -> bool:
        """The participant has no newer job (its ``email_status`` follows its latest job)."""
        return not any(j.participant_id == job.participant_id and j.id > job.id for j in self._jobs.values())

    def _set_email_status(self, participant_id: str, status: str, error: str | None) -> None:
        participant = self._participants.get(participant_id)
        if participant is not None:
            self._participants[participant_id] = replace(participant, email_status=status, email_error=error)

    def add(self, job: NewEmailJob) -> bool:
        if job.dedup_key is not None and any(j.dedup_key == job.dedup_key for j in self._jobs.values()):
            return False
        if job.id in self._jobs or any(j.message_id == job.message_id for j in self._jobs.values()):
            raise KeyError(f"email job {job.id} exists")
        self._jobs[job.id] = EmailJob(
            id=job.id,
            event_id=job.event_id,
            participant_id=job.participant_id,
            kind=job.kind,
            ticket_version=job.ticket_version,
            dedup_key=job.dedup_key,
            status=EmailStatus.QUEUED,
            message_id=job.message_id,
            to_address=job.to_address,
            subject=None,
            attempts=0,
            next_attempt_at=job.created_at,
            lease_until=None,
            leased_by=None,
            last_error=None,
            created_at=job.created_at,
            updated_at=job.created_at,
            sent_at=None,
        )
        participant = self._participants.get(job.participant_id)
        if participant is not None:
            self._participants[job.participant_id] = replace(
                participant, email_status=EmailStatus.QUEUED, email_error=None
            )
        return True

    def get(self, job_id: str) -> EmailJob | None:
        return self._jobs.get(job_id)

    def list_for_event(
        self,
        event_id: str,
        *,
        after_id: str | None = None,
        limit: int = 100,
        status: str | None = None,
        participant_id: str | None = None,
        newest_first: bool = False,
    ) -> list[EmailJob]:
        jobs = sorted(
            (j for j in self._jobs.values() if j.event_id == event_id),
            key=lambda j: j.id,
            reverse=newest_first,
        )
        if after_id:
            jobs = [j for j in jobs if (j.id < after_id if newest_first else j.id > after_id)]
        if status:
            jobs = [j for j in jobs if j.status == status]
        if participant_id:
            jobs = [j for j in jobs if j.participant_id == participant_id]
        return [
            replace(j, participant_name=self._participants[j.participant_id].name)
            for j in jobs[:limit]
            if j.participant_id in self._participants
        ]

    def attempts(self, job_id: str) -> list[EmailAttempt]:
        return [a for a in self._attempts if a.job_id == job_id]

    def count_by_status(self, event_id: str) -> dict[str, int]:
        counts = dict.fromkeys(EmailStatus.ALL, 0)
        for job in self._jobs.values():
            if job.event_id == event_id:
                counts[job.status] += 1
        return counts

    def claim_due(
        self, *, now: datetime, lease_until: datetime, sender: str, limit: int
    ) -> list[ClaimedEmail]:
        def due(job: EmailJob) -> bool:
            if job.status in (EmailStatus.QUEUED, EmailStatus.FAILED):
                return job.next_attempt_at <= now
            return job.status == EmailStatus.SENDING and job.lease_until is not None and job.lease_until < now

        picked = sorted((j for j in self._jobs.values() if due(j)), key=lambda j: (j.next_attempt_at, j.id))
        claimed = []
        for job in picked[:limit]:
            taken = replace(
                job,
                status=EmailStatus.SENDING,
                attempts=job.attempts + 1,
                lease_until=lease_until,
                leased_by=sender,
                updated_at=now,
            )
            self._jobs[job.id] = taken
            participant = self._participants.get(job.participant_id)
            event = self._events.get(job.event_id)
            if participant is None or event is None:
                continue
            if self._latest(job):
                self._participants[participant.id] = replace(participant, email_status=EmailStatus.SENDING)
            claimed.append(
                ClaimedEmail(
                    job_id=job.id,
                    attempt=taken.attempts,
                    taken_over=job.status == EmailStatus.SENDING,
                    kind=job.kind,
                    message_id=job.message_id,
                    to_address=job.to_address,
                    event_id=job.event_id,
                    participant_id=job.participant_id,
                    ticket_version=job.ticket_version,
                    participant_name=participant.name,
                    participant_status=participant.status.value,
                    participant_locale=participant.locale,
                    participant_token=participant.token,
                    participant_ticket_version=participant.ticket_version,
                    event_name=event.name,
                    event_locale=event.locale,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    timezone=event.timezone,
                    venue=event.venue,
                )
            )
        return claimed

    def requeue(self, job_id: str, *, now: datetime) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.status not in (EmailStatus.FAILED, EmailStatus.DEAD):
            return False
        self._jobs[job_id] = replace(
            job,
            status=EmailStatus.QUEUED,
            next_attempt_at=now,
            lease_until=None,
            leased_by=None,
            updated_at=now,
        )
        if self._latest(job):
            self._set_email_status(job.participant_id, EmailStatus.QUEUED, None)
        return True

    def add_attempts(self, attempts: Sequence[EmailAttempt]) -> None:
        for attempt in attempts:
            self._attempts.append(replace(attempt, id=len(self._attempts) + 1))

    def record(self, outcomes: Sequence[EmailOutcome], *, sender: str) -> None:
        for outcome in outcomes:
            job = self._jobs.get(outcome.job_id)
            holds_lease = job is not None and job.leased_by == sender
            latest = job is not None and self._latest(job)
            if job is not None and holds_lease:
                self._jobs[job.id] = replace(
                    job,
                    status=outcome.status,
                    last_error=outcome.error,
                    subject=outcome.subject if outcome.subject is not None else job.subject,
                    sent_at=outcome.sent_at,
                    next_attempt_at=outcome.next_attempt_at,
                    lease_until=None,
                    leased_by=None,
                    updated_at=outcome.finished_at,
                )
            self.add_attempts(
                [
                    EmailAttempt(
                        job_id=outcome.job_id,
                        attempt=outcome.attempt,
                        started_at=outcome.started_at,
                        finished_at=outcome.finished_at,
                        outcome=outcome.status,
                        smtp_code=outcome.smtp_code,
                        error=outcome.error,
                        sender=sender,
                    )
                ]
            )
            if holds_lease and latest:
                self._set_email_status(outcome.participant_id, outcome.status, outcome.error)


class FakeMailTemplateStore:
    """``ports.MailTemplateStore`` keyed by (event, kind, language)."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[tuple[str, str, str], StoredTemplate]:
        rows: dict[tuple[str, str, str], StoredTemplate] = self._db.table("mail_templates")
        return rows

    def for_events(self, event_ids: Sequence[str]) -> list[StoredTemplate]:
        wanted = set(event_ids)
        return [self._rows[key] for key in sorted(self._rows) if key[0] in wanted]

    def save(self, template: StoredTemplate) -> None:
        self._rows[(template.event_id, template.kind, template.locale)] = template

    def delete(self, *, event_id: str, kind: str, locale: str) -> bool:
        return self._rows.pop((event_id, kind, locale), None) is not None


class FakeMailer:
    """``ports.Mailer`` that keeps what it was given. ``delay`` seconds per message; ``failures``
    maps a recipient to what its next sends raise (one per send, in order); ``in_flight`` and
    ``max_in_flight`` count overlapping sends."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[OutgoingMail] = []
        self.failures: dict[str, list[Exception]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    def fail(self, address: str, *errors: Exception) -> None:
        self.failures.setdefault(address, []).extend(errors)

    def refuse(self, address: str, times: int = 1, *, code: int = 451, permanent: bool = False) -> None:
        """The next ``times`` sends to ``address`` fail with an SMTP reply ``code``."""
        error = DeliveryError(f"{code} refused", permanent=permanent, code=code)
        self.fail(address, *([error] * times))

    def to(self, address: str) -> list[OutgoingMail]:
        return [mail for mail in self.sent if address in mail.recipients]

    async def send(self, mail: OutgoingMail) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            for address in mail.recipients:
                pending = self.failures.get(address)
                if pending:
                    raise pending.pop(0)
            self.sent.append(mail)
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        self.closed = True
