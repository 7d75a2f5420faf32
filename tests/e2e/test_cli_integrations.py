"""``turnout integrations set|list|disable``: ``--json`` output, exit 0 / 1 (refusal) / 2 (bad usage),
never a secret printed. Runs on SQLite and PostgreSQL (in-process, through typer's runner)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from turnout.adapters.db.tables_integrations import integrations
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.entrypoints.cli import app
from turnout.services.events import create_event

SECRET = "whsec_" + base64.b64encode(b"cli-secret-of-thirty-two-bytes!!").decode()
URL = "https://93.184.215.14/turnout"  # a public address literal: no DNS needed


@pytest.fixture
def event_id(turnout: Turnout, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
        "TURNOUT_ALLOW_PRIVATE_WEBHOOKS": "0",
        "LANG": "C.UTF-8",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TURNOUT_INTEGRATION_SECRET", raising=False)
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="t", name="x", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    return event.id


def test_set_list_disable_with_json(event_id: str, turnout: Turnout) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["integrations", "set", event_id, "gate-management", "--url", URL, "--secret", SECRET, "--json"]
    )
    assert made.exit_code == 0, made.output
    body = json.loads(made.stdout)
    assert (body["system"], body["url"], body["enabled"]) == ("gate-management", URL, True)
    assert SECRET not in made.output

    # update without --secret keeps the stored one; --disabled stores it off
    kept = runner.invoke(
        app,
        ["integrations", "set", event_id, "gate-management", "--url", URL + "/v2", "--disabled", "--json"],
    )
    assert kept.exit_code == 0, kept.output
    assert (json.loads(kept.stdout)["url"], json.loads(kept.stdout)["enabled"]) == (URL + "/v2", False)
    with turnout.engine.connect() as conn:
        sealed = conn.execute(sa.select(integrations.c.secret_sealed)).scalar_one()
    assert SECRET not in sealed
    assert turnout.sealer.open(sealed) == SECRET

    # the secret from stdin
    piped = runner.invoke(
        app,
        ["integrations", "set", event_id, "alerts", "--url", URL, "--secret", "-", "--json"],
        input=SECRET + "\n",
    )
    assert piped.exit_code == 0, piped.output

    listed = runner.invoke(app, ["integrations", "list", event_id, "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert [(i["system"], i["enabled"]) for i in items] == [("alerts", True), ("gate-management", False)]
    assert SECRET not in listed.output
    assert "whsec_" not in listed.output

    off = runner.invoke(
        app, ["integrations", "disable", event_id, "alerts", "--reason", "receiver moved", "--json"]
    )
    assert off.exit_code == 0, off.output
    assert (json.loads(off.stdout)["enabled"], json.loads(off.stdout)["disabled_reason"]) == (
        False,
        "receiver moved",
    )

    table = runner.invoke(app, ["integrations", "list", event_id])
    assert table.exit_code == 0
    assert "receiver moved" in table.stdout
    assert SECRET not in table.stdout


def test_refusals_exit_1_with_the_reason(event_id: str) -> None:
    runner = CliRunner()
    unknown = runner.invoke(
        app, ["integrations", "set", event_id, "crm", "--url", URL, "--secret", SECRET, "--json"]
    )
    assert unknown.exit_code == 1
    assert json.loads(unknown.stderr)["error"]["code"] == "integration_system_not_found"

    private = runner.invoke(
        app,
        [
            "integrations",
            "set",
            event_id,
            "alerts",
            "--url",
            "http://127.0.0.1:9000/",
            "--secret",
            "bad",
            "--json",
        ],
    )
    assert private.exit_code == 1
    details = json.loads(private.stderr)["error"]["details"]
    assert [(d["field"], d["code"]) for d in details] == [
        ("url", "private_address"),
        ("secret", "invalid_secret"),
    ]

    needs_secret = runner.invoke(app, ["integrations", "set", event_id, "alerts", "--url", URL, "--json"])
    assert needs_secret.exit_code == 1
    assert json.loads(needs_secret.stderr)["error"]["details"][0]["code"] == "required"

    missing = runner.invoke(app, ["integrations", "disable", event_id, "alerts", "--json"])
    assert missing.exit_code == 1
    assert json.loads(missing.stderr)["error"]["code"] == "integration_not_found"

    no_event = runner.invoke(app, ["integrations", "list", "no-such-event"])
    assert no_event.exit_code == 1
    assert "event_not_found" in no_event.stderr


def test_bad_usage_exits_2(event_id: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["integrations", "set", event_id, "alerts"]).exit_code == 2  # no --url
    assert runner.invoke(app, ["integrations", "list"]).exit_code == 2
    assert runner.invoke(app, ["integrations", "frobnicate"]).exit_code == 2


def test_private_webhooks_allowed_by_the_setting(event_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNOUT_ALLOW_PRIVATE_WEBHOOKS", "1")
    runner = CliRunner()
    local = runner.invoke(
        app,
        [
            "integrations",
            "set",
            event_id,
            "alerts",
            "--url",
            "http://127.0.0.1:9000/",
            "--secret",
            SECRET,
            "--json",
        ],
    )
    assert local.exit_code == 0, local.output
    metadata = runner.invoke(
        app, ["integrations", "set", event_id, "alerts", "--url", "http://169.254.169.254/", "--json"]
    )
    assert metadata.exit_code == 1
    assert json.loads(metadata.stderr)["error"]["details"][0]["code"] == "private_address"
