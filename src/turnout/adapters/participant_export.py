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
import gc
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
    """Any value as a neutralised cell (a custom field's value may be any JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(getattr(value, "value", value)))


def _date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


_SECONDS = [f"{second:02d}" for second in range(60)]
_MINUTES_KEPT = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _time_in(zone: ZoneInfo) -> Callable[[datetime | None], str]:
    """A function that shows an aware datetime in ``zone`` to the second, with its offset
    (``2026-06-01T10:00:05+09:00``). An export's times fall in few distinct minutes (the doors
    open, a registration wave), so each minute's text and offset are worked out once."""
    minutes: dict[int, tuple[str, str] | None] = {}

    def shown(value: datetime | None) -> str:
        if value is None:
            return ""
        stamp = (value - _EPOCH) // _SECOND  # whole seconds, exactly (a float timestamp may round up)
        minute, second = divmod(stamp, 60)
        try:
            parts = minutes[minute]
        except KeyError:
            if len(minutes) >= _MINUTES_KEPT:
                minutes.clear()
            local = datetime.fromtimestamp(minute * 60, zone)
            offset = local.utcoffset()
            text = local.isoformat()  # 2026-06-01T10:00:00+09:00
            # an offset with seconds (some zones' local mean time, before 1900) is worked out whole
            exact = offset is not None and offset.total_seconds() % 60 == 0
            parts = minutes[minute] = (text[:17], text[19:]) if exact else None
        if parts is None:
            return value.astimezone(zone).replace(microsecond=0).isoformat()
        return parts[0] + _SECONDS[second] + parts[1]

    return shown


_FORMULA_START = frozenset("=+-@\t\r")


def _plain_column(values: tuple[str | None, ...]) -> list[str]:
    """A text column, neutralised (the loop inlined: most of an export's cells are these)."""
    starts = _FORMULA_START
    return ["" if v is None else ("'" + v if v[:1] in starts else v) for v in values]


def _column_makers(zone: ZoneInfo) -> list[Callable[[tuple[Any, ...]], list[str]]]:
    """One function a fixed column (``COLUMNS``), from its values in a page to their texts."""
    when = _time_in(zone)

    def each(convert: Callable[[Any], str]) -> Callable[[tuple[Any, ...]], list[str]]:
        return lambda values: [convert(v) for v in values]

    kinds: dict[str, Callable[[tuple[Any, ...]], list[str]]] = {
        "birth_date": each(_date),
        "first_checked_in_at": each(when),
        "last_scan_at": each(when),
        "registered_at": each(when),
        "consent_given_at": each(when),
        "consent_optional": each(_flag),
        "consent_marketing": each(_flag),
        "notice_version": each(_number),
    }
    return [kinds.get(name, _plain_column) for name in COLUMNS]


def _page_maker(
    zone: ZoneInfo, custom_fields: list[str]
) -> Callable[[list[ExportRow]], list[tuple[str, ...]]]:
    """A function from a page of export records to their rows of text cells (every one
    neutralised). It works a column at a time: each column's values are converted in one loop."""
    makers = _column_makers(zone)
    fields = len(COLUMNS)

    def page_cells(page: list[ExportRow]) -> list[tuple[str, ...]]:
        if not page:
            return []
        columns = list(zip(*page, strict=True))
        texts = [make(values) for make, values in zip(makers, columns, strict=False)]
        extras = columns[fields]
        texts.extend([_text(extra.get(key)) for extra in extras] for key in custom_fields)
        return list(zip(*texts, strict=True))

    return page_cells


class _CollectorPause:
    """Automatic garbage collection held off while a page is read and converted (about 0.1 s).

    A page makes some 50,000 small containers (rows, tuples, custom field dicts) that reference
    counting frees, but each allocation burst also triggers the cyclic collector, whose passes
    over the whole process's heap took a quarter of an export's time (profiled: 100,000 rows, CSV
    3.0 -> 2.0 s CPU). Reentrant across threads (concurrent exports): the collector is enabled
    again when the last page ends, if it was enabled when the first began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._restore = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._restore = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._restore:
                    gc.enable()


_collector_paused = _CollectorPause()


def text_pages(export: ParticipantExport) -> Iterator[list[tuple[str, ...]]]:
    """The export's rows as text cells, a page at a time (as the pages are read)."""
    page_cells = _page_maker(ZoneInfo(export.timezone), export.custom_fields)
    pages = iter(export.pages)
    while True:
        with _collector_paused():
            page = next(pages, None)
            rows = None if page is None else page_cells(page)
            del page
        if rows is None:
            return
        yield rows


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
# the same test for a whole row at once (cheaper than one a cell): its cells joined by a character
# that is itself plain text in XML, searched for those characters and for every whitespace
# character but the space (``str.isspace``), then for ``_x`` and a space at a cell's edge; it may
# find more than there is (never less), and a row it finds is then done a cell at a time
_SEPARATOR = "\ue000"
_ROW_SPECIAL = re.compile(
    "[&<>\x00-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufffe\uffff]"
)


def _plain_row(joined: str) -> bool:
    return (
        _ROW_SPECIAL.search(joined) is None
        and "_x" not in joined
        and " \ue000" not in joined
        and "\ue000 " not in joined
        and joined[:1] != " "
        and joined[-1:] != " "
        and len(joined) <= _STRING_MAX
    )


_STRING_MAX = 32767  # Excel's longest cell text


class _TextRowSheet(Worksheet):  # type: ignore[misc]
    """An XlsxWriter worksheet (``constant_memory``) that also writes a whole row of text at once."""

    _columns: list[str]

    def write_text_row(self, row: int, cells: Sequence[str]) -> None:
        """Write ``cells`` (text; empty ones are left out) as row ``row`` (0-based, increasing)."""
        if not cells:
            return
        if not self.constant_memory:  # (in_memory workbooks): the ordinary way, a cell at a time
            for col, text in enumerate(cells):
                if text:
                    self.write_string(row, col, text)
            return
        filled = [col for col, text in enumerate(cells) if text]
        if not filled:
            return
        if self._check_dimensions(row, filled[0]) or self._check_dimensions(row, filled[-1]):
            raise ValueError(f"row {row} cannot be written (out of range or already written)")
        self._write_single_row(row)  # flush whatever the ordinary ``write_*`` calls left pending
        columns = self._column_names(len(cells))
        number = str(row + 1)
        joined = _SEPARATOR.join(cells)
        if _plain_row(joined):
            parts = [
                f'<c r="{columns[col]}{number}" t="inlineStr"><is><t>{cells[col]}</t></is></c>'
                for col in filled
            ]
        else:
            parts = [self._careful_cell(columns[col] + number, cells[col]) for col in filled]
        self.fh.write(f'<row r="{number}">' + "".join(parts) + "</row>")

    def _careful_cell(self, reference: str, text: str) -> str:
        space = ""
        text = text[:_STRING_MAX]
        if _NEEDS_CARE.search(text):
            if _EDGE_SPACE.search(text):
                space = ' xml:space="preserve"'
            text = self._escape_data(self._escape_control_characters(text))
        return f'<c r="{reference}" t="inlineStr"><is><t{space}>{text}</t></is></c>'

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
