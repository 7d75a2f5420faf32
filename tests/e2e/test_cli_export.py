"""``turnout export EVENT_ID FILE``: the participant list written to a CSV or XLSX file through the
same service and writer as the API's export; the count and the time printed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from tests.attendance_support import add_participants, live_event, set_participant
from turnout.adapters.participant_export import COLUMNS
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.i18n import translate


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
        "TURNOUT_DEFAULT_LOCALE": "ko",
    }.items():
        monkeypatch.setenv(name, value)


def run(*args: str) -> Result:
    from turnout.entrypoints.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_writes_csv_and_xlsx_files_with_every_participant_and_prints_the_count(
    turnout: Turnout, cli_env: None, tmp_path: Path
) -> None:
    event_id = live_event(turnout)
    people = add_participants(turnout, event_id, 12)
    set_participant(turnout, people[0][0], check_in_status="inside")

    target = tmp_path / "참가자.csv"
    done = run("export", event_id, str(target), "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert (answer["rows"], answer["format"]) == (12, "csv")
    body = target.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == [translate(f"export.column.{c}", "ko") for c in COLUMNS]  # the CLI's language
    assert sorted(row[0] for row in rows[1:]) == sorted(pid for pid, _ in people)
    assert not list(tmp_path.glob(".*partial"))

    workbook = tmp_path / "people.xlsx"
    printed = run("export", event_id, str(workbook), "--check-in", "inside", "--lang", "en")
    assert printed.exit_code == 0, printed.output
    said = translate("cli.export.done", "ko", {"rows": "1", "path": "PATH", "format": "XLSX", "seconds": "S"})
    assert said.split("PATH")[0] in printed.stdout  # in the command line's language
    assert "XLSX" in printed.stdout
    sheet = load_workbook(workbook, read_only=True).active
    assert sheet is not None
    found = list(sheet.iter_rows(values_only=True))
    assert found[0][0] == translate("export.column.id", "en")
    assert [row[0] for row in found[1:]] == [people[0][0]]

    codes = tmp_path / "codes.txt"
    as_csv = run(
        "export", event_id, str(codes), "--format", "csv", "--codes", "--status", "cancelled", "--json"
    )
    assert as_csv.exit_code == 0, as_csv.output
    assert json.loads(as_csv.stdout)["rows"] == 0
    assert codes.read_bytes().decode("utf-8-sig").split("\r\n")[0].split(",") == list(COLUMNS)


def test_cli_refuses_an_unknown_event_and_an_unknown_suffix(
    turnout: Turnout, cli_env: None, tmp_path: Path
) -> None:
    event_id = live_event(turnout)
    unknown = run("export", "no-such-event", str(tmp_path / "x.csv"), "--json")
    assert unknown.exit_code == 1
    assert json.loads(unknown.stderr)["error"]["code"] == "event_not_found"
    assert not (tmp_path / "x.csv").exists()
    suffix = run("export", event_id, str(tmp_path / "x.pdf"))
    assert suffix.exit_code == 2
    assert "--format" in suffix.stderr
    nowhere = run("export", event_id, str(tmp_path / "missing-dir" / "x.csv"))
    assert nowhere.exit_code == 1
