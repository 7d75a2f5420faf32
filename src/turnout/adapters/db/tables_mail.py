"""Tickets and mail: the email queue and its attempt log, per-event template overrides, revocations.

An email job goes ``queued -> sending -> sent``; a transient failure makes it ``failed`` (retried at
``next_attempt_at``), a permanent one (or too many attempts) ``dead``. ``sending`` carries a lease:
a sender that crashed leaves its jobs to be taken again once ``lease_until`` has passed.
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import BigIntPK, UTCDateTime

email_jobs = sa.Table(
    "email_jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "participant_id", ID, sa.ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # ticket | transferred | cancelled (notices)
    sa.Column("ticket_version", sa.Integer, nullable=False),
    # participant:kind:version for the automatic welcome mail (at most one); NULL for manual resends
    sa.Column("dedup_key", sa.String(120), unique=True),
    sa.Column("status", sa.String(8), nullable=False),  # queued | sending | sent | failed | dead
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300)),  # as sent (filled on the first attempt)
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("leased_by", sa.String(64)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Index("ix_email_jobs_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_email_jobs_event_id_created_at", "event_id", "created_at"),
)

email_attempts = sa.Table(
    "email_attempts",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("job_id", ID, sa.ForeignKey("email_jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(8), nullable=False),  # sent | failed | dead
    sa.Column("smtp_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("sender", sa.String(64)),
)

mail_templates = sa.Table(
    "mail_templates",
    metadata,
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("locale", sa.String(8), primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=False),
)

ticket_revocations = sa.Table(
    "ticket_revocations",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("participant_id", ID, sa.ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("token", sa.String(200), nullable=False, unique=True),
    sa.Column("reason", sa.String(16), nullable=False),  # reissued | cancelled
    sa.Column("revoked_at", UTCDateTime, nullable=False),
    sa.Index("ix_ticket_revocations_event_id_id", "event_id", "id"),
)
