"""errors.csv of an import: the original cells of each refused row plus ``row, column, code, message``
(one line per error; those four headers and the message in the reader's language). A cell a
spreadsheet would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from turnout.domain.errors import NotFound
from turnout.domain.imports import cell_text
from turnout.i18n import translate
from turnout.ports import UnitOfWork

ERROR_COLUMNS = ("row", "column", "code", "message")
PAGE = 1000


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if cell and cell[0] in "=+-@\t\r":
        return "'" + cell
    return cell


def error_report(uow: UnitOfWork, *, import_id: str, locale: str = "en") -> Iterator[str]:
    """errors.csv in pieces of text (UTF-8 with a BOM once encoded; Excel opens it correctly)."""
    store = uow.imports
    if store.get(import_id) is None:
        raise NotFound("import_not_found", import_id=import_id)
    header = store.header(import_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    labels = [translate(f"errors_csv.{name}", locale, default=name) for name in ERROR_COLUMNS]
    writer.writerow([neutralise(h) for h in header] + labels)
    yield "\ufeff" + flush()
    cells_by_row: dict[int, list[Any]] = {}
    last_id = 0
    while True:
        errors = store.errors(import_id, after_id=last_id, limit=PAGE)
        if not errors:
            return
        rows = {e.row for e in errors}
        cells_by_row = {row: cells for row, cells in cells_by_row.items() if row in rows}
        wanted = sorted(rows - set(cells_by_row))
        if wanted:
            cells_by_row.update(store.error_rows(import_id, wanted))
        for error in errors:
            cells = [cell_text(c) for c in cells_by_row.get(error.row, [])]
            cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
            message = translate(error.code, locale, error.params)
            extra = [str(error.row), error.column or "", error.code, message]
            writer.writerow([neutralise(c) for c in cells] + [neutralise(x) for x in extra])
        last_id = errors[-1].id
        yield flush()
