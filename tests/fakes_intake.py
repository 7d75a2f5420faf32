"""Fakes of the intake ports: the participant store, the import store, ticket keys and runners.

``tests/integration/test_import_store_contract.py`` runs the same checks on ``FakeImportStore`` and
on ``SqlImportStore`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from turnout.adapters.signing import KeyPair
from turnout.domain.errors import DomainError, FieldError
from turnout.domain.imports import ImportCounts, ImportJob, ImportStatus, OnDuplicate, cell_text
from turnout.domain.participants import CheckInStatus, Participant, ParticipantStatus, Source
from turnout.messages.base import Envelope
from turnout.ports import CleanRow, SaveConflict, SigningKey, StoredRowError, UnitOfWork

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}


def _check_unique(participants: Mapping[str, Participant], new: Participant) -> None:
    """What the participants table's unique keys refuse: the id, the email within the event, the token."""
    for other in participants.values():
        if other.id == new.id or (other.event_id == new.event_id and other.email == new.email):
            raise SaveConflict(f"participant {new.email} exists")
        if new.token is not None and other.token == new.token:
            raise SaveConflict("token exists")


class FakeImportStore:
    """``ports.ImportStore`` over the fake database: jobs, errors, and participants with their facts."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _jobs(self) -> dict[str, ImportJob]:
        rows: dict[str, ImportJob] = self._db.table("import_jobs")
        return rows

    @property
    def _headers(self) -> dict[str, list[str]]:
        rows: dict[str, list[str]] = self._db.table("import_headers")
        return rows

    @property
    def _errors(self) -> list[StoredRowError]:
        rows: list[StoredRowError] = self._db.tables.setdefault("import_errors", [])
        return rows

    @property
    def _error_rows(self) -> dict[tuple[str, int], list[Any]]:
        rows: dict[tuple[str, int], list[Any]] = self._db.table("import_error_rows")
        return rows

    def _error_ids(self) -> dict[int, str]:
        ids: dict[int, str] = self._db.table("import_error_ids")  # error id -> import id
        return ids

    def add(self, job: ImportJob) -> None:
        if job.id in self._jobs:
            raise KeyError(f"import {job.id} exists")
        self._jobs[job.id] = replace(job, filename=job.filename[:300])

    def get(self, import_id: str) -> ImportJob | None:
        return self._jobs.get(import_id)

    def for_event(self, event_id: str, *, limit: int = 50) -> list[ImportJob]:
        jobs = [job for job in self._jobs.values() if job.event_id == event_id]
        return sorted(jobs, key=lambda job: (job.created_at, job.id), reverse=True)[:limit]

    def claim(self, job: ImportJob, *, owner: str, lease_until: datetime, now: datetime) -> bool:
        current = self._jobs.get(job.id)
        if current is None or current.status is not job.status or current.attempts != job.attempts:
            return False
        self._jobs[job.id] = replace(
            current,
            status=ImportStatus.RUNNING,
            owner=owner,
            lease_until=lease_until,
            attempts=current.attempts + 1,
            started_at=current.started_at or now,
        )
        return True

    def _oldest_first(self, jobs: list[ImportJob]) -> list[ImportJob]:
        return sorted(jobs, key=lambda job: (job.created_at, job.id))

    def unfinished(self, *, event_id: str, sha256: str, on_duplicate: OnDuplicate) -> list[ImportJob]:
        return self._oldest_first(
            [
                job
                for job in self._jobs.values()
                if job.event_id == event_id
                and job.file_sha256 == sha256
                and job.on_duplicate is on_duplicate
                and job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
            ]
        )

    def due(self, *, now: datetime, limit: int) -> list[ImportJob]:
        return self._oldest_first(
            [
                job
                for job in self._jobs.values()
                if job.status is ImportStatus.QUEUED
                or (
                    job.status is ImportStatus.RUNNING
                    and job.lease_until is not None
                    and job.lease_until < now
                )
            ]
        )[:limit]

    def set_header(
        self, import_id: str, *, header: list[str], encoding: str | None, owner: str, attempt: int
    ) -> bool:
        if self._run_by(import_id, owner, attempt) is None:
            return False
        self._headers[import_id] = list(header)
        self._jobs[import_id] = replace(self._jobs[import_id], detected_encoding=encoding)
        return True

    def abandon(self, job: ImportJob, *, now: datetime, error: DomainError) -> bool:
        current = self._jobs.get(job.id)
        if current is None or current.status is not job.status or current.attempts != job.attempts:
            return False
        self._jobs[job.id] = replace(
            current,
            status=ImportStatus.FAILED,
            finished_at=now,
            lease_until=None,
            error_code=error.code,
            error_params=_plain(error.params),
        )
        return True

    def header(self, import_id: str) -> list[str]:
        return list(self._headers.get(import_id, []))

    def _run_by(self, import_id: str, owner: str, attempt: int) -> ImportJob | None:
        job = self._jobs.get(import_id)
        if job is None or job.status is not ImportStatus.RUNNING or job.owner != owner:
            return None
        if job.attempts != attempt:
            return None
        return job

    def record_progress(
        self, import_id: str, counts: ImportCounts, *, owner: str, attempt: int, lease_until: datetime
    ) -> bool:
        if self._run_by(import_id, owner, attempt) is None:
            return False
        self._jobs[import_id] = replace(
            self._jobs[import_id],
            rows_read=counts.rows_processed,
            rows_processed=counts.rows_processed,
            total=counts.total,
            created=counts.created,
            updated=counts.updated,
            duplicates=counts.duplicates,
            invalid=counts.invalid,
            lease_until=lease_until,
        )
        return True

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
        job = self._run_by(import_id, owner, attempt)
        if job is None:
            return False
        job = replace(job, status=status, finished_at=now, lease_until=None)
        if error is not None:
            job = replace(job, error_code=error.code, error_params=_plain(error.params))
        self._jobs[import_id] = job
        return True

    def add_errors(self, import_id: str, errors: Sequence[FieldError], rows: Mapping[int, list[Any]]) -> None:
        for error in errors:
            stored = StoredRowError(
                id=len(self._errors) + 1,
                row=error.row or 0,
                column=error.field[:200] if error.field else None,
                code=error.code,
                value=None if error.value is None else cell_text(error.value),
                params=_plain(error.params),
            )
            self._errors.append(stored)
            self._error_ids()[stored.id] = import_id
        for row, cells in rows.items():
            if (import_id, row) in self._error_rows:
                raise KeyError(f"row {row} of {import_id} has its cells already")
            self._error_rows[(import_id, row)] = list(cells)

    def errors(self, import_id: str, *, after_id: int = 0, limit: int = 1000) -> list[StoredRowError]:
        owners = self._error_ids()
        return [e for e in self._errors if owners[e.id] == import_id and e.id > after_id][:limit]

    def error_rows(self, import_id: str, rows: Sequence[int]) -> dict[int, list[Any]]:
        return {
            row: list(self._error_rows[(import_id, row)])
            for row in rows
            if (import_id, row) in self._error_rows
        }

    def add_participants(
        self, rows: Sequence[CleanRow], *, event_id: str, import_id: str, now: datetime
    ) -> None:
        participants: dict[str, Participant] = self._db.table("participants")
        for row in rows:
            data = row.data
            new = Participant(
                id=row.participant_id,
                event_id=event_id,
                name=data.name,
                email=data.email,
                phone=data.phone,
                birth_date=data.birth_date,
                region=data.region,
                organization=data.organization,
                gender=data.gender,
                locale=data.locale,
                custom_fields=dict(data.custom_fields),
                status=ParticipantStatus.REGISTERED,
                check_in_status=CheckInStatus.NOT_CHECKED_IN,
                ticket_version=1,
                token=row.token,
                email_status="none",
                email_error=None,
                source=Source.IMPORT,
                import_id=import_id,
                created_at=now,
                updated_at=now,
            )
            _check_unique(participants, new)
            participants[new.id] = new
            self._db.outbox.append(Envelope.wrap(row.registered, now, row.message_id))

    def participants(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        rows: dict[str, Participant] = self._db.table("participants")
        return {pid: rows[pid] for pid in participant_ids if pid in rows}


class FakeTicketKeys:
    """One Ed25519 key pair per event, made on first use."""

    def __init__(self) -> None:
        self.pairs: dict[str, KeyPair] = {}

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> SigningKey:
        pair = self.pairs.get(event_id)
        if pair is None:
            private = Ed25519PrivateKey.generate()
            pair = self.pairs[event_id] = KeyPair(private, private.public_key())
        return pair


class FakeProcesses:
    """This process is ``test-host:1``; a runner is gone when the test says so."""

    def __init__(self, name: str = "test-host:1") -> None:
        self.name = name
        self.ended: set[str] = set()

    def this_process(self) -> str:
        return self.name

    def has_ended(self, owner: str | None) -> bool:
        return not owner or owner in self.ended
