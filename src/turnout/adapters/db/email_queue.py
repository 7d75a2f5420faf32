"""``SqlEmailQueue`` (``ports.EmailQueue``) and ``SqlMailTemplateStore`` (``ports.MailTemplateStore``)
over the unit of work's connection, on SQLite and PostgreSQL.

Claiming locks the picked rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent senders
take disjoint jobs; on SQLite the writing unit of work holds the database's write lock
(``BEGIN IMMEDIATE``), which serialises claims. Recording a batch is three ``executemany``
statements (jobs, attempts, participants), whatever the batch size. A participant's
``email_status`` follows its latest job: claiming or recording an older one leaves it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_mail import email_attempts, email_jobs, mail_templates
from turnout.adapters.db.upsert import insert_for
from turnout.ports import (
    ClaimedEmail,
    EmailAttempt,
    EmailJob,
    EmailOutcome,
    EmailStatus,
    NewEmailJob,
    StoredTemplate,
    TemplateSources,
)

_JOB_FIELDS = tuple(name for name in EmailJob.__dataclass_fields__ if name != "participant_name")


def _job(row: Any, participant_name: str | None = None) -> EmailJob:
    values = row._mapping
    return EmailJob(**{name: values[name] for name in _JOB_FIELDS}, participant_name=participant_name)


def _attempt(row: Any) -> EmailAttempt:
    return EmailAttempt(
        id=int(row.id),
        job_id=row.job_id,
        attempt=int(row.attempt),
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        smtp_code=row.smtp_code,
        error=row.error,
        sender=row.sender,
    )


class SqlEmailQueue:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, job: NewEmailJob) -> bool:
        statement = insert_for(self.conn, email_jobs).values(
            id=job.id,
            event_id=job.event_id,
            participant_id=job.participant_id,
            kind=job.kind,
            ticket_version=job.ticket_version,
            dedup_key=job.dedup_key,
            status=EmailStatus.QUEUED,
            message_id=job.message_id,
            to_address=job.to_address,
            attempts=0,
            next_attempt_at=job.created_at,
            created_at=job.created_at,
            updated_at=job.created_at,
        )
        if job.dedup_key is not None:
            statement = statement.on_conflict_do_nothing(index_elements=["dedup_key"])
        if self.conn.execute(statement.returning(email_jobs.c.id)).first() is None:
            return False
        self.conn.execute(
            t.participants.update()
            .where(t.participants.c.id == job.participant_id)
            .values(email_status=EmailStatus.QUEUED, email_error=None)
        )
        return True

    def get(self, job_id: str) -> EmailJob | None:
        row = self.conn.execute(sa.select(email_jobs).where(email_jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

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
        query = (
            sa.select(email_jobs, t.participants.c.name.label("participant_name"))
            .join(t.participants, t.participants.c.id == email_jobs.c.participant_id)
            .where(email_jobs.c.event_id == event_id)
            .order_by(email_jobs.c.id.desc() if newest_first else email_jobs.c.id)
            .limit(limit)
        )
        if after_id:
            query = query.where(email_jobs.c.id < after_id if newest_first else email_jobs.c.id > after_id)
        if status:
            query = query.where(email_jobs.c.status == status)
        if participant_id:
            query = query.where(email_jobs.c.participant_id == participant_id)
        return [_job(row, row.participant_name) for row in self.conn.execute(query)]

    def attempts(self, job_id: str) -> list[EmailAttempt]:
        rows = self.conn.execute(
            sa.select(email_attempts).where(email_attempts.c.job_id == job_id).order_by(email_attempts.c.id)
        )
        return [_attempt(row) for row in rows]

    def count_by_status(self, event_id: str) -> dict[str, int]:
        rows = self.conn.execute(
            sa.select(email_jobs.c.status, sa.func.count())
            .where(email_jobs.c.event_id == event_id)
            .group_by(email_jobs.c.status)
        )
        counts = dict.fromkeys(EmailStatus.ALL, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    def claim_due(
        self, *, now: datetime, lease_until: datetime, sender: str, limit: int
    ) -> list[ClaimedEmail]:
        conn = self.conn
        due = sa.or_(
            sa.and_(
                email_jobs.c.status.in_((EmailStatus.QUEUED, EmailStatus.FAILED)),
                email_jobs.c.next_attempt_at <= now,
            ),
            sa.and_(email_jobs.c.status == EmailStatus.SENDING, email_jobs.c.lease_until < now),
        )
        query = (
            sa.select(email_jobs.c.id, email_jobs.c.status)
            .where(due)
            .order_by(email_jobs.c.next_attempt_at, email_jobs.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        picked = conn.execute(query).all()
        if not picked:
            return []
        ids = [row.id for row in picked]
        taken_over = {row.id for row in picked if row.status == EmailStatus.SENDING}
        conn.execute(
            email_jobs.update()
            .where(email_jobs.c.id.in_(ids))
            .values(
                status=EmailStatus.SENDING,
                attempts=email_jobs.c.attempts + 1,
                lease_until=lease_until,
                leased_by=sender,
                updated_at=now,
            )
        )
        p, e = t.participants, t.events
        rows = conn.execute(
            sa.select(
                email_jobs.c.id,
                email_jobs.c.attempts,
                email_jobs.c.kind,
                email_jobs.c.message_id,
                email_jobs.c.to_address,
                email_jobs.c.event_id,
                email_jobs.c.participant_id,
                email_jobs.c.ticket_version,
                p.c.name.label("p_name"),
                p.c.status.label("p_status"),
                p.c.locale.label("p_locale"),
                p.c.token.label("p_token"),
                p.c.ticket_version.label("p_version"),
                e.c.name.label("e_name"),
                e.c.locale.label("e_locale"),
                e.c.starts_at,
                e.c.ends_at,
                e.c.timezone,
                e.c.venue,
            )
            .join(p, p.c.id == email_jobs.c.participant_id)
            .join(e, e.c.id == email_jobs.c.event_id)
            .where(email_jobs.c.id.in_(ids))
            .order_by(email_jobs.c.next_attempt_at, email_jobs.c.id)
        ).all()
        if rows:
            bind = sa.bindparam
            conn.execute(
                p.update()
                .where(p.c.id == bind("b_pid"), ~_later_job(bind("b_pid"), bind("b_job")))
                .values(email_status=EmailStatus.SENDING),
                [{"b_pid": row.participant_id, "b_job": row.id} for row in rows],
            )
        return [
            ClaimedEmail(
                job_id=row.id,
                attempt=int(row.attempts),
                taken_over=row.id in taken_over,
                kind=row.kind,
                message_id=row.message_id,
                to_address=row.to_address,
                event_id=row.event_id,
                participant_id=row.participant_id,
                ticket_version=int(row.ticket_version),
                participant_name=row.p_name,
                participant_status=row.p_status,
                participant_locale=row.p_locale,
                participant_token=row.p_token,
                participant_ticket_version=int(row.p_version),
                event_name=row.e_name,
                event_locale=row.e_locale,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                timezone=row.timezone,
                venue=row.venue,
            )
            for row in rows
        ]

    def requeue(self, job_id: str, *, now: datetime) -> bool:
        requeued = self.conn.execute(
            email_jobs.update()
            .where(
                email_jobs.c.id == job_id,
                email_jobs.c.status.in_((EmailStatus.FAILED, EmailStatus.DEAD)),
            )
            .values(
                status=EmailStatus.QUEUED,
                next_attempt_at=now,
                lease_until=None,
                leased_by=None,
                updated_at=now,
            )
            .returning(email_jobs.c.participant_id)
        ).first()
        if requeued is None:
            return False
        participant_id = requeued.participant_id
        self.conn.execute(
            t.participants.update()
            .where(t.participants.c.id == participant_id, ~_later_job(participant_id, job_id))
            .values(email_status=EmailStatus.QUEUED, email_error=None)
        )
        return True

    def add_attempts(self, attempts: Sequence[EmailAttempt]) -> None:
        if attempts:
            self.conn.execute(email_attempts.insert(), [_attempt_row(a) for a in attempts])

    def record(self, outcomes: Sequence[EmailOutcome], *, sender: str) -> None:
        if not outcomes:
            return
        bind = sa.bindparam
        jobs, attempts, people = [], [], []
        for outcome in outcomes:
            jobs.append(
                {
                    "b_id": outcome.job_id,
                    "b_status": outcome.status,
                    "b_error": outcome.error,
                    "b_subject": outcome.subject,
                    "b_sent_at": outcome.sent_at,
                    "b_next": outcome.next_attempt_at,
                    "b_now": outcome.finished_at,
                }
            )
            attempts.append(
                _attempt_row(
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
                )
            )
            people.append(
                {
                    "b_pid": outcome.participant_id,
                    "b_job": outcome.job_id,
                    "b_status": outcome.status,
                    "b_error": outcome.error,
                }
            )
        # the participant first, while the job still names its sender: a report that comes after
        # another sender took the job over changes neither the job nor the participant (nor does
        # the outcome of a job the participant has a newer one than)
        self.conn.execute(
            t.participants.update()
            .where(
                t.participants.c.id == bind("b_pid"),
                sa.exists().where(email_jobs.c.id == bind("b_job"), email_jobs.c.leased_by == sender),
                ~_later_job(bind("b_pid"), bind("b_job")),
            )
            .values(email_status=bind("b_status"), email_error=bind("b_error")),
            people,
        )
        self.conn.execute(
            email_jobs.update()
            .where(email_jobs.c.id == bind("b_id"), email_jobs.c.leased_by == sender)
            .values(
                status=bind("b_status"),
                last_error=bind("b_error"),
                subject=sa.func.coalesce(bind("b_subject", type_=sa.String), email_jobs.c.subject),
                sent_at=bind("b_sent_at"),
                next_attempt_at=bind("b_next"),
                lease_until=None,
                leased_by=None,
                updated_at=bind("b_now"),
            ),
            jobs,
        )
        self.conn.execute(email_attempts.insert(), attempts)


def _later_job(participant_id: Any, job_id: Any) -> sa.Exists:
    """The participant has a job newer than ``job_id`` (ids sort by creation): its
    ``email_status`` follows that one."""
    later = email_jobs.alias("later")
    return sa.exists().where(later.c.participant_id == participant_id, later.c.id > job_id)


def _attempt_row(attempt: EmailAttempt) -> dict[str, Any]:
    return {
        "job_id": attempt.job_id,
        "attempt": attempt.attempt,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "outcome": attempt.outcome,
        "smtp_code": attempt.smtp_code,
        "error": attempt.error,
        "sender": attempt.sender,
    }


class SqlMailTemplateStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def for_events(self, event_ids: Sequence[str]) -> list[StoredTemplate]:
        if not event_ids:
            return []
        rows = self.conn.execute(
            sa.select(mail_templates)
            .where(mail_templates.c.event_id.in_(set(event_ids)))
            .order_by(mail_templates.c.event_id, mail_templates.c.kind, mail_templates.c.locale)
        )
        return [
            StoredTemplate(
                event_id=row.event_id,
                kind=row.kind,
                locale=row.locale,
                sources=TemplateSources(subject=row.subject, html=row.html, text=row.text),
                updated_at=row.updated_at,
                updated_by=row.updated_by,
            )
            for row in rows
        ]

    def save(self, template: StoredTemplate) -> None:
        values = {
            "subject": template.sources.subject,
            "html": template.sources.html,
            "text": template.sources.text,
            "updated_at": template.updated_at,
            "updated_by": template.updated_by,
        }
        self.conn.execute(
            insert_for(self.conn, mail_templates)
            .values(event_id=template.event_id, kind=template.kind, locale=template.locale, **values)
            .on_conflict_do_update(index_elements=["event_id", "kind", "locale"], set_=values)
        )

    def delete(self, *, event_id: str, kind: str, locale: str) -> bool:
        result = self.conn.execute(
            mail_templates.delete().where(
                mail_templates.c.event_id == event_id,
                mail_templates.c.kind == kind,
                mail_templates.c.locale == locale,
            )
        )
        return bool(result.rowcount)
