"""The ticket store's contract (``ports.TicketStore``): the same checks on ``FakeTicketStore``, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.fakes import FakeClock
from tests.mail_support import add_event, add_participant
from turnout.domain.participants import Participant
from turnout.ports import UnitOfWorkFactory


def people(uows: UnitOfWorkFactory, count: int) -> list[Participant]:
    with uows() as uow:
        event = add_event(uow)
        found = [
            add_participant(uow, event_id=event.id, name=f"참가자 {i}", email=f"p{i}@example.com")
            for i in range(count)
        ]
        uow.commit()
    return found


def test_the_first_key_stored_stays_when_another_is_added_for_the_event(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event = add_event(uow)
        other = add_event(uow, name="other")
        assert uow.tickets.sealed_key(event.id) is None
        uow.tickets.add_key(event_id=event.id, public_key="PUB1", sealed="SEALED1", now=clock.now())
        uow.tickets.add_key(event_id=event.id, public_key="PUB2", sealed="SEALED2", now=clock.now())
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert uow.tickets.sealed_key(event.id) == "SEALED1"
        assert uow.tickets.sealed_key(other.id) is None


def test_a_key_added_in_a_transaction_rolled_back_is_not_kept(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event = add_event(uow)
        uow.commit()
    with any_uows() as uow:
        uow.tickets.add_key(event_id=event.id, public_key="PUB", sealed="SEALED", now=clock.now())
    with any_uows(readonly=True) as uow:
        assert uow.tickets.sealed_key(event.id) is None


def test_revocations_are_listed_once_per_token_in_order_and_paged_when_revoked(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    first, second = people(any_uows, 2)
    [elsewhere] = people(any_uows, 1)
    started = clock.now()
    with any_uows() as uow:
        for person, token, reason in (
            (first, "T1", "reissued"),
            (second, "T2", "cancelled"),
            (first, "T1", "cancelled"),  # the same token again: nothing changes
            (elsewhere, "T3", "cancelled"),
            (first, "T4", "cancelled"),
        ):
            uow.tickets.revoke(
                event_id=person.event_id,
                participant_id=person.id,
                version=1,
                token=token,
                reason=reason,
                now=clock.now(),
            )
            clock.advance(seconds=1)
        uow.commit()
    with any_uows(readonly=True) as uow:
        listed = uow.tickets.revocations(first.event_id)
        page = uow.tickets.revocations(first.event_id, after_id=listed[0].id, limit=1)
        rest = uow.tickets.revocations(first.event_id, after_id=listed[-1].id)
    assert [(r.token, r.reason, r.participant_id) for r in listed] == [
        ("T1", "reissued", first.id),
        ("T2", "cancelled", second.id),
        ("T4", "cancelled", first.id),
    ]
    assert [r.id for r in listed] == sorted(r.id for r in listed)
    assert (listed[0].version, listed[0].event_id, listed[0].revoked_at) == (1, first.event_id, started)
    assert [r.token for r in page] == ["T2"]
    assert rest == []
