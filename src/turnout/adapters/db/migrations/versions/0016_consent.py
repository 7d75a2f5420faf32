"""privacy notices (versioned, per event), each participant's consent record, and an import's
consent basis

Revision ID: 0016_consent
Revises: 0015, 0005_intake
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import turnout.adapters.db.types

revision: str = "0016_consent"
# also after the intake branch: import_jobs gets a column (a merge of the two, as Alembic records it)
down_revision: str | Sequence[str] | None = ("0015", "0005_intake")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "privacy_notices",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_privacy_notices_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "version", name=op.f("pk_privacy_notices")),
    )
    op.create_table(
        "participant_consents",
        sa.Column("participant_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=False),
        sa.Column("notice_hash", sa.String(length=64), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("given_at", turnout.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("guardian_name", sa.String(length=200), nullable=True),
        sa.Column("guardian_contact", sa.String(length=320), nullable=True),
        sa.Column("guardian_consented", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_participant_consents_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_participant_consents_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_participant_consents")),
    )
    op.create_index(op.f("ix_participant_consents_event_id"), "participant_consents", ["event_id"])
    # an upload without a consent column says on which basis its people's data is held
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("consent_basis", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("consent_basis")
    op.drop_index(op.f("ix_participant_consents_event_id"), table_name="participant_consents")
    op.drop_table("participant_consents")
    op.drop_table("privacy_notices")
