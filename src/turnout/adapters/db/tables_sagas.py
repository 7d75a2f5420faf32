"""Sagas, their steps, the locks they hold, and operator alerts (``domain.sagas``).

``sagas``: one row per multi-step operation: its kind, the resource it holds, its state, its data
(what its steps need), its deadline. ``wake_at`` is when a worker should look at it next;
``lease_until`` / ``leased_by`` say which worker is advancing it (another takes over when the lease
ends: a worker killed mid-saga).

``saga_steps``: each step's state, attempts, last error and the delivery it waits for.

``saga_locks``: one row per held resource (``participant:<id>``): the primary key makes two sagas on
one ticket impossible on both databases; ``expires_at`` frees a lock whose saga was lost.

``alerts``: what an operator must act on (a compensation that failed).
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import JSONType, UTCDateTime

sagas = sa.Table(
    "sagas",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("resource", sa.String(120), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("deadline", UTCDateTime, nullable=False),
    sa.Column("wake_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("leased_by", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Index("ix_sagas_state_wake_at", "state", "wake_at"),
    sa.Index("ix_sagas_event_id_created_at", "event_id", "created_at"),
    sa.Index("ix_sagas_resource", "resource"),
)

saga_steps = sa.Table(
    "saga_steps",
    metadata,
    sa.Column("saga_id", ID, sa.ForeignKey("sagas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("delivery_id", ID),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Index("ix_saga_steps_delivery_id", "delivery_id"),
)

saga_locks = sa.Table(
    "saga_locks",
    metadata,
    sa.Column("resource", sa.String(120), primary_key=True),
    sa.Column("saga_id", ID, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE")),
    sa.Column("saga_id", ID),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", JSONType, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # open | acknowledged
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(100)),
    # the email to ``TURNOUT_ALERT_EMAIL`` (when set): attempts, the next one, when it went, why not
    sa.Column("email_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("email_next_at", UTCDateTime),
    sa.Column("emailed_at", UTCDateTime),
    sa.Column("email_error", sa.Text),
    sa.Index("ix_alerts_state_created_at", "state", "created_at"),
    sa.Index("ix_alerts_event_id_created_at", "event_id", "created_at"),
)
