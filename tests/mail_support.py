"""Helpers for mail and ticket tests on any unit of work (the fakes or the SQL stores): events and
participants written through the ports, a sender wired to a fake mailer, and ``any_uows``, the
fixture (in ``conftest.py``) that runs a store contract test on the fakes, SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakes import FakeUnitOfWorkFactory
from tests.fakes_mail import FakeMailer
from turnout.adapters.mail_compose import TicketMailComposer
from turnout.domain.events import Event, EventStatus
from turnout.domain.ids import new_id
from turnout.domain.participants import CheckInStatus, Participant, ParticipantStatus, Source
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import MailComposer, UnitOfWork, UnitOfWorkFactory
from turnout.services.mail_queue import queue_ticket_email
from turnout.services.mail_sending import MailSender, SenderPolicy
from turnout.services.ticketing import TicketBook

MAIL_FROM = "Turnout <tickets@events.example.kr>"
BASE_URL = "https://tickets.example.kr"


def add_event(
    uow: UnitOfWork,
    *,
    name: str = "서울 개발자 컨퍼런스",
    locale: str = "ko",
    timezone: str = "Asia/Seoul",
    venue: str | None = "코엑스 Hall B",
) -> Event:
    event = Event(
        id=new_id(),
        name=name,
        starts_at=datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        timezone=timezone,
        venue=venue,
        locale=locale,
        status=EventStatus.OPEN,
    )
    uow.events.add(event, now=uow.clock.now())
    return event


def add_participant(
    uow: UnitOfWork,
    *,
    event_id: str,
    name: str,
    email: str,
    locale: str | None = None,
    token: str | None = None,
    participant_id: str | None = None,
) -> Participant:
    """A registered participant (``token`` as given: tests that send mint a real one)."""
    now = uow.clock.now()
    participant_id = participant_id or new_id()
    uow.participants.insert_many(
        [
            {
                "id": participant_id,
                "event_id": event_id,
                "name": name,
                "email": email,
                "phone": None,
                "birth_date": None,
                "region": None,
                "organization": None,
                "gender": None,
                "locale": locale,
                "custom_fields": {},
                "status": ParticipantStatus.REGISTERED.value,
                "check_in_status": CheckInStatus.NOT_CHECKED_IN.value,
                "ticket_version": 1,
                "token": token,
                "email_status": "none",
                "email_error": None,
                "source": Source.API.value,
                "import_id": None,
                "first_checked_in_at": None,
                "last_scan_at": None,
                "created_at": now,
                "updated_at": now,
            }
        ]
    )
    participant = uow.participants.get(participant_id)
    assert participant is not None
    return participant


def fake_sender(
    uows: FakeUnitOfWorkFactory,
    mailer: FakeMailer,
    *,
    composer: MailComposer | None = None,
    rate_per_second: float = 100_000,
    **policy: Any,
) -> MailSender:
    """The real sender over fake stores and a fake mailer (the rate limit lifted unless given)."""
    return MailSender(
        uow_factory=uows,
        clock=uows.clock,
        mailer=mailer,
        composer=composer or TicketMailComposer(mail_from=MAIL_FROM),
        mail_from=MAIL_FROM,
        base_url=BASE_URL,
        policy=SenderPolicy(rate_per_second=rate_per_second, **policy),
    )


# --- a world of fakes: registering and delivering as the relay would ---------------------------------


def open_event(uows: UnitOfWorkFactory, **event: Any) -> Event:
    with uows() as uow:
        created = add_event(uow, **event)
        uow.commit()
    return created


def register(
    uows: UnitOfWorkFactory,
    tickets: TicketBook,
    *,
    event_id: str,
    name: str,
    email: str,
    locale: str | None = None,
) -> Participant:
    """A participant with a real ticket token, and its ``participant.registered`` fact."""
    with uows() as uow:
        participant_id = new_id()
        token = tickets.mint(uow, event_id=event_id, participant_id=participant_id)
        person = add_participant(
            uow,
            event_id=event_id,
            name=name,
            email=email,
            locale=locale,
            token=token,
            participant_id=participant_id,
        )
        uow.emit(ParticipantRegistered(event_id=event_id, participant_id=participant_id, source="api"))
        uow.commit()
    return person


def deliver(uows: FakeUnitOfWorkFactory) -> None:
    """Hand the fake outbox's facts to the mail handler (as the relay does), then empty the outbox."""
    with uows() as uow:
        envelopes = list(uows.db.outbox)
        uows.db.outbox.clear()
        for envelope in envelopes:
            if envelope.type in ("participant.registered", "ticket.reissued"):
                queue_ticket_email(envelope, uow, mail_from=MAIL_FROM)
        uow.commit()
