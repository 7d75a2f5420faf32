"""Intake tables: import jobs, their per-row errors (with the original rows) and the public rate limit.

``participants`` itself is a spine table (``tables.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from turnout.adapters.db.tables import ID, metadata
from turnout.adapters.db.types import BigIntPK, JSONType, UTCDateTime

import_jobs = sa.Table(
    "import_jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("filename", sa.String(300), nullable=False),
    sa.Column("file_path", sa.String(1000)),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("file_size", sa.BigInteger, nullable=False),
    sa.Column("on_duplicate", sa.String(8), nullable=False),
    sa.Column("mapping", JSONType, nullable=False),
    sa.Column("encoding", sa.String(40)),
    sa.Column("detected_encoding", sa.String(40)),
    sa.Column("header", JSONType),
    sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("invalid", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_params", JSONType),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("owner", sa.String(200)),  # host:pid of the process running it
    sa.Column("lease_until", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("consent_basis", sa.String(32)),  # collected_elsewhere: the upload confirmed consent
    sa.Column("rows_expected", sa.Integer),  # the file's data rows as counted when queued (progress)
    sa.Index("ix_import_jobs_status_created_at", "status", "created_at"),
    sa.Index("ix_import_jobs_event_id_created_at", "event_id", "created_at"),
)

import_errors = sa.Table(
    "import_errors",
    metadata,
    sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("import_id", ID, sa.ForeignKey("import_jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("column", sa.String(200)),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("params", JSONType, nullable=False),
    sa.Index("ix_import_errors_import_id_row", "import_id", "row"),
    sa.Index("ix_import_errors_import_id_id", "import_id", "id"),  # an import's errors in order, paged
)

# The original cells of every refused row, for errors.csv (only rows with errors are kept).
import_error_rows = sa.Table(
    "import_error_rows",
    metadata,
    sa.Column("import_id", ID, sa.ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("cells", JSONType, nullable=False),
)

registration_rate = sa.Table(
    "registration_rate",
    metadata,
    sa.Column("client", sa.String(200), primary_key=True),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)
