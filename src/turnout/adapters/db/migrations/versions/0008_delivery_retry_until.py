"""outbound deliveries: a manual retry's window (retry_until)

Revision ID: 0008_delivery_retry_until
Revises: 0007_integrations
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import turnout.adapters.db.types

revision: str = "0008_delivery_retry_until"
down_revision: str | Sequence[str] | None = "0007_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_deliveries") as batch:
        batch.add_column(
            sa.Column("retry_until", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_deliveries") as batch:
        batch.drop_column("retry_until")
