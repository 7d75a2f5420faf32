"""Participant imports: the job, a file's rows as read, and the rules that turn a row into participant
data. Plain Python (the file is read by an adapter; the job is stored by an adapter).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from turnout.domain.columns import ColumnPlan
from turnout.domain.errors import DomainError, FieldError
from turnout.domain.events import EventStatus
from turnout.domain.participants import Participant, ParticipantInput, Rules, clean_participant

#: events that take imports (``open`` and ``live`` take registrations too; ``draft`` only imports)
IMPORTABLE_STATUSES = (EventStatus.DRAFT, EventStatus.OPEN, EventStatus.LIVE)
#: the longest cell kept for errors.csv (longer ones are cut, with an ellipsis)
MAX_ERROR_CELL = 32 * 1024
#: what ``on_duplicate=update`` may overwrite (custom fields merge)
UPDATABLE = ("name", "phone", "birth_date", "region", "organization", "gender", "locale")


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    FAIL = "fail"


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class FileRefused(DomainError):
    """The file as a whole cannot be imported: ``empty_file``, ``binary_file``, ``unsupported_file_type``,
    ``unreadable_file``, ``unknown_encoding``, ``no_data_rows``, ``missing_column``, ``duplicate_column``,
    ``too_many_columns``, ``invalid_mapping``."""

    code = "unreadable_file"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A durable import: the stored file, how to read it, who runs it (``owner``, ``lease_until``)
    and how far it got (the counters cover the rows up to ``rows_processed``)."""

    id: str
    event_id: str
    status: ImportStatus
    filename: str
    file_path: str | None
    file_sha256: str
    file_size: int
    on_duplicate: OnDuplicate
    mapping: dict[str, str]
    encoding: str | None
    actor: str
    created_at: datetime
    detected_encoding: str | None = None
    rows_read: int = 0
    rows_processed: int = 0
    total: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    invalid: int = 0
    error_code: str | None = None
    error_params: dict[str, Any] | None = None
    attempts: int = 0
    owner: str | None = None  # host:pid of the process running it
    lease_until: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def summary(self) -> dict[str, int]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
        }

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


@dataclass(slots=True)
class ImportCounts:
    """A job's counters: ``total`` (non-blank data rows) = created + updated + duplicates + invalid;
    ``rows_processed`` records of the file (blank ones too) are behind them."""

    total: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    invalid: int = 0
    rows_processed: int = 0

    @classmethod
    def of(cls, job: ImportJob) -> ImportCounts:
        return cls(
            total=job.total,
            created=job.created,
            updated=job.updated,
            duplicates=job.duplicates,
            invalid=job.invalid,
            rows_processed=job.rows_processed,
        )

    def add(self, other: ImportCounts) -> None:
        self.total += other.total
        self.created += other.created
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.invalid += other.invalid
        self.rows_processed += other.rows_processed

    def plus(self, other: ImportCounts) -> ImportCounts:
        both = dataclasses.replace(self)
        both.add(other)
        return both


@dataclass(slots=True)
class RawRow:
    """One record of a file as read."""

    row: int  # spreadsheet row number (header = 1)
    cells: list[Any]
    line: int | None = None  # physical line the record starts on (CSV)
    problem: str | None = None  # encoding_error | unbalanced_quote
    problem_params: dict[str, Any] = field(default_factory=dict)


def cell_text(value: Any) -> str:
    """A cell as errors.csv shows it: text, whole floats without ``.0``, cut at ``MAX_ERROR_CELL``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_ERROR_CELL else text[:MAX_ERROR_CELL] + "…"


#: what the rules made of a row: its participant data, or every problem with it
Outcome = ParticipantInput | list[FieldError]


@dataclass(frozen=True)
class RowCleaning:
    """Which cell holds which field, and the event's rules: what turns a file's row into participant data.

    Picklable (import worker processes run it) and the same wherever it runs.
    """

    fields: tuple[tuple[str, int], ...]  # field name -> cell index
    custom: tuple[tuple[int, str], ...]  # cell index -> custom field label
    columns: Mapping[str, str]  # field name -> the file's column name (for errors)
    rules: Rules

    @classmethod
    def of(cls, plan: ColumnPlan, rules: Rules) -> RowCleaning:
        return cls(
            fields=tuple(plan.fields.items()),
            custom=tuple(plan.custom),
            columns=plan.column_of(),
            rules=rules,
        )

    def clean(self, rows: Sequence[tuple[int, list[Any]]]) -> list[Outcome]:
        """``clean_participant`` for each ``(row number, cells)`` (cells at least as wide as the header)."""
        fields, custom_columns, columns, rules = self.fields, self.custom, self.columns, self.rules
        out: list[Outcome] = []
        append = out.append
        for row, cells in rows:
            raw = {name: cells[index] for name, index in fields}
            width = len(cells)
            custom = {label: cells[index] for index, label in custom_columns if index < width}
            cleaned, errors = clean_participant(raw, rules, custom=custom, row=row, columns=columns)
            append(errors if cleaned is None else cleaned)
        return out


def changed_fields(before: Participant, data: ParticipantInput) -> dict[str, Any]:
    """``on_duplicate=update``: the fields the row gives that differ from what is stored (blank cells
    keep what is there; custom fields merge)."""
    values: dict[str, Any] = {}
    for name in UPDATABLE:
        new_value = getattr(data, name)
        if new_value is not None and new_value != getattr(before, name):
            values[name] = new_value
    if data.custom_fields:
        merged = {**before.custom_fields, **data.custom_fields}
        if merged != before.custom_fields:
            values["custom_fields"] = merged
    return values
