"""The participant list as CSV or XLSX, written as it is read (``services.participants.
participants_to_export``): ``GET /api/v1/events/{event_id}/participants/export`` and ``turnout export``.

Columns: ``COLUMNS`` (the check-in status, the first and the last scan, the registration time and
the consent's six), then one per custom field name. Headers are in the requester's language (the
catalogue's ``export.column.*``) or, for scripts, the codes themselves (``locale=None``). Times are
shown in the event's zone, to the second, with their offset (``2026-06-01T10:00:00+09:00``).

Every text cell a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or
CR) gets a leading apostrophe (``errors_csv.neutralise``): names, organisations, custom fields and
their column names alike. XLSX cells are inline strings, never formulas. The ticket token is not
exported (the list is for the organisers' desk; the token is the ticket).

Memory stays bounded whatever the size: CSV goes out a page at a time (UTF-8 with a BOM, CRLF:
Excel opens it correctly in Korean); XLSX is written by XlsxWriter in ``constant_memory`` mode to a
temporary file (deleted afterwards), then sent in chunks. XlsxWriter's own cell-by-cell writing
(about 5 µs a cell) would take most of the 10 s budget for 100,000 rows, so ``_TextRowSheet`` writes
a whole row of inline strings at once, escaped exactly as XlsxWriter escapes them; the workbook, its
parts and the zip stay XlsxWriter's.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from turnout.adapters.errors_csv import neutralise
from turnout.i18n import translate
from turnout.ports import EXPORT_FIELDS
from turnout.services.participants import ExportRow, ParticipantExport

#: the fixed columns, in order (their codes; the custom fields follow)
COLUMNS = EXPORT_FIELDS[:-1]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
#: bytes of a finished XLSX file sent at a time
FILE_CHUNK = 256 * 1024
SHEET_NAME = "participants"

_TIMES = ("first_checked_in_at", "last_scan_at", "registered_at", "consent_given_at")
_DATETIMES = frozenset(COLUMNS.index(name) for name in _TIMES)


@dataclass
class Tally:
    """Rows written so far (the command line prints it)."""

    rows: int = 0


def header(custom_fields: list[str], locale: str | None) -> list[str]:
    """The header row: each column's name in ``locale`` (``ko``/``en``), or its code when None."""
    if locale is None:
        names = list(COLUMNS)
    else:
        names = [translate(f"export.column.{code}", locale, default=code) for code in COLUMNS]
    return [neutralise(name) for name in (*names, *custom_fields)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _row_maker(zone: ZoneInfo, custom_fields: list[str]) -> Callable[[ExportRow], list[str]]:
    """A function from one export record to its text cells (every one neutralised)."""
    datetimes = _DATETIMES
    last = len(COLUMNS)

    def when(value: datetime) -> str:
        return value.astimezone(zone).replace(microsecond=0).isoformat()

    def cells(record: ExportRow) -> list[str]:
        out: list[str] = []
        append = out.append
        for index in range(last):
            value = record[index]
            if value is None:
                append("")
            elif type(value) is str:
                append("'" + value if value and value[0] in "=+-@\t\r" else value)
            elif index in datetimes:
                append(when(value))
            else:
                append(neutralise(_text(value)))
        extra = record[last]
        if custom_fields:
            for key in custom_fields:
                append(neutralise(_text(extra.get(key))) if extra else "")
        return out

    return cells


def text_pages(export: ParticipantExport) -> Iterator[list[list[str]]]:
    """The export's rows as text cells, a page at a time (as the pages are read)."""
    cells = _row_maker(ZoneInfo(export.timezone), export.custom_fields)
    for page in export.pages:
        yield [cells(record) for record in page]


# --- CSV --------------------------------------------------------------------------------------------


def csv_chunks(export: ParticipantExport, locale: str | None, tally: Tally | None = None) -> Iterator[bytes]:
    """The CSV file in pieces: the BOM and the header first, then one piece per page."""
    tally = tally if tally is not None else Tally()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(export.custom_fields, locale))
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for rows in text_pages(export):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        tally.rows += len(rows)
        yield buffer.getvalue().encode("utf-8")


