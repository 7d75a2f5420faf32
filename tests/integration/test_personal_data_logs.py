"""Personal data stays out of the logs: database errors, the ticket page's path, the first admin key."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.tables import audit_log
from turnout.bootstrap import Turnout
from turnout.entrypoints.api.app import create_app
from turnout.entrypoints.cli import ensure_first_admin

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


@pytest.fixture
def served(turnout: Turnout) -> Turnout:
    """A wired Turnout, as a server process has it (``create_app_from_env`` wires one the same way)."""
    create_app(turnout)
    return turnout


def test_access_log_has_no_ticket_token_when_a_ticket_page_is_requested(
    served: Turnout, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "T1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    # a server started by an earlier test (uvicorn's logging config) leaves the access logger not
    # propagating, or disabled: hear it here as a deployment's handler would
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "propagate", True)
    monkeypatch.setattr(access, "disabled", False)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    # as uvicorn's access logger writes a request line
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", f"/t/{token}?lang=ko", "1.1", 200
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", f"/t/{token}/qr.png", "1.1", 200
    )
    assert token not in caplog.text
    assert "/t/[redacted]" in caplog.text
    access_records = {id(r): r for r in caplog.records if r.name == "uvicorn.access"}.values()
    assert [r.args[4] for r in access_records] == [200, 200]  # type: ignore[index]


def test_logs_have_no_email_phone_or_key_when_an_error_carries_them(
    served: Turnout, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("turnout.services.deliveries")
    try:
        raise ValueError(f"refused {SECRET_EMAIL} / +821012345678 / 010-9876-5432")
    except ValueError as error:
        log.exception("handler failed: %s", error)
    log.warning("request with Authorization: Bearer tk_live_abcdef0123456789")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (SECRET_EMAIL, "+821012345678", "010-9876-5432", "tk_live_abcdef0123456789"):
        assert secret not in text
    assert "[email]" in text
    assert "[phone]" in text


def test_first_admin_key_is_printed_once_and_never_logged(
    turnout: Turnout, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    ensure_first_admin(turnout, as_json=True)
    key = json.loads(capsys.readouterr().out)["first_admin_key"]
    assert key
    assert key not in caplog.text
    ensure_first_admin(turnout, as_json=True)  # a second start: no key shown again
    assert capsys.readouterr().out == ""
    with turnout.engine.connect() as conn:
        audit = conn.execute(sa.select(audit_log)).all()
    assert audit
    assert key not in repr(audit)
