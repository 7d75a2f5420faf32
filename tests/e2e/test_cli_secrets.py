"""``turnout secrets rotate`` and the secret key at start: exit codes, ``--json``, the key file.
In-process through typer's runner; on SQLite and PostgreSQL where the database is involved."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from turnout.adapters.db.tables_integrations import integrations
from turnout.adapters.secrets import FernetSealer
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.entrypoints.cli import app
from turnout.services.events import create_event

SECRET = "whsec_" + base64.b64encode(b"cli-secret-of-thirty-two-bytes!!").decode()
URL = "https://93.184.215.14/turnout"  # a public address literal: no DNS needed


def environment(monkeypatch: pytest.MonkeyPatch, database_url: str, var_dir: Path, secret_key: str) -> None:
    for name, value in {
        "TURNOUT_DATABASE_URL": database_url,
        "TURNOUT_SECRET_KEY": secret_key,
        "TURNOUT_VAR_DIR": str(var_dir),
        "TURNOUT_BROKER_URL": "",
        "LANG": "C.UTF-8",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("TURNOUT_OLD_SECRET_KEY", "TURNOUT_NEW_SECRET_KEY", "TURNOUT_INTEGRATION_SECRET"):
        monkeypatch.delenv(name, raising=False)


def add_integration(runner: CliRunner) -> None:
    from datetime import datetime

    from turnout.bootstrap import bootstrap

    wired = bootstrap(Settings())
    try:
        with wired.uow() as uow:
            event = create_event(
                uow, actor="t", name="x", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
            )
            uow.commit()
    finally:
        wired.close()
    made = runner.invoke(app, ["integrations", "set", event.id, "alerts", "--url", URL, "--secret", SECRET])
    assert made.exit_code == 0, made.output


def stored_secret(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.select(integrations.c.secret_sealed)).scalar_one())
    finally:
        engine.dispose()


def test_rotate_reseals_and_prints_the_new_key_to_set_when_the_key_is_configured(
    turnout: Turnout, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch, settings.database_url, settings.var_dir, "test-secret-key")
    runner = CliRunner()
    add_integration(runner)
    rotated = runner.invoke(app, ["secrets", "rotate", "--json"])
    assert rotated.exit_code == 0, rotated.output
    report = json.loads(rotated.stdout)
    assert (report["ticket_keys"], report["integration_secrets"], report["key_file"]) == (0, 1, None)
    new_key = report["new_key"]
    assert len(new_key) >= 48
    assert "TURNOUT_SECRET_KEY" in report["next"]
    assert FernetSealer(new_key).open(stored_secret(settings.database_url)) == SECRET
    # a wrong old key: refused, nothing changed
    before = stored_secret(settings.database_url)
    monkeypatch.setenv("TURNOUT_NEW_SECRET_KEY", "yet-another-key-of-thirty-two-characters!")
    wrong = runner.invoke(app, ["secrets", "rotate", "--old-key", "not-the-key", "--json"])
    assert wrong.exit_code == 1
    assert json.loads(wrong.stderr)["error"]["code"] == "secret_key_mismatch"
    assert stored_secret(settings.database_url) == before
    # the new key from stdin: given, so not printed back
    monkeypatch.delenv("TURNOUT_NEW_SECRET_KEY")
    monkeypatch.setenv("TURNOUT_SECRET_KEY", new_key)
    given = "a-key-the-operator-chose-of-40-characters"
    piped = runner.invoke(app, ["secrets", "rotate", "--new-key", "-", "--json"], input=given + "\n")
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["new_key"] is None
    assert FernetSealer(given).open(stored_secret(settings.database_url)) == SECRET


def test_rotate_replaces_the_generated_key_file_when_no_key_is_configured(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var_dir = tmp_path / "var"
    environment(monkeypatch, sqlite_url, var_dir, "")
    runner = CliRunner()
    add_integration(runner)  # generates var/secret_key
    old_key = (var_dir / "secret_key").read_text()
    rotated = runner.invoke(app, ["secrets", "rotate", "--json"])
    assert rotated.exit_code == 0, rotated.output
    report = json.loads(rotated.stdout)
    assert report["key_file"] == str(var_dir / "secret_key")
    assert report["new_key"] is None  # it is in the file, not on the screen
    new_key = (var_dir / "secret_key").read_text()
    assert new_key != old_key
    assert stat.S_IMODE((var_dir / "secret_key").stat().st_mode) == 0o600
    assert sorted(p.name for p in var_dir.iterdir() if p.name.startswith(("secret", ".secret"))) == [
        "secret_key"
    ]
    assert FernetSealer(new_key).open(stored_secret(sqlite_url)) == SECRET


def test_cli_refuses_to_start_when_postgresql_has_no_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch, "postgresql+psycopg://turnout@db.invalid/turnout", tmp_path / "var", "")
    result = CliRunner().invoke(app, ["events", "list", "--json"])
    assert result.exit_code == 1
    assert "TURNOUT_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
