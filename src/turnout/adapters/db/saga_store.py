"""``SqlSagaStore`` and ``SqlAlertStore``: ``ports.SagaStore`` and ``ports.AlertStore`` over the unit of
work's connection (tables: ``tables_sagas.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db.tables_integrations import outbound_deliveries
from turnout.adapters.db.tables_sagas import alerts, saga_locks, saga_steps, sagas
from turnout.adapters.db.upsert import insert_for
from turnout.domain.integrations import DeliveryStatus
from turnout.domain.sagas import Alert, Saga, SagaKind, SagaState, StepKind, StepRecord, StepState

_S = sagas.c
_T = saga_steps.c
_L = saga_locks.c
_A = alerts.c
_ACTIVE = (SagaState.RUNNING.value, SagaState.COMPENSATING.value)


class SqlSagaStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # --- locks -------------------------------------------------------------------------------------

    def lock(self, resource: str, *, saga_id: str, now: datetime, expires_at: datetime) -> str | None:
        # insert, or take over a lock whose saga was lost (expired); on PostgreSQL a concurrent
        # taker waits for this transaction and then finds the lock held
        upsert = insert_for(self.conn, saga_locks).values(
            resource=resource, saga_id=saga_id, expires_at=expires_at
        )
        taken = self.conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[_L.resource],
                set_={"saga_id": saga_id, "expires_at": expires_at},
                where=_L.expires_at < now,
            ).returning(_L.saga_id)
        ).scalar()
        if taken is not None:  # inserted or taken over: one statement on the usual path
            return None
        holder = self.conn.execute(sa.select(_L.saga_id).where(_L.resource == resource)).scalar_one()
        return None if holder == saga_id else str(holder)

    def unlock(self, resource: str, *, saga_id: str) -> None:
        self.conn.execute(saga_locks.delete().where(_L.resource == resource, _L.saga_id == saga_id))

    # --- sagas -------------------------------------------------------------------------------------

    def add(self, saga: Saga, *, wake_at: datetime) -> None:
        self.conn.execute(sagas.insert().values(**_saga_row(saga), wake_at=wake_at))
        self.conn.execute(saga_steps.insert(), [_step_row(saga.id, step) for step in saga.steps])

    def save(self, saga: Saga, *, wake_at: datetime) -> None:
        self.conn.execute(sagas.update().where(_S.id == saga.id).values(**_saga_row(saga), wake_at=wake_at))
        self.conn.execute(_STEP_UPDATE, [_step_params(saga.id, step) for step in saga.steps])

    def get_many(self, saga_ids: Sequence[str], *, for_update: bool = False) -> list[Saga]:
        if not saga_ids:
            return []
        query = sa.select(sagas).where(_S.id.in_(sorted(saga_ids))).order_by(_S.id)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return self._with_steps(list(self.conn.execute(query)))

    def save_many(self, moved: Sequence[tuple[Saga, datetime]], *, worker: str) -> None:
        if not moved:
            return
        self.conn.execute(
            _SAGA_UPDATE,
            [
                {
                    **{f"v_{k}": v for k, v in _saga_row(saga).items() if k != "id"},
                    "k_id": saga.id,
                    "v_wake_at": wake_at,
                }
                for saga, wake_at in moved
            ],
        )
        self.conn.execute(
            _STEP_UPDATE, [_step_params(saga.id, step) for saga, _ in moved for step in saga.steps]
        )
        self.conn.execute(
            sagas.update()
            .where(_S.id.in_([saga.id for saga, _ in moved]), _S.leased_by == worker)
            .values(lease_until=None, leased_by=None)
        )

    def get(self, saga_id: str, *, for_update: bool = False) -> Saga | None:
        query = sa.select(sagas).where(_S.id == saga_id)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            return None
        return self._with_steps([row])[0]

    def find(
        self, *, event_id: str | None = None, states: Sequence[str] = (), limit: int = 100
    ) -> list[Saga]:
        query = sa.select(sagas).order_by(_S.created_at.desc(), _S.id.desc()).limit(limit)
        if event_id is not None:
            query = query.where(_S.event_id == event_id)
        if states:
            query = query.where(_S.state.in_(list(states)))
        return self._with_steps(list(self.conn.execute(query)))

    def due(self, *, now: datetime, limit: int) -> list[str]:
        free = sa.or_(_S.lease_until.is_(None), _S.lease_until < now)
        woken = list(  # their wait is up
            self.conn.execute(
                sa.select(_S.id)
                .where(_S.state.in_(_ACTIVE), _S.wake_at <= now, free)
                .order_by(_S.wake_at)
                .limit(limit)
            ).scalars()
        )
        if len(woken) == limit:
            return woken
        d = outbound_deliveries.c
        answered = self.conn.execute(  # the delivery they wait for has an answer
            sa.select(_S.id)
            .select_from(
                sagas.join(saga_steps, _T.saga_id == _S.id).join(outbound_deliveries, d.id == _T.delivery_id)
            )
            .where(
                _S.state.in_(_ACTIVE),
                _S.wake_at > now,
                free,
                _T.state.in_((StepState.WAITING.value, StepState.UNDOING.value)),
                sa.or_(
                    d.status.in_((DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value)),
                    d.last_status_code.between(400, 499),
                ),
            )
            .limit(limit - len(woken))
        ).scalars()
        return woken + list(answered)

    def lease(
        self, saga_ids: Sequence[str], *, now: datetime, lease_seconds: float, worker: str
    ) -> list[str]:
        if not saga_ids:
            return []
        ids = list(saga_ids)
        lease_until = now + timedelta(seconds=lease_seconds)
        won = self.conn.execute(
            sagas.update()
            .where(_S.id.in_(ids), sa.or_(_S.lease_until.is_(None), _S.lease_until < now))
            .values(lease_until=lease_until, leased_by=worker)
            .returning(_S.id)
        ).scalars()
        return list(won)

    def release(self, saga_id: str, *, worker: str) -> None:
        self.conn.execute(
            sagas.update()
            .where(_S.id == saga_id, _S.leased_by == worker)
            .values(lease_until=None, leased_by=None)
        )

    def counts(self) -> dict[tuple[str, str], int]:
        return {
            (kind, state): int(n)
            for kind, state, n in self.conn.execute(
                sa.select(_S.kind, _S.state, sa.func.count()).group_by(_S.kind, _S.state)
            )
        }

    def _with_steps(self, rows: list[Any]) -> list[Saga]:
        if not rows:
            return []
        steps: dict[str, list[StepRecord]] = {}
        for r in self.conn.execute(
            sa.select(saga_steps)
            .where(_T.saga_id.in_([row.id for row in rows]))
            .order_by(_T.saga_id, _T.position)
        ):
            steps.setdefault(r.saga_id, []).append(
                StepRecord(
                    index=r.position,
                    name=r.name,
                    kind=StepKind(r.kind),
                    state=StepState(r.state),
                    attempts=r.attempts,
                    error=r.error,
                    delivery_id=r.delivery_id,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                )
            )
        return [
            Saga(
                id=row.id,
                kind=SagaKind(row.kind),
                event_id=row.event_id,
                resource=row.resource,
                state=SagaState(row.state),
                data=dict(row.data),
                steps=steps.get(row.id, []),
                deadline=row.deadline,
                created_at=row.created_at,
                updated_at=row.updated_at,
                error=row.error,
                actor=row.actor,
                finished_at=row.finished_at,
            )
            for row in rows
        ]


def _saga_row(saga: Saga) -> dict[str, Any]:
    return {
        "id": saga.id,
        "kind": saga.kind.value,
        "event_id": saga.event_id,
        "resource": saga.resource,
        "state": saga.state.value,
        "data": saga.data,
        "error": saga.error,
        "actor": saga.actor,
        "deadline": saga.deadline,
        "created_at": saga.created_at,
        "updated_at": saga.updated_at,
        "finished_at": saga.finished_at,
    }


_SAGA_VALUES = (
    "kind",
    "event_id",
    "resource",
    "state",
    "data",
    "error",
    "actor",
    "deadline",
    "created_at",
    "updated_at",
    "finished_at",
    "wake_at",
)
# many sagas in one executemany (parameters ``k_id`` and ``v_<column>``)
_SAGA_UPDATE = (
    sagas.update()
    .where(_S.id == sa.bindparam("k_id"))
    .values({n: sa.bindparam(f"v_{n}") for n in _SAGA_VALUES})
)
_STEP_VALUES = ("name", "kind", "state", "attempts", "error", "delivery_id", "started_at", "finished_at")
# every step of a saga in one executemany (parameters: ``_step_params``)
_STEP_UPDATE = (
    saga_steps.update()
    .where(_T.saga_id == sa.bindparam("k_saga_id"), _T.position == sa.bindparam("k_position"))
    .values({name: sa.bindparam(f"v_{name}") for name in _STEP_VALUES})
)


def _step_row(saga_id: str, step: StepRecord) -> dict[str, Any]:
    return {
        "saga_id": saga_id,
        "position": step.index,
        "name": step.name,
        "kind": step.kind.value,
        "state": step.state.value,
        "attempts": step.attempts,
        "error": step.error,
        "delivery_id": step.delivery_id,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def _step_params(saga_id: str, step: StepRecord) -> dict[str, Any]:
    row = _step_row(saga_id, step)
    return {"k_saga_id": saga_id, "k_position": step.index, **{f"v_{n}": row[n] for n in _STEP_VALUES}}


class SqlAlertStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, alert: Alert) -> None:
        self.conn.execute(
            alerts.insert().values(
                id=alert.id,
                event_id=alert.event_id,
                saga_id=alert.saga_id,
                code=alert.code,
                message=alert.message,
                details=alert.details,
                state=alert.state,
                created_at=alert.created_at,
            )
        )

    def get(self, alert_id: str) -> Alert | None:
        row = self.conn.execute(sa.select(alerts).where(_A.id == alert_id)).first()
        return None if row is None else _alert(row)

    def find(self, *, state: str | None = None, event_id: str | None = None, limit: int = 100) -> list[Alert]:
        query = sa.select(alerts).order_by(_A.created_at.desc(), _A.id.desc()).limit(limit)
        if state is not None:
            query = query.where(_A.state == state)
        if event_id is not None:
            query = query.where(_A.event_id == event_id)
        return [_alert(r) for r in self.conn.execute(query)]

    def due_for_email(self, *, now: datetime, limit: int, max_attempts: int) -> list[Alert]:
        rows = self.conn.execute(
            sa.select(alerts)
            .where(
                _A.state == "open",
                _A.emailed_at.is_(None),
                _A.email_attempts < max_attempts,
                sa.or_(_A.email_next_at.is_(None), _A.email_next_at <= now),
            )
            .order_by(_A.created_at)
            .limit(limit)
        )
        return [_alert(r) for r in rows]

    def record_email(
        self, alert_id: str, *, now: datetime, error: str | None, next_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"email_attempts": _A.email_attempts + 1, "email_error": error}
        if error is None:
            values["emailed_at"] = now
        else:
            values["email_next_at"] = next_at
        self.conn.execute(alerts.update().where(_A.id == alert_id).values(**values))

    def acknowledge(self, alert_id: str, *, by: str, now: datetime) -> bool:
        result = self.conn.execute(
            alerts.update()
            .where(_A.id == alert_id, _A.state == "open")
            .values(state="acknowledged", acknowledged_at=now, acknowledged_by=by)
        )
        return bool(result.rowcount)


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        event_id=row.event_id,
        saga_id=row.saga_id,
        code=row.code,
        message=row.message,
        details=dict(row.details),
        state=row.state,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        email_attempts=row.email_attempts,
        emailed_at=row.emailed_at,
        email_error=row.email_error,
    )
