"""Row readers for uploaded participant files: CSV/TSV/TXT (any common encoding) and XLSX. Streamed.

``open_table(path)`` looks at the first bytes, refuses what it cannot read (``FileRefused`` with a
stable code), and returns a :class:`Table`: the header and an iterator of :class:`RawRow`.

- Encoding: a BOM (UTF-8, UTF-16) wins; else UTF-8 if the sample decodes; else charset-normalizer's
  best guess (EUC-KR is read as its superset CP949). ``encoding=`` overrides detection. Bytes that
  do not decode become U+FFFD and the row is flagged ``encoding_error`` (mixed encodings).
- Delimiter: ``,`` ``;`` or tab, whichever the header line uses most (outside quotes).
- Quotes: RFC 4180 (fields with newlines are fine); a malformed or unclosed quote flags the record
  with the line it starts on and reading goes on with the next line.
- XLSX: openpyxl in read-only mode, first sheet, cached values of formula cells. Before openpyxl
  parses anything the archive is checked against :class:`SpreadsheetLimits` (total uncompressed
  size, compression ratio, the first sheet's declared dimension and its row count, the shared
  strings' size): a zip bomb or a sheet declaring a million columns is refused whole
  (``file_too_large`` / ``spreadsheet_too_large``) in well under a second. The sizes checked are the
  ones the zip's directory declares, and ``zipfile`` never inflates a member beyond its declared
  size, so a lying directory cannot get more past the check than it declares.

Row numbers are what a spreadsheet shows: the header is row 1, each record is one row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, Self

from turnout.domain.imports import FileRefused, RawRow
from turnout.ports import FileDigest

__all__ = [
    "FileRefused",
    "RawRow",
    "SpreadsheetLimits",
    "Table",
    "TableFiles",
    "check_spreadsheet",
    "detect_encoding",
    "open_table",
]

SAMPLE_BYTES = 64 * 1024
MAX_CELL_CHARS = 16 * 1024 * 1024  # a cell larger than this is a broken quote, not data
MAX_COLUMNS = 500
TEXT_EXTENSIONS = {".csv", ".tsv", ".txt", ""}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
REPLACEMENT = "\ufffd"


@dataclass(frozen=True, slots=True)
class SpreadsheetLimits:
    """What an uploaded XLSX may hold (settings ``TURNOUT_IMPORT_XLSX_*``)."""

    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100
    max_rows: int = 1_000_000
    max_columns: int = 1000
    max_shared_strings_bytes: int = 50 * 1024 * 1024
    #: members smaller than this (uncompressed) are not held to the ratio: tiny files compress oddly
    ratio_floor_bytes: int = 1024 * 1024


class TableFiles:
    """``ports.ImportFiles``: uploaded files read by ``open_table``. Files under ``uploads`` (the
    server's upload folder) are deleted when their import ends; others are never deleted."""

    uploads: Path | None = None
    xlsx_limits: SpreadsheetLimits = SpreadsheetLimits()

    def __init__(self, xlsx_limits: SpreadsheetLimits | None = None, *, uploads: Path | None = None) -> None:
        if xlsx_limits is not None:
            self.xlsx_limits = xlsx_limits
        self.uploads = uploads.resolve() if uploads is not None else None

    def discard(self, path: str | None) -> None:
        if not path or self.uploads is None:
            return
        file = Path(path).resolve()
        if file.parent == self.uploads:
            file.unlink(missing_ok=True)

    def open(self, path: str | None, *, filename: str, encoding: str | None) -> Table:
        if not path or not Path(path).exists():
            raise FileRefused("unreadable_file", reason="file_gone")
        return open_table(path, filename=filename, encoding=encoding, xlsx_limits=self.xlsx_limits)

    def count_rows(self, path: str, *, filename: str) -> int | None:
        """The data rows the file holds, counted without parsing it (for a progress bar): a text
        file's line breaks, an XLSX first sheet's ``<row>`` tags, less the header. An estimate
        (blank lines and line breaks inside quotes count too); None for what cannot be counted."""
        return count_rows(path)

    def digest(self, path: str) -> FileDigest:
        digest = hashlib.sha256()
        size = 0
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        return FileDigest(sha256=digest.hexdigest(), size=size)


class Table:
    """A header and a stream of rows (``ports.Table``). Close it (or use ``with``)."""

    kind: str = ""
    encoding: str | None = None
    delimiter: str | None = None

    def __init__(self, header: list[str]) -> None:
        self.header = header

    def rows(self) -> Iterator[RawRow]:
        raise NotImplementedError

    def position(self) -> int:
        """Bytes of the file read so far (0 where unknown)."""
        return 0

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(
    path: str | Path,
    *,
    filename: str | None = None,
    encoding: str | None = None,
    xlsx_limits: SpreadsheetLimits | None = None,
) -> Table:
    """Open an uploaded file. ``filename`` (the name the user gave it) decides the allowed types."""
    path = Path(path)
    name = filename or path.name
    extension = Path(name).suffix.lower()
    if extension == ".xls":
        raise FileRefused("unsupported_file_type", extension=".xls (Excel 97-2003: save as .xlsx or CSV)")
    if extension not in TEXT_EXTENSIONS | EXCEL_EXTENSIONS:
        raise FileRefused("unsupported_file_type", extension=extension or name)
    with path.open("rb") as probe:
        sample = probe.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise FileRefused("empty_file")
    if sample.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, xlsx_limits or SpreadsheetLimits())
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused("unsupported_file_type", extension=".xls (Excel 97-2003: save as .xlsx or CSV)")
    if extension in EXCEL_EXTENSIONS:
        # a text file named .xlsx: read it for what it is
        pass
    chosen = _check_encoding(encoding) if encoding else detect_encoding(sample)
    return _open_text(path, chosen, sample)


