"""A fake of ``ports.CrowdAlarmStore`` (crowd safety's alarm state per area)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from turnout.domain.crowd import CrowdLevel
from turnout.domain.events import Event, EventStatus

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeCrowdAlarms:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[tuple[str, str], CrowdLevel]:
        rows: dict[tuple[str, str], CrowdLevel] = self._db.table("crowd_alarms")
        return rows

    def live_event_ids(self) -> list[str]:
        events: dict[str, Event] = self._db.table("events")
        return sorted(event.id for event in events.values() if event.status is EventStatus.LIVE)

    def fired(self, event_id: str) -> dict[str, CrowdLevel]:
        return {area: level for (event, area), level in self._rows.items() if event == event_id}

    def set_fired(self, event_id: str, area: str, level: CrowdLevel, *, now: datetime) -> None:
        if level is CrowdLevel.OK:
            self._rows.pop((event_id, area), None)
        else:
            self._rows[(event_id, area)] = level
