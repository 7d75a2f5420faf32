"""The sender's limits: concurrency, rate, render failures and timeouts (a fake mailer or a silent
server; only the SMTP side is replaced)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.ticket_support import deliver, open_event, register
from turnout.adapters.db.tables_mail import mail_templates
from turnout.adapters.mail import SmtpMailer
from turnout.bootstrap import Turnout
from turnout.ports import OutgoingMail
from turnout.services import mailing


class FakeMailer:
    """Accepts everything after ``delay`` seconds; remembers how many sends overlapped."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[OutgoingMail] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def send(self, mail: OutgoingMail) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            self.sent.append(mail)
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        return None


def queue(turnout: Turnout, count: int) -> str:
    event_id = open_event(turnout)
    for i in range(count):
        register(turnout, event_id, name=f"참가자 {i}", email=f"p{i}@example.com")
    deliver(turnout)
    return event_id


def test_no_more_sends_overlap_than_the_concurrency_when_sending(turnout: Turnout) -> None:
    queue(turnout, 12)
    mailer = FakeMailer(delay=0.02)
    sender = mailing.sender_for(turnout, mailer)
    sender.policy = mailing.SenderPolicy(rate_per_second=10_000, concurrency=3)
    assert asyncio.run(sender.drain()) == 12
    assert len(mailer.sent) == 12
    assert mailer.max_in_flight == 3


def test_sending_keeps_to_the_rate_limit_when_many_are_due(turnout: Turnout) -> None:
    queue(turnout, 30)
    mailer = FakeMailer()
    sender = mailing.sender_for(turnout, mailer)
    sender.policy = mailing.SenderPolicy(rate_per_second=50, concurrency=8)
    started = time.monotonic()
    asyncio.run(sender.drain())
    # a burst of 5, then 25 more at 50/s: at least half a second
    assert time.monotonic() - started >= 0.45
    assert len(mailer.sent) == 30


def test_a_job_whose_template_fails_at_send_time_is_dead_with_the_error_when_rendered(
    turnout: Turnout,
) -> None:
    event_id = queue(turnout, 1)
    with turnout.uow() as uow:  # a stored override that no longer renders (e.g. edited in the database)
        uow.conn.execute(
            sa.insert(mail_templates).values(
                event_id=event_id,
                kind="ticket",
                locale="ko",
                subject="{{ 1 / 0 }}",
                html="x",
                text="x",
                updated_at=turnout.clock.now(),
                updated_by="test",
            )
        )
        uow.commit()
    mailer = FakeMailer()
    asyncio.run(mailing.sender_for(turnout, mailer).drain())
    with turnout.uow(readonly=True) as uow:
        (job,) = mailing.list_jobs(uow, event_id=event_id)
    assert mailer.sent == []
    assert job["status"] == "dead"
    assert "render failed" in job["last_error"]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (an SMTP server that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_a_timeout_is_retried_later_when_the_server_does_not_answer(
    turnout: Turnout, silent_server: int
) -> None:
    event_id = queue(turnout, 1)
    mailer = SmtpMailer(f"smtp://127.0.0.1:{silent_server}?starttls=off&timeout=0.3")
    asyncio.run(mailing.sender_for(turnout, mailer).drain())
    with turnout.uow(readonly=True) as uow:
        (job,) = mailing.list_jobs(uow, event_id=event_id)
    assert job["status"] == "failed"
    assert "timeout" in job["last_error"].lower()
    assert job["next_attempt_at"] > turnout.clock.now()


def test_worker_loop_sends_queued_mail_and_stops_when_told(turnout: Turnout) -> None:
    from turnout.entrypoints.workers import LOOPS

    loop = dict(LOOPS)["mail-sender"]
    event_id = queue(turnout, 2)
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(turnout, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with turnout.uow(readonly=True) as uow:
                if mailing.count_by_status(uow, event_id=event_id)["sent"] == 2:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(list((turnout.settings.var_dir / "mail").glob("*.eml"))) == 2


def test_two_senders_never_send_the_same_job_when_they_run_at_once(turnout: Turnout) -> None:
    queue(turnout, 40)
    mailers = [FakeMailer(delay=0.005), FakeMailer(delay=0.005)]
    senders = [mailing.sender_for(turnout, m, batch_size=5) for m in mailers]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda s=s: counts.append(asyncio.run(s.drain()))) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent_ids = [mail.message_id for mailer in mailers for mail in mailer.sent]
    assert len(counts) == 2
    assert sum(counts) == 40
    assert len(sent_ids) == len(set(sent_ids)) == 40
