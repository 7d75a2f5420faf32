"""spine: events, gates, participants, keys, audit, outbox

Revision ID: 0001_spine
Revises:
Create Date: 2026-11-27 06:57:11.711866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import turnout.adapters.db.types

revision: str = "0001_spine"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_event_id"), ["event_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("venue", sa.String(length=300), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("allow_reentry", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("dedup_by_phone", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    op.create_table(
        "gates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column(
            "methods",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("opens_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closes_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_gates_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gates")),
    )
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gates_event_id"), ["event_id"], unique=False)

    op.create_table(
        "participants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("gender", sa.String(length=32), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column(
            "custom_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("check_in_status", sa.String(length=16), nullable=False),
        sa.Column("ticket_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("token", sa.String(length=200), nullable=True),
        sa.Column("email_status", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=True),
        sa.Column("first_checked_in_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_scan_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_participants_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("event_id", "email", name=op.f("uq_participants_event_id_email")),
        sa.UniqueConstraint("token", name=op.f("uq_participants_token")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index("ix_participants_event_id_phone", ["event_id", "phone"], unique=False)
        batch_op.create_index("ix_participants_event_id_status", ["event_id", "status"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("gate_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_api_keys_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_api_keys_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index("ix_participants_event_id_status")
        batch_op.drop_index("ix_participants_event_id_phone")

    op.drop_table("participants")
    with op.batch_alter_table("gates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gates_event_id"))

    op.drop_table("gates")
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_table("events")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_event_id"))

    op.drop_table("audit_log")
