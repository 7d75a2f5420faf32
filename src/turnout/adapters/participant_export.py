"""The participant list as CSV or XLSX (``GET /api/v1/events/{event_id}/participants/export``).

Every text cell a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or
CR) gets a leading apostrophe (``errors_csv.neutralise``): names, organisations, custom fields and
their column names alike. XLSX cells are written as strings, never as formulas. The ticket token
is not exported (the list is for the organisers' desk; the token is the ticket).

Each participant's consent follows: its channel (``form``, ``api``, ``staff``, ``import``,
``transfer``), basis (``consent``, ``collected_elsewhere``), whether the optional items and
marketing were consented, when (in the event's zone) and under which notice version.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from turnout.adapters.errors_csv import neutralise
from turnout.domain.consent import ConsentRecord
from turnout.domain.participants import Participant
from turnout.services.participants import ExportRow

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
    "consent_channel",
    "consent_basis",
    "consent_optional",
    "consent_marketing",
    "consent_given_at",
    "notice_version",
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


def _consent_cells(consent: ConsentRecord | None, zone: ZoneInfo) -> tuple[Any, ...]:
    if consent is None:
        return (None,) * 6
    return (
        consent.channel,
        consent.basis,
        consent.optional,
        consent.marketing,
        consent.given_at.astimezone(zone).replace(microsecond=0),
        consent.notice_version,
    )


def table(participants: Iterable[ExportRow | Participant]) -> list[list[str]]:
    """The header and one row per participant, every cell text and neutralised; custom fields
    follow the fixed columns (the consent's last), one column per key (in the order first seen)."""
    people = [row if isinstance(row, ExportRow) else ExportRow(row, None, "UTC") for row in participants]
    custom: dict[str, None] = {}
    for row in people:
        custom.update(dict.fromkeys(row.participant.custom_fields))
    rows = [[neutralise(c) for c in (*COLUMNS, *custom)]]
    zones: dict[str, ZoneInfo] = {}
    for row in people:
        person = row.participant
        zone = zones.get(row.timezone) or zones.setdefault(row.timezone, ZoneInfo(row.timezone))
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
            *_consent_cells(row.consent, zone),
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
