"""SMTP faults: a long outage loses nothing; a permanent refusal kills only its own job."""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller

from tests.fakes import FakeClock
from tests.smtp_support import RecordingHandler, SmtpServer, free_port, smtp_server_fixture  # noqa: F401
from tests.ticket_support import deliver, open_event, register
from turnout.adapters.mail import SmtpMailer
from turnout.bootstrap import Turnout, mail_sender
from turnout.ports import EmailJob
from turnout.services import mail_queue, participants


def drain(turnout: Turnout, mailer: SmtpMailer) -> int:
    sender = mail_sender(turnout, mailer)

    async def run() -> int:
        try:
            return await sender.drain()
        finally:
            await mailer.close()

    return asyncio.run(run())


def jobs_of(turnout: Turnout, event_id: str) -> list[EmailJob]:
    with turnout.uow(readonly=True) as uow:
        return mail_queue.list_jobs(uow, event_id=event_id, limit=1000)


def test_nothing_is_lost_and_everything_is_sent_once_when_smtp_is_down_for_ten_minutes(
    turnout: Turnout, clock: FakeClock
) -> None:
    event_id = open_event(turnout)
    people = [register(turnout, event_id, name=f"참가자 {i}", email=f"p{i}@example.com") for i in range(12)]
    deliver(turnout)
    port = free_port()  # nothing listens here yet: connections are refused
    url = f"smtp://127.0.0.1:{port}?starttls=off&timeout=2"

    for _minute in range(10):
        drain(turnout, SmtpMailer(url))
        clock.advance(minutes=1)
    jobs = jobs_of(turnout, event_id)
    assert {j.status for j in jobs} == {"failed"}
    assert all("connection failed" in str(j.last_error) for j in jobs)
    assert all(j.attempts >= 4 for j in jobs)  # 30 s, 1, 2, 4 min backoff

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(minutes=10)  # past the longest backoff so far
        assert drain(turnout, SmtpMailer(url)) == 12
    finally:
        controller.stop()

    received = sorted(str(m["To"].addresses[0].addr_spec) for m in handler.messages)
    assert received == sorted(p.email for p in people)  # each exactly once
    jobs = jobs_of(turnout, event_id)
    assert {j.status for j in jobs} == {"sent"}
    with turnout.uow(readonly=True) as uow:
        attempts = mail_queue.attempts_of(uow, job_id=jobs[0].id)
        statuses = {p.email_status for p in participants.list_participants(uow, event_id=event_id)}
    assert [a.outcome for a in attempts][-1] == "sent"
    assert {a.outcome for a in attempts[:-1]} == {"failed"}
    assert statuses == {"sent"}


def test_only_that_job_is_dead_with_the_reason_when_one_recipient_gets_550(
    turnout: Turnout, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    event_id = open_event(turnout)
    good = [register(turnout, event_id, name=f"참가자 {i}", email=f"ok{i}@example.com") for i in range(3)]
    bad = register(turnout, event_id, name="없는 주소", email="nobody@example.com")
    smtp_server.handler.reject["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: mailbox unavailable"
    deliver(turnout)

    drain(turnout, SmtpMailer(smtp_server.url))
    clock.advance(hours=3)
    drain(turnout, SmtpMailer(smtp_server.url))  # a dead job is never retried

    jobs = {j.participant_id: j for j in jobs_of(turnout, event_id)}
    assert jobs[bad.id].status == "dead"
    assert jobs[bad.id].attempts == 1
    assert "550" in str(jobs[bad.id].last_error)
    assert "mailbox unavailable" in str(jobs[bad.id].last_error)
    assert {jobs[p.id].status for p in good} == {"sent"}
    assert sorted(smtp_server.by_recipient()) == sorted(p.email for p in good)
    with turnout.uow(readonly=True) as uow:
        refused = participants.get_participant(uow, participant_id=bad.id)
        (attempt,) = mail_queue.attempts_of(uow, job_id=jobs[bad.id].id)
    assert refused.email_status == "dead"
    assert "550" in str(refused.email_error)
    assert attempt.smtp_code == 550


def test_a_4xx_reply_is_retried_later_and_then_sent_when_the_server_recovers(
    turnout: Turnout, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    event_id = open_event(turnout)
    person = register(turnout, event_id, name="홍길동", email="gildong@example.com")
    deliver(turnout)
    smtp_server.handler.refuse_all = "451 4.3.0 greylisted, try again later"

    drain(turnout, SmtpMailer(smtp_server.url))
    (job,) = jobs_of(turnout, event_id)
    assert job.status == "failed"
    assert "451" in str(job.last_error)
    assert drain(turnout, SmtpMailer(smtp_server.url)) == 0  # not due before its backoff

    smtp_server.handler.refuse_all = None
    clock.advance(seconds=31)
    assert drain(turnout, SmtpMailer(smtp_server.url)) == 1
    (job,) = jobs_of(turnout, event_id)
    assert job.status == "sent"
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == [person.email]
