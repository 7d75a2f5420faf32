"""The console's import pages: upload (a file picker that also takes a dropped file), the preview
before anything is saved (encoding, mapping, first rows, duplicate policy, consent basis), the start,
the live progress, the summary with the refused rows and errors.csv, refused files, past imports."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.console_support import ORIGIN, csrf_of, sign_in
from tests.e2e.test_korean_pages import HANGUL, latin_words, visible
from tests.fakes import FakeClock
from turnout.adapters.readers import TableFiles
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.services.importing import preview_file
from turnout.services.keys import create_key

# a CP949 file as Korean Excel writes it: Korean headers, one column the importer does not know
# (단체명: kept as a custom field unless mapped), bad rows (a short name, a bad email, a duplicate)
HEADER = "이름,이메일,연락처,단체명"
ROWS = [
    "김민준,minjun@example.com,010-1234-5678,한빛",
    "김,short@example.com,,한빛",
    "이서연,not-an-email,010-2222-3333,누리",
    "박서준,seojun@example.com,,가람",
    "최지우,minjun@example.com,,가람",
]
CP949_FILE = ("\r\n".join([HEADER, *ROWS]) + "\r\n").encode("cp949")


def import_path(event: dict[str, Any]) -> str:
    return f"/events/{event['id']}/import"


def upload(
    client: TestClient,
    event: dict[str, Any],
    content: bytes,
    name: str = "참가자.csv",
    *,
    lang: str = "en",
    token: str | None = None,
    **form: str,
) -> Any:
    path = import_path(event)
    token = token if token is not None else csrf_of(client.get(f"{path}?lang={lang}").text)
    return client.post(
        f"{path}?lang={lang}",
        files={"file": (name, content, "text/csv")},
        data={"csrf_token": token, **form},
        headers=ORIGIN,
        follow_redirects=False,
    )


def selects_of(html: str) -> list[str]:
    """The preview's mapping choices as selected (``COLUMN=FIELD``)."""
    return re.findall(r'<option value="([^"]+)" selected>', html)


def start(client: TestClient, preview_url: str, data: dict[str, Any], *, token: str | None = None) -> Any:
    token = token if token is not None else csrf_of(client.get(preview_url).text)
    return client.post(
        preview_url, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False
    )


@pytest.fixture
def signed_in(app_client: TestClient, admin_key: str, event: dict[str, Any]) -> TestClient:
    sign_in(app_client, admin_key)
    return app_client


def test_cp949_file_is_previewed_mapped_started_and_summarised_with_its_refused_rows(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    client = signed_in
    answer = upload(client, event, CP949_FILE)
    assert answer.status_code == 303, answer.text
    preview_url = answer.headers["location"]
    assert re.match(rf"^/events/{event['id']}/import/uploads/[0-9a-f]{{32}}", preview_url)
    preview = client.get(preview_url)
    assert preview.status_code == 200
    html = preview.text
    assert 'data-encoding="cp949"' in html
    chosen = selects_of(html)
    assert chosen[:4] == ["이름=name", "이메일=email", "연락처=phone", "단체명=custom"]
    for cell in ("김민준", "minjun@example.com", "010-1234-5678", "not-an-email", "가람"):
        assert cell in html  # the first rows, decoded
    assert 'name="on_duplicate" value="skip" checked' in html
    assert 'name="consent_basis" value="collected_elsewhere"' in html  # no consent column
    with turnout.uow(readonly=True) as uow:
        assert uow.imports.for_event(str(event["id"])) == []  # nothing saved by the preview
    mapping = ["단체명=organization" if c.startswith("단체명=") else c for c in chosen]
    started = start(
        client,
        preview_url,
        {"mapping": mapping, "on_duplicate": "skip", "consent_basis": "collected_elsewhere"},
    )
    assert started.status_code == 303, started.text
    job_url = started.headers["location"].split("?")[0]
    import_id = job_url.rsplit("/", 1)[1]
    running = client.get(job_url)
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in running.text
    assert f'hx-get="/events/{event["id"]}/import/{import_id}/progress' in running.text
    assert 'data-rows-expected="5"' in running.text
    assert client.get(preview_url).status_code == 404  # the upload became the import's file
    assert turnout.importer.run_pending() == 1
    fragment = client.get(f"{job_url}/progress", headers={"HX-Request": "true"})
    assert fragment.headers.get("HX-Refresh") == "true"
    assert 'data-status="done"' in fragment.text
    assert "hx-trigger" not in fragment.text
    done = client.get(f"{job_url}?lang=ko").text
    assert "hx-trigger" not in done
    summary = dict(re.findall(r'data-summary="(\w+)"><div class="value">(\d+)<', done))
    assert summary == {"total": "5", "created": "2", "updated": "0", "duplicates": "1", "invalid": "2"}
    refused = re.findall(r'<tr data-row="(\d+)" data-code="(\w+)">', done)
    assert ("3", "name_too_short") in refused
    assert ("4", "invalid_email") in refused
    assert ("6", "duplicate_in_file") in refused
    row4 = done.split('<tr data-row="4"', 1)[1].split("</tr>", 1)[0]
    assert 'data-column="이메일"' in row4
    assert 'data-value="not-an-email"' in row4
    assert "이메일 주소가 올바르지 않습니다" in done  # the message in the reader's language
    csv_link = f"{job_url}/errors.csv?lang=ko"
    assert csv_link in done
    download = client.get(csv_link)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == [*HEADER.split(","), "행", "열", "오류 코드", "오류 내용"]
    assert {r[-2] for r in rows[1:]} == {"name_too_short", "invalid_email", "duplicate_in_file"}
    people = client.get(f"/api/v1/events/{event['id']}/participants").json()["items"]
    assert {(p["name"], p["organization"]) for p in people} == {("김민준", "한빛"), ("박서준", "가람")}
    listing = client.get(f"{import_path(event)}?lang=en").text
    assert f'data-import="{import_id}" data-status="done"' in listing
    assert "참가자.csv" in listing
