"""import jobs: the rows a file was counted to hold (the console's progress bar); list by event;
an import's errors in order (its page shows the first ones)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("rows_expected", sa.Integer(), nullable=True))
    op.create_index("ix_import_jobs_event_id_created_at", "import_jobs", ["event_id", "created_at"])
    op.create_index("ix_import_errors_import_id_id", "import_errors", ["import_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_import_errors_import_id_id", table_name="import_errors")
    op.drop_index("ix_import_jobs_event_id_created_at", table_name="import_jobs")
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("rows_expected")
