"""Participant imports: the job, a file's rows as read, and the rules that turn a row into participant
data. Plain Python (the file is read by an adapter; the job is stored by an adapter).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from turnout.domain.columns import ColumnPlan
from turnout.domain.consent import (
    CONSENT_REQUIRED,
    GUARDIAN_AGE,
    GUARDIAN_CONSENT_REQUIRED,
    GUARDIAN_CONTACT_MAX,
    GUARDIAN_NAME_MAX,
    ConsentGiven,
    Guardian,
    drop_unconsented,
    guardian_complete,
    needs_guardian,
    yes_or_no,
)
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
    ``too_many_columns``, ``invalid_mapping``, ``consent_missing`` (no consent column, and the upload
    did not confirm consent was collected elsewhere)."""

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
    #: ``collected_elsewhere`` when the upload confirmed consent was collected elsewhere (a file
    #: without a consent column is refused without it: ``consent_missing``)
    consent_basis: str | None = None
    #: the data rows the file was counted to hold when it was queued (an estimate, for a progress
    #: bar: a CSV's lines, an XLSX sheet's rows); None when not counted
    rows_expected: int | None = None

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
    #: the items stored only with the optional consent (``domain.consent.optional_items_of``)
    optional_items: tuple[str, ...] = ()
    #: whether the event's notice asks for marketing consent (else a marketing column is ignored)
    marketing_asked: bool = False

    @classmethod
    def of(
        cls,
        plan: ColumnPlan,
        rules: Rules,
        *,
        optional_items: tuple[str, ...] = (),
        marketing_asked: bool = False,
    ) -> RowCleaning:
        return cls(
            fields=tuple(plan.fields.items()),
            custom=tuple(plan.custom),
            columns=plan.column_of(),
            rules=rules,
            optional_items=optional_items,
            marketing_asked=marketing_asked,
        )

    def clean(self, rows: Sequence[tuple[int, list[Any]]]) -> list[Outcome]:
        """``clean_participant`` for each ``(row number, cells)`` (cells at least as wide as the
        header), then the row's consent (:meth:`consent_of`): a row without it is refused, and the
        optional items of a row without the optional consent are dropped."""
        fields, custom_columns, columns, rules = self.fields, self.custom, self.columns, self.rules
        consent_of = self.consent_of
        optional_items = self.optional_items
        out: list[Outcome] = []
        append = out.append
        for row, cells in rows:
            raw = {name: cells[index] for name, index in fields}
            width = len(cells)
            custom = {label: cells[index] for index, label in custom_columns if index < width}
            cleaned, errors = clean_participant(raw, rules, custom=custom, row=row, columns=columns)
            consent, refused = consent_of(raw, row, cleaned.birth_date if cleaned is not None else None)
            if refused:
                errors = [*errors, *refused]
            if errors or cleaned is None:
                append(errors)
                continue
            if not consent.optional and optional_items:
                cleaned = drop_unconsented(cleaned, optional_items)
            cleaned.consent = consent
            append(cleaned)
        return out

    def consent_of(
        self, raw: Mapping[str, Any], row: int, birth_date: date | None
    ) -> tuple[ConsentGiven, list[FieldError]]:
        """A row's consent from its consent columns, and what is missing from it.

        - ``consent`` column: the required consent (a row without "yes" is refused,
          ``consent_required``); without the column the upload confirmed consent was collected
          elsewhere (the service checks that) and the required consent is taken as given.
        - ``optional_consent`` column: the optional consent; without it, the optional items are
          taken as consented when consent was collected elsewhere (the organiser confirmed the
          file's content), and as not consented when the file has a ``consent`` column (then only
          the required items are stored).
        - ``marketing_consent``: only where the notice asks for it.
        - a child under :data:`GUARDIAN_AGE` needs ``guardian_name``, ``guardian_contact`` and
          ``guardian_consent`` = yes (``guardian_consent_required``)."""
        columns = self.columns
        has_consent = "consent" in columns
        errors: list[FieldError] = []
        if has_consent:
            required = yes_or_no(raw.get("consent")) is True
            if not required:
                errors.append(
                    FieldError(
                        columns["consent"], CONSENT_REQUIRED, value=_shown(raw.get("consent")), row=row
                    )
                )
        else:
            required = True
        if "optional_consent" in columns:
            optional = yes_or_no(raw.get("optional_consent")) is True
        else:
            optional = not has_consent
        marketing = self.marketing_asked and yes_or_no(raw.get("marketing_consent")) is True
        guardian = None
        if "guardian_name" in columns or "guardian_contact" in columns or "guardian_consent" in columns:
            name = " ".join(cell_text(raw.get("guardian_name")).split())[:GUARDIAN_NAME_MAX]
            contact = cell_text(raw.get("guardian_contact")).strip()[:GUARDIAN_CONTACT_MAX]
            agreed = yes_or_no(raw.get("guardian_consent")) is True
            if name or contact or agreed:
                guardian = Guardian(name=name, contact=contact, consented=agreed)
        if needs_guardian(birth_date, self.rules.starts_on) and not guardian_complete(guardian):
            column = columns.get("guardian_consent") or columns.get("birth_date", "birth_date")
            errors.append(
                FieldError(column, GUARDIAN_CONSENT_REQUIRED, params={"age": GUARDIAN_AGE}, row=row)
            )
        if guardian is None:
            return _consent(required, optional, marketing), errors
        return ConsentGiven(required, optional, marketing, guardian), errors


_CONSENTS: dict[tuple[bool, bool, bool], ConsentGiven] = {}


def _consent(required: bool, optional: bool, marketing: bool) -> ConsentGiven:
    """One shared instance per combination (rows travel to worker processes: pickled once)."""
    key = (required, optional, marketing)
    found = _CONSENTS.get(key)
    if found is None:
        found = _CONSENTS[key] = ConsentGiven(required, optional, marketing)
    return found


def _shown(value: Any) -> Any:
    return None if value is None or value == "" else cell_text(value)[:200]


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
