"""Consent tables: each event's privacy notice versions, and each participant's consent record."""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import JSONType, UTCDateTime

privacy_notices = sa.Table(
    "privacy_notices",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("content", JSONType, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

participant_consents = sa.Table(
    "participant_consents",
    metadata,
    sa.Column("participant_id", ID, sa.ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("notice_version", sa.Integer, nullable=False),
    sa.Column("notice_hash", sa.String(64), nullable=False),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("optional", sa.Boolean, nullable=False),
    sa.Column("marketing", sa.Boolean, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("basis", sa.String(32), nullable=False),
    sa.Column("given_at", UTCDateTime, nullable=False),
    sa.Column("guardian_name", sa.String(200)),
    sa.Column("guardian_contact", sa.String(320)),
    sa.Column("guardian_consented", sa.Boolean, nullable=False, server_default=sa.false()),
)
