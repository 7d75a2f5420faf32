"""The sender on a real database: a server that does not answer, the worker loop, and two senders at
once (the claim's locking). Its rules (retries, backoff, dead jobs, lease take-over, concurrency,
rate) are service tests on fakes: ``tests/unit/test_mail_sending.py``."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fakes_mail import FakeMailer
from tests.ticket_support import deliver, open_event, register
from turnout.adapters.mail import SmtpMailer
from turnout.bootstrap import Turnout, mail_sender
from turnout.services import mail_queue


def queue(turnout: Turnout, count: int) -> str:
    event_id = open_event(turnout)
    for i in range(count):
        register(turnout, event_id, name=f"참가자 {i}", email=f"p{i}@example.com")
    deliver(turnout)
    return event_id


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
    asyncio.run(mail_sender(turnout, mailer).drain())
    with turnout.uow(readonly=True) as uow:
        (job,) = mail_queue.list_jobs(uow, event_id=event_id)
    assert job.status == "failed"
    assert "timeout" in str(job.last_error).lower()
    assert job.next_attempt_at > turnout.clock.now()


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
                if mail_queue.count_by_status(uow, event_id=event_id)["sent"] == 2:
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
    senders = [mail_sender(turnout, m, batch_size=5) for m in mailers]
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
