"""Table definitions (SQLAlchemy Core). Alembic migrations create them; this module describes them.

Keep this file and ``migrations/versions`` in step: a test compares the migrated schema with it.
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.types import BigIntPK, JSONType, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("venue", sa.String(300)),
    sa.Column("capacity", sa.Integer),
    sa.Column("min_age", sa.Integer, nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("allow_reentry", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("dedup_by_phone", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("settings", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

gates = sa.Table(
    "gates",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("methods", JSONType, nullable=False),
    sa.Column("opens_at", UTCDateTime),
    sa.Column("closes_at", UTCDateTime),
    sa.Column("location", sa.String(300)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("capacity", sa.Integer),  # people the gate's area holds (crowd safety)
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("birth_date", sa.Date),
    sa.Column("region", sa.String(100)),
    sa.Column("organization", sa.String(200)),
    sa.Column("gender", sa.String(32)),
    sa.Column("locale", sa.String(8)),
    sa.Column("custom_fields", JSONType, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # registered | cancelled
    sa.Column("check_in_status", sa.String(16), nullable=False),  # not_checked_in | inside | exited
    sa.Column("ticket_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("token", sa.String(200), unique=True),
    sa.Column("email_status", sa.String(16), nullable=False, server_default="none"),
    sa.Column("email_error", sa.Text),
    sa.Column("source", sa.String(16), nullable=False),  # api | form | import
    sa.Column("import_id", ID),
    sa.Column("first_checked_in_at", UTCDateTime),
    sa.Column("last_scan_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("event_id", "email"),
    sa.Index("ix_participants_event_id_phone", "event_id", "phone"),
    # the console's counts (registered, checked in, inside now; the statistics' tallies) from the
    # index alone, never a walk over the event's rows (migration 0021)
    sa.Index(
        "ix_participants_event_tallies",
        "event_id",
        "status",
        "check_in_status",
        "email_status",
        "first_checked_in_at",
        "last_scan_at",
    ),
    # keyset pages of one event in id order (the export, the list): read from the index, not sorted
    sa.Index("ix_participants_event_id_id", "event_id", "id"),
    sa.Index("ix_participants_event_id_status_id", "event_id", "status", "id"),
    sa.Index("ix_participants_event_id_check_in_status_id", "event_id", "check_in_status", "id"),
    # search indexes outside this table's definition (migration 0024, per dialect): see
    # schema.SEARCH_OBJECTS and participant_store.filter_terms
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE")),
    sa.Column("gate_id", ID, sa.ForeignKey("gates.id", ondelete="CASCADE")),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(24), sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("event_id", ID, index=True),
    sa.Column("subject_type", sa.String(50), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("data", JSONType, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("data", JSONType, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
