"""erasure requests: a participant's own request to be erased, and the organiser's decision

Revision ID: 0017
Revises: 0016_consent
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import turnout.adapters.db.types

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("participant_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("alert_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_erasure_requests_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_erasure_requests_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index("ix_erasure_requests_event_id_id", "erasure_requests", ["event_id", "id"])
    op.create_index(
        "ix_erasure_requests_participant_id_status", "erasure_requests", ["participant_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_erasure_requests_participant_id_status", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_event_id_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
