"""Ticket emails end to end against a real SMTP server (aiosmtpd): what arrives is parsed and its
QR code decoded with zxing-cpp."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import TypedDict

from tests.fakes import FakeClock
from tests.qr_decode import decode_png
from tests.smtp_support import SmtpServer, smtp_server_fixture  # noqa: F401  (fixture)
from tests.ticket_support import deliver, open_event, register
from turnout.adapters.mail import DropFolderMailer, SmtpMailer
from turnout.bootstrap import Turnout, mail_sender
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import Mailer
from turnout.services import mail_queue, mail_templates


def send_all(turnout: Turnout, mailer: Mailer, **policy: float) -> int:
    sender = mail_sender(turnout, mailer, **policy)

    async def run() -> int:
        try:
            return await sender.drain()
        finally:
            await sender.mailer.close()

    return asyncio.run(run())


class Parts(TypedDict):
    text: str
    html: str
    inline: list[EmailMessage]
    attachments: list[EmailMessage]


def parts(message: EmailMessage) -> Parts:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    inline = [p for p in message.walk() if p.get("Content-ID")]
    attachments = [p for p in message.iter_attachments() if p.get_filename() == "ticket.png"]
    return {
        "text": text.get_content(),
        "html": html.get_content(),
        "inline": inline,
        "attachments": attachments,
    }


def test_ticket_email_arrives_with_both_parts_and_the_token_in_its_qr_when_registered(
    turnout: Turnout, smtp_server: SmtpServer
) -> None:
    event_id = open_event(turnout, name="서울 개발자 컨퍼런스", locale="ko")
    kim = register(turnout, event_id, name="김민준", email="minjun@example.com")
    jane = register(turnout, event_id, name="Jane Doe", email="jane@example.com", locale="en")
    deliver(turnout)

    assert send_all(turnout, SmtpMailer(smtp_server.url)) == 2

    received = smtp_server.by_recipient()
    assert set(received) == {"minjun@example.com", "jane@example.com"}
    with turnout.uow(readonly=True) as uow:
        jobs = {j.participant_id: j for j in mail_queue.list_jobs(uow, event_id=event_id)}
    korean = received["minjun@example.com"]
    assert all(not part.defects for part in korean.walk())
    assert [p.get_content_type() for p in korean.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "image/png",
    ]
    assert korean["Subject"] == "[서울 개발자 컨퍼런스] 입장권"
    assert korean["From"] == turnout.settings.mail_from
    assert korean["Message-ID"] == jobs[kim.id].message_id
    body = parts(korean)
    assert "2026년 6월 1일 (월) 09:00" in str(body["text"])  # 09:00 in Asia/Seoul, not UTC
    assert f"{turnout.settings.base_url}/t/{kim.token}" in str(body["text"])
    assert "김민준님" in str(body["html"])
    inline = body["inline"]
    assert isinstance(inline, list)
    assert len(inline) == 1
    cid = inline[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in str(body["html"])
    assert decode_png(inline[0].get_content()) == kim.token
    attachments = body["attachments"]
    assert isinstance(attachments, list)
    assert len(attachments) == 1
    assert decode_png(attachments[0].get_content()) == kim.token

    english = received["jane@example.com"]
    assert english["Subject"] == "Your ticket for 서울 개발자 컨퍼런스"
    assert "Mon 1 June 2026, 09:00" in str(parts(english)["text"])
    assert decode_png(parts(english)["attachments"][0].get_content()) == jane.token

    with turnout.uow(readonly=True) as uow:
        for participant in (kim, jane):
            job = jobs[participant.id]
            refreshed = mail_queue.get_job(uow, job_id=job.id)
            assert refreshed.status == "sent"
            attempts = mail_queue.attempts_of(uow, job_id=job.id)
            assert [a.outcome for a in attempts] == ["sent"]
        statuses = {p.email_status for p in uow.participants.search(event_id=event_id)}
    assert statuses == {"sent"}


def test_handler_queues_one_job_per_ticket_version_when_the_message_comes_twice(turnout: Turnout) -> None:
    event_id = open_event(turnout)
    person = register(turnout, event_id, name="이서연", email="seoyeon@example.com")
    envelope = Envelope.wrap(
        ParticipantRegistered(event_id=event_id, participant_id=person.id, source="api"), turnout.clock.now()
    )
    for _ in range(2):
        with turnout.uow() as uow:
            mail_queue.queue_ticket_email(envelope, uow, mail_from=turnout.settings.mail_from)
            uow.commit()
    deliver(turnout)  # the relay hands the real participant.registered over as well
    with turnout.uow(readonly=True) as uow:
        jobs = mail_queue.list_jobs(uow, event_id=event_id)
    assert len(jobs) == 1
    assert jobs[0].status == "queued"
    assert jobs[0].message_id.endswith("@localhost>")


def test_drop_folder_gets_an_eml_per_message_when_no_smtp_url_is_set(turnout: Turnout) -> None:
    event_id = open_event(turnout)
    person = register(turnout, event_id, name="박지호", email="jiho@example.com")
    deliver(turnout)
    assert isinstance(turnout.mailer, DropFolderMailer)

    assert send_all(turnout, turnout.mailer) == 1

    files = list((turnout.settings.var_dir / "mail").glob("*.eml"))
    assert len(files) == 1
    import email
    import email.policy

    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "jiho@example.com"
    assert decode_png(parts(message)["attachments"][0].get_content()) == person.token


def test_event_template_override_is_used_when_saved(turnout: Turnout, smtp_server: SmtpServer) -> None:
    event_id = open_event(turnout, locale="en")
    register(turnout, event_id, name="Alex Kim", email="alex@example.com")
    with turnout.uow() as uow:
        mail_templates.save_template(
            uow,
            renderer=turnout.template_renderer,
            event_id=event_id,
            locale="en",
            subject="Welcome {{ participant_name }}!",
            html='<p>Hi {{ participant_name }}</p><img src="cid:{{ qr_cid }}">',
            text="Hi {{ participant_name }}, ticket: {{ ticket_url }}",
            actor="test",
        )
        uow.commit()
    deliver(turnout)
    send_all(turnout, SmtpMailer(smtp_server.url))
    (message,) = smtp_server.messages
    assert message["Subject"] == "Welcome Alex Kim!"
    assert str(parts(message)["text"]).startswith("Hi Alex Kim, ticket: http://")


def test_jobs_of_a_crashed_sender_are_sent_when_their_lease_expires(
    turnout: Turnout, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    event_id = open_event(turnout)
    person = register(turnout, event_id, name="최유나", email="yuna@example.com")
    deliver(turnout)
    crashed = mail_sender(turnout, SmtpMailer(smtp_server.url), lease_seconds=300)
    assert len(crashed.claim()) == 1  # claimed, then the process died before sending
    survivor = mail_sender(turnout, SmtpMailer(smtp_server.url), lease_seconds=300)
    assert asyncio.run(survivor.drain()) == 0  # still leased

    clock.advance(seconds=301)
    assert send_all(turnout, SmtpMailer(smtp_server.url)) == 1

    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["yuna@example.com"]
    with turnout.uow(readonly=True) as uow:
        (job,) = mail_queue.list_jobs(uow, event_id=event_id, participant_id=person.id)
        attempts = mail_queue.attempts_of(uow, job_id=job.id)
    assert job.status == "sent"
    assert job.attempts == 2
    assert [a.outcome for a in attempts] == ["failed", "sent"]
    assert "lease expired" in str(attempts[0].error)
