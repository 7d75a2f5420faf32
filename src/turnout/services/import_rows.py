"""A file's records -> batches decided as far as the file alone allows.

A record is looked at twice. When it is read (``FileRows.reader``), blank records are set aside,
and so are records the reader flagged and records of the wrong width (refused); every other
record goes to be cleaned, with the id its participant will have (ids are handed out in file
order, so they sort like the rows). Once cleaned (``FileRows.merge``), in file order: a record
that did not clean is refused with its errors; one whose dedup key an earlier record of the file
has is a ``duplicate_in_file``; the rest are the batch's clean rows, each with its ticket token and
its ``participant.registered`` fact. Whether the event already has them is the save's business.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from turnout.domain.columns import ColumnPlan
from turnout.domain.consent import PrivacyNotice
from turnout.domain.errors import FieldError
from turnout.domain.ids import sequential_ids
from turnout.domain.imports import RawRow, RowCleaning, cell_text
from turnout.domain.participants import ParticipantInput, Source, dedup_keys
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import CleanRow, ImportBatch, RowsToClean

#: why a record is not cleaned
BLANK, PROBLEM, WIDTH = "blank", "problem", "width"
#: records cleaned at a time when a resumed import learns what it decided before
_REMEMBER_CHUNK = 5000
_IMPORT = Source.IMPORT.value


@dataclass(slots=True)
class ReadRows(RowsToClean):
    """Records as read, and the ones among them to clean (``rows``)."""

    records: list[RawRow] = field(default_factory=list)  # every record read, in file order
    verdicts: list[str | None] = field(default_factory=list)  # per record: None (clean it) or why not


class FileRows:
    """One import's reading of its file: what it has seen (first row of each dedup key) and how its
    records become batches."""

    def __init__(self, plan: ColumnPlan, *, by_phone: bool, event_id: str, import_id: str) -> None:
        self.plan = plan
        self.by_phone = by_phone
        self.event_id = event_id
        self.import_id = import_id
        self.columns = plan.column_of()  # field -> the file's column name (for errors)
        self.seen: dict[str, int] = {}  # dedup key -> first row
        self.notice: PrivacyNotice | None = None  # the notice its participants' consent is under

    def verdict(self, record: RawRow) -> str | None:
        """None for a record to clean; else why not (blank, flagged by the reader, wrong width)."""
        cells = record.cells
        if record.problem is None and not any(cells) and not any(c not in (None, "") for c in cells):
            return BLANK  # (``any(cells)``: the quick answer for the usual row with text in it)
        if record.problem:
            return PROBLEM
        width = self.plan.width
        if len(cells) != width:
            extra_blank = len(cells) > width and not any(c not in (None, "") for c in cells[width:])
            if not extra_blank:
                return WIDTH
        return None

    def reader(self, records: Iterator[RawRow]) -> Callable[[int], ReadRows | None]:
        """``read(most)``: the next ``most`` records (None at the end), the ones to clean with ids."""
        verdict = self.verdict

        def read(most: int) -> ReadRows | None:
            taken = list(itertools.islice(records, most))
            if not taken:
                return None
            verdicts = [verdict(r) for r in taken]
            to_clean = [r for r, v in zip(taken, verdicts, strict=True) if v is None]
            return ReadRows(
                rows=to_clean, participant_ids=sequential_ids(len(to_clean)), records=taken, verdicts=verdicts
            )

        return read

    def merge(self, read: ReadRows, *, position: int, registered_at: datetime) -> ImportBatch:
        """The batch of ``read`` once cleaned (``outcomes`` and ``participant_ids`` are those of
        ``read.rows``; ``tokens`` those of the rows that cleaned, or none when not signing)."""
        batch = ImportBatch(
            event_id=self.event_id,
            import_id=self.import_id,
            consumed=len(read.records),
            position=position,
            registered_at=registered_at,
        )
        first_of = self._first_of
        clean_rows = batch.clean_rows
        outcomes, ids, tokens = read.outcomes, read.participant_ids, read.tokens
        message_ids = iter(sequential_ids(len(outcomes)))
        event_id, import_id = self.event_id, self.import_id
        width = self.plan.width
        cleaned_index = 0  # into outcomes and ids
        token_index = 0
        for record, verdict in zip(read.records, read.verdicts, strict=True):
            if verdict is None:
                outcome = outcomes[cleaned_index]
                participant_id = ids[cleaned_index]
                cleaned_index += 1
                batch.total += 1
                if type(outcome) is not ParticipantInput:
                    self._refuse(batch, record, outcome)  # type: ignore[arg-type]
                    continue
                token = tokens[token_index] if tokens else ""
                token_index += 1
                repeated = first_of(record, outcome)
                if repeated is not None:
                    self._duplicate(batch, record, *repeated)
                    continue
                # (positional: a quarter faster; event_id, participant_id, source, import_id)
                fact = ParticipantRegistered(event_id, participant_id, _IMPORT, import_id)
                clean_rows.append(
                    CleanRow(
                        record.row, record.cells, outcome, participant_id, token, fact, next(message_ids)
                    )
                )
            elif verdict is BLANK:
                continue
            elif verdict is PROBLEM:
                batch.total += 1
                problem = FieldError("", record.problem or "", params=record.problem_params, row=record.row)
                self._refuse(batch, record, [problem])
            else:
                batch.total += 1
                params = {"expected": width, "got": len(record.cells)}
                self._refuse(
                    batch, record, [FieldError("", "wrong_field_count", params=params, row=record.row)]
                )
        if cleaned_index != len(outcomes) or (tokens and token_index != len(tokens)):
            raise RuntimeError("the cleaned rows do not match the batch")
        return batch

    @staticmethod
    def _refuse(batch: ImportBatch, record: RawRow, errors: list[FieldError]) -> None:
        batch.errors.extend(errors)
        batch.error_rows[record.row] = [cell_text(c) for c in record.cells]
        batch.invalid += 1

    def _duplicate(self, batch: ImportBatch, record: RawRow, key: str, first: int) -> None:
        kind, _, value = key.partition(":")
        batch.errors.append(
            FieldError(
                self.columns.get(kind, kind),
                "duplicate_in_file",
                params={"first_row": first},
                value=value,
                row=record.row,
            )
        )
        batch.error_rows[record.row] = [cell_text(c) for c in record.cells]
        batch.duplicates += 1

    def _first_of(self, record: RawRow, data: ParticipantInput) -> tuple[str, int] | None:
        """The dedup key and the first row of an earlier record of the file that ``record`` repeats;
        None when it is the first of its keys (which are then remembered as first seen here)."""
        seen = self.seen
        keys = dedup_keys(data.email, data.phone, by_phone=self.by_phone)
        for key in keys:
            first = seen.get(key)
            if first is not None:
                return key, first
        for key in keys:
            seen[key] = record.row
        return None

    def remember(self, records: Iterable[RawRow], cleaning: RowCleaning) -> None:
        """On resume: learn the dedup keys of the records decided before (without saving them
        again), as ``merge`` learnt them: only a record that cleaned marks its keys as seen, so a
        refused record's email does not make a later record a ``duplicate_in_file``."""
        verdict, first_of = self.verdict, self._first_of
        records = iter(records)
        while chunk := list(itertools.islice(records, _REMEMBER_CHUNK)):
            to_clean = [record for record in chunk if verdict(record) is None]
            outcomes = cleaning.clean([(record.row, record.cells) for record in to_clean])
            for record, outcome in zip(to_clean, outcomes, strict=True):
                if type(outcome) is ParticipantInput:
                    first_of(record, outcome)
