"""Tickets on fake stores: the event's key, reissue and cancel with the revocation list, and what a
token stands for on the ticket page."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import open_event, register
from turnout.adapters.signing import KeyVault
from turnout.domain.errors import Conflict, NotFound
from turnout.domain.ids import new_id
from turnout.domain.participants import CheckInStatus, Participant, ParticipantStatus
from turnout.domain.tickets import TicketError, decode_token
from turnout.services import ticketing

SECRET = "test-secret-key"


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def tickets() -> ticketing.TicketBook:
    return ticketing.TicketBook(KeyVault(SECRET))


@pytest.fixture
def person(uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook) -> Participant:
    event_id = open_event(uows).id
    return register(uows, tickets, event_id=event_id, name="김민준", email="minjun@example.com")


def lookup(uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, token: str) -> ticketing.TicketLookup:
    with uows(readonly=True) as uow:
        return ticketing.lookup_ticket(uow, tickets=tickets, token=token)


def test_an_events_key_is_made_once_and_verifies_after_a_restart_when_stored(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook
) -> None:
    event_id = open_event(uows).id
    participant_id = new_id()
    with uows() as uow:
        token = tickets.mint(uow, event_id=event_id, participant_id=participant_id, version=3)
        public = tickets.public_key(uow, event_id=event_id)
        uow.commit()
    restarted = ticketing.TicketBook(KeyVault(SECRET))
    with uows() as uow:
        assert restarted.public_key(uow, event_id=event_id) == public
        claims = restarted.verify(uow, token=token, event_id=event_id)
    assert (claims.participant_id, claims.version) == (participant_id, 3)
    with uows() as uow, pytest.raises(TicketError) as info:
        restarted.verify(uow, token=token, event_id=open_event(uows).id)
    assert info.value.code == "wrong_event"


def test_a_key_made_in_a_rolled_back_transaction_is_never_used(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook
) -> None:
    event_id = open_event(uows).id
    with uows() as uow:
        lost = tickets.mint(uow, event_id=event_id, participant_id=new_id())
    with uows() as uow:
        kept = tickets.mint(uow, event_id=event_id, participant_id=new_id())
        uow.commit()
    with uows() as uow:
        tickets.verify(uow, token=kept, event_id=event_id)
        with pytest.raises(TicketError) as info:
            tickets.verify(uow, token=lost, event_id=event_id)
    assert info.value.code == "invalid_signature"


def test_tokens_minted_together_are_in_the_order_asked_when_minted_many(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook
) -> None:
    event_id = open_event(uows).id
    items = [(new_id(), 1), (new_id(), 2)]
    with uows() as uow:
        tokens = tickets.mint_many(uow, event_id=event_id, items=items)
        uow.commit()
    assert [(decode_token(t).claims.participant_id, decode_token(t).claims.version) for t in tokens] == items


def test_reissue_gives_a_new_version_and_revokes_the_old_token_when_asked(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant, clock: FakeClock
) -> None:
    uows.db.outbox.clear()
    clock.advance(minutes=5)
    with uows() as uow:
        reissued = ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
        uow.commit()
    assert reissued.ticket_version == 2
    assert reissued.token is not None
    assert reissued.token != person.token
    assert reissued.updated_at == clock.now()
    with uows(readonly=True) as uow:
        (revoked,) = ticketing.list_revocations(uow, event_id=person.event_id)
        audit = uow.audit.for_subject("participant", person.id)
    assert (revoked.token, revoked.reason, revoked.version, revoked.revoked_at) == (
        person.token,
        "reissued",
        1,
        clock.now(),
    )
    assert [(e.type, e.data["ticket_version"], e.data["actor"]) for e in uows.db.outbox] == [
        ("ticket.reissued", 2, "staff")
    ]
    assert [(a["action"], a["data"]) for a in audit] == [("ticket.reissued", {"version": 2})]
    assert lookup(uows, tickets, reissued.token).status == "valid"
    assert person.token is not None
    assert lookup(uows, tickets, person.token).status == "replaced"


def test_cancel_revokes_the_ticket_and_says_so_once_when_cancelled_twice(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant
) -> None:
    uows.db.outbox.clear()
    for _ in range(2):
        with uows() as uow:
            cancelled = ticketing.cancel_participant(uow, participant_id=person.id, actor="staff")
            uow.commit()
        assert cancelled.status is ParticipantStatus.CANCELLED
    with uows(readonly=True) as uow:
        revoked = ticketing.list_revocations(uow, event_id=person.event_id)
    assert [(r.token, r.reason) for r in revoked] == [(person.token, "cancelled")]
    assert [(e.type, e.data["participant_id"]) for e in uows.db.outbox] == [
        ("participant.cancelled", person.id)
    ]
    assert "email" not in uows.db.outbox[0].data
    assert person.token is not None
    assert lookup(uows, tickets, person.token).status == "cancelled"


def test_reissue_is_refused_when_the_participant_is_cancelled_or_unknown(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant
) -> None:
    with uows() as uow:
        ticketing.cancel_participant(uow, participant_id=person.id, actor="staff")
        uow.commit()
    with uows() as uow, pytest.raises(Conflict) as cancelled:
        ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
    with uows() as uow, pytest.raises(NotFound) as unknown:
        ticketing.cancel_participant(uow, participant_id=new_id(), actor="staff")
    assert cancelled.value.code == "participant_cancelled"
    assert unknown.value.code == "participant_not_found"


def test_revocations_page_after_the_last_id_seen_when_polled(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant
) -> None:
    for _ in range(3):
        with uows() as uow:
            ticketing.reissue_ticket(uow, tickets=tickets, participant_id=person.id, actor="staff")
            uow.commit()
    with uows(readonly=True) as uow:
        first = ticketing.list_revocations(uow, event_id=person.event_id, limit=2)
        rest = ticketing.list_revocations(uow, event_id=person.event_id, after_id=first[-1].id)
    assert [r.version for r in first] == [1, 2]
    assert [r.version for r in rest] == [3]


def test_a_token_is_checked_in_when_its_holder_was_admitted(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant
) -> None:
    assert person.token is not None
    found = lookup(uows, tickets, person.token.lower())
    assert (found.status, found.participant.name, found.event.id) == ("valid", "김민준", person.event_id)
    with uows() as uow:
        uow.participants.update_fields(person.id, {"check_in_status": CheckInStatus.EXITED.value})
        uow.commit()
    assert lookup(uows, tickets, person.token).status == "checked_in"


def test_a_token_is_refused_when_altered_unknown_or_malformed(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, person: Participant
) -> None:
    assert person.token is not None
    with uows() as uow:
        stranger = tickets.mint(uow, event_id=person.event_id, participant_id=new_id())
        uow.commit()
    other_book = ticketing.TicketBook(KeyVault("another secret"))
    with uows() as uow:
        foreign = other_book.mint(uow, event_id=new_id(), participant_id=person.id)
    codes = []
    for token in (person.token[:-4] + "AAAA", stranger, foreign, "not-a-token"):
        with pytest.raises(TicketError) as info:
            lookup(uows, tickets, token)
        codes.append(info.value.code)
    assert codes == ["invalid_signature", "unknown_token", "unknown_token", "malformed_token"]
