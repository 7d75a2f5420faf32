"""Fuzzing the readers: written tables read back exactly; arbitrary bytes never crash them."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turnout.adapters.readers import FileRefused, open_table

# Hangul syllables, ASCII letters and digits, punctuation that matters to CSV (quotes, separators,
# newlines): every character is representable in CP949 and UTF-16.
CELL = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0xAC00, max_codepoint=0xAC40),
        st.sampled_from(list("abcXYZ019 .-@,;\t\"'\r\n=+")),
    ),
    max_size=12,
)
NAME = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xAC40), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(NAME, min_size=2, max_size=6, unique=True),  # one column has no delimiter to sniff
    body=st.lists(st.lists(CELL, min_size=1, max_size=6), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp949"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_written_tables_read_back_exactly(
    header: list[str], body: list[list[str]], encoding: str, delimiter: str
) -> None:
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in body]
    rows = [r for r in rows if any(c.strip() for c in r)] or [["x"] * width]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(
        [header, *rows]
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        with open_table(path) as table:
            assert table.header == header
            got = [r.cells for r in table.rows() if r.cells and any(c.strip() for c in r.cells)]
            problems = [r.problem for r in table.rows()]
    assert problems == []
    assert got == [r for r in rows if any(c.strip() for c in r)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["p.csv", "p.txt", "p.xlsx", "p.tsv"]))
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        code = None
        try:
            with open_table(path) as table:
                for row in table.rows():
                    assert row.row >= 2
        except FileRefused as refusal:
            code = refusal.code
    assert code in {None, "empty_file", "binary_file", "unreadable_file", "unsupported_file_type"}
