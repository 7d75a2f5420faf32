"""``SqlConsentStore``: privacy notice versions and participants' consent records (``uow.consent``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters.db.participant_store import insert_tuples
from turnout.adapters.db.tables_consent import participant_consents as consents
from turnout.adapters.db.tables_consent import privacy_notices as notices
from turnout.domain.consent import Basis, Channel, ConsentRecord, NoticeContent, PrivacyNotice

#: consent records written per statement (well under SQLite's variable limit)
CHUNK = 500
RECORD_COLUMNS = (
    "participant_id", "event_id", "notice_version", "notice_hash", "required", "optional", "marketing",
    "channel", "basis", "given_at", "guardian_name", "guardian_contact", "guardian_consented",
)  # fmt: skip


def notice_of(row: Any) -> PrivacyNotice:
    return PrivacyNotice(
        event_id=row.event_id,
        version=int(row.version),
        content=NoticeContent.from_dict(row.content),
        hash=row.hash,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def record_of(row: Any) -> ConsentRecord:
    return ConsentRecord(
        participant_id=row.participant_id,
        event_id=row.event_id,
        notice_version=int(row.notice_version),
        notice_hash=row.notice_hash,
        required=bool(row.required),
        optional=bool(row.optional),
        marketing=bool(row.marketing),
        channel=Channel(row.channel),
        basis=Basis(row.basis),
        given_at=row.given_at,
        guardian_name=row.guardian_name,
        guardian_contact=row.guardian_contact,
        guardian_consented=bool(row.guardian_consented),
    )


def record_row(record: ConsentRecord) -> dict[str, Any]:
    return {
        "participant_id": record.participant_id,
        "event_id": record.event_id,
        "notice_version": record.notice_version,
        "notice_hash": record.notice_hash,
        "required": record.required,
        "optional": record.optional,
        "marketing": record.marketing,
        "channel": record.channel.value,
        "basis": record.basis.value,
        "given_at": record.given_at,
        "guardian_name": record.guardian_name,
        "guardian_contact": record.guardian_contact,
        "guardian_consented": record.guardian_consented,
    }


class SqlConsentStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def current_notice(self, event_id: str) -> PrivacyNotice | None:
        row = self.conn.execute(
            sa.select(notices)
            .where(notices.c.event_id == event_id)
            .order_by(notices.c.version.desc())
            .limit(1)
        ).first()
        return None if row is None else notice_of(row)

    def notices(self, event_id: str) -> list[PrivacyNotice]:
        rows = self.conn.execute(
            sa.select(notices).where(notices.c.event_id == event_id).order_by(notices.c.version.desc())
        )
        return [notice_of(row) for row in rows]

    def add_notice(self, notice: PrivacyNotice) -> None:
        self.conn.execute(
            notices.insert().values(
                event_id=notice.event_id,
                version=notice.version,
                content=notice.content.as_dict(),
                hash=notice.hash,
                created_at=notice.created_at,
                created_by=notice.created_by,
            )
        )

    def record_many(self, records: Sequence[ConsentRecord]) -> None:
        if not records:
            return
        insert = (postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert)(consents)
        statement = insert.on_conflict_do_update(
            index_elements=[consents.c.participant_id],
            set_={c.name: insert.excluded[c.name] for c in consents.c if c.name != "participant_id"},
        )
        for start in range(0, len(records), CHUNK):
            self.conn.execute(statement, [record_row(r) for r in records[start : start + CHUNK]])

    def add_new(self, records: Sequence[ConsentRecord]) -> None:
        self.add_shared([(record, (record.participant_id,)) for record in records])

    def add_shared(self, groups: Sequence[tuple[ConsentRecord, Sequence[str]]]) -> None:
        sqlite_text = self.conn.dialect.name != "postgresql"
        rows: list[tuple[Any, ...]] = []
        for r, participant_ids in groups:
            given_at = r.given_at.astimezone(UTC)
            rest = (  # the columns after participant_id, in RECORD_COLUMNS order
                r.event_id,
                r.notice_version,
                r.notice_hash,
                r.required,
                r.optional,
                r.marketing,
                r.channel.value,
                r.basis.value,
                given_at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite_text else given_at,
                r.guardian_name,
                r.guardian_contact,
                r.guardian_consented,
            )
            rows.extend((participant_id, *rest) for participant_id in participant_ids)
        insert_tuples(self.conn, consents, RECORD_COLUMNS, rows)

    def of_participant(self, participant_id: str) -> ConsentRecord | None:
        row = self.conn.execute(
            sa.select(consents).where(consents.c.participant_id == participant_id)
        ).first()
        return None if row is None else record_of(row)

    def of_participants(self, participant_ids: Sequence[str]) -> dict[str, ConsentRecord]:
        found: dict[str, ConsentRecord] = {}
        ids = list(participant_ids)
        for start in range(0, len(ids), CHUNK):
            rows = self.conn.execute(
                sa.select(consents).where(consents.c.participant_id.in_(ids[start : start + CHUNK]))
            )
            found.update((row.participant_id, record_of(row)) for row in rows)
        return found
