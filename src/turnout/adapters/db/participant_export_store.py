"""``SqlParticipantExport``: the participant export's reads (``ports.ParticipantExportReader``).

A page is one query: the participants joined to their consent record, as plain tuples in
``ports.EXPORT_FIELDS`` order (no ``Participant`` objects: an export reads 100,000s of rows). The
filter is the list's own (``participant_store.filter_terms``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.participant_store import filter_terms
from turnout.adapters.db.tables_consent import participant_consents
from turnout.domain.participants import ParticipantFilter
from turnout.ports import ExportRecord

P = t.participants
C = participant_consents

_TIMES = ("first_checked_in_at", "last_scan_at", "created_at")


def _columns(postgres: bool) -> list[Any]:
    """The page's columns, read as the driver gives them (no per-value type processing: the page
    converts them itself, faster): SQLite's stored text for datetimes, dates and JSON; PostgreSQL's
    aware datetimes and dates, and JSON as text (parsed by orjson)."""
    raw_time = sa.DateTime(timezone=True) if postgres else sa.String()

    def time(column: Any, name: str) -> Any:
        return sa.type_coerce(column, raw_time).label(name)

    return [
        P.c.id,
        P.c.name,
        P.c.email,
        P.c.phone,
        P.c.birth_date if postgres else sa.type_coerce(P.c.birth_date, sa.String()).label("birth_date"),
        P.c.region,
        P.c.organization,
        P.c.gender,
        P.c.locale,
        P.c.status,
        P.c.check_in_status,
        *(time(P.c[name], name) for name in _TIMES),
        C.c.channel,
        C.c.basis,
        C.c.optional,
        C.c.marketing,
        time(C.c.given_at, "given_at"),
        C.c.notice_version,
        sa.cast(P.c.custom_fields, sa.Text()).label("custom_fields")
        if postgres
        else sa.type_coerce(P.c.custom_fields, sa.String()).label("custom_fields"),
    ]


def _sqlite_time(text: str | None) -> datetime | None:
    # stored as UTC without an offset; appending one is several times faster than .replace(tzinfo=)
    return None if text is None else datetime.fromisoformat(text + "+00:00")


def _sqlite_record(row: Any) -> ExportRecord:
    (pid, name, email, phone, birth, region, org, gender, locale, status, check_in,
     first, last, created, channel, basis, optional, marketing, given, version, custom) = row  # fmt: skip
    return (
        pid, name, email, phone, None if birth is None else date.fromisoformat(birth), region, org,
        gender, locale, status, check_in, _sqlite_time(first), _sqlite_time(last), _sqlite_time(created),
        channel, basis, None if optional is None else bool(optional),
        None if marketing is None else bool(marketing), _sqlite_time(given), version,
        orjson.loads(custom) if custom else {},
    )  # fmt: skip


def _postgres_record(row: Any) -> ExportRecord:
    custom = row[-1]
    return (*row[:-1], orjson.loads(custom) if custom else {})


class SqlParticipantExport:
    """``ports.ParticipantExportReader`` over the unit of work's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    def custom_field_keys(self, event_id: str, where: ParticipantFilter) -> list[str]:
        if self._postgres:
            keys: Any = sa.func.jsonb_object_keys(P.c.custom_fields).table_valued("key").render_derived()
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
        # (event_id, id) is indexed (ix_participants_event_id_id): a page is read in index order
        query = (
            sa.select(*_columns(self._postgres))
            .select_from(P.outerjoin(C, C.c.participant_id == P.c.id))
            .where(P.c.event_id == event_id, *filter_terms(where))
            .order_by(P.c.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(P.c.id > after_id)
        rows = self.conn.execute(query).all()
        record = _postgres_record if self._postgres else _sqlite_record
        return [record(row) for row in rows]
