"""The export writer's fast paths give exactly what the plain ways give: a row of text written at
once is read back as XlsxWriter's own ``write_string`` cells are; a time shown through the
per-minute cache is the time converted whole."""

from __future__ import annotations

import gc
import os
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from xlsxwriter import Workbook

from turnout.adapters.participant_export import _CollectorPause, _TextRowSheet, _time_in

TRICKY = [
    "plain",
    "김민준",
    " leading",
    "trailing ",
    "\u3000전각 공백",
    "a & b < c > d",
    "_x0041_ literal",
    "max_x@example.com",
    "tab\there",
    "line\nbreak",
    "\r=1+1",
    "nul\x00 and \x1f",
    "\ufffe",
    '\'=HYPERLINK("x")',
    "x" * 40_000,
    "",
]


def read_back(rows: list[list[str]], fast: bool) -> list[list[Any]]:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        return _read_back(path, rows, fast)
    finally:
        os.unlink(path)


def _read_back(path: str, rows: list[list[str]], fast: bool) -> list[list[Any]]:
    book = Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("s", worksheet_class=_TextRowSheet)
    for number, cells in enumerate(rows):
        if fast:
            sheet.write_text_row(number, cells)
        else:
            for col, text in enumerate(cells):
                if text:
                    sheet.write_string(number, col, text)
    book.close()
    loaded = load_workbook(path, read_only=True)
    sheet = loaded.active
    assert sheet is not None
    found = [list(row) for row in sheet.iter_rows(values_only=True)]
    loaded.close()
    return found


def test_a_row_written_at_once_reads_back_as_xlsxwriters_own_cells() -> None:
    rows = [TRICKY, list(reversed(TRICKY)), ["", "only the second"], ["a", "b", "c"]]
    assert read_back(rows, fast=True) == read_back(rows, fast=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=5), min_size=1, max_size=4))
def test_any_text_rows_read_back_as_xlsxwriters_own_cells(rows: list[list[str]]) -> None:
    assert read_back(rows, fast=True) == read_back(rows, fast=False)


ZONES = ["Asia/Seoul", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC", "Europe/Dublin"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_a_time_through_the_minute_cache_is_the_time_converted_whole(
    zone_name: str, moment: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    shown = _time_in(zone)
    expected = moment.astimezone(zone).replace(microsecond=0).isoformat()
    assert shown(moment) == expected
    assert shown(moment) == expected  # the cached answer too
    assert shown(moment.astimezone(ZoneInfo("Asia/Tokyo"))) == expected  # any aware zone in


def test_times_across_a_daylight_saving_change_keep_their_offsets() -> None:
    zone = ZoneInfo("America/New_York")
    shown = _time_in(zone)
    start = datetime(2026, 3, 8, 6, 59, 30, 999_999, tzinfo=UTC)
    for step in range(0, 7200, 17):
        moment = start + timedelta(seconds=step)
        assert shown(moment) == moment.astimezone(zone).replace(microsecond=0).isoformat()
    assert shown(None) == ""


def test_the_collector_pause_nests_and_restores_the_collectors_state() -> None:
    pause = _CollectorPause()
    assert gc.isenabled()
    with pause():
        assert not gc.isenabled()
        with pause():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer page is still going
    assert gc.isenabled()
    gc.disable()
    try:
        with pause():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
