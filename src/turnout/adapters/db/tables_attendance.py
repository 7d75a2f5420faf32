"""Scans: every check-in attempt at a gate (admitted, exited or denied), stored whatever the outcome."""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import JSONType, UTCDateTime

scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("participant_id", ID, sa.ForeignKey("participants.id", ondelete="CASCADE")),
    sa.Column("gate_id", ID, sa.ForeignKey("gates.id", ondelete="SET NULL")),
    sa.Column("method", sa.String(8), nullable=False),  # qr | ble | manual
    sa.Column("direction", sa.String(4), nullable=False),  # in | out
    sa.Column("result", sa.String(8), nullable=False),  # admitted | exited | denied
    sa.Column("code", sa.String(40)),  # refusal code when denied
    sa.Column("occurred_at", UTCDateTime, nullable=False),  # when the gate saw it
    sa.Column("recorded_at", UTCDateTime, nullable=False),  # when the server stored it
    sa.Column("nonce", sa.String(100)),
    sa.Column("stay_seconds", sa.Integer),
    sa.Column("actor", sa.String(100)),
    sa.Column("device", JSONType, nullable=False),
    sa.Column("location", JSONType, nullable=False),
    sa.Column("metadata", JSONType, nullable=False),
    sa.UniqueConstraint("event_id", "nonce"),
    sa.Index("ix_scans_event_id_occurred_at", "event_id", "occurred_at"),
    sa.Index("ix_scans_participant_id_occurred_at", "participant_id", "occurred_at"),
    # a day's refusals (and scans of one outcome), from the index alone (migration 0021)
    sa.Index("ix_scans_event_id_result_occurred_at", "event_id", "result", "occurred_at"),
)
