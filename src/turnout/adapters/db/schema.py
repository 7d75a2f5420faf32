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

__all__ = ["metadata"]
