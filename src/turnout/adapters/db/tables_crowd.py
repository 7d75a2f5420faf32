"""Crowd safety: the alarm state of each watched area (``domain.crowd``)."""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import UTCDateTime

#: one row per area whose alarm has fired and is not re-armed yet (no row: ``ok``, armed)
crowd_alarms = sa.Table(
    "crowd_alarms",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("area", sa.String(36), primary_key=True),  # ``event`` or a gate's id
    sa.Column("fired", sa.String(8), nullable=False),  # amber | red
    sa.Column("changed_at", UTCDateTime, nullable=False),
)
