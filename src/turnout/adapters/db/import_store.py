"""``SqlImportStore``: ``ports.ImportStore`` over the unit of work's connection (SQLite or PostgreSQL).

Jobs, errors and error rows through SQLAlchemy Core. New participants and their outbox rows, the
bulk of an import, go as plain tuples straight through the driver (``participant_store.insert_tuples``:
multi-row ``INSERT`` on SQLite, ``COPY`` on PostgreSQL), converted once per row by
:class:`SqlImportRows`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.outbox_rows import OUTBOX_COLUMNS, fact_rows
from turnout.adapters.db.participant_store import insert_tuples, participant_from_row
from turnout.adapters.db.tables_intake import import_error_rows, import_errors, import_jobs
from turnout.domain.errors import DomainError, FieldError
from turnout.domain.imports import ImportCounts, ImportJob, ImportStatus, OnDuplicate, cell_text
from turnout.domain.participants import CheckInStatus, Participant, ParticipantStatus, Source
from turnout.ports import CleanRow, SaveConflict, StoredRowError

PARTICIPANT_COLUMNS = (
    "id", "event_id", "name", "email", "phone", "birth_date", "region", "organization", "gender", "locale",
    "custom_fields", "status", "check_in_status", "ticket_version", "token", "email_status", "source",
    "import_id", "created_at", "updated_at",
)  # fmt: skip
_REGISTERED = ParticipantStatus.REGISTERED.value
_NOT_CHECKED_IN = CheckInStatus.NOT_CHECKED_IN.value
_IMPORT = Source.IMPORT.value


def job_from_row(row: Any) -> ImportJob:
    return ImportJob(
        id=row.id,
        event_id=row.event_id,
        status=ImportStatus(row.status),
        filename=row.filename,
        file_path=row.file_path,
        file_sha256=row.file_sha256,
        file_size=row.file_size,
        on_duplicate=OnDuplicate(row.on_duplicate),
        mapping=dict(row.mapping or {}),
        encoding=row.encoding,
        actor=row.actor,
        created_at=row.created_at,
        detected_encoding=row.detected_encoding,
        rows_read=row.rows_read,
        rows_processed=row.rows_processed,
        total=row.total,
        created=row.created,
        updated=row.updated,
        duplicates=row.duplicates,
        invalid=row.invalid,
        error_code=row.error_code,
        error_params=row.error_params,
        attempts=row.attempts,
        owner=row.owner,
        lease_until=row.lease_until,
        started_at=row.started_at,
        finished_at=row.finished_at,
        consent_basis=row.consent_basis,
        rows_expected=row.rows_expected,
    )


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params stored with an error: text and numbers only."""
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}


_JOB_COLUMNS = [c for c in import_jobs.c if c.name != "header"]


def _as_read(job: ImportJob) -> tuple[sa.ColumnElement[bool], ...]:
    """The job's row still as ``job`` was read: the same status and lease generation (``attempts``)."""
    return (
        import_jobs.c.id == job.id,
        import_jobs.c.status == job.status.value,
        import_jobs.c.attempts == job.attempts,
    )


def _run_by(import_id: str, owner: str, attempt: int) -> tuple[sa.ColumnElement[bool], ...]:
    """The job, while the runner ``owner`` still holds the lease generation ``attempt`` (a runner
    whose job was claimed again since writes nothing: the fencing token)."""
    return (
        import_jobs.c.id == import_id,
        import_jobs.c.status == ImportStatus.RUNNING.value,
        import_jobs.c.owner == owner,
        import_jobs.c.attempts == attempt,
    )


