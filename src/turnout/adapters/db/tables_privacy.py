"""Participants' own requests to have their personal data erased, and the organiser's decisions."""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import UTCDateTime

erasure_requests = sa.Table(
    "erasure_requests",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("participant_id", ID, sa.ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # requested | approved | rejected | done
    sa.Column("reason", sa.Text),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decided_by", sa.String(100)),
    sa.Column("decision_note", sa.Text),
    sa.Column("alert_id", ID),  # the operator alert that announced it
    sa.Index("ix_erasure_requests_event_id_id", "event_id", "id"),
    sa.Index("ix_erasure_requests_participant_id_status", "participant_id", "status"),
)
