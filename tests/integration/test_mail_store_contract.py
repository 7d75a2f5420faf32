"""The mail stores' contract: ``EmailQueue`` and ``MailTemplateStore``, the same checks on the fakes
(``tests/fakes_mail.py``), on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tests.fakes import FakeClock
from tests.mail_support import add_event, add_participant
from turnout.domain.ids import new_id, sequential_ids
from turnout.domain.participants import Participant, ParticipantStatus
from turnout.ports import (
    EmailAttempt,
    EmailOutcome,
    EmailStatus,
    NewEmailJob,
    StoredTemplate,
    TemplateSources,
    UnitOfWorkFactory,
)

LEASE = timedelta(minutes=5)


@dataclass
class World:
    event_id: str
    people: list[Participant]


def world(uows: UnitOfWorkFactory, count: int = 3, **event: str) -> World:
    with uows() as uow:
        created = add_event(uow, **event)
        people = [
            add_participant(
                uow,
                event_id=created.id,
                name=f"참가자 {i}",
                email=f"p{i}@example.com",
                token=f"TOKEN{i}-{created.id}",
            )
            for i in range(count)
        ]
        uow.commit()
    return World(created.id, people)


def new_job(
    person: Participant, clock: FakeClock, *, dedup: bool = True, job_id: str | None = None
) -> NewEmailJob:
    job_id = job_id or new_id()
    return NewEmailJob(
        id=job_id,
        event_id=person.event_id,
        participant_id=person.id,
        kind="ticket",
        ticket_version=person.ticket_version,
        dedup_key=f"{person.id}:ticket:{person.ticket_version}" if dedup else None,
        message_id=f"<{job_id}.ticket@example.kr>",
        to_address=person.email,
        created_at=clock.now(),
    )


def queue(uows: UnitOfWorkFactory, jobs: list[NewEmailJob]) -> list[bool]:
    with uows() as uow:
        added = [uow.mail.add(job) for job in jobs]
        uow.commit()
    return added


def claim(uows: UnitOfWorkFactory, clock: FakeClock, *, sender: str = "s1", limit: int = 100) -> list[str]:
    with uows() as uow:
        now = clock.now()
        claimed = uow.mail.claim_due(now=now, lease_until=now + LEASE, sender=sender, limit=limit)
        uow.commit()
    return [c.job_id for c in claimed]


def outcome(job_id: str, person: Participant, clock: FakeClock, status: str, **extra: object) -> EmailOutcome:
    now = clock.now()
    values: dict[str, object] = {
        "job_id": job_id,
        "participant_id": person.id,
        "attempt": 1,
        "status": status,
        "started_at": now,
        "finished_at": now,
        "next_attempt_at": now,
        **extra,
    }
    return EmailOutcome(**values)  # type: ignore[arg-type]


def email_status(uows: UnitOfWorkFactory, person: Participant) -> tuple[str, str | None]:
    with uows(readonly=True) as uow:
        found = uow.participants.get(person.id)
    assert found is not None
    return found.email_status, found.email_error


def test_an_added_job_is_queued_and_due_now_when_added(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    w = world(any_uows, 1)
    job = new_job(w.people[0], clock)
    assert queue(any_uows, [job]) == [True]
    with any_uows(readonly=True) as uow:
        stored = uow.mail.get(job.id)
        missing = uow.mail.get(new_id())
    assert missing is None
    assert stored is not None
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (EmailStatus.QUEUED, 0, clock.now())
    assert (stored.message_id, stored.to_address, stored.ticket_version) == (
        job.message_id,
        "p0@example.com",
        1,
    )
    assert (stored.subject, stored.last_error, stored.sent_at, stored.lease_until) == (None, None, None, None)
    assert email_status(any_uows, w.people[0]) == (EmailStatus.QUEUED, None)


def test_a_second_job_with_the_same_dedup_key_is_not_added_when_queued_again(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    assert queue(any_uows, [new_job(person, clock)]) == [True]
    assert queue(any_uows, [new_job(person, clock)]) == [False]
    assert queue(any_uows, [new_job(person, clock, dedup=False), new_job(person, clock, dedup=False)]) == [
        True,
        True,
    ]
    with any_uows(readonly=True) as uow:
        assert uow.mail.count_by_status(w.event_id)[EmailStatus.QUEUED] == 3


def test_listing_pages_and_filters_in_creation_order_with_names_when_asked(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 3)
    jobs = [new_job(person, clock) for person in w.people]
    queue(any_uows, jobs)
    other = world(any_uows, 1, name="other event")
    queue(any_uows, [new_job(other.people[0], clock)])
    ids = [job.id for job in jobs]
    with any_uows(readonly=True) as uow:
        listed = uow.mail.list_for_event(w.event_id)
        newest = uow.mail.list_for_event(w.event_id, newest_first=True, limit=2)
        after = uow.mail.list_for_event(w.event_id, after_id=ids[0])
        before = uow.mail.list_for_event(w.event_id, after_id=ids[2], newest_first=True)
        one = uow.mail.list_for_event(w.event_id, participant_id=w.people[1].id)
        sent = uow.mail.list_for_event(w.event_id, status=EmailStatus.SENT)
    assert [j.id for j in listed] == ids
    assert [j.participant_name for j in listed] == ["참가자 0", "참가자 1", "참가자 2"]
    assert [j.id for j in newest] == [ids[2], ids[1]]
    assert [j.id for j in after] == ids[1:]
    assert [j.id for j in before] == [ids[1], ids[0]]
    assert [j.id for j in one] == [ids[1]]
    assert sent == []


def test_claim_takes_due_jobs_oldest_first_under_a_lease_when_claimed(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 3, locale="en", venue="COEX")
    first = new_job(w.people[0], clock)
    clock.advance(seconds=1)
    second = new_job(w.people[1], clock)
    queue(any_uows, [second, first])
    clock.advance(seconds=1)
    with any_uows() as uow:
        now = clock.now()
        claimed = uow.mail.claim_due(now=now, lease_until=now + LEASE, sender="s1", limit=100)
        uow.commit()
    assert [c.job_id for c in claimed] == [first.id, second.id]
    head = claimed[0]
    assert (head.attempt, head.taken_over, head.kind, head.message_id) == (
        1,
        False,
        "ticket",
        first.message_id,
    )
    assert (head.participant_name, head.participant_token, head.participant_ticket_version) == (
        "참가자 0",
        w.people[0].token,
        1,
    )
    assert (head.participant_status, head.participant_locale, head.ticket_version) == ("registered", None, 1)
    assert (head.event_id, head.event_name, head.event_locale, head.venue) == (
        w.event_id,
        "서울 개발자 컨퍼런스",
        "en",
        "COEX",
    )
    assert (head.timezone, head.starts_at.hour, head.ends_at.hour) == ("Asia/Seoul", 0, 9)
    with any_uows(readonly=True) as uow:
        stored = uow.mail.get(first.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.leased_by) == (EmailStatus.SENDING, 1, "s1")
    assert stored.lease_until == clock.now() + LEASE
    assert email_status(any_uows, w.people[0]) == (EmailStatus.SENDING, None)
    assert claim(any_uows, clock, sender="s2") == []  # leased


def test_claim_takes_at_most_the_limit_and_another_claim_the_rest_when_many_are_due(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 3)
    queue(any_uows, [new_job(person, clock) for person in w.people])
    first = claim(any_uows, clock, sender="s1", limit=2)
    second = claim(any_uows, clock, sender="s2", limit=2)
    assert len(first) == 2
    assert len(second) == 1
    assert not set(first) & set(second)


def test_a_failed_job_is_due_at_its_next_attempt_time_and_not_before(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    job = new_job(person, clock)
    queue(any_uows, [job])
    claim(any_uows, clock)
    retry_at = clock.now() + timedelta(seconds=30)
    failed = outcome(
        job.id, person, clock, EmailStatus.FAILED, next_attempt_at=retry_at, error="451", smtp_code=451
    )
    with any_uows() as uow:
        uow.mail.record([failed], sender="s1")
        uow.commit()
    clock.advance(seconds=29)
    assert claim(any_uows, clock) == []
    clock.advance(seconds=1)
    assert claim(any_uows, clock) == [job.id]
    with any_uows(readonly=True) as uow:
        stored = uow.mail.get(job.id)
    assert stored is not None
    assert (stored.status, stored.attempts) == (EmailStatus.SENDING, 2)


def test_a_job_whose_lease_expired_is_taken_over_when_claimed_again(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    job = new_job(w.people[0], clock)
    queue(any_uows, [job])
    claim(any_uows, clock, sender="crashed")
    clock.advance(seconds=LEASE.total_seconds())
    assert claim(any_uows, clock, sender="s2") == []  # the lease ends at that moment, not before
    clock.advance(seconds=1)
    with any_uows() as uow:
        now = clock.now()
        (claimed,) = uow.mail.claim_due(now=now, lease_until=now + LEASE, sender="s2", limit=10)
        uow.commit()
    assert (claimed.job_id, claimed.attempt, claimed.taken_over) == (job.id, 2, True)
    with any_uows(readonly=True) as uow:
        stored = uow.mail.get(job.id)
    assert stored is not None
    assert stored.leased_by == "s2"


def test_record_sets_the_job_its_attempt_and_the_participant_when_a_sender_reports(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 2)
    sent_job, dead_job = (new_job(person, clock) for person in w.people)
    queue(any_uows, [sent_job, dead_job])
    claim(any_uows, clock)
    started = clock.now()
    clock.advance(seconds=2)
    now = clock.now()
    with any_uows() as uow:
        uow.mail.record(
            [
                outcome(
                    sent_job.id,
                    w.people[0],
                    clock,
                    EmailStatus.SENT,
                    started_at=started,
                    sent_at=now,
                    subject="Hi",
                ),
                outcome(
                    dead_job.id, w.people[1], clock, EmailStatus.DEAD, error="550 no such user", smtp_code=550
                ),
            ],
            sender="s1",
        )
        uow.commit()
    with any_uows(readonly=True) as uow:
        sent, dead = uow.mail.get(sent_job.id), uow.mail.get(dead_job.id)
        (attempt,) = uow.mail.attempts(sent_job.id)
        (dead_attempt,) = uow.mail.attempts(dead_job.id)
        counts = uow.mail.count_by_status(w.event_id)
    assert sent is not None
    assert dead is not None
    assert (sent.status, sent.subject, sent.sent_at, sent.updated_at) == (EmailStatus.SENT, "Hi", now, now)
    assert (sent.lease_until, sent.leased_by, sent.last_error) == (None, None, None)
    assert (dead.status, dead.last_error, dead.sent_at, dead.subject) == (
        EmailStatus.DEAD,
        "550 no such user",
        None,
        None,
    )
    assert (attempt.attempt, attempt.outcome, attempt.started_at, attempt.finished_at) == (
        1,
        "sent",
        started,
        now,
    )
    assert (attempt.sender, attempt.smtp_code, attempt.error) == ("s1", None, None)
    assert (dead_attempt.outcome, dead_attempt.smtp_code, dead_attempt.error) == (
        "dead",
        550,
        "550 no such user",
    )
    assert email_status(any_uows, w.people[0]) == (EmailStatus.SENT, None)
    assert email_status(any_uows, w.people[1]) == (EmailStatus.DEAD, "550 no such user")
    assert counts == {"queued": 0, "sending": 0, "sent": 1, "failed": 0, "dead": 1}


def test_an_older_jobs_claim_and_outcome_leave_the_participants_email_status_to_its_latest_job(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    older_id, newer_id = sequential_ids(2)
    older, newer = (
        new_job(person, clock, job_id=older_id),
        new_job(person, clock, dedup=False, job_id=newer_id),
    )
    queue(any_uows, [older, newer])
    assert claim(any_uows, clock, limit=1) == [older.id]
    assert email_status(any_uows, person) == (EmailStatus.QUEUED, None)  # the newer job waits
    with any_uows() as uow:
        uow.mail.record(
            [outcome(older.id, person, clock, EmailStatus.DEAD, error="ticket_superseded")], sender="s1"
        )
        uow.commit()
    assert email_status(any_uows, person) == (EmailStatus.QUEUED, None)
    assert claim(any_uows, clock) == [newer.id]
    assert email_status(any_uows, person) == (EmailStatus.SENDING, None)
    with any_uows() as uow:
        uow.mail.record([outcome(newer.id, person, clock, EmailStatus.SENT)], sender="s1")
        uow.commit()
    assert email_status(any_uows, person) == (EmailStatus.SENT, None)
    with any_uows(readonly=True) as uow:
        assert uow.mail.get(older.id).status == EmailStatus.DEAD  # type: ignore[union-attr]


def test_record_keeps_the_subject_and_leaves_a_taken_over_job_alone_when_told_late(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    job = new_job(person, clock)
    queue(any_uows, [job])
    claim(any_uows, clock, sender="s1")
    with any_uows() as uow:
        uow.mail.record(
            [outcome(job.id, person, clock, EmailStatus.FAILED, subject="First", error="451")], sender="s1"
        )
        uow.commit()
    claim(any_uows, clock, sender="s2")
    with any_uows() as uow:  # a subject-less outcome keeps the subject
        uow.mail.record([outcome(job.id, person, clock, EmailStatus.FAILED, error="again")], sender="s2")
        uow.commit()
    claim(any_uows, clock, sender="s3")
    with any_uows() as uow:  # s2 no longer holds the lease: its late report changes only the log
        uow.mail.record([outcome(job.id, person, clock, EmailStatus.SENT, subject="Late")], sender="s2")
        uow.commit()
    with any_uows(readonly=True) as uow:
        stored = uow.mail.get(job.id)
        attempts = uow.mail.attempts(job.id)
    assert stored is not None
    assert (stored.status, stored.subject, stored.leased_by, stored.last_error) == (
        EmailStatus.SENDING,
        "First",
        "s3",
        "again",
    )
    assert [(a.outcome, a.sender) for a in attempts] == [("failed", "s1"), ("failed", "s2"), ("sent", "s2")]
    # nor the participant's email status: the job is s3's now, still being sent
    assert email_status(any_uows, person) == (EmailStatus.SENDING, "again")


def test_added_attempts_are_listed_in_the_order_they_were_added(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    job = new_job(w.people[0], clock)
    queue(any_uows, [job])
    now = clock.now()
    with any_uows() as uow:
        uow.mail.add_attempts(
            [EmailAttempt(job.id, n, now, now, "failed", None, f"attempt {n}", "s1") for n in (1, 2)]
        )
        uow.mail.add_attempts([])
        uow.commit()
    with any_uows(readonly=True) as uow:
        attempts = uow.mail.attempts(job.id)
    assert [(a.attempt, a.error) for a in attempts] == [(1, "attempt 1"), (2, "attempt 2")]
    assert all(a.id is not None for a in attempts)


def test_a_cancelled_participant_is_claimed_with_its_status_when_due(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    queue(any_uows, [new_job(person, clock)])
    with any_uows() as uow:
        uow.participants.update_fields(
            person.id, {"status": ParticipantStatus.CANCELLED.value, "token": "NEWER", "ticket_version": 2}
        )
        uow.commit()
    with any_uows() as uow:
        now = clock.now()
        (claimed,) = uow.mail.claim_due(now=now, lease_until=now + LEASE, sender="s1", limit=10)
    assert (claimed.participant_status, claimed.participant_token) == ("cancelled", "NEWER")
    assert (claimed.ticket_version, claimed.participant_ticket_version) == (1, 2)


def test_nothing_is_kept_when_the_transaction_is_not_committed(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    job = new_job(w.people[0], clock)
    with any_uows() as uow:
        uow.mail.add(job)
    with any_uows(readonly=True) as uow:
        assert uow.mail.get(job.id) is None
    assert email_status(any_uows, w.people[0]) == ("none", None)


# --- templates -------------------------------------------------------------------------------------


def template(event_id: str, locale: str, clock: FakeClock, subject: str = "Hi") -> StoredTemplate:
    return StoredTemplate(
        event_id=event_id,
        kind="ticket",
        locale=locale,
        sources=TemplateSources(subject=subject, html="<p>x</p>", text="x"),
        updated_at=clock.now(),
        updated_by="staff",
    )


def test_a_saved_template_replaces_the_previous_one_when_saved_again(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 0)
    other = world(any_uows, 0, name="other event")
    with any_uows() as uow:
        uow.mail_templates.save(template(w.event_id, "ko", clock, "첫 번째"))
        uow.mail_templates.save(template(w.event_id, "en", clock))
        uow.mail_templates.save(template(other.event_id, "en", clock, "other"))
        uow.commit()
    clock.advance(minutes=1)
    with any_uows() as uow:
        uow.mail_templates.save(template(w.event_id, "ko", clock, "두 번째"))
        uow.commit()
    with any_uows(readonly=True) as uow:
        mine = uow.mail_templates.for_events([w.event_id])
        both = uow.mail_templates.for_events([w.event_id, other.event_id])
        none = uow.mail_templates.for_events([])
    assert sorted((t.locale, t.sources.subject, t.updated_at) for t in mine) == [
        ("en", "Hi", clock.now() - timedelta(minutes=1)),
        ("ko", "두 번째", clock.now()),
    ]
    assert {t.event_id for t in both} == {w.event_id, other.event_id}
    assert len(both) == 3
    assert none == []
    assert mine[0].updated_by == "staff"


def test_delete_removes_one_template_and_says_whether_there_was_one_when_deleted(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 0)
    with any_uows() as uow:
        uow.mail_templates.save(template(w.event_id, "ko", clock))
        uow.mail_templates.save(template(w.event_id, "en", clock))
        uow.commit()
    with any_uows() as uow:
        assert uow.mail_templates.delete(event_id=w.event_id, kind="ticket", locale="ko") is True
        assert uow.mail_templates.delete(event_id=w.event_id, kind="ticket", locale="ko") is False
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert [t.locale for t in uow.mail_templates.for_events([w.event_id])] == ["en"]


def test_requeue_makes_a_failed_or_dead_job_queued_and_due_now_and_refuses_others_when_retried(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 3)
    failing, dying, sent = w.people
    jobs = [new_job(person, clock) for person in w.people]
    queue(any_uows, jobs)
    claim(any_uows, clock)
    later = clock.now() + timedelta(hours=1)
    with any_uows() as uow:
        uow.mail.record(
            [
                outcome(jobs[0].id, failing, clock, EmailStatus.FAILED, next_attempt_at=later, error="451"),
                outcome(jobs[1].id, dying, clock, EmailStatus.DEAD, error="550 no such user"),
                outcome(jobs[2].id, sent, clock, EmailStatus.SENT, sent_at=clock.now()),
            ],
            sender="s1",
        )
        uow.commit()
    clock.advance(seconds=5)
    with any_uows() as uow:
        answers = [uow.mail.requeue(job.id, now=clock.now()) for job in jobs]
        assert uow.mail.requeue("no-such-job", now=clock.now()) is False
        uow.commit()
    assert answers == [True, True, False]
    with any_uows(readonly=True) as uow:
        stored = [uow.mail.get(job.id) for job in jobs]
        kept = uow.mail.attempts(jobs[1].id)
    assert [(s.status, s.attempts) for s in stored if s is not None] == [
        (EmailStatus.QUEUED, 1),
        (EmailStatus.QUEUED, 1),
        (EmailStatus.SENT, 1),
    ]
    assert [a.outcome for a in kept] == [EmailStatus.DEAD]  # the log is kept
    assert email_status(any_uows, dying) == (EmailStatus.QUEUED, None)
    assert email_status(any_uows, sent)[0] == EmailStatus.SENT
    assert sorted(claim(any_uows, clock)) == sorted([jobs[0].id, jobs[1].id])  # due now, not in an hour


def test_requeue_of_an_older_job_leaves_the_participants_email_status_to_its_latest_job(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    w = world(any_uows, 1)
    person = w.people[0]
    old = new_job(person, clock, dedup=False)
    queue(any_uows, [old])
    claim(any_uows, clock)
    with any_uows() as uow:
        uow.mail.record([outcome(old.id, person, clock, EmailStatus.DEAD, error="550")], sender="s1")
        uow.commit()
    clock.advance(seconds=1)
    newer = new_job(person, clock, dedup=False)
    queue(any_uows, [newer])
    with any_uows() as uow:
        assert uow.mail.requeue(old.id, now=clock.now())
        uow.commit()
    assert email_status(any_uows, person)[0] == EmailStatus.QUEUED  # the newer job's (queued) anyway
    claim(any_uows, clock)  # both sending now; the newer job's state is the participant's
    with any_uows() as uow:
        uow.mail.record(
            [outcome(newer.id, person, clock, EmailStatus.SENT, sent_at=clock.now())], sender="s1"
        )
        uow.commit()
    with any_uows() as uow:
        uow.mail.record([outcome(old.id, person, clock, EmailStatus.DEAD, error="550")], sender="s1")
        uow.commit()
    with any_uows() as uow:
        assert uow.mail.requeue(old.id, now=clock.now())
        uow.commit()
    assert email_status(any_uows, person)[0] == EmailStatus.SENT
