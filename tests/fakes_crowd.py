"""A fake of ``ports.CrowdAlarmStore`` (crowd safety's alarm state per area)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from turnout.domain.crowd import CrowdLevel
from turnout.domain.events import Event, EventStatus

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase
    from tests.fakes_spine import FakeParticipant, FakeScan


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

    def inside_now(self, event_id: str) -> int:
        people: list[FakeParticipant] = self._db.tables.get("statistics.participants", [])
        return sum(
            1
            for p in people
            if p.event_id == event_id and p.check_in_status == "inside" and p.status != "cancelled"
        )

    def gate_moves(self, event_id: str, gate_ids: Collection[str]) -> dict[str, tuple[int, int]]:
        moves: dict[str, tuple[int, int]] = {}
        scans: list[FakeScan] = self._db.tables.get("statistics.scans", [])
        for scan in scans:
            gate_id = scan.gate_id
            if gate_id is None or scan.event_id != event_id or gate_id not in gate_ids:
                continue
            if scan.result in ("admitted", "exited"):
                admitted, exited = moves.get(gate_id, (0, 0))
                moves[gate_id] = (admitted + (scan.result == "admitted"), exited + (scan.result == "exited"))
        return moves

    def fired(self, event_id: str) -> dict[str, CrowdLevel]:
        return {area: level for (event, area), level in self._rows.items() if event == event_id}

    def set_fired(self, event_id: str, area: str, level: CrowdLevel, *, now: datetime) -> None:
        if level is CrowdLevel.OK:
            self._rows.pop((event_id, area), None)
        else:
            self._rows[(event_id, area)] = level
