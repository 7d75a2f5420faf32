"""Integrations and outbound deliveries.

``integrations``: one row per (event, system): the URL, the sealed Standard Webhooks secret, enabled.

``outbound_deliveries``: every outbound call Turnout owes an external system, recorded in the
transaction that caused it (a bus handler's, or a sync's). ``seq`` orders the deliveries of one
``ordering_key`` (a participant's changes go out in the order they happened). A delivery is
``pending`` until ``next_attempt_at``, ``sending`` under a worker's lease, then ``delivered`` or
``dead`` (``last_error`` says why). ``delivery_attempts`` logs each attempt.

``delivery_endpoints``: each endpoint's (event, system) circuit breaker state.
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import BigIntPK, JSONType, UTCDateTime

integrations = sa.Table(
    "integrations",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("system", sa.String(32), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret_sealed", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbound_deliveries = sa.Table(
    "outbound_deliveries",
    metadata,
    sa.Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("system", sa.String(32), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("ordering_key", sa.String(100)),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("source_message_id", ID),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("retry_until", UTCDateTime),  # a manual retry's window; else created_at + the setting
    sa.Column("lease_until", UTCDateTime),
    sa.Column("leased_by", sa.String(100)),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Index("ix_outbound_deliveries_due", "status", "next_attempt_at", "seq"),  # the claim's walk
    sa.Index("ix_outbound_deliveries_event_id_system_seq", "event_id", "system", "seq"),
    sa.Index("ix_outbound_deliveries_ordering", "event_id", "system", "ordering_key", "seq"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", ID, sa.ForeignKey("outbound_deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(12), nullable=False),  # delivered | failed | dead
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(100)),
    sa.Index("ix_delivery_attempts_delivery_id_id", "delivery_id", "id"),
)

delivery_endpoints = sa.Table(
    "delivery_endpoints",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("system", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False),  # closed | open | half_open
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # in a row
    sa.Column("opened_at", UTCDateTime),
    sa.Column("probe_until", UTCDateTime),  # half-open: the one probe's lease
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
