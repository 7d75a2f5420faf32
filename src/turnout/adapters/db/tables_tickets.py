"""Ticket signing keys (one Ed25519 pair per event)."""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import UTCDateTime

ticket_keys = sa.Table(
    "ticket_keys",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("private_key_sealed", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
