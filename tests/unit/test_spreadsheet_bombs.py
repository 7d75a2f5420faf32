"""XLSX bombs are refused whole, before openpyxl parses anything, and quickly."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from turnout.adapters.readers import FileRefused, SpreadsheetLimits, open_table

SMALL = SpreadsheetLimits(
    max_uncompressed_bytes=50 * 1024 * 1024,
    max_ratio=100,
    max_rows=10_000,
    max_columns=200,
    max_shared_strings_bytes=5 * 1024 * 1024,
)


def _valid_workbook(tmp_path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["이름", "이메일"])
    sheet.append(["김민준", "a@example.com"])
    path = tmp_path / "ok.xlsx"
    book.save(path)
    return path


def _rewrite(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """The workbook at ``source`` with some members replaced (highly compressible ones, as a bomb)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = replace.pop(info.filename, None)
            new.writestr(info.filename, old.read(info.filename) if data is None else data)
        for name, data in replace.items():
            new.writestr(name, data)
    return target


def _sheet(dimension: str, body: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="' + dimension.encode() + b'"/><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        + body
        + b"</sheetData></worksheet>"
    )


def _refused(path: Path, limits: SpreadsheetLimits = SMALL) -> FileRefused:
    started = time.monotonic()
    with pytest.raises(FileRefused) as caught:
        open_table(path, xlsx_limits=limits)
    assert time.monotonic() - started < 1.0
    return caught.value


def test_a_sheet_of_hundreds_of_megabytes_of_zeros_is_refused_as_too_large(tmp_path: Path) -> None:
    zeros = _sheet("A1:A1", b"<!--" + b"0" * (300 * 1024 * 1024) + b"-->")
    bomb = _rewrite(_valid_workbook(tmp_path), tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": zeros})
    assert bomb.stat().st_size < 1024 * 1024
    refusal = _refused(bomb)
    assert refusal.code == "file_too_large"


def test_a_highly_compressed_sheet_under_the_size_cap_is_refused_by_its_ratio(tmp_path: Path) -> None:
    zeros = _sheet("A1:A1", b"<!--" + b"0" * (20 * 1024 * 1024) + b"-->")
    bomb = _rewrite(_valid_workbook(tmp_path), tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": zeros})
    refusal = _refused(bomb)
    assert refusal.code == "spreadsheet_too_large"
    assert refusal.params["what"] == "compression_ratio"


@pytest.mark.parametrize(
    ("dimension", "what"), [("A1:XFD1048576", "columns"), ("A1:B1048576", "rows"), ("A1:XFD1", "columns")]
)
def test_a_sheet_declaring_huge_dimensions_is_refused(tmp_path: Path, dimension: str, what: str) -> None:
    bomb = _rewrite(
        _valid_workbook(tmp_path), tmp_path / "dim.xlsx", {"xl/worksheets/sheet1.xml": _sheet(dimension)}
    )
    refusal = _refused(bomb)
    assert (refusal.code, refusal.params["what"]) == ("spreadsheet_too_large", what)


def test_a_sheet_with_more_rows_than_allowed_is_refused_even_without_a_dimension(tmp_path: Path) -> None:
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n) for n in range(2, 20_002))
    sheet = _sheet("A1", rows).replace(b'<dimension ref="A1"/>', b"")
    bomb = _rewrite(_valid_workbook(tmp_path), tmp_path / "rows.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    refusal = _refused(bomb)
    assert (refusal.code, refusal.params["what"]) == ("spreadsheet_too_large", "rows")


def test_huge_shared_strings_are_refused(tmp_path: Path) -> None:
    strings = io.BytesIO()
    strings.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
    for n in range(400_000):
        strings.write(b"<si><t>%d-unique-string</t></si>" % n)
    strings.write(b"</sst>")
    bomb = _rewrite(
        _valid_workbook(tmp_path), tmp_path / "sst.xlsx", {"xl/sharedStrings.xml": strings.getvalue()}
    )
    refusal = _refused(bomb)
    assert (refusal.code, refusal.params["what"]) == ("spreadsheet_too_large", "shared_strings")


def test_a_normal_workbook_is_read_under_the_limits(tmp_path: Path) -> None:
    with open_table(_valid_workbook(tmp_path), xlsx_limits=SMALL) as table:
        assert table.header == ["이름", "이메일"]
        assert [r.cells for r in table.rows()] == [["김민준", "a@example.com"]]


def test_refusals_have_korean_and_english_messages() -> None:
    from turnout.i18n import translate

    for code, params in (
        ("file_too_large", {"max_bytes": 1}),
        ("spreadsheet_too_large", {"what": "rows", "found": 5, "limit": 3}),
    ):
        ko, en = translate(code, "ko", params), translate(code, "en", params)
        assert ko != en
        assert code not in (ko, en)
        assert "{" not in ko + en