def count_rows(path: str | Path) -> int | None:
    """See ``TableFiles.count_rows``."""
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(4)
            if head == b"PK\x03\x04":
                return _count_sheet_rows(path)
            handle.seek(0)
            breaks, last = 0, b""
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                breaks += chunk.count(b"\n")
                last = chunk[-1:]
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        return None
    lines = breaks + (1 if last and last not in b"\r\n\x00" else 0)
    return max(lines - 1, 0)


def _count_sheet_rows(path: str | Path) -> int | None:
    with zipfile.ZipFile(path) as archive:
        sheets = sorted(
            n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")
        )
        if not sheets:
            return None
        rows, tail = 0, b""
        with archive.open(sheets[0]) as stream:
            while chunk := stream.read(_SCAN_CHUNK):
                window = tail + chunk
                rows += sum(1 for m in _ROW_TAG.finditer(window) if m.end() > len(tail))
                tail = window[-256:]
    return max(rows - 1, 0)


# --- text -------------------------------------------------------------------------------------------


def _check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FileRefused("unknown_encoding", encoding=name) from None


def _looks_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM: NULs at every other position of ASCII text."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = len(head) // 2
    if odd_nuls > half * 0.6 and even_nuls < half * 0.05:
        return "utf-16-le"
    if even_nuls > half * 0.6 and odd_nuls < half * 0.05:
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _looks_utf16(sample)
    if utf16:
        return utf16
    if b"\x00" in sample:
        raise FileRefused("binary_file")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _reads_as_korean(sample):
        return "cp949"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        # mixed encodings (a file pasted together): the encoding most lines decode in, if any
        return _mostly_decodes(sample)
    name = codecs.lookup(best.encoding).name
    if name in ("euc_kr", "iso2022_kr", "johab", "uhc"):
        name = "cp949"  # the superset Excel writes
    return name


def _reads_as_korean(sample: bytes) -> bool:
    """CP949 (what Korean Excel writes) when the sample decodes and its non-ASCII text is mostly Hangul.

    Short Korean samples are ambiguous to statistical detectors (Big5, GB18030 ...); organisers
    here are mostly Korean, so Korean wins when it reads cleanly.
    """
    try:
        text = codecs.getincrementaldecoder("cp949")().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return False
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    hangul = sum(1 for ch in wide if "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e")
    return hangul * 10 >= len(wide) * 7


def _mostly_decodes(sample: bytes) -> str:
    lines = [line for line in sample.splitlines() if line.strip()]
    for candidate in ("utf-8", "cp949"):
        bad = sum(1 for line in lines if REPLACEMENT in line.decode(candidate, errors="replace"))
        if lines and bad * 2 < len(lines):
            return candidate
    raise FileRefused("binary_file")


