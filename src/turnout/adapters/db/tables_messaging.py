"""Message bus state: relay cursors (one per local handler and one for the stream) and deliveries.

``relay_cursors``: how far each consumer of the outbox has got (``position`` = last outbox ``seq``
handled). A handler's cursor advances in the same transaction as the handler's effects, so an effect
and its "done" commit together. The stream publisher (``consumer = "kafka"``) holds a time-limited
lease (``lease_owner``/``lease_until``) while it publishes a batch.

``message_deliveries``: delivery state per (message, handler) for everything that is not the plain
fast path: a failed attempt waiting for its retry (``pending``), a handler given up on (``dead``), a
delivery made by the Kafka consumer (``done``, also the consumer's inbox), and an undecodable stream
message (``dead`` with handler ``-``).
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import metadata
from turnout.adapters.db.types import JSONType, UTCDateTime

relay_cursors = sa.Table(
    "relay_cursors",
    metadata,
    sa.Column("consumer", sa.String(120), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("handled", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)

message_deliveries = sa.Table(
    "message_deliveries",
    metadata,
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("handler", sa.String(120), primary_key=True),
    sa.Column("message_type", sa.String(100), nullable=False),
    sa.Column("message_seq", sa.BigInteger),
    sa.Column("envelope", JSONType, nullable=False),
    sa.Column("source", sa.String(8), nullable=False),  # outbox | kafka
    sa.Column("status", sa.String(8), nullable=False),  # pending | done | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_message_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_message_deliveries_message_type_created_at", "message_type", "created_at"),
)

# Cross-process cache invalidation: a handler bumps ``version`` when something cached changes; a
# process-local cache compares the version it cached with this row (one indexed read).
cache_versions = sa.Table(
    "cache_versions",
    metadata,
    sa.Column("scope", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reason", sa.String(100)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
