"""Editing an event (``services.events.update_event``) and the day the event page counts
(``services.statistics.local_day``), on the fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.domain.errors import Conflict, ValidationFailed
from turnout.domain.events import EventStatus
from turnout.services.events import change_status, create_event, get_event, update_event
from turnout.services.statistics import local_day

BASE: dict[str, Any] = {
    "name": "행사",
    "starts_at": datetime(2026, 6, 1, 9),
    "ends_at": datetime(2026, 6, 1, 18),
    "timezone": "Asia/Seoul",
    "venue": "코엑스",
    "capacity": 100,
    "min_age": 14,
    "locale": "ko",
}


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


def new_event(uows: FakeUnitOfWorkFactory) -> str:
    with uows() as uow:
        event = create_event(uow, actor="t", **BASE)
        uow.commit()
    return event.id


def test_update_replaces_the_facts_and_audits_the_changed_fields_when_valid(
    uows: FakeUnitOfWorkFactory,
) -> None:
    event_id = new_event(uows)
    with uows() as uow:
        changed = update_event(
            uow,
            actor="t",
            event_id=event_id,
            **{**BASE, "name": " 새 이름 ", "timezone": "Asia/Shanghai", "capacity": None},
            settings={"privacy_contact": "privacy@example.kr"},
        )
        uow.commit()
    with uows(readonly=True) as uow:
        stored = get_event(uow, event_id=event_id)
        entries = [e for e in uow.audit.for_subject("event", event_id) if e["action"] == "event.updated"]
    assert stored == changed
    assert (stored.name, stored.timezone, stored.capacity) == ("새 이름", "Asia/Shanghai", None)
    assert stored.starts_at == datetime(2026, 6, 1, 1, tzinfo=UTC)  # 09:00 read in Shanghai
    assert stored.settings == {"privacy_contact": "privacy@example.kr"}
    assert stored.status is EventStatus.DRAFT
    assert entries[0]["data"]["fields"] == [
        "name",
        "starts_at",
        "ends_at",
        "timezone",
        "capacity",
        "settings",
    ]


def test_update_is_refused_by_the_create_rules_and_for_archived_events(uows: FakeUnitOfWorkFactory) -> None:
    event_id = new_event(uows)
    with uows() as uow, pytest.raises(ValidationFailed) as refused:
        update_event(
            uow, actor="t", event_id=event_id, **{**BASE, "ends_at": datetime(2026, 6, 1, 8), "locale": "fr"}
        )
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("ends_at", "ends_before_start"),
        ("locale", "invalid_locale"),
    }
    with uows() as uow:
        for step in (EventStatus.CANCELLED, EventStatus.ARCHIVED):
            change_status(uow, event_id=event_id, status=step, actor="t")
        uow.commit()
    with uows() as uow, pytest.raises(Conflict) as read_only:
        update_event(uow, actor="t", event_id=event_id, **BASE)
    assert read_only.value.code == "event_read_only"


@pytest.mark.parametrize(
    ("moment", "zone", "hours"),
    [
        (datetime(2026, 6, 1, 15, 30, tzinfo=UTC), "Asia/Seoul", 24),  # 00:30 on 2 June in Seoul
        (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), "Europe/Berlin", 23),  # clocks go forward
        (datetime(2026, 10, 25, 12, 0, tzinfo=UTC), "Europe/Berlin", 25),  # clocks go back
    ],
)
def test_local_day_starts_at_local_midnight_when_counted_in_the_events_zone(
    moment: datetime, zone: str, hours: int
) -> None:
    since, until = local_day(moment, zone)
    assert since <= moment < until
    assert (since.hour, since.minute, until.hour) == (0, 0, 0)
    assert until.astimezone(UTC) - since.astimezone(UTC) == timedelta(hours=hours)
