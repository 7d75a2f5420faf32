"""In-memory ``SagaStore`` and ``AlertStore`` (``ports``), over a ``FakeDatabase``."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from turnout.domain.integrations import DeliveryStatus
from turnout.domain.sagas import ALERT_ACKNOWLEDGED, ALERT_OPEN, Alert, Saga, SagaState, StepState

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase

_ACTIVE = (SagaState.RUNNING, SagaState.COMPENSATING)


@dataclass
class _SagaRow:
    saga: Saga
    wake_at: datetime
    lease_until: datetime | None = None
    leased_by: str | None = None


class FakeSagaStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, _SagaRow]:
        rows: dict[str, _SagaRow] = self._db.table("sagas")
        return rows

    @property
    def _locks(self) -> dict[str, tuple[str, datetime]]:
        locks: dict[str, tuple[str, datetime]] = self._db.table("saga_locks")
        return locks

    def lock(self, resource: str, *, saga_id: str, now: datetime, expires_at: datetime) -> str | None:
        held = self._locks.get(resource)
        if held is not None and held[1] >= now and held[0] != saga_id:
            return held[0]
        self._locks[resource] = (saga_id, expires_at)
        return None

    def unlock(self, resource: str, *, saga_id: str) -> None:
        if self._locks.get(resource, ("", None))[0] == saga_id:
            del self._locks[resource]

    def add(self, saga: Saga, *, wake_at: datetime) -> None:
        self._rows[saga.id] = _SagaRow(copy.deepcopy(saga), wake_at)

    def save(self, saga: Saga, *, wake_at: datetime) -> None:
        row = self._rows[saga.id]
        row.saga, row.wake_at = copy.deepcopy(saga), wake_at

    def get_many(self, saga_ids: Sequence[str], *, for_update: bool = False) -> list[Saga]:
        return [copy.deepcopy(self._rows[i].saga) for i in sorted(saga_ids) if i in self._rows]

    def save_many(self, moved: Sequence[tuple[Saga, datetime]], *, worker: str) -> None:
        for saga, wake_at in moved:
            self.save(saga, wake_at=wake_at)
            self.release(saga.id, worker=worker)

    def get(self, saga_id: str, *, for_update: bool = False) -> Saga | None:
        row = self._rows.get(saga_id)
        return None if row is None else copy.deepcopy(row.saga)

    def find(
        self, *, event_id: str | None = None, states: Sequence[str] = (), limit: int = 100
    ) -> list[Saga]:
        found = [
            copy.deepcopy(r.saga)
            for r in self._rows.values()
            if (event_id is None or r.saga.event_id == event_id)
            and (not states or r.saga.state.value in states)
        ]
        found.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return found[:limit]

    def due(self, *, now: datetime, limit: int) -> list[str]:
        found = sorted(
            (
                r
                for r in self._rows.values()
                if r.saga.state in _ACTIVE
                and r.wake_at <= now
                and (r.lease_until is None or r.lease_until < now)
            ),
            key=lambda r: r.wake_at,
        )[:limit]
        answered = {  # deliveries with an answer (the fake outbound store's rows)
            d.id
            for d in self._db.tables.get("outbound_deliveries", [])
            if d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD)
            or (d.last_status_code is not None and 400 <= d.last_status_code < 500)
        }
        waiting = (StepState.WAITING, StepState.UNDOING)
        found += [
            r
            for r in self._rows.values()
            if r.saga.state in _ACTIVE
            and r.wake_at > now
            and (r.lease_until is None or r.lease_until < now)
            and any(s.state in waiting and s.delivery_id in answered for s in r.saga.steps)
        ][: limit - len(found)]
        return [r.saga.id for r in found]

    def lease(
        self, saga_ids: Sequence[str], *, now: datetime, lease_seconds: float, worker: str
    ) -> list[str]:
        won = []
        for saga_id in saga_ids:
            r = self._rows[saga_id]
            if r.lease_until is None or r.lease_until < now:
                r.lease_until, r.leased_by = now + timedelta(seconds=lease_seconds), worker
                won.append(saga_id)
        return won

    def release(self, saga_id: str, *, worker: str) -> None:
        row = self._rows.get(saga_id)
        if row is not None and row.leased_by == worker:
            row.lease_until, row.leased_by = None, None

    def counts(self) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for r in self._rows.values():
            key = (r.saga.kind.value, r.saga.state.value)
            found[key] = found.get(key, 0) + 1
        return found


class FakeAlertStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _rows(self) -> dict[str, Alert]:
        rows: dict[str, Alert] = self._db.table("alerts")
        return rows

    def add(self, alert: Alert) -> None:
        self._rows[alert.id] = copy.deepcopy(alert)

    def get(self, alert_id: str) -> Alert | None:
        found = self._rows.get(alert_id)
        return None if found is None else copy.deepcopy(found)

    def find(self, *, state: str | None = None, event_id: str | None = None, limit: int = 100) -> list[Alert]:
        found = [
            copy.deepcopy(a)
            for a in self._rows.values()
            if (state is None or a.state == state) and (event_id is None or a.event_id == event_id)
        ]
        found.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        return found[:limit]

    def due_for_email(self, *, now: datetime, limit: int, max_attempts: int) -> list[Alert]:
        due = [
            copy.deepcopy(a)
            for a in sorted(self._rows.values(), key=lambda a: a.created_at)
            if a.state == ALERT_OPEN
            and a.emailed_at is None
            and a.email_attempts < max_attempts
            and self._next_at.get(a.id, now) <= now
        ]
        return due[:limit]

    @property
    def _next_at(self) -> dict[str, datetime]:
        found: dict[str, datetime] = self._db.table("alert_email_next_at")
        return found

    def record_email(
        self, alert_id: str, *, now: datetime, error: str | None, next_at: datetime | None
    ) -> None:
        alert = self._rows[alert_id]
        alert.email_attempts += 1
        alert.email_error = error
        if error is None:
            alert.emailed_at = now
        elif next_at is not None:
            self._next_at[alert_id] = next_at

    def acknowledge(self, alert_id: str, *, by: str, now: datetime) -> bool:
        alert = self._rows.get(alert_id)
        if alert is None or alert.state != ALERT_OPEN:
            return False
        alert.state, alert.acknowledged_at, alert.acknowledged_by = ALERT_ACKNOWLEDGED, now, by
        return True
