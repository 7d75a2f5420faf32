"""The command line speaks the terminal's language (``LANG``/``LC_ALL``) unless
``TURNOUT_DEFAULT_LOCALE`` says otherwise: refusals, tables and the import summary; ``--json``
keeps its English keys and codes. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from turnout.config import Settings
from turnout.entrypoints.cli import app, cli_locale

KOREAN = {"LANG": "ko_KR.UTF-8"}
_ENGLISH_WORD = re.compile(r"\b(?:draft|closed|archived|open|live|email|rows not saved|total)\b")


@pytest.fixture(autouse=True)
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file here
    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
        "LANG": "C.UTF-8",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("LC_ALL", "LC_MESSAGES", "TURNOUT_LANG", "TURNOUT_DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def create_event(capacity: int | None = None) -> str:
    args = ["events", "create", "--name", "서울 콘서트", "--starts", "2026-07-01T10:00"]
    args += ["--ends", "2026-07-01T12:00", "--min-age", "0", "--json"]
    if capacity is not None:
        args += ["--capacity", str(capacity)]
    created = invoke(*args)
    assert created.exit_code == 0, created.output
    event_id: str = json.loads(created.stdout)["id"]
    return event_id


def test_the_locale_follows_lang_unless_turnout_default_locale_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli_locale() == "en"  # C.UTF-8
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert cli_locale() == "ko"
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert cli_locale() == "en"  # LC_ALL wins over LANG
    monkeypatch.setenv("TURNOUT_DEFAULT_LOCALE", "ko")
    assert cli_locale() == "ko"  # the setting wins over the terminal
    monkeypatch.setenv("TURNOUT_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LC_ALL", "ko_KR.UTF-8")
    assert cli_locale() == "en"


def test_the_locale_is_read_from_the_env_file_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    (tmp_path / ".env").write_text("TURNOUT_DEFAULT_LOCALE=en\n", encoding="utf-8")
    assert cli_locale() == "en"


def test_a_refusal_is_korean_with_every_value_translated_when_lang_is_korean() -> None:
    event_id = create_event()
    refused = invoke("events", "status", event_id, "archived", env=KOREAN)
    assert refused.exit_code == 1
    assert "행사 상태를 ‘준비 중’에서 ‘보관됨’ 상태로 바꿀 수 없습니다." in refused.stderr
    assert _ENGLISH_WORD.findall(refused.stderr.replace("invalid_transition", "")) == []


def test_turnout_default_locale_en_keeps_the_cli_english_on_a_korean_terminal() -> None:
    event_id = create_event()
    refused = invoke("events", "status", event_id, "archived", env={**KOREAN, "TURNOUT_DEFAULT_LOCALE": "en"})
    assert refused.exit_code == 1
    assert "The event cannot go from ‘Draft’ to ‘Archived’." in refused.stderr


def test_field_errors_name_the_field_in_korean() -> None:
    bad = invoke(
        "events",
        "create",
        "--name",
        "x",
        "--starts",
        "2026-07-01T10:00",
        "--ends",
        "2026-06-01T12:00",
        env=KOREAN,
    )
    assert bad.exit_code == 1
    assert "종료 시각은 시작 시각보다 뒤여야 합니다." in bad.stderr
    assert "(ends_before_start)" in bad.stderr  # the stable code stays, for a search


def test_tables_have_korean_headers_and_values() -> None:
    create_event()
    listed = invoke("events", "list", env=KOREAN)
    assert listed.exit_code == 0
    assert "상태" in listed.stdout
    assert "준비 중" in listed.stdout
    assert "draft" not in listed.stdout


def test_the_import_summary_is_korean_and_its_json_stays_english(tmp_path: Path) -> None:
    event_id = create_event()
    assert invoke("events", "status", event_id, "open").exit_code == 0
    people = tmp_path / "people.csv"
    people.write_text(
        "이름,이메일\n김민준,minjun@example.com\n이서연,not-an-email\n김민준,minjun@example.com\n",
        encoding="utf-8",
    )
    korean = invoke("import", event_id, str(people), "--consent-collected-elsewhere", env=KOREAN)
    assert korean.exit_code == 0, korean.output
    for word in ("가져오기", "전체 행", "새로 저장", "중복", "오류"):
        assert word in korean.stdout
    assert "2개 행을 저장하지 않았습니다" in korean.stderr
    assert _ENGLISH_WORD.findall(korean.stdout + korean.stderr) == []

    again = invoke("import", event_id, str(people), "--consent-collected-elsewhere", "--json", env=KOREAN)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert {"total", "created", "updated", "duplicates", "invalid"} <= set(summary)


def test_a_whole_file_refusal_is_korean(tmp_path: Path) -> None:
    event_id = create_event()
    assert invoke("events", "status", event_id, "open").exit_code == 0
    people = tmp_path / "people.csv"
    people.write_text("이름,전화번호\n김민준,010-1234-5678\n", encoding="utf-8")
    refused = invoke("import", event_id, str(people), env=KOREAN)
    assert refused.exit_code == 1
    assert "필수 열 ‘이메일’이(가) 없습니다." in refused.stderr
    as_json = invoke("import", event_id, str(people), "--json", env=KOREAN)
    assert json.loads(as_json.stderr)["error"]["code"] == "missing_column"
