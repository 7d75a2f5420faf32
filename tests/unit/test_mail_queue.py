"""Queueing ticket emails on fake stores: one per ticket version from the handler, a new one per
resend, nothing for cancelled or unknown participants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import MAIL_FROM, deliver, open_event, register
from turnout.adapters.signing import KeyVault
from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.participants import Participant
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import EmailJob, EmailOutcome
from turnout.services import mail_queue, ticketing


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def tickets() -> ticketing.TicketBook:
    return ticketing.TicketBook(KeyVault("test-secret-key"))


@pytest.fixture
def person(uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook) -> Participant:
    event_id = open_event(uows).id
    return register(uows, tickets, event_id=event_id, name="이서연", email="seoyeon@example.com")


def jobs_of(uows: FakeUnitOfWorkFactory, person: Participant) -> list[EmailJob]:
    with uows(readonly=True) as uow:
        return mail_queue.list_jobs(uow, event_id=person.event_id)


def handle(uows: FakeUnitOfWorkFactory, person: Participant, clock: FakeClock) -> None:
    envelope = Envelope.wrap(
        ParticipantRegistered(event_id=person.event_id, participant_id=person.id, source="api"), clock.now()
    )
    with uows() as uow:
        mail_queue.queue_ticket_email(envelope, uow, mail_from=MAIL_FROM)
        uow.commit()


def test_one_job_is_queued_per_ticket_version_when_the_message_comes_twice(
    uows: FakeUnitOfWorkFactory, person: Participant, clock: FakeClock
) -> None:
    handle(uows, person, clock)
    handle(uows, person, clock)
    deliver(uows)  # the registration's own fact as well
    (job,) = jobs_of(uows, person)
    assert (job.status, job.ticket_version, job.kind, job.to_address) == (
        "queued",
        1,
        "ticket",
        "seoyeon@example.com",
    )
    assert job.message_id == f"<{job.id}.ticket@events.example.kr>"
    assert job.participant_name == "이서연"
    with uows(readonly=True) as uow:
        assert mail_queue.count_by_status(uow, event_id=person.event_id)["queued"] == 1
        found = uow.participants.get(person.id)
    assert found is not None
    assert found.email_status == "queued"


def test_a_reissued_ticket_gets_its_own_job_when_the_new_version_is_announced(
    uows: FakeUnitOfWorkFactory, person: Participant, tickets: ticketing.TicketBook
) -> None:
    deliver(uows)
    with uows() as uow:
        ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
        uow.commit()
    deliver(uows)
    assert [job.ticket_version for job in jobs_of(uows, person)] == [1, 2]


def test_nothing_is_queued_when_the_participant_is_cancelled_or_unknown(
    uows: FakeUnitOfWorkFactory, person: Participant, clock: FakeClock
) -> None:
    with uows() as uow:
        ticketing.cancel_participant(uow, participant_id=person.id, actor="staff")
        uow.commit()
    deliver(uows)
    stranger = Envelope.wrap(
        ParticipantRegistered(event_id=person.event_id, participant_id=new_id(), source="api"), clock.now()
    )
    with uows() as uow:
        mail_queue.queue_ticket_email(stranger, uow, mail_from=MAIL_FROM)
        uow.commit()
    assert jobs_of(uows, person) == []


def test_resend_queues_a_new_message_each_time_and_audits_it_when_asked(
    uows: FakeUnitOfWorkFactory, person: Participant
) -> None:
    deliver(uows)
    with uows() as uow:
        first = mail_queue.resend_ticket(uow, participant_id=person.id, actor="staff", mail_from=MAIL_FROM)
        second = mail_queue.resend_ticket(uow, participant_id=person.id, actor="staff", mail_from=MAIL_FROM)
        uow.commit()
    jobs = jobs_of(uows, person)
    assert len(jobs) == 3
    assert len({job.message_id for job in jobs}) == 3
    assert (first.status, first.dedup_key, first.participant_name) == ("queued", None, None)
    assert first.id != second.id
    with uows(readonly=True) as uow:
        audit = uow.audit.for_subject("participant", person.id)
        assert mail_queue.get_job(uow, job_id=first.id) == first
    assert [(a["action"], a["data"]) for a in audit] == [
        ("ticket.resent", {"job_id": first.id}),
        ("ticket.resent", {"job_id": second.id}),
    ]


def test_resend_is_refused_when_the_participant_is_cancelled_or_unknown(
    uows: FakeUnitOfWorkFactory, person: Participant
) -> None:
    with uows() as uow:
        ticketing.cancel_participant(uow, participant_id=person.id, actor="staff")
        uow.commit()
    with uows() as uow, pytest.raises(Conflict) as cancelled:
        mail_queue.resend_ticket(uow, participant_id=person.id, actor="staff", mail_from=MAIL_FROM)
    with uows() as uow, pytest.raises(NotFound) as unknown:
        mail_queue.resend_ticket(uow, participant_id=new_id(), actor="staff", mail_from=MAIL_FROM)
    with uows(readonly=True) as uow, pytest.raises(NotFound) as no_job:
        mail_queue.get_job(uow, job_id=new_id())
    assert cancelled.value.code == "participant_cancelled"
    assert unknown.value.code == "participant_not_found"
    assert no_job.value.code == "not_found"


def test_message_ids_use_the_senders_domain_when_there_is_one() -> None:
    assert mail_queue.mail_domain("Turnout <tickets@events.example.kr>") == "events.example.kr"
    assert mail_queue.mail_domain("nobody") == "turnout.localhost"


def _end(uows: FakeUnitOfWorkFactory, clock: FakeClock, job_id: str, status: str) -> None:
    with uows() as uow:
        now = clock.now()
        (claimed,) = uow.mail.claim_due(now=now, lease_until=now + timedelta(minutes=1), sender="s", limit=1)
        uow.mail.record(
            [
                EmailOutcome(
                    job_id=job_id,
                    participant_id=claimed.participant_id,
                    attempt=1,
                    status=status,
                    started_at=now,
                    finished_at=now,
                    next_attempt_at=now,
                    error="550",
                )
            ],
            sender="s",
        )
        uow.commit()


def test_a_dead_email_is_queued_again_by_an_operators_retry_and_audited(
    uows: FakeUnitOfWorkFactory, person: Participant, clock: FakeClock
) -> None:
    with uows() as uow:
        job = mail_queue.resend_ticket(uow, participant_id=person.id, actor="t", mail_from=MAIL_FROM)
        uow.commit()
    _end(uows, clock, job.id, "dead")
    with uows() as uow:
        again = mail_queue.retry_email(uow, job_id=job.id, actor="operator", event_id=person.event_id)
        uow.commit()
    assert (again.id, again.status, again.message_id) == (job.id, "queued", job.message_id)
    with uows(readonly=True) as uow:
        assert uow.participants.get(person.id).email_status == "queued"  # type: ignore[union-attr]
        actions = [row["action"] for row in uow.db.tables["audit_log"]]
    assert "email.retried" in actions


def test_a_retry_is_refused_for_a_queued_email_an_unknown_one_or_another_events(
    uows: FakeUnitOfWorkFactory, person: Participant
) -> None:
    with uows() as uow:
        job = mail_queue.resend_ticket(uow, participant_id=person.id, actor="t", mail_from=MAIL_FROM)
        with pytest.raises(Conflict) as queued:
            mail_queue.retry_email(uow, job_id=job.id, actor="t")
        assert queued.value.code == "email_not_retriable"
        assert queued.value.params["email_status"] == "queued"
        with pytest.raises(NotFound):
            mail_queue.retry_email(uow, job_id="nope", actor="t")
        with pytest.raises(NotFound):
            mail_queue.retry_email(uow, job_id=job.id, actor="t", event_id="another-event")
