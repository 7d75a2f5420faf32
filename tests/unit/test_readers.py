"""Reading uploaded files: encodings, delimiters, quotes, XLSX, and files refused as a whole."""

from __future__ import annotations

import codecs
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from turnout.adapters.readers import FileRefused, open_table

KOREAN = "이름,이메일,지역\r\n김민준,minjun@example.com,서울\r\n이서연,seoyeon@example.com,부산\r\n"


def read_all(path: Path, **kwargs: Any) -> tuple[list[str], list[tuple[int, list[object], str | None]]]:
    with open_table(path, **kwargs) as table:
        return table.header, [(r.row, r.cells, r.problem) for r in table.rows()]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp949", "cp949"),
        ("euc-kr", "cp949"),
        ("utf-16", "utf-16"),
    ],
)
def test_korean_csv_is_read_when_encoded_as(tmp_path: Path, encoding: str, expected: str) -> None:
    path = write(tmp_path, "p.csv", KOREAN.encode(encoding))
    with open_table(path) as table:
        assert table.encoding == expected
        assert table.header == ["이름", "이메일", "지역"]
        rows = [r.cells for r in table.rows()]
    assert rows == [["김민준", "minjun@example.com", "서울"], ["이서연", "seoyeon@example.com", "부산"]]


def test_excel_unicode_text_is_read_when_utf16_with_tabs(tmp_path: Path) -> None:
    text = KOREAN.replace(",", "\t")
    path = write(tmp_path, "p.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    header, rows = read_all(path)
    assert header == ["이름", "이메일", "지역"]
    assert rows[1][1] == ["이서연", "seoyeon@example.com", "부산"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed_when(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, "p.csv", KOREAN.replace(",", delimiter).encode())
    with open_table(path) as table:
        assert table.delimiter == delimiter
        assert len(table.header) == 3


def test_quoted_fields_keep_newlines_and_rows_count_records(tmp_path: Path) -> None:
    data = 'name,email,note\r\n"Kim, Minjun",a@example.com,"line 1\r\nline 2"\r\nLee,b@example.com,x\r\n'
    _header, rows = read_all(write(tmp_path, "p.csv", data.encode()))
    assert rows == [
        (2, ["Kim, Minjun", "a@example.com", "line 1\r\nline 2"], None),
        (3, ["Lee", "b@example.com", "x"], None),
    ]


def test_encoding_override_wins_over_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", KOREAN.encode("cp949"))
    with open_table(path, encoding="latin-1") as table:
        assert table.encoding == "iso8859-1"


def test_unknown_encoding_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused) as caught:
        open_table(write(tmp_path, "p.csv", b"a,b\n"), encoding="klingon")
    assert caught.value.code == "unknown_encoding"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.csv", b"", "empty_file"),
        ("blank.csv", b"\r\n\r\n  \r\n", "empty_file"),
        ("bom-only.csv", codecs.BOM_UTF8, "empty_file"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" + bytes(range(256)) * 4, "binary_file"),
        ("report.pdf", b"%PDF-1.7\n", "unsupported_file_type"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "unsupported_file_type"),
        ("fake.xlsx", b"PK\x03\x04not really a zip", "unreadable_file"),
        ("program.exe", b"MZ\x90\x00", "unsupported_file_type"),
    ],
)
def test_file_is_refused_as_a_whole_when(tmp_path: Path, name: str, data: bytes, code: str) -> None:
    with pytest.raises(FileRefused) as caught:
        open_table(write(tmp_path, name, data))
    assert caught.value.code == code


def test_unbalanced_quote_flags_the_record_with_its_starting_line(tmp_path: Path) -> None:
    data = 'name,email\nKim,a@example.com\n"Lee,b@example.com\nPark,c@example.com\n'
    _header, rows = read_all(write(tmp_path, "p.csv", data.encode()))
    assert rows[0] == (2, ["Kim", "a@example.com"], None)
    assert rows[1][0] == 3
    assert rows[1][2] == "unbalanced_quote"
    with open_table(write(tmp_path, "q.csv", data.encode())) as table:
        bad = list(table.rows())[1]
    assert bad.problem_params["line"] == 3


def test_malformed_quote_mid_file_does_not_stop_the_rows_after_it(tmp_path: Path) -> None:
    data = 'name,email\n"Kim"x,a@example.com\nLee,b@example.com\n'
    _header, rows = read_all(write(tmp_path, "p.csv", data.encode()))
    assert rows[0][2] == "unbalanced_quote"
    assert rows[1] == (3, ["Lee", "b@example.com"], None)


def test_mixed_encodings_flag_only_the_rows_that_do_not_decode(tmp_path: Path) -> None:
    data = "이름,이메일\n김민준,a@example.com\n".encode() + "이서연,b@example.com\n".encode("cp949")
    data += "박서준,c@example.com\n".encode()
    _header, rows = read_all(write(tmp_path, "p.csv", data))
    assert [r[2] for r in rows] == [None, "encoding_error", None]
    assert rows[2][1] == ["박서준", "c@example.com"]


def test_a_one_megabyte_cell_is_read_whole(tmp_path: Path) -> None:
    big = "x" * (1024 * 1024)
    data = f"name,email,note\nKim,a@example.com,{big}\nLee,b@example.com,y\n"
    _header, rows = read_all(write(tmp_path, "p.csv", data.encode()))
    assert len(str(rows[0][1][2])) == 1024 * 1024
    assert rows[1][1] == ["Lee", "b@example.com", "y"]


def test_xlsx_is_read_with_typed_cells_and_blank_trailing_columns_trimmed(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["이름", "이메일", "휴대폰", "생년월일", None])
    sheet.append(["김민준", "a@example.com", 1012345678, datetime(1990, 3, 15), None])
    sheet.append(["이서연", "b@example.com", "010-2222-3333", 32874])
    sheet["F3"] = "=1+1"  # a formula without a cached value reads as empty
    path = tmp_path / "p.xlsx"
    book.save(path)
    header, rows = read_all(path)
    assert header == ["이름", "이메일", "휴대폰", "생년월일"]
    assert rows[0] == (2, ["김민준", "a@example.com", 1012345678, date(1990, 3, 15)], None)
    assert rows[1] == (3, ["이서연", "b@example.com", "010-2222-3333", 32874], None)


def test_xlsx_with_only_blank_rows_is_empty(tmp_path: Path) -> None:
    book = Workbook()
    path = tmp_path / "p.xlsx"
    book.save(path)
    with pytest.raises(FileRefused) as caught:
        open_table(path)
    assert caught.value.code == "empty_file"
