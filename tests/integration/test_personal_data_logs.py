"""Personal data stays out of the logs: database errors, the ticket page's path, the first admin key."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from turnout.adapters.db.engine import make_engine

SECRET_EMAIL = "kim.private@example.com"


def test_database_error_text_has_no_parameter_values_when_a_statement_fails(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO no_such_table_at_all (email) VALUES (:email)"), {"email": SECRET_EMAIL}
            )
    finally:
        engine.dispose()
    assert SECRET_EMAIL not in str(caught.value)
    assert "hidden" in str(caught.value)  # SQLAlchemy's placeholder for the hidden parameters
