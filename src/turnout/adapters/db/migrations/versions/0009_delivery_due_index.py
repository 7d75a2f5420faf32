"""outbound deliveries: the claim walks (status, next_attempt_at, seq) in order

Revision ID: 0009_delivery_due_index
Revises: 0008_delivery_retry_until
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_delivery_due_index"
down_revision: str | Sequence[str] | None = "0008_delivery_retry_until"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_deliveries") as batch:
        batch.drop_index("ix_outbound_deliveries_status_next_attempt_at")
        batch.create_index("ix_outbound_deliveries_due", ["status", "next_attempt_at", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_deliveries") as batch:
        batch.drop_index("ix_outbound_deliveries_due")
        batch.create_index(
            "ix_outbound_deliveries_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
