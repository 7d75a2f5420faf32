"""participant search by index: name and email contains-matches, phone's last four digits, check-in state

PostgreSQL: ``pg_trgm`` GIN indexes on ``name`` and ``email`` answer a query of 3 characters or more
(``ILIKE '%q%'``); a GIN index on ``turnout_short_grams(name, email)`` (each text's bigrams, padded
with a start and an end mark) answers 1 and 2 characters (a 2-character Korean given name, "민준").
SQLite: an FTS5 ``trigram`` table ``participant_search`` over the same padded texts, kept in step by
triggers; its ``fts5vocab`` instance table answers the 1 and 2 character queries by a range of terms.
Both: an index on the phone's last four digits; the list's order (``event_id, id``) with and without
the status or check-in filter, so a page is read in order and stops at its limit.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the marks around each searched text (never in a name or an email: control characters are refused)
START, END = "\x01", "\x02"

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # every bigram of the lower-cased name and of the email, each padded with the marks: a 2-character
    # query is one of them when contained; a 1-character query q at a text's start is START || q
    """CREATE OR REPLACE FUNCTION turnout_short_grams(name text, email text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(DISTINCT substr(padded, i, 2)), '{}')
      FROM (VALUES (chr(1) || lower(coalesce(name, '')) || chr(2)),
                   (chr(1) || coalesce(email, '') || chr(2))) AS texts(padded),
           generate_series(1, length(padded) - 1) AS i
    $$""",
    "CREATE INDEX IF NOT EXISTS ix_participants_name_trgm ON participants USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_participants_email_trgm ON participants USING gin (email gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_participants_short_grams ON participants "
    "USING gin (turnout_short_grams(name, email))",
    "CREATE INDEX IF NOT EXISTS ix_participants_event_id_phone4 ON participants (event_id, right(phone, 4))",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_participants_event_id_phone4",
    "DROP INDEX IF EXISTS ix_participants_short_grams",
    "DROP INDEX IF EXISTS ix_participants_email_trgm",
    "DROP INDEX IF EXISTS ix_participants_name_trgm",
    "DROP FUNCTION IF EXISTS turnout_short_grams(text, text)",
]

_PADDED_NEW = "char(1) || new.name || char(2), char(1) || new.email || char(2)"
_PADDED_OLD = "char(1) || old.name || char(2), char(1) || old.email || char(2)"
SQLITE_UP = [
    # contentless: the index holds the padded texts' trigrams, the rows stay in participants
    "CREATE VIRTUAL TABLE participant_search USING fts5(name, email, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE participant_search_terms USING fts5vocab(participant_search, instance)",
    f"""CREATE TRIGGER participants_search_insert AFTER INSERT ON participants BEGIN
      INSERT INTO participant_search(rowid, name, email) VALUES (new.rowid, {_PADDED_NEW});
    END""",
    f"""CREATE TRIGGER participants_search_delete AFTER DELETE ON participants BEGIN
      INSERT INTO participant_search(participant_search, rowid, name, email)
      VALUES ('delete', old.rowid, {_PADDED_OLD});
    END""",
    f"""CREATE TRIGGER participants_search_update AFTER UPDATE OF name, email ON participants BEGIN
      INSERT INTO participant_search(participant_search, rowid, name, email)
      VALUES ('delete', old.rowid, {_PADDED_OLD});
      INSERT INTO participant_search(rowid, name, email) VALUES (new.rowid, {_PADDED_NEW});
    END""",
    "INSERT INTO participant_search(rowid, name, email) "
    "SELECT rowid, char(1) || name || char(2), char(1) || email || char(2) FROM participants",
    # the phone's last digits alone: a search's terms are joined by OR, each answered by its own index
    "CREATE INDEX IF NOT EXISTS ix_participants_phone4 ON participants (substr(phone, -4))",
]
SQLITE_DOWN = [
    "DROP INDEX IF EXISTS ix_participants_phone4",
    "DROP TRIGGER IF EXISTS participants_search_update",
    "DROP TRIGGER IF EXISTS participants_search_delete",
    "DROP TRIGGER IF EXISTS participants_search_insert",
    "DROP TABLE IF EXISTS participant_search_terms",
    "DROP TABLE IF EXISTS participant_search",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UP if postgres else SQLITE_UP:
        op.execute(statement)
    # the list in registration order, whole or filtered, read in that order (no sort, LIMIT stops early)
    # (the whole list's own order, event_id and id, came with 0023)
    op.drop_index("ix_participants_event_id_status", table_name="participants")
    op.create_index("ix_participants_event_id_status_id", "participants", ["event_id", "status", "id"])
    op.create_index(
        "ix_participants_event_id_check_in_status_id", "participants", ["event_id", "check_in_status", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_participants_event_id_check_in_status_id", table_name="participants")
    op.drop_index("ix_participants_event_id_status_id", table_name="participants")
    op.create_index("ix_participants_event_id_status", "participants", ["event_id", "status"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
