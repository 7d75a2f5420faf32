"""participants: an index on (event_id, id), so that a page of an event's participants in id order
(keyset paging: the export, the list) is read from the index, not by sorting the whole event

Revision ID: 0023
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_participants_event_id_id", "participants", ["event_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_participants_event_id_id", table_name="participants")
