"""``services.privacy`` over the fakes: erasure refused until the event is closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.domain.errors import DomainError
from turnout.domain.events import EventStatus
from turnout.services.events import change_status, create_event
from turnout.services.privacy import erase_event, prune_all_expired


def test_erase_is_refused_with_event_not_closed_until_the_event_is_closed() -> None:
    uows = FakeUnitOfWorkFactory(FakeClock())
    with uows() as uow:
        event = create_event(
            uow,
            actor="t",
            name="행사",
            starts_at=datetime(2026, 6, 1, 9, tzinfo=UTC),
            ends_at=datetime(2026, 6, 1, 18, tzinfo=UTC),
        )
        uow.commit()
    for next_status in (EventStatus.OPEN, EventStatus.LIVE, EventStatus.CLOSED):  # draft, open, live
        with uows() as uow:
            with pytest.raises(DomainError) as refused:
                erase_event(uow, event_id=event.id, actor="t")
            assert refused.value.code == "event_not_closed"
            change_status(uow, event_id=event.id, status=next_status, actor="t")
            uow.commit()
    with uows() as uow:
        assert erase_event(uow, event_id=event.id, actor="t")["event_id"] == event.id


def test_erase_is_refused_with_event_not_found_when_the_event_is_unknown() -> None:
    uows = FakeUnitOfWorkFactory(FakeClock())
    with uows() as uow, pytest.raises(DomainError) as refused:
        erase_event(uow, event_id="nope", actor="t")
    assert refused.value.code == "event_not_found"


def test_prune_stops_when_a_batch_deletes_nothing() -> None:
    assert prune_all_expired(FakeUnitOfWorkFactory(FakeClock()), retention_days=30) == {}