# --- XLSX -------------------------------------------------------------------------------------------

# text XlsxWriter would change: XML specials, control characters (``_xHHHH_``), a literal
# ``_xHHHH_`` (escaped in turn), non-characters, and leading or trailing space (``xml:space``)
_NEEDS_CARE = re.compile(r"[&<>\x00-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_STRING_MAX = 32767  # Excel's longest cell text


class _TextRowSheet(Worksheet):  # type: ignore[misc]
    """An XlsxWriter worksheet (``constant_memory``) that also writes a whole row of text at once."""

    _columns: list[str]

    def write_text_row(self, row: int, cells: list[str]) -> None:
        """Write ``cells`` (text; empty ones are left out) as row ``row`` (0-based, increasing)."""
        if not cells:
            return
        if self._check_dimensions(row, 0) or self._check_dimensions(row, len(cells) - 1):
            raise ValueError(f"row {row} cannot be written (out of range or already written)")
        self._write_single_row(row)  # flush whatever the ordinary ``write_*`` calls left pending
        columns = self._column_names(len(cells))
        number = str(row + 1)
        parts = [f'<row r="{number}">']
        for col, text in enumerate(cells):
            if not text:
                continue
            space = ""
            if _NEEDS_CARE.search(text):
                text = text[:_STRING_MAX]
                if _EDGE_SPACE.search(text):
                    space = ' xml:space="preserve"'
                text = self._escape_data(self._escape_control_characters(text))
            elif len(text) > _STRING_MAX:
                text = text[:_STRING_MAX]
            parts.append(f'<c r="{columns[col]}{number}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        parts.append("</row>")
        self.fh.write("".join(parts))

    def _column_names(self, count: int) -> list[str]:
        names = getattr(self, "_columns", None)
        if names is None or len(names) < count:
            names = self._columns = [xl_col_to_name(col) for col in range(count)]
        return names


def write_xlsx(
    export: ParticipantExport, locale: str | None, target: str | IO[bytes], tally: Tally | None = None
) -> None:
    """Write the export as an XLSX workbook to ``target`` (a path or a binary file)."""
    tally = tally if tally is not None else Tally()
    book = Workbook(target, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
    try:
        sheet: _TextRowSheet = book.add_worksheet(SHEET_NAME, worksheet_class=_TextRowSheet)
        sheet.freeze_panes(1, 0)
        sheet.write_text_row(0, header(export.custom_fields, locale))
        row = 1
        for rows in text_pages(export):
            for cells in rows:
                sheet.write_text_row(row, cells)
                row += 1
            tally.rows += len(rows)
    finally:
        book.close()


def xlsx_chunks(export: ParticipantExport, locale: str | None, tally: Tally | None = None) -> Iterator[bytes]:
    """The XLSX file in pieces: written whole to a temporary file first (an XLSX is a zip; its
    directory comes last), then read out; the file is deleted at the end, or when the reader stops."""
    handle, path = tempfile.mkstemp(prefix="turnout-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(export, locale, path, tally)
        with open(path, "rb") as finished:
            while chunk := finished.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def chunks(
    export: ParticipantExport, export_format: str, locale: str | None, tally: Tally | None = None
) -> Iterator[bytes]:
    """The file of ``export_format`` (``csv`` or ``xlsx``) in pieces."""
    if export_format == "csv":
        return csv_chunks(export, locale, tally)
    return xlsx_chunks(export, locale, tally)


def media_type(export_format: str) -> str:
    return CSV_MEDIA_TYPE if export_format == "csv" else XLSX_MEDIA_TYPE


def write_file(export: ParticipantExport, export_format: str, locale: str | None, path: str) -> int:
    """Write the export to the file at ``path``; the number of participant rows written."""
    tally = Tally()
    if export_format == "xlsx":
        write_xlsx(export, locale, path, tally)
        return tally.rows
    with open(path, "wb") as out:
        for piece in csv_chunks(export, locale, tally):
            out.write(piece)
    return tally.rows
