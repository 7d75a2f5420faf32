"""The sender's rules on fake stores and a fake mailer: statuses, retries and backoff, dead jobs,
lease take-over, skipped jobs, language, concurrency and rate. No database, no SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.fakes_mail import FakeMailer
from tests.mail_support import MAIL_FROM, deliver, fake_sender, open_event, register
from turnout.adapters.signing import KeyVault
from turnout.domain.participants import Participant
from turnout.ports import (
    ComposedMail,
    EmailAttempt,
    EmailJob,
    EmailStatus,
    OutgoingMail,
    StoredTemplate,
    TemplateSources,
    TicketMail,
)
from turnout.services import ticketing
from turnout.services.mail_queue import list_jobs
from turnout.services.mail_sending import MailSender


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def tickets() -> ticketing.TicketBook:
    return ticketing.TicketBook(KeyVault("test-secret-key"))


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


def queued(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, count: int = 1, **event: str
) -> list[Participant]:
    event_id = open_event(uows, **event).id
    people = [
        register(uows, tickets, event_id=event_id, name=f"참가자 {i}", email=f"p{i}@example.com")
        for i in range(count)
    ]
    deliver(uows)
    return people


def drain(sender: MailSender) -> int:
    return asyncio.run(sender.drain())


def job_of(uows: FakeUnitOfWorkFactory, person: Participant) -> EmailJob:
    with uows(readonly=True) as uow:
        (job,) = list_jobs(uow, event_id=person.event_id, participant_id=person.id)
    return job


def attempts_of(uows: FakeUnitOfWorkFactory, job: EmailJob) -> list[EmailAttempt]:
    with uows(readonly=True) as uow:
        return uow.mail.attempts(job.id)


def current(uows: FakeUnitOfWorkFactory, person: Participant) -> Participant:
    with uows(readonly=True) as uow:
        found = uow.participants.get(person.id)
    assert found is not None
    return found


def parsed(mail: OutgoingMail) -> EmailMessage:
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_queued_ticket_is_sent_and_its_attempt_recorded_when_the_sender_runs(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    assert drain(fake_sender(uows, mailer)) == 1

    (mail,) = mailer.sent
    job = job_of(uows, person)
    message = parsed(mail)
    assert mail.recipients == ("p0@example.com",)
    assert mail.sender == "tickets@events.example.kr"
    assert message["Message-ID"] == job.message_id
    assert job.message_id.endswith("@events.example.kr>")
    assert message["Subject"] == "[서울 개발자 컨퍼런스] 입장권"
    assert (job.status, job.attempts, job.subject, job.sent_at) == (
        EmailStatus.SENT,
        1,
        "[서울 개발자 컨퍼런스] 입장권",
        clock.now(),
    )
    assert [(a.attempt, a.outcome) for a in attempts_of(uows, job)] == [(1, "sent")]
    assert (current(uows, person).email_status, current(uows, person).email_error) == ("sent", None)
    assert drain(fake_sender(uows, mailer)) == 0  # nothing is sent twice


def test_a_transient_failure_is_retried_after_the_backoff_under_the_same_message_id_when_refused(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    mailer.refuse(person.email, code=451)
    sender = fake_sender(uows, mailer)

    assert drain(sender) == 1
    job = job_of(uows, person)
    assert (job.status, job.last_error, job.next_attempt_at) == (
        EmailStatus.FAILED,
        "451 refused",
        clock.now() + timedelta(seconds=30),
    )
    assert current(uows, person).email_status == "failed"
    clock.advance(seconds=29)
    assert drain(sender) == 0  # not due yet
    clock.advance(seconds=1)
    assert drain(sender) == 1

    job = job_of(uows, person)
    assert (job.status, job.attempts, job.last_error) == (EmailStatus.SENT, 2, None)
    attempts = attempts_of(uows, job)
    assert [(a.attempt, a.outcome, a.smtp_code) for a in attempts] == [(1, "failed", 451), (2, "sent", None)]
    (mail,) = mailer.sent
    assert parsed(mail)["Message-ID"] == job.message_id
    assert current(uows, person).email_status == "sent"


def test_the_wait_doubles_between_attempts_when_failures_go_on(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    mailer.refuse(person.email, times=5)
    sender = fake_sender(uows, mailer)
    waits = []
    for _ in range(5):
        assert drain(sender) == 1
        job = job_of(uows, person)
        waits.append((job.next_attempt_at - clock.now()).total_seconds())
        clock.set(job.next_attempt_at)
    assert waits == [30, 60, 120, 240, 480]


def test_a_job_is_dead_after_the_last_allowed_attempt_when_failures_never_stop(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    mailer.refuse(person.email, times=10)
    sender = fake_sender(uows, mailer, max_attempts=3)
    for _ in range(6):
        drain(sender)
        clock.advance(hours=1)
    job = job_of(uows, person)
    assert job.status == EmailStatus.DEAD
    assert job.attempts == 3
    assert job.last_error == "gave up after 3 attempts: 451 refused"
    assert [a.outcome for a in attempts_of(uows, job)] == ["failed", "failed", "dead"]
    assert current(uows, person).email_status == "dead"


def test_only_that_job_is_dead_and_never_retried_when_its_recipient_is_refused_for_good(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    good, bad = queued(uows, tickets, 2)
    mailer.refuse(bad.email, code=550, permanent=True)
    sender = fake_sender(uows, mailer)
    assert drain(sender) == 2
    clock.advance(hours=3)
    assert drain(sender) == 0

    dead = job_of(uows, bad)
    assert (dead.status, dead.attempts, dead.last_error) == (EmailStatus.DEAD, 1, "550 refused")
    assert [(a.outcome, a.smtp_code) for a in attempts_of(uows, dead)] == [("dead", 550)]
    assert (current(uows, bad).email_status, current(uows, bad).email_error) == ("dead", "550 refused")
    assert job_of(uows, good).status == EmailStatus.SENT
    assert [m.recipients for m in mailer.sent] == [(good.email,)]


def test_an_unexpected_mailer_error_is_retried_later_when_it_is_not_a_delivery_error(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    (person,) = queued(uows, tickets)
    mailer.fail(person.email, RuntimeError("socket closed"))
    drain(fake_sender(uows, mailer))
    job = job_of(uows, person)
    assert (job.status, job.last_error) == (EmailStatus.FAILED, "RuntimeError: socket closed")


def test_jobs_of_a_stopped_sender_are_sent_with_a_lease_expired_attempt_when_their_lease_ends(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    crashed = fake_sender(uows, FakeMailer(), lease_seconds=300)
    assert len(crashed.claim()) == 1  # claimed, then the process stopped before sending
    survivor = fake_sender(uows, mailer, lease_seconds=300)
    assert drain(survivor) == 0  # still leased
    clock.advance(seconds=300)
    assert drain(survivor) == 0
    clock.advance(seconds=1)
    assert drain(survivor) == 1

    job = job_of(uows, person)
    attempts = attempts_of(uows, job)
    assert (job.status, job.attempts) == (EmailStatus.SENT, 2)
    assert [(a.attempt, a.outcome, a.sender) for a in attempts] == [
        (1, "failed", survivor.sender_id),
        (2, "sent", survivor.sender_id),
    ]
    assert attempts[0].error == "lease expired: the sender stopped before finishing"
    assert len(mailer.sent) == 1


def test_a_sender_that_reports_after_losing_its_lease_does_not_undo_the_new_senders_result(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    slow_mailer = FakeMailer()
    slow_mailer.refuse(person.email, code=451)
    slow = fake_sender(uows, slow_mailer, lease_seconds=300)
    claimed = slow.claim()
    clock.advance(seconds=301)
    assert drain(fake_sender(uows, mailer)) == 1
    # the slow sender's batch comes back at last, failed: only its attempt is logged
    results = [asyncio.run(slow._send_one(item, asyncio.Semaphore(1))) for item in claimed]
    slow.record(results)
    job = job_of(uows, person)
    assert (job.status, job.last_error, job.attempts) == (EmailStatus.SENT, None, 2)
    assert [(a.outcome, a.smtp_code) for a in attempts_of(uows, job)] == [
        ("failed", None),
        ("sent", None),
        ("failed", 451),
    ]


def test_a_cancelled_participants_ticket_is_dead_without_sending_when_claimed(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    (person,) = queued(uows, tickets)
    with uows() as uow:
        ticketing.cancel_participant(uow, participant_id=person.id, actor="staff")
        uow.commit()
    assert drain(fake_sender(uows, mailer)) == 1
    job = job_of(uows, person)
    assert (job.status, job.last_error) == (EmailStatus.DEAD, "participant_cancelled")
    assert mailer.sent == []


def test_only_the_new_ticket_is_sent_when_the_ticket_was_reissued_before_sending(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    (person,) = queued(uows, tickets)
    with uows() as uow:
        reissued = ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
        uow.commit()
    deliver(uows)  # ticket.reissued queues the new version's email
    assert drain(fake_sender(uows, mailer)) == 2

    with uows(readonly=True) as uow:
        jobs = {job.ticket_version: job for job in list_jobs(uow, event_id=person.event_id)}
    assert (jobs[1].status, jobs[1].last_error) == (EmailStatus.DEAD, "ticket_superseded")
    assert jobs[2].status == EmailStatus.SENT
    (mail,) = mailer.sent
    assert reissued.token is not None
    assert reissued.token in parsed(mail).get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def test_the_participants_email_status_stays_with_the_new_tickets_email_when_the_old_one_is_dead_later(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    mailer.refuse(person.email, code=451)
    assert drain(fake_sender(uows, mailer)) == 1  # the first ticket's email waits for its retry
    with uows() as uow:
        ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
        uow.commit()
    deliver(uows)
    assert drain(fake_sender(uows, mailer)) == 1  # the new ticket's email is sent
    assert (current(uows, person).email_status, current(uows, person).email_error) == ("sent", None)
    clock.advance(seconds=31)
    assert drain(fake_sender(uows, mailer)) == 1  # the old one comes due: not sent, dead

    with uows(readonly=True) as uow:
        jobs = {job.ticket_version: job for job in list_jobs(uow, event_id=person.event_id)}
    assert (jobs[1].status, jobs[1].last_error) == (EmailStatus.DEAD, "ticket_superseded")
    assert jobs[2].status == EmailStatus.SENT
    assert (current(uows, person).email_status, current(uows, person).email_error) == ("sent", None)
    assert len(mailer.sent) == 1


def test_a_job_whose_template_fails_is_dead_with_the_error_when_composed(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    (person,) = queued(uows, tickets)
    with uows() as uow:  # a stored override that no longer renders
        uow.mail_templates.save(
            StoredTemplate(
                event_id=person.event_id,
                kind="ticket",
                locale="ko",
                sources=TemplateSources(subject="{{ 1 / 0 }}", html="x", text="x"),
                updated_at=clock.now(),
                updated_by="test",
            )
        )
        uow.commit()
    drain(fake_sender(uows, mailer))
    job = job_of(uows, person)
    assert mailer.sent == []
    assert job.status == EmailStatus.DEAD
    assert job.last_error == "render failed: division by zero"


def test_the_message_is_in_the_participants_language_else_the_events_when_composed(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer, clock: FakeClock
) -> None:
    event_id = open_event(uows, locale="en", name="Seoul Dev Conference").id
    korean = register(
        uows, tickets, event_id=event_id, name="김민준", email="minjun@example.com", locale="ko"
    )
    english = register(uows, tickets, event_id=event_id, name="Jane Doe", email="jane@example.com")
    with uows() as uow:
        uow.mail_templates.save(
            StoredTemplate(
                event_id=event_id,
                kind="ticket",
                locale="ko",
                sources=TemplateSources(
                    subject="{{ participant_name }}님의 티켓",
                    html="<p>{{ ticket_url }}</p>",
                    text="{{ starts_at }} {{ ticket_url }}",
                ),
                updated_at=clock.now(),
                updated_by="test",
            )
        )
        uow.commit()
    deliver(uows)
    drain(fake_sender(uows, mailer))

    ko, en = parsed(mailer.to(korean.email)[0]), parsed(mailer.to(english.email)[0])
    assert ko["Subject"] == "김민준님의 티켓"
    text = ko.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content() == f"2026년 6월 1일 (월) 09:00 https://tickets.example.kr/t/{korean.token}"
    assert en["Subject"] == "Your ticket for Seoul Dev Conference"
    assert en["From"] == MAIL_FROM


def test_no_more_sends_overlap_than_the_concurrency_when_many_are_due(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook
) -> None:
    queued(uows, tickets, 12)
    mailer = FakeMailer(delay=0.02)
    assert drain(fake_sender(uows, mailer, concurrency=3)) == 12
    assert len(mailer.sent) == 12
    assert mailer.max_in_flight == 3


def test_sending_keeps_to_the_rate_limit_when_many_are_due(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    queued(uows, tickets, 30)
    started = time.monotonic()
    drain(fake_sender(uows, mailer, rate_per_second=50, concurrency=8))
    # a burst of 5, then 25 more at 50/s: at least half a second
    assert time.monotonic() - started >= 0.45
    assert len(mailer.sent) == 30


def test_a_batch_takes_at_most_the_batch_size_when_more_are_due(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    queued(uows, tickets, 5)
    sender = fake_sender(uows, mailer, batch_size=2)
    assert asyncio.run(sender.send_batch()) == 2
    assert asyncio.run(sender.send_batch()) == 2
    assert asyncio.run(sender.send_batch()) == 1
    assert asyncio.run(sender.send_batch()) == 0


class BrokenComposer:
    def compose_ticket(self, ticket: TicketMail) -> ComposedMail:
        raise ValueError("no QR for you")


def test_a_job_that_cannot_be_composed_is_dead_with_the_reason_when_the_composer_fails(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, mailer: FakeMailer
) -> None:
    (person,) = queued(uows, tickets)
    drain(fake_sender(uows, mailer, composer=BrokenComposer()))
    job = job_of(uows, person)
    assert (job.status, job.last_error) == (EmailStatus.DEAD, "render failed: no QR for you")
    assert mailer.sent == []
