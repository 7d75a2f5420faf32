"""crowd safety: a gate's area capacity, and the alarm state of each watched area

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import turnout.adapters.db.types

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gates") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
    op.create_table(
        "crowd_alarms",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("area", sa.String(length=36), nullable=False),
        sa.Column("fired", sa.String(length=8), nullable=False),
        sa.Column("changed_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_crowd_alarms_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "area", name=op.f("pk_crowd_alarms")),
    )


def downgrade() -> None:
    op.drop_table("crowd_alarms")
    with op.batch_alter_table("gates") as batch:
        batch.drop_column("capacity")
