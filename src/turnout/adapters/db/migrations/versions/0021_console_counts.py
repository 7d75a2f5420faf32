"""console counts: indexes that answer the event list's and the event page's counts by themselves

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_participants_event_tallies",
        "participants",
        ["event_id", "status", "check_in_status", "email_status", "first_checked_in_at", "last_scan_at"],
    )
    op.create_index("ix_scans_event_id_result_occurred_at", "scans", ["event_id", "result", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_scans_event_id_result_occurred_at", table_name="scans")
    op.drop_index("ix_participants_event_tallies", table_name="participants")
