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
from turnout.domain.events import EventStatus
from turnout.services.import_preview import preview_file
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


def header_only_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["이름", "이메일"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: files refused whatever the mapping: (name, content, code); None is a header-only workbook
REFUSED_FILES: list[tuple[str, bytes | None, str]] = [
    ("empty.csv", b"", "empty_file"),
    ("blank.csv", b"\r\n \r\n", "empty_file"),
    ("header.csv", "이름,이메일\r\n".encode("cp949"), "no_data_rows"),
    ("header.xlsx", None, "no_data_rows"),
    ("binary.csv", b"\x00\x01\x02\x03" * 100, "binary_file"),
    ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "unsupported_file_type"),
    ("quote.csv", b'"name,email\nkim,kim@example.com\n', "unreadable_file"),
    ("broken.xlsx", b"PK\x03\x04not really a zip", "unreadable_file"),
]


def test_a_refused_file_says_why_on_the_upload_page_with_its_code(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    pending = turnout.settings.var_dir / "imports" / "pending"
    for number, (name, content, code) in enumerate(REFUSED_FILES):
        lang = ("ko", "en")[number % 2]
        body = content if content is not None else header_only_xlsx()
        answer = upload(signed_in, event, body, name, lang=lang)
        assert answer.status_code == 422, (name, answer.text[:300])
        found = re.search(r'<p class="field-error"[^>]*data-code="(\w+)">([^<]+)<', answer.text)
        assert found is not None, name
        assert found.group(1) == code, name
        assert bool(HANGUL.search(found.group(2))) is (lang == "ko"), name  # in the reader's language
        assert 'name="file"' in answer.text  # the form, to try again
        assert not list(pending.iterdir()), name  # nothing kept


# storage plays no part here beyond the event: SQLite only (the flows above run on both)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_file_over_the_upload_limit_is_refused_and_not_kept(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    turnout.settings.import_max_bytes = 100
    answer = upload(signed_in, event, b"x" * 101, lang="ko")
    assert answer.status_code == 422
    assert 'data-code="file_too_large"' in answer.text
    assert "파일이 너무 큽니다" in answer.text
    assert not list((turnout.settings.var_dir / "imports" / "pending").iterdir())


def test_a_missing_required_column_is_shown_in_the_preview_and_refuses_the_start_until_mapped(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    content = "성함,메일주소록\r\n김민준,minjun@example.com\r\n".encode()
    preview_url = upload(signed_in, event, content, lang="ko").headers["location"]
    html = signed_in.get(preview_url).text
    assert 'data-code="missing_column"' in html
    assert "필수 열" in html
    refused = start(
        signed_in,
        preview_url,
        {"mapping": ["성함=name", "메일주소록=custom"], "consent_basis": "collected_elsewhere"},
    )
    assert refused.status_code == 422
    assert 'data-code="missing_column"' in refused.text
    assert '<option value="메일주소록=custom" selected>' in refused.text  # the choice kept
    started = start(
        signed_in,
        preview_url,
        {"mapping": ["성함=name", "메일주소록=email"], "consent_basis": "collected_elsewhere"},
    )
    assert started.status_code == 303, started.text
    turnout.importer.run_pending()
    with turnout.uow(readonly=True) as uow:
        (job,) = uow.imports.for_event(str(event["id"]))
    assert job.mapping == {"메일주소록": "email"}  # only the change from what is read automatically
    assert job.summary()["created"] == 1


def test_a_file_without_consent_column_needs_the_consent_basis_to_start(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE, lang="en").headers["location"]
    refused = start(
        signed_in,
        preview_url,
        {"mapping": selects_of(signed_in.get(preview_url).text), "on_duplicate": "update"},
    )
    assert refused.status_code == 422
    assert 'data-code="consent_missing"' in refused.text
    assert 'name="on_duplicate" value="update" checked' in refused.text  # the choice kept
    with turnout.uow(readonly=True) as uow:
        assert uow.imports.for_event(str(event["id"])) == []


def test_a_file_with_a_consent_column_needs_no_basis_and_reads_it(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    content = (
        "이름,이메일,개인정보 동의\r\n김민준,minjun@example.com,예\r\n박서준,seojun@example.com,아니오\r\n"
    )
    preview_url = upload(signed_in, event, content.encode(), lang="ko").headers["location"]
    html = signed_in.get(preview_url).text
    assert "data-consent-column" in html
    assert 'name="consent_basis"' not in html
    started = start(signed_in, preview_url, {"mapping": selects_of(html)})
    assert started.status_code == 303, started.text
    turnout.importer.run_pending()
    done = signed_in.get(started.headers["location"]).text
    assert re.search(r'<tr data-row="3" data-code="consent_required">', done)


# storage plays no part here beyond the event: SQLite only (the flows above run on both)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_preview_reads_the_file_again_in_another_encoding(
    signed_in: TestClient, event: dict[str, Any]
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"]
    html = signed_in.get(preview_url, params={"encoding": "cp949"}).text
    assert 'data-encoding="cp949"' in html
    assert '<option value="cp949" selected>' in html
    assert "김민준" in html
    wrong = signed_in.get(preview_url, params={"encoding": "utf-8", "lang": "en"})
    assert wrong.status_code == 422  # its header does not decode: said why, with the code
    assert 'data-code="unreadable_file"' in wrong.text
    assert "Save As" in wrong.text or "UTF-8" in wrong.text
    assert signed_in.get(preview_url).status_code == 200  # the upload is still there


# storage plays no part here beyond the event: SQLite only (the flows above run on both)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_upload_expires_and_is_gone_for_its_preview(
    signed_in: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any]
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"]
    clock.advance(hours=3)
    gone = signed_in.get(preview_url)
    assert gone.status_code == 404
    assert 'data-error-code="upload_not_found"' in gone.text
    forgotten = upload(signed_in, event, CP949_FILE).headers["location"]
    clock.advance(hours=3)
    fresh = upload(signed_in, event, CP949_FILE).headers["location"]  # sweeps what expired
    pending = turnout.settings.var_dir / "imports" / "pending"
    kept = {p.name.split(".")[0] for p in pending.iterdir()}
    assert kept == {fresh.split("/")[-1].split("?")[0]}
    assert forgotten.split("/")[-1].split("?")[0] not in kept


def test_forms_without_the_csrf_token_are_refused(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    refused = upload(signed_in, event, CP949_FILE, token="0" * 64)
    assert refused.status_code == 403
    assert 'data-error-code="csrf_failed"' in refused.text
    pending = turnout.settings.var_dir / "imports" / "pending"
    assert not pending.exists() or not list(pending.iterdir())
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"]
    refused = start(signed_in, preview_url, {"consent_basis": "collected_elsewhere"}, token="0" * 64)
    assert refused.status_code == 403
    with turnout.uow(readonly=True) as uow:
        assert uow.imports.for_event(str(event["id"])) == []


def test_staff_of_another_event_may_not_see_or_use_the_import_pages(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any], admin_key: str
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"]
    started = start(
        signed_in,
        preview_url,
        {"mapping": selects_of(signed_in.get(preview_url).text), "consent_basis": "collected_elsewhere"},
    )
    job_url = started.headers["location"].split("?")[0]
    other = signed_in.post(
        "/api/v1/events",
        json={"name": "다른 행사", "starts_at": event["starts_at"], "ends_at": event["ends_at"]},
        headers={"Authorization": f"Bearer {admin_key}"},
    ).json()
    with turnout.uow() as uow:
        outsider = create_key(uow, actor="t", name="s", role=Role.STAFF, event_id=other["id"])
        own = create_key(uow, actor="t", name="s2", role=Role.STAFF, event_id=str(event["id"]))
        uow.commit()
    signed_in.cookies.clear()
    sign_in(signed_in, outsider.key)
    for path in (import_path(event), preview_url, job_url, f"{job_url}/progress", f"{job_url}/errors.csv"):
        answer = signed_in.get(path)
        assert answer.status_code == 403, path
        assert answer.headers["content-type"].startswith("text/html")
    # the import of another event is not found under the outsider's own event either
    assert signed_in.get(job_url.replace(str(event["id"]), other["id"])).status_code == 404
    signed_in.cookies.clear()
    sign_in(signed_in, own.key)
    assert signed_in.get(job_url).status_code == 200
    assert signed_in.get(import_path(event)).status_code == 200


# storage plays no part here beyond the event: SQLite only (the flows above run on both)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_import_is_a_404_page(signed_in: TestClient, event: dict[str, Any]) -> None:
    answer = signed_in.get(f"{import_path(event)}/01NOSUCHIMPORT0000000000000?lang=ko")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "가져오기 작업을 찾을 수 없습니다" in answer.text


def test_the_import_pages_speak_korean_and_english_only(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"].split("?")[0]
    started = start(
        signed_in,
        preview_url.replace("/uploads/", "/uploads/"),
        {"mapping": selects_of(signed_in.get(preview_url).text), "consent_basis": "collected_elsewhere"},
    )
    job_url = started.headers["location"].split("?")[0]
    running = signed_in.get(job_url, params={"lang": "ko"}).text
    turnout.importer.run_pending()
    preview_url = upload(signed_in, event, CP949_FILE).headers["location"].split("?")[0]
    user_data = [str(event["name"]), "참가자.csv", *HEADER.split(","), *",".join(ROWS).split(",")]
    for path in (import_path(event), preview_url, job_url, f"{job_url}/progress"):
        for lang in ("ko", "en"):
            html = signed_in.get(path, params={"lang": lang}).text
            chunks, _ = visible(html)
            if lang == "ko":
                assert not korean_leaks(chunks), path
                assert any(HANGUL.search(chunk) for chunk in chunks), path
            else:
                texts = chunks
                for data in sorted([*user_data, "한국어"], key=len, reverse=True):
                    texts = [text.replace(data, " ") for text in texts]
                assert not [text for text in texts if HANGUL.search(text)], path
    chunks, _ = visible(running)
    assert not korean_leaks(chunks)


def korean_leaks(chunks: list[str]) -> dict[str, list[str]]:
    """English words in a Korean page's text, beyond the file's own data (its name, its cells)."""
    leaks = {c: latin_words(c.replace("참가자.csv", " ").replace("not-an-email", " ")) for c in chunks}
    return {chunk: words for chunk, words in leaks.items() if words}


class CountingFiles(TableFiles):
    """Counts the records a reader hands out."""

    records = 0

    def open(self, path: str | None, *, filename: str, encoding: str | None) -> Any:
        table = super().open(path, filename=filename, encoding=encoding)
        rows = table.rows

        def counted() -> Any:
            for record in rows():
                CountingFiles.records += 1
                yield record

        table.rows = counted  # type: ignore[method-assign]
        return table


def big_file(path: Path, rows: int) -> Path:
    with path.open("w", encoding="cp949", newline="") as handle:
        handle.write("이름,이메일,연락처,소속\r\n")
        for number in range(rows):
            handle.write(f"참가자{number},p{number}@example.com,010-{number % 10000:04d}-0000,한빛\r\n")
    return path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_preview_of_a_100000_row_file_reads_only_its_first_rows(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any], tmp_path: Path
) -> None:
    path = big_file(tmp_path / "big.csv", 100_000)
    CountingFiles.records = 0
    preview = preview_file(CountingFiles(), path=str(path), filename="big.csv", rows=10)
    assert len(preview.rows) == 10
    assert CountingFiles.records == 10
    assert preview.encoding == "cp949"
    assert TableFiles().count_rows(str(path), filename="big.csv") == 100_000
    answer = upload(signed_in, event, path.read_bytes(), "big.csv")
    assert answer.status_code == 303
    preview_url = answer.headers["location"]
    signed_in.get(preview_url)
    began = time.perf_counter()
    page = signed_in.get(preview_url)
    took = time.perf_counter() - began
    assert page.status_code == 200
    assert took < 0.5, took  # < 100 ms measured alone; generous here for a shared test machine


def test_an_xlsx_file_is_previewed_as_a_workbook_and_a_failed_job_says_why(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["성명", "이메일 주소", "휴대폰"], ["김민준", "minjun@example.com", "01012345678"]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    preview_url = upload(signed_in, event, buffer.getvalue(), "명단.xlsx", lang="ko").headers["location"]
    html = signed_in.get(preview_url).text
    assert 'data-encoding="xlsx"' in html
    assert "Excel 통합 문서" in html
    assert selects_of(html) == ["성명=name", "이메일 주소=email", "휴대폰=phone"]
    data = {"mapping": selects_of(html), "consent_basis": "collected_elsewhere"}
    first = start(signed_in, preview_url, data)
    assert first.status_code == 303
    with turnout.uow(readonly=True) as uow:
        (queued,) = uow.imports.for_event(str(event["id"]))
    assert queued.rows_expected == 1  # the sheet's rows, counted without parsing it
    turnout.importer.run_pending()
    # the same people again, with on_duplicate=fail: the job fails as a whole, and says why
    again = upload(signed_in, event, buffer.getvalue(), "명단.xlsx", lang="ko").headers["location"]
    failed = start(signed_in, again, {**data, "on_duplicate": "fail"})
    turnout.importer.run_pending()
    page = signed_in.get(failed.headers["location"]).text
    assert 'data-job-status="failed"' in page
    assert 'data-code="duplicates_found"' in page
    listing = signed_in.get(f"{import_path(event)}?lang=ko").text
    assert listing.count('data-status="done"') == 1
    assert listing.count('data-status="failed"') == 1


def test_an_event_that_takes_no_imports_refuses_the_start_on_the_preview(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    preview_url = upload(signed_in, event, CP949_FILE, lang="ko").headers["location"]
    with turnout.uow() as uow:  # closed (set directly: closing's saga is not what is tested here)
        uow.events.set_status(str(event["id"]), EventStatus.CLOSED, now=uow.clock.now())
        uow.commit()
    data = {"mapping": selects_of(signed_in.get(preview_url).text), "consent_basis": "collected_elsewhere"}
    refused = start(signed_in, preview_url, data)
    assert refused.status_code == 422
    assert 'data-code="registration_closed"' in refused.text
    assert signed_in.get(preview_url).status_code == 200  # the upload is kept: nothing was queued
    assert not list((turnout.settings.var_dir / "imports").glob("*.csv"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_file_far_over_the_limit_is_answered_with_a_page_before_it_is_read(
    signed_in: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    turnout.settings.import_max_bytes = 100  # the request may be 1 MB more (the form's fields)
    answer = upload(signed_in, event, b"x" * (2 * 1024 * 1024), lang="ko")
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-error-code="file_too_large"' in answer.text
    assert "파일이 너무 큽니다" in answer.text
