"""All tables of every area on one MetaData (what Alembic compares migrations with).

Each area keeps its tables in ``tables_<area>.py`` on the shared ``metadata``; import it here.
"""

from turnout.adapters.db import (  # noqa: F401
    tables_attendance,
    tables_consent,
    tables_crowd,
    tables_intake,
    tables_integrations,
    tables_mail,
    tables_messaging,
    tables_privacy,
    tables_sagas,
    tables_tickets,
)
from turnout.adapters.db.tables import metadata

#: database objects made by migrations outside the table definitions (per dialect: the participant
#: search's FTS5 tables on SQLite, with their shadow tables; expression and GIN indexes on PostgreSQL)
SEARCH_OBJECTS = (
    "participant_search",
    "ix_participants_name_trgm",
    "ix_participants_email_trgm",
    "ix_participants_short_grams",
    "ix_participants_event_id_phone4",
    "ix_participants_phone4",
)


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: False for ``SEARCH_OBJECTS`` (compared by their own tests)."""
    return not (name and name.startswith(SEARCH_OBJECTS))


__all__ = ["SEARCH_OBJECTS", "metadata", "modelled"]
