"""scans

Revision ID: 0003_scans
Revises: 0002_ticket_keys
Create Date: 2026-11-27 07:06:00.787784
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import turnout.adapters.db.types

revision: str = "0003_scans"
down_revision: str | Sequence[str] | None = "0002_ticket_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("participant_id", sa.String(length=36), nullable=True),
        sa.Column("gate_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("occurred_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=True),
        sa.Column("stay_seconds", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column(
            "device",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "location",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_scans_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_scans_gate_id_gates"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_scans_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        sa.UniqueConstraint("event_id", "nonce", name=op.f("uq_scans_event_id_nonce")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index("ix_scans_event_id_occurred_at", ["event_id", "occurred_at"], unique=False)
        batch_op.create_index(
            "ix_scans_participant_id_occurred_at", ["participant_id", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index("ix_scans_participant_id_occurred_at")
        batch_op.drop_index("ix_scans_event_id_occurred_at")

    op.drop_table("scans")
