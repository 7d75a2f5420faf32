"""``SqlTicketStore``: ``ports.TicketStore`` (ticket signing keys and the revocation list) over the unit
of work's connection, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from turnout.adapters.db.tables_mail import ticket_revocations
from turnout.adapters.db.tables_tickets import ticket_keys
from turnout.adapters.db.upsert import insert_for
from turnout.ports import Revocation


class SqlTicketStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def sealed_key(self, event_id: str) -> str | None:
        sealed = self.conn.execute(
            sa.select(ticket_keys.c.private_key_sealed).where(ticket_keys.c.event_id == event_id)
        ).scalar_one_or_none()
        return None if sealed is None else str(sealed)

    def add_key(self, *, event_id: str, public_key: str, sealed: str, now: datetime) -> None:
        self.conn.execute(
            insert_for(self.conn, ticket_keys)
            .values(event_id=event_id, public_key=public_key, private_key_sealed=sealed, created_at=now)
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    def revoke(
        self, *, event_id: str, participant_id: str, version: int, token: str, reason: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert_for(self.conn, ticket_revocations)
            .values(
                event_id=event_id,
                participant_id=participant_id,
                version=version,
                token=token,
                reason=reason,
                revoked_at=now,
            )
            .on_conflict_do_nothing(index_elements=["token"])
        )

    def revocations(
        self, event_id: str, *, after_id: int | None = None, limit: int = 1000
    ) -> list[Revocation]:
        table = ticket_revocations
        query = sa.select(table).where(table.c.event_id == event_id).order_by(table.c.id).limit(limit)
        if after_id is not None:
            query = query.where(table.c.id > after_id)
        return [
            Revocation(
                id=int(row.id),
                event_id=row.event_id,
                participant_id=row.participant_id,
                version=int(row.version),
                token=row.token,
                reason=row.reason,
                revoked_at=row.revoked_at,
            )
            for row in self.conn.execute(query)
        ]
