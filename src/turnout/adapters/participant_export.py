"""The participant list as CSV or XLSX (``GET /api/v1/events/{event_id}/participants/export``).

Every text cell a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or
CR) gets a leading apostrophe (``errors_csv.neutralise``): names, organisations, custom fields and
their column names alike. XLSX cells are written as strings, never as formulas. The ticket token
is not exported (the list is for the organisers' desk; the token is the ticket).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from turnout.adapters.errors_csv import neutralise
from turnout.domain.participants import Participant

COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "birth_date",
    "region",
    "organization",
    "gender",
    "locale",
    "status",
    "check_in_status",
    "first_checked_in_at",
    "registered_at",
)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def table(participants: Iterable[Participant]) -> list[list[str]]:
    """The header and one row per participant, every cell text and neutralised; custom fields
    follow the fixed columns, one column per key (in the order first seen)."""
    people = list(participants)
    custom: dict[str, None] = {}
    for person in people:
        custom.update(dict.fromkeys(person.custom_fields))
    rows = [[neutralise(c) for c in (*COLUMNS, *custom)]]
    for person in people:
        fixed = (
            person.id,
            person.name,
            person.email,
            person.phone,
            person.birth_date,
            person.region,
            person.organization,
            person.gender,
            person.locale,
            person.status,
            person.check_in_status,
            person.first_checked_in_at,
            person.created_at,
        )
        extra = (person.custom_fields.get(key) for key in custom)
        rows.append([neutralise(_text(v)) for v in (*fixed, *extra)])
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    """UTF-8 with a BOM (Excel opens it correctly), CRLF lines."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("participants")
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, even when it looks like a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
