"""``SqlParticipantExport``: the participant export's reads (``ports.ParticipantExportReader``).

A page is one query: the participants joined to their consent record, as plain tuples in
``ports.EXPORT_FIELDS`` order (no ``Participant`` objects: an export reads 100,000s of rows). The
filter is the list's own (``participant_store.filter_terms``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.participant_store import filter_terms
from turnout.adapters.db.tables_consent import participant_consents
from turnout.domain.participants import ParticipantFilter
from turnout.ports import ExportRecord

P = t.participants
C = participant_consents

_COLUMNS = (
    P.c.id,
    P.c.name,
    P.c.email,
    P.c.phone,
    P.c.birth_date,
    P.c.region,
    P.c.organization,
    P.c.gender,
    P.c.locale,
    P.c.status,
    P.c.check_in_status,
    P.c.first_checked_in_at,
    P.c.last_scan_at,
    P.c.created_at,
    C.c.channel,
    C.c.basis,
    C.c.optional,
    C.c.marketing,
    C.c.given_at,
    C.c.notice_version,
    P.c.custom_fields,
)


class SqlParticipantExport:
    """``ports.ParticipantExportReader`` over the unit of work's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def custom_field_keys(self, event_id: str, where: ParticipantFilter) -> list[str]:
        if self.conn.dialect.name == "postgresql":
            keys: Any = (
                sa.func.jsonb_object_keys(P.c.custom_fields).table_valued("key").render_derived()
            )
        else:
            keys = sa.func.json_each(P.c.custom_fields).table_valued("key")
        query = (
            sa.select(keys.c.key)
            .select_from(P.join(keys, sa.true()))
            .where(P.c.event_id == event_id, *filter_terms(where))
            .group_by(keys.c.key)
            .order_by(sa.func.min(P.c.id), keys.c.key)
        )
        return [str(key) for key in self.conn.execute(query).scalars()]

    def page(
        self, event_id: str, where: ParticipantFilter, *, after_id: str | None, limit: int
    ) -> list[ExportRecord]:
        query = (
            sa.select(*_COLUMNS)
            .select_from(P.outerjoin(C, C.c.participant_id == P.c.id))
            .where(P.c.event_id == event_id, *filter_terms(where))
            .order_by(P.c.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(P.c.id > after_id)
        return [tuple(row) for row in self.conn.execute(query)]