def _sniff_delimiter(first_line: str) -> str:
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class TextTable(Table):
    kind = "csv"

    def __init__(self, stream: IO[str], raw: IO[bytes], encoding: str, delimiter: str) -> None:
        self._raw = raw
        self._stream = stream
        self.encoding = encoding
        self.delimiter = delimiter
        if csv.field_size_limit() < MAX_CELL_CHARS:
            csv.field_size_limit(MAX_CELL_CHARS)
        self._reader = csv.reader(stream, delimiter=delimiter, strict=True)
        self._next_row = 1
        header_row = self._read_header()
        super().__init__(header_row)

    def _read_header(self) -> list[str]:
        for record in self._records():
            if record.problem:
                params = {**record.problem_params, "line": record.line, "reason": record.problem}
                raise FileRefused("unreadable_file", **params)
            cells = [str(c) for c in record.cells]
            if any(c.strip() for c in cells):
                return cells
        raise FileRefused("empty_file")

    def _records(self) -> Iterator[RawRow]:
        reader = self._reader
        previous_line = reader.line_num
        while True:
            start_line = previous_line + 1
            row_number = self._next_row
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._next_row += 1
                previous_line = reader.line_num
                code = "unbalanced_quote"
                yield RawRow(row_number, [], start_line, code, {"line": start_line, "detail": str(exc)})
                continue
            self._next_row += 1
            previous_line = reader.line_num
            record = RawRow(row_number, cells, start_line)
            if REPLACEMENT in "".join(cells):
                record.problem = "encoding_error"
                record.problem_params = {"encoding": self.encoding}
            yield record

    def rows(self) -> Iterator[RawRow]:
        return self._records()

    def position(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self._stream.close()
        self._raw.close()


def _open_text(path: Path, encoding: str, sample: bytes) -> TextTable:
    raw = path.open("rb")
    try:
        stream = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        # the delimiter: from the first non-blank line of the decoded sample
        decoded = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
        decoded = decoded.lstrip("\ufeff")
        first = next((line for line in decoded.splitlines() if line.strip()), "")
        table = TextTable(stream, raw, encoding, _sniff_delimiter(first))
    except BaseException:
        raw.close()
        raise
    return table


# --- xlsx -------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.time() == time(0, 0):
        return value.date()
    if isinstance(value, str | int | float | date) or value is None:
        return value
    return str(value)


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook

        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileRefused("unreadable_file", reason="invalid_xlsx", detail=str(exc)) from None
        sheet = self._book.worksheets[0] if self._book.worksheets else None
        if sheet is None:
            raise FileRefused("empty_file")
        self._rows = sheet.iter_rows(values_only=True)
        self._row_number = 0
        header: list[str] | None = None
        for values in self._rows:
            self._row_number += 1
            cells = [_cell(v) for v in values]
            if any(c not in (None, "") for c in cells):
                while cells and cells[-1] in (None, ""):
                    cells.pop()
                header = ["" if c is None else str(c) for c in cells]
                break
        if header is None:
            self.close()
            raise FileRefused("empty_file")
        super().__init__(header)

    def rows(self) -> Iterator[RawRow]:
        for values in self._rows:
            self._row_number += 1
            cells = [_cell(v) for v in values]
            while cells and cells[-1] in (None, ""):
                cells.pop()
            yield RawRow(self._row_number, cells)

    def close(self) -> None:
        self._book.close()


def _open_xlsx(path: Path, limits: SpreadsheetLimits) -> XlsxTable:
    check_spreadsheet(path, limits)
    return XlsxTable(path)


def _too_large(what: str, found: int, limit: int) -> FileRefused:
    return FileRefused("spreadsheet_too_large", what=what, found=found, limit=limit)


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=[\"']([A-Za-z$]*)(\d*)(?::\$?([A-Za-z]+)\$?(\d+))?[\"']")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_SCAN_CHUNK = 1 << 20


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper().replace(b"$", b""):
        number = number * 26 + (letter - 64)
    return number


def check_spreadsheet(path: str | Path, limits: SpreadsheetLimits) -> None:
    """Refuse an XLSX over ``limits`` before it is parsed (``FileRefused``: ``file_too_large``,
    ``spreadsheet_too_large``, ``binary_file``, ``unreadable_file``). Reads the zip's directory,
    then streams the worksheets (at most ``max_uncompressed_bytes``) counting rows."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "xl/workbook.xml" not in names:
                raise FileRefused("binary_file")
            total = sum(info.file_size for info in infos)
            if total > limits.max_uncompressed_bytes:
                raise FileRefused("file_too_large", max_bytes=limits.max_uncompressed_bytes)
            for info in infos:
                if info.file_size < limits.ratio_floor_bytes:
                    continue
                ratio = info.file_size // max(info.compress_size, 1)
                if ratio > limits.max_ratio:
                    raise _too_large("compression_ratio", ratio, limits.max_ratio)
            for info in infos:
                shared = info.filename.lower() == "xl/sharedstrings.xml"
                if shared and info.file_size > limits.max_shared_strings_bytes:
                    raise _too_large("shared_strings", info.file_size, limits.max_shared_strings_bytes)
            for name in sorted(names):
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _check_sheet(archive, name, limits)
    except zipfile.BadZipFile:
        raise FileRefused("unreadable_file", reason="damaged_xlsx") from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise FileRefused("unreadable_file", reason="damaged_xlsx", detail=str(exc)) from None


def _check_sheet(archive: zipfile.ZipFile, member: str, limits: SpreadsheetLimits) -> None:
    """The declared dimension (``<dimension ref="A1:XFD1048576"/>``) and the ``<row>`` count."""
    rows = 0
    tail = b""
    dimension_seen = False
    with archive.open(member) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            window = tail + chunk
            if not dimension_seen and b"dimension" in window:
                found = _DIMENSION.search(window)
                if found is not None:
                    dimension_seen = True
                    _check_dimension(found, limits)
            # a tag wholly inside the tail was counted with the previous chunk
            rows += sum(1 for m in _ROW_TAG.finditer(window) if m.end() > len(tail))
            if rows > limits.max_rows:
                raise _too_large("rows", rows, limits.max_rows)
            tail = window[-256:]


def _check_dimension(found: re.Match[bytes], limits: SpreadsheetLimits) -> None:
    first_column, first_row, last_column, last_row = found.groups()
    columns = _column_number(last_column or first_column or b"A")
    row_count = int(last_row or first_row or b"1")
    if columns > limits.max_columns:
        raise _too_large("columns", columns, limits.max_columns)
    if row_count > limits.max_rows:
        raise _too_large("rows", row_count, limits.max_rows)
