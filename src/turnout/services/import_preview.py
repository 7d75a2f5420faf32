"""Previewing an upload before it is imported: its encoding, its header and what each column is read
as (under the organiser's mapping), its first rows, and whether the import could start — reading
only what the preview needs, never the whole file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from turnout.domain.columns import ColumnPlan, ColumnsRefused, column_targets, plan_columns
from turnout.domain.errors import DomainError
from turnout.domain.imports import FileRefused, RawRow, cell_text
from turnout.ports import ImportFiles
from turnout.services.importing import COLLECTED_ELSEWHERE, check_consent_columns

#: the longest cell a preview shows (the rest is cut, with an ellipsis)
PREVIEW_CELL = 200


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """A record of a file as its preview shows it: row number, cells as text, its read problem."""

    row: int
    cells: list[str]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class FilePreview:
    """What an uploaded file looks like before it is imported: its encoding, its header and what
    each column is read as (``targets``: a field, a consent column, ``custom``, ``ignore``; None for
    a blank name), its first data rows, whether it has a consent column, and the refusal the
    import would meet with this mapping (a column missing or twice) — None when it can start."""

    header: list[str]
    encoding: str | None
    rows: list[PreviewRow]
    targets: list[str | None]
    has_consent: bool
    refusal: DomainError | None = None

    def check_start(self, *, consent_basis: str | None) -> None:
        """Refuse to queue it: the column refusal, else ``consent_missing`` when the file has no
        consent column and the upload did not confirm consent was collected elsewhere."""
        if self.refusal is not None:
            raise self.refusal
        if not self.has_consent and consent_basis != COLLECTED_ELSEWHERE:
            raise FileRefused("consent_missing")


def preview_file(
    files: ImportFiles,
    *,
    path: str,
    filename: str,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    min_age: int = 0,
    rows: int = 10,
    scan_limit: int = 1000,
) -> FilePreview:
    """The header and the first ``rows`` non-blank records of a file (reading no further, at most
    ``scan_limit`` records), and what the columns are read as under ``mapping``. Raises
    ``FileRefused`` for a file that cannot be imported whatever the mapping: unreadable, empty, no
    data rows (none before the file ends), too many columns."""
    with files.open(path, filename=filename, encoding=encoding) as table:
        header = [str(h) for h in table.header]
        refusal: DomainError | None = None
        plan: ColumnPlan | None = None
        try:
            plan = plan_columns(header, mapping)
            check_consent_columns(plan, consent_basis=COLLECTED_ELSEWHERE, min_age=min_age)
        except ColumnsRefused as refused:
            if refused.code == "too_many_columns":
                raise FileRefused(refused.code, **refused.params) from None
            refusal = refused
        shown: list[PreviewRow] = []
        ended = True
        for read, record in enumerate(table.rows(), start=1):
            if record.problem is None and not any(cell_text(c).strip() for c in record.cells):
                if read >= scan_limit:
                    ended = False
                    break
                continue
            shown.append(_preview_row(record, len(header)))
            if len(shown) >= rows or read >= scan_limit:
                ended = False
                break
        if not shown and ended:
            raise FileRefused("no_data_rows")
        targets = column_targets(header, mapping)
        return FilePreview(
            header=header,
            encoding=table.encoding,
            rows=shown,
            targets=targets,
            has_consent="consent" in plan.fields if plan is not None else "consent" in targets,
            refusal=refusal,
        )


def _preview_row(record: RawRow, width: int) -> PreviewRow:
    cells = [_short(cell_text(c)) for c in record.cells[:width]]
    return PreviewRow(record.row, cells + [""] * (width - len(cells)), record.problem)


def _short(text: str) -> str:
    return text if len(text) <= PREVIEW_CELL else text[:PREVIEW_CELL] + "…"