class SqlImportStore:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._rows = SqlImportRows(conn.dialect.name)

    # --- jobs ---------------------------------------------------------------------------------------

    def add(self, job: ImportJob) -> None:
        self.conn.execute(
            import_jobs.insert().values(
                id=job.id,
                event_id=job.event_id,
                status=job.status.value,
                filename=job.filename[:300],
                file_path=job.file_path,
                file_sha256=job.file_sha256,
                file_size=job.file_size,
                on_duplicate=job.on_duplicate.value,
                mapping=job.mapping,
                encoding=job.encoding,
                actor=job.actor,
                created_at=job.created_at,
                consent_basis=job.consent_basis,
                rows_expected=job.rows_expected,
            )
        )

    def get(self, import_id: str) -> ImportJob | None:
        row = self.conn.execute(sa.select(*_JOB_COLUMNS).where(import_jobs.c.id == import_id)).first()
        return job_from_row(row) if row is not None else None

    def for_event(self, event_id: str, *, limit: int = 50) -> list[ImportJob]:
        rows = self.conn.execute(
            sa.select(*_JOB_COLUMNS)
            .where(import_jobs.c.event_id == event_id)
            .order_by(import_jobs.c.created_at.desc(), import_jobs.c.id.desc())
            .limit(limit)
        ).fetchall()
        return [job_from_row(row) for row in rows]

    def claim(self, job: ImportJob, *, owner: str, lease_until: datetime, now: datetime) -> bool:
        result = self.conn.execute(
            import_jobs.update()
            .where(*_as_read(job))
            .values(
                status=ImportStatus.RUNNING.value,
                owner=owner,
                lease_until=lease_until,
                attempts=job.attempts + 1,
                started_at=sa.func.coalesce(import_jobs.c.started_at, now),
            )
        )
        return result.rowcount == 1

    def unfinished(self, *, event_id: str, sha256: str, on_duplicate: OnDuplicate) -> list[ImportJob]:
        rows = self.conn.execute(
            sa.select(*_JOB_COLUMNS)
            .where(
                import_jobs.c.event_id == event_id,
                import_jobs.c.file_sha256 == sha256,
                import_jobs.c.on_duplicate == on_duplicate.value,
                import_jobs.c.status.in_([ImportStatus.QUEUED.value, ImportStatus.RUNNING.value]),
            )
            .order_by(import_jobs.c.created_at, import_jobs.c.id)
        )
        return [job_from_row(row) for row in rows]

    def due(self, *, now: datetime, limit: int) -> list[ImportJob]:
        rows = self.conn.execute(
            sa.select(*_JOB_COLUMNS)
            .where(
                sa.or_(
                    import_jobs.c.status == ImportStatus.QUEUED.value,
                    sa.and_(
                        import_jobs.c.status == ImportStatus.RUNNING.value,
                        import_jobs.c.lease_until < now,
                    ),
                )
            )
            .order_by(import_jobs.c.created_at, import_jobs.c.id)
            .limit(limit)
        )
        return [job_from_row(row) for row in rows]

    def set_header(
        self, import_id: str, *, header: list[str], encoding: str | None, owner: str, attempt: int
    ) -> bool:
        result = self.conn.execute(
            import_jobs.update()
            .where(*_run_by(import_id, owner, attempt))
            .values(header=header, detected_encoding=encoding)
        )
        return result.rowcount == 1

    def abandon(self, job: ImportJob, *, now: datetime, error: DomainError) -> bool:
        result = self.conn.execute(
            import_jobs.update()
            .where(*_as_read(job))
            .values(
                status=ImportStatus.FAILED.value,
                finished_at=now,
                lease_until=None,
                error_code=error.code,
                error_params=plain_params(error.params),
            )
        )
        return result.rowcount == 1

    def header(self, import_id: str) -> list[str]:
        header = self.conn.execute(
            sa.select(import_jobs.c.header).where(import_jobs.c.id == import_id)
        ).scalar_one_or_none()
        return [str(h) for h in header or []]

    def record_progress(
        self, import_id: str, counts: ImportCounts, *, owner: str, attempt: int, lease_until: datetime
    ) -> bool:
        result = self.conn.execute(
            import_jobs.update()
            .where(*_run_by(import_id, owner, attempt))
            .values(
                rows_read=counts.rows_processed,
                rows_processed=counts.rows_processed,
                total=counts.total,
                created=counts.created,
                updated=counts.updated,
                duplicates=counts.duplicates,
                invalid=counts.invalid,
                lease_until=lease_until,
            )
        )
        return result.rowcount == 1

    def finish(
        self,
        import_id: str,
        *,
        owner: str,
        attempt: int,
        status: ImportStatus,
        now: datetime,
        error: DomainError | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status.value, "finished_at": now, "lease_until": None}
        if error is not None:
            values["error_code"] = error.code
            values["error_params"] = plain_params(error.params)
        result = self.conn.execute(
            import_jobs.update().where(*_run_by(import_id, owner, attempt)).values(**values)
        )
        return result.rowcount == 1

    # --- errors -------------------------------------------------------------------------------------

    def add_errors(self, import_id: str, errors: Sequence[FieldError], rows: Mapping[int, list[Any]]) -> None:
        if errors:
            self.conn.execute(
                import_errors.insert(),
                [
                    {
                        "import_id": import_id,
                        "row": e.row or 0,
                        "column": e.field[:200] if e.field else None,
                        "code": e.code,
                        "value": None if e.value is None else cell_text(e.value),
                        "params": plain_params(e.params),
                    }
                    for e in errors
                ],
            )
        if rows:
            self.conn.execute(
                import_error_rows.insert(),
                [{"import_id": import_id, "row": row, "cells": cells} for row, cells in rows.items()],
            )

    def errors(self, import_id: str, *, after_id: int = 0, limit: int = 1000) -> list[StoredRowError]:
        rows = self.conn.execute(
            sa.select(import_errors)
            .where(import_errors.c.import_id == import_id, import_errors.c.id > after_id)
            .order_by(import_errors.c.id)
            .limit(limit)
        )
        return [
            StoredRowError(
                id=r.id, row=r.row, column=r.column, code=r.code, value=r.value, params=dict(r.params or {})
            )
            for r in rows
        ]

    def error_rows(self, import_id: str, rows: Sequence[int]) -> dict[int, list[Any]]:
        if not rows:
            return {}
        found = self.conn.execute(
            sa.select(import_error_rows.c.row, import_error_rows.c.cells).where(
                import_error_rows.c.import_id == import_id, import_error_rows.c.row.in_(list(rows))
            )
        )
        return {r.row: list(r.cells) for r in found}

    # --- participants -------------------------------------------------------------------------------

    def add_participants(
        self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
    ) -> None:
        if not rows:
            return
        participants, messages = self._rows.rows(rows, event_id=event_id, import_id=import_id, now=now)
        dbapi = self.conn.dialect.dbapi
        integrity: tuple[type[Exception], ...] = (sa.exc.IntegrityError,)
        if dbapi is not None:
            integrity += (dbapi.IntegrityError,)  # COPY raises the driver's own
        try:
            insert_tuples(self.conn, t.participants, PARTICIPANT_COLUMNS, participants)
        except integrity as exc:
            raise SaveConflict(str(exc)) from exc
        insert_tuples(self.conn, t.outbox, OUTBOX_COLUMNS, messages)

    def participants(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        found: dict[str, Participant] = {}
        ids = list(dict.fromkeys(participant_ids))
        table = t.participants
        for start in range(0, len(ids), 900):
            for row in self.conn.execute(sa.select(table).where(table.c.id.in_(ids[start : start + 900]))):
                found[row.id] = participant_from_row(row)
        return found


# --- rows as the driver takes them -----------------------------------------------------------------


def _same(text: str) -> str:
    return text


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlImportRows:
    """Turns an import's new participants into driver rows for one dialect.

    JSON is serialised here, once (on PostgreSQL too: ``Jsonb`` then passes the text on as it is).
    Files repeat a few custom values a lot: each distinct set is serialised once.
    """

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        if dialect == "postgresql":
            from psycopg.types.json import Jsonb

            self.json_text: Callable[[str], Any] = lambda text: Jsonb(text, dumps=_same)
        else:
            self.json_text = _same
        self.empty: Any = self.json_text("{}")
        self._custom: dict[tuple[tuple[str, str], ...], Any] = {}
        self._moment: tuple[datetime | None, Any] = (None, None)

    def rows(
        self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The participants rows and their ``participant.registered`` outbox rows."""
        stamp = self.time(now)
        messages = fact_rows(
            [(r.message_id, now, r.registered) for r in rows], time=self.time, json_text=self.json_text
        )
        values = self.values
        return [values(row, event_id, import_id, stamp) for row in rows], messages

    def json(self, value: Any) -> Any:
        return self.json_text(_json_text(value))

    def time(self, value: datetime) -> Any:
        """A moment as the driver stores it in a ``UTCDateTime`` column (a batch has one moment)."""
        if not self.sqlite:
            return value
        last, text = self._moment
        if value is not last:
            text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            self._moment = (value, text)
        return text

    def values(self, row: CleanRow, event_id: str, import_id: str, stamp: Any) -> tuple[Any, ...]:
        data = row.data
        birth = data.birth_date
        custom = data.custom_fields
        if not custom:
            custom_value = self.empty
        elif all(type(v) is str for v in custom.values()):  # 1, 1.0 and True are equal keys: str only
            key = tuple(custom.items())
            custom_value = self._custom.get(key)
            if custom_value is None:
                if len(self._custom) >= 10_000:
                    self._custom.clear()
                custom_value = self._custom[key] = self.json(custom)
        else:
            custom_value = self.json(custom)
        return (
            row.participant_id, event_id, data.name, data.email, data.phone,
            birth.isoformat() if self.sqlite and birth is not None else birth,
            data.region, data.organization, data.gender, data.locale,
            custom_value,
            _REGISTERED, _NOT_CHECKED_IN, 1, row.token, "none", _IMPORT, import_id, stamp, stamp,
        )  # fmt: skip
