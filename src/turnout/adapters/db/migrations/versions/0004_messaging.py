"""messaging: relay cursors, message deliveries, cache versions

Revision ID: 0004_messaging
Revises: 0003_scans
Create Date: 2026-11-27 07:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import turnout.adapters.db.types

revision: str = "0004_messaging"
down_revision: str | Sequence[str] | None = "0003_scans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_cursors",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("handled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_relay_cursors")),
    )
    op.create_table(
        "message_deliveries",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("handler", sa.String(length=120), nullable=False),
        sa.Column("message_type", sa.String(length=100), nullable=False),
        sa.Column("message_seq", sa.BigInteger(), nullable=True),
        sa.Column(
            "envelope",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "handler", name=op.f("pk_message_deliveries")),
    )
    op.create_table(
        "cache_versions",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("updated_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_cache_versions")),
    )
    with op.batch_alter_table("message_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_deliveries_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_message_deliveries_message_type_created_at", ["message_type", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_message_deliveries_message_type_created_at")
        batch_op.drop_index("ix_message_deliveries_status_next_attempt_at")
    op.drop_table("cache_versions")
    op.drop_table("message_deliveries")
    op.drop_table("relay_cursors")
