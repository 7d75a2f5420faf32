"""Bad input, one test each: a clear error, valid rows unaffected, nothing half-saved."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.integration.test_import import count_participants, error_codes, make_event, outbox_count, run
from turnout.bootstrap import Turnout

OK_ROWS = "김민준,minjun@example.com\n이서연,seoyeon@example.com\n"


@pytest.fixture
def event_id(turnout: Turnout) -> str:
    return make_event(turnout)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.csv", b"", "empty_file"),
        ("header.csv", "이름,이메일\n", "no_data_rows"),
        ("header-blank-rows.csv", "이름,이메일\n,\n\n", "no_data_rows"),
        ("binary.csv", bytes(range(256)) * 64, "binary_file"),
        ("people.pdf", "이름,이메일\n" + OK_ROWS, "unsupported_file_type"),
        ("dup-header.csv", "이름,이메일,email\n김민준,a@example.com,b@example.com\n", "duplicate_column"),
        ("dup-custom.csv", "이름,이메일,메모,메모\n김민준,a@example.com,x,y\n", "duplicate_column"),
        ("no-email.csv", "이름,전화\n김민준,010-1234-5678\n", "missing_column"),
        (
            "many-columns.csv",
            ",".join(["이름", "이메일", *[f"c{i}" for i in range(600)]]) + "\n",
            "too_many_columns",
        ),
    ],
)
def test_file_is_refused_with_nothing_saved_when(
    turnout: Turnout, event_id: str, tmp_path: Path, name: str, data: bytes | str, code: str
) -> None:
    job = run(turnout, event_id, write(tmp_path, name, data))
    assert job.status == "failed"
    assert job.error_code == code
    assert count_participants(turnout, event_id) == 0
    assert outbox_count(turnout) == 0


def test_missing_column_error_names_the_column(turnout: Turnout, event_id: str, tmp_path: Path) -> None:
    job = run(turnout, event_id, write(tmp_path, "p.csv", "성명,전화\n김민준,010\n"))
    assert job.error_params is not None
    assert job.error_params["column"] == "email"
    assert "성명" in str(job.error_params["found"])


def test_unbalanced_quote_is_reported_with_its_line_and_rows_before_are_saved(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    data = "이름,이메일\n" + OK_ROWS + '"박서준,park@example.com\n최유진,choi@example.com\n'
    job = run(turnout, event_id, write(tmp_path, "p.csv", data))
    assert job.status == "done"
    assert count_participants(turnout, event_id) == 2
    assert error_codes(turnout, job) == [(4, "", "unbalanced_quote")]


def test_a_one_megabyte_cell_refuses_only_its_row(turnout: Turnout, event_id: str, tmp_path: Path) -> None:
    big = "가" * (1024 * 1024)
    data = (
        f"이름,이메일,메모\n김민준,a@example.com,{big}\n"
        f"이서연,b@example.com,짧은 메모\n{big},c@example.com,\n"
    )
    job = run(turnout, event_id, write(tmp_path, "p.csv", data))
    assert job.summary() == {"total": 3, "created": 1, "updated": 0, "duplicates": 0, "invalid": 2}
    assert error_codes(turnout, job) == [(2, "메모", "cell_too_long"), (4, "이름", "too_long")]


def test_two_hundred_columns_are_kept_as_custom_fields(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    header = ["이름", "이메일", *[f"항목{i}" for i in range(198)]]
    row = ["김민준", "a@example.com", *[str(i) for i in range(198)]]
    job = run(turnout, event_id, write(tmp_path, "p.csv", ",".join(header) + "\n" + ",".join(row) + "\n"))
    assert job.summary()["created"] == 1
    import sqlalchemy as sa

    from turnout.adapters.db import tables as t

    with turnout.uow(readonly=True) as uow:
        custom = uow.conn.execute(sa.select(t.participants.c.custom_fields)).scalar_one()
    assert len(custom) == 198
    assert custom["항목197"] == "197"


def test_rows_with_fewer_or_more_fields_than_the_header_are_refused(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    data = (
        "이름,이메일,지역\n김민준,a@example.com\n이서연,b@example.com,서울,덤\n박서준,c@example.com,부산,,\n"
    )
    job = run(turnout, event_id, write(tmp_path, "p.csv", data))
    assert error_codes(turnout, job) == [(2, "", "wrong_field_count"), (3, "", "wrong_field_count")]
    assert count_participants(turnout, event_id) == 1  # trailing empty fields are harmless


def test_formula_cells_are_refused_in_fields_and_kept_inert_in_custom_columns(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    data = (
        "이름,이메일,소속,메모\n=1+2,a@example.com,,\n"
        '김민준,b@example.com,=HYPERLINK("x"),\n이서연,c@example.com,,=SUM(A1)\n'
    )
    job = run(turnout, event_id, write(tmp_path, "p.csv", data))
    assert error_codes(turnout, job) == [
        (2, "이름", "formula_not_allowed"),
        (3, "소속", "formula_not_allowed"),
    ]
    assert count_participants(turnout, event_id) == 1


def test_mixed_encodings_refuse_only_the_rows_that_do_not_decode(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    data = "이름,이메일\n김민준,a@example.com\n".encode() + "이서연,b@example.com\n".encode("cp949")
    data += "박서준,c@example.com\n".encode()
    job = run(turnout, event_id, write(tmp_path, "p.csv", data))
    assert error_codes(turnout, job) == [(3, "", "encoding_error")]
    assert count_participants(turnout, event_id) == 2


def test_xlsx_with_excel_dates_and_numeric_phones_is_imported(
    turnout: Turnout, event_id: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["성명", "E-Mail", "연락처", "생년월일"])
    sheet.append(["김민준", "A@Example.com", 1012345678, datetime(1990, 3, 15)])
    sheet.append(["이서연", "b@example.com", "010-2222-3333", 32874])
    sheet.append(["박서준", "c@example.com", None, "19950101"])
    path = tmp_path / "people.xlsx"
    book.save(path)
    job = run(turnout, event_id, path)
    assert job.summary() == {"total": 3, "created": 3, "updated": 0, "duplicates": 0, "invalid": 0}
    import sqlalchemy as sa

    from turnout.adapters.db import tables as t

    with turnout.uow(readonly=True) as uow:
        rows = {
            r.name: (r.email, r.phone, str(r.birth_date))
            for r in uow.conn.execute(sa.select(t.participants)).fetchall()
        }
    assert rows == {
        "김민준": ("a@example.com", "+821012345678", "1990-03-15"),
        "이서연": ("b@example.com", "+821022223333", "1990-01-01"),
        "박서준": ("c@example.com", None, "1995-01-01"),
    }


def test_mapping_override_assigns_columns(turnout: Turnout, event_id: str, tmp_path: Path) -> None:
    data = "참석자,주소,비고\n김민준,a@example.com,메모\n"
    job = run(
        turnout,
        event_id,
        write(tmp_path, "p.csv", data),
        mapping={"참석자": "name", "주소": "email", "비고": "ignore"},
    )
    assert job.summary()["created"] == 1
