from __future__ import annotations

from datetime import datetime

import pytest

from turnout.bootstrap import Turnout, bootstrap
from turnout.domain.ids import new_id
from turnout.domain.tickets import TicketError
from turnout.services.events import create_event


def make_event(turnout: Turnout) -> str:
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="t", name="행사", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    return event.id


def test_tokens_verify_after_restart_with_the_stored_key(turnout: Turnout) -> None:
    event_id = make_event(turnout)
    participant_id = new_id()
    with turnout.uow() as uow:
        token = turnout.tickets.mint(uow, event_id=event_id, participant_id=participant_id)
        public = turnout.tickets.public_key(uow, event_id=event_id)
        uow.commit()
    restarted = bootstrap(turnout.settings, clock=turnout.clock)
    try:
        with restarted.uow() as uow:
            assert restarted.tickets.public_key(uow, event_id=event_id) == public
            claims = restarted.tickets.verify(uow, token=token, event_id=event_id)
    finally:
        restarted.close()
    assert claims.participant_id == participant_id


def test_key_made_in_a_rolled_back_transaction_is_not_used(turnout: Turnout) -> None:
    event_id = make_event(turnout)
    with turnout.uow() as uow:
        lost = turnout.tickets.mint(uow, event_id=event_id, participant_id=new_id())
        # no commit: the key pair row is rolled back and must not be cached
    with turnout.uow() as uow:
        kept = turnout.tickets.mint(uow, event_id=event_id, participant_id=new_id())
        uow.commit()
    with turnout.uow() as uow:
        turnout.tickets.verify(uow, token=kept, event_id=event_id)
        with pytest.raises(TicketError) as info:
            turnout.tickets.verify(uow, token=lost, event_id=event_id)
    assert info.value.code == "invalid_signature"
