"""Repositories: the queries each aggregate needs, over one shared connection (see ``uow.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.domain.access import Principal, Role
from turnout.domain.events import Event, EventStatus, Gate, GateDirection, ScanMethod
from turnout.ports import AuditEntry, Clock, KeyInfo


def is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def event_from_row(row: Any) -> Event:
    return Event(
        id=row.id,
        name=row.name,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        venue=row.venue,
        capacity=row.capacity,
        min_age=row.min_age,
        locale=row.locale,
        status=EventStatus(row.status),
        allow_reentry=bool(row.allow_reentry),
        dedup_by_phone=bool(row.dedup_by_phone),
        settings=dict(row.settings or {}),
    )


def gate_from_row(row: Any) -> Gate:
    return Gate(
        id=row.id,
        event_id=row.event_id,
        name=row.name,
        direction=GateDirection(row.direction),
        methods=tuple(ScanMethod(m) for m in row.methods),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        location=row.location,
        capacity=row.capacity,
    )


class EventRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, event: Event, *, now: datetime) -> None:
        self.conn.execute(
            t.events.insert().values(
                id=event.id,
                name=event.name,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                timezone=event.timezone,
                venue=event.venue,
                capacity=event.capacity,
                min_age=event.min_age,
                locale=event.locale,
                status=event.status.value,
                allow_reentry=event.allow_reentry,
                dedup_by_phone=event.dedup_by_phone,
                settings=event.settings,
                created_at=now,
                updated_at=now,
            )
        )

    def get(self, event_id: str, *, for_update: bool = False) -> Event | None:
        query = sa.select(t.events).where(t.events.c.id == event_id)
        if for_update and is_postgres(self.conn):
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return event_from_row(row) if row else None

    def set_status(self, event_id: str, status: EventStatus, *, now: datetime) -> None:
        self.conn.execute(
            t.events.update().where(t.events.c.id == event_id).values(status=status.value, updated_at=now)
        )

    def update(self, event: Event, *, now: datetime) -> None:
        self.conn.execute(
            t.events.update()
            .where(t.events.c.id == event.id)
            .values(
                name=event.name,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                timezone=event.timezone,
                venue=event.venue,
                capacity=event.capacity,
                min_age=event.min_age,
                locale=event.locale,
                settings=event.settings,
                updated_at=now,
            )
        )

    def list(self, *, after_id: str | None, limit: int, only_ids: Sequence[str] | None = None) -> list[Event]:
        query = sa.select(t.events).order_by(t.events.c.id).limit(limit)
        if after_id:
            query = query.where(t.events.c.id > after_id)
        if only_ids is not None:
            query = query.where(t.events.c.id.in_(list(only_ids)))
        return [event_from_row(r) for r in self.conn.execute(query)]


class GateRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, gate: Gate, *, now: datetime) -> None:
        self.conn.execute(
            t.gates.insert().values(
                id=gate.id,
                event_id=gate.event_id,
                name=gate.name,
                direction=gate.direction.value,
                methods=[m.value for m in gate.methods],
                opens_at=gate.opens_at,
                closes_at=gate.closes_at,
                location=gate.location,
                capacity=gate.capacity,
                created_at=now,
            )
        )

    def get(self, gate_id: str) -> Gate | None:
        row = self.conn.execute(sa.select(t.gates).where(t.gates.c.id == gate_id)).first()
        return gate_from_row(row) if row else None

    def list_for_event(self, event_id: str, *, after_id: str | None = None, limit: int = 1000) -> list[Gate]:
        query = sa.select(t.gates).where(t.gates.c.event_id == event_id).order_by(t.gates.c.id).limit(limit)
        if after_id:
            query = query.where(t.gates.c.id > after_id)
        return [gate_from_row(r) for r in self.conn.execute(query)]

    def update(self, gate: Gate) -> bool:
        result = self.conn.execute(
            t.gates.update()
            .where(t.gates.c.id == gate.id)
            .values(
                name=gate.name,
                direction=gate.direction.value,
                methods=[m.value for m in gate.methods],
                opens_at=gate.opens_at,
                closes_at=gate.closes_at,
                location=gate.location,
                capacity=gate.capacity,
            )
        )
        return result.rowcount == 1


def key_info_from_row(row: Any) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        name=row.name,
        role=Role(row.role),
        event_id=row.event_id,
        gate_id=row.gate_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class ApiKeyRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        key_id: str,
        secret_hash: str,
        name: str,
        role: Role,
        event_id: str | None,
        gate_id: str | None,
        now: datetime,
    ) -> None:
        self.conn.execute(
            t.api_keys.insert().values(
                id=key_id,
                secret_hash=secret_hash,
                name=name,
                role=role.value,
                event_id=event_id,
                gate_id=gate_id,
                created_at=now,
            )
        )

    def find(self, key_id: str) -> tuple[str, Principal] | None:
        row = self.conn.execute(
            sa.select(t.api_keys).where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        principal = Principal(
            key_id=row.id, name=row.name, role=Role(row.role), event_id=row.event_id, gate_id=row.gate_id
        )
        return row.secret_hash, principal

    def count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(t.api_keys)).scalar_one())

    def list_all(self) -> list[dict[str, Any]]:
        columns = [c for c in t.api_keys.c if c.name != "secret_hash"]
        rows = self.conn.execute(sa.select(*columns).order_by(t.api_keys.c.created_at))
        return [dict(r._mapping) for r in rows]

    def revoke(self, key_id: str, *, now: datetime) -> bool:
        result = self.conn.execute(
            t.api_keys.update()
            .where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    def describe(self, key_id: str) -> KeyInfo | None:
        columns = [c for c in t.api_keys.c if c.name != "secret_hash"]
        row = self.conn.execute(sa.select(*columns).where(t.api_keys.c.id == key_id)).first()
        return key_info_from_row(row) if row else None

    def list_for_event(self, event_id: str) -> list[KeyInfo]:
        columns = [c for c in t.api_keys.c if c.name != "secret_hash"]
        rows = self.conn.execute(
            sa.select(*columns)
            .where(t.api_keys.c.event_id == event_id)
            .order_by(t.api_keys.c.created_at, t.api_keys.c.id)
        )
        return [key_info_from_row(r) for r in rows]

    def add_session(self, *, id_hash: str, key_id: str, now: datetime, expires_at: datetime) -> None:
        self.conn.execute(
            t.console_sessions.insert().values(
                id_hash=id_hash, key_id=key_id, created_at=now, expires_at=expires_at
            )
        )

    def find_session(self, id_hash: str, *, now: datetime) -> tuple[datetime, Principal] | None:
        s, k = t.console_sessions, t.api_keys
        row = self.conn.execute(
            sa.select(s.c.expires_at, k)
            .join(k, k.c.id == s.c.key_id)
            .where(s.c.id_hash == id_hash, s.c.expires_at > now, k.c.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        principal = Principal(
            key_id=row.id, name=row.name, role=Role(row.role), event_id=row.event_id, gate_id=row.gate_id
        )
        return row.expires_at, principal

    def delete_session(self, id_hash: str) -> None:
        self.conn.execute(t.console_sessions.delete().where(t.console_sessions.c.id_hash == id_hash))

    def delete_expired_sessions(self, *, now: datetime) -> int:
        result = self.conn.execute(t.console_sessions.delete().where(t.console_sessions.c.expires_at <= now))
        return result.rowcount


class AuditLog:
    def __init__(self, conn: sa.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        event_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            t.audit_log.insert().values(
                at=self.clock.now(),
                actor=actor,
                action=action,
                event_id=event_id,
                subject_type=subject_type,
                subject_id=subject_id,
                data=data or {},
            )
        )

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        at = self.clock.now()
        from turnout.adapters.db.participant_store import bulk_insert

        bulk_insert(
            self.conn,
            t.audit_log,
            [
                {
                    "at": at,
                    "actor": e.actor,
                    "action": e.action,
                    "event_id": e.event_id,
                    "subject_type": e.subject_type,
                    "subject_id": e.subject_id,
                    "data": e.data or {},
                }
                for e in entries
            ],
        )

    def for_subject(self, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            sa.select(t.audit_log)
            .where(t.audit_log.c.subject_type == subject_type, t.audit_log.c.subject_id == subject_id)
            .order_by(t.audit_log.c.id)
        )
        return [dict(r._mapping) for r in rows]


class IdempotencyStore:
    """Stored answers for requests that carry an ``Idempotency-Key``."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, scope: str, key: str) -> tuple[str, int, Any] | None:
        row = self.conn.execute(
            sa.select(t.idempotency_keys).where(
                t.idempotency_keys.c.scope == scope, t.idempotency_keys.c.key == key
            )
        ).first()
        if row is None:
            return None
        return row.request_hash, row.status_code, row.response

    def put(
        self, scope: str, key: str, *, request_hash: str, status_code: int, response: Any, now: datetime
    ) -> None:
        self.conn.execute(
            t.idempotency_keys.insert().values(
                scope=scope,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
                created_at=now,
            )
        )
