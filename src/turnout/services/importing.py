"""Participant import: a file -> validated, de-duplicated participants with tickets, in batches.

An import is a durable job (``import_jobs``). Whoever runs it — ``turnout import`` in the
foreground, or the ``imports`` worker loop for API uploads — streams the file's rows, cleans each
with the domain rules, drops duplicates (within the file, then against the event with one query per
batch) and saves each batch in one transaction: participants with their ticket tokens, one
``participant.registered`` fact each in the outbox, the rows' errors, and the job's progress. A
process killed mid-way loses at most the batch in flight: running the job again resumes after the
last committed batch, and re-importing the same file creates nothing new (the rows are duplicates).

Whole-file problems (unreadable, empty, no data rows, a required column missing, duplicates with
``on_duplicate=fail``) refuse the job before anything is saved.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import itertools
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.participant_store import (
    db_datetime,
    insert_tuples,
    json_for,
    json_text,
    json_text_for,
    participant_from_row,
)
from turnout.adapters.db.tables_intake import import_error_rows, import_errors, import_jobs
from turnout.adapters.db.uow import UnitOfWork
from turnout.adapters.import_workers import (
    Answer,
    ImportWorkers,
    LocalCleaning,
    Outcome,
    RowCleaning,
    WorkerStopped,
)
from turnout.adapters.parallel_signing import fast_signer, token_maker
from turnout.adapters.readers import FileRefused, RawRow, Table, open_table
from turnout.domain.columns import ColumnPlan, ColumnsRefused, plan_columns
from turnout.domain.errors import DomainError, FieldError, NotFound
from turnout.domain.events import EventStatus
from turnout.domain.ids import new_id, sequential_ids
from turnout.domain.participants import (
    CheckInStatus,
    Invalid,
    ParticipantInput,
    ParticipantStatus,
    Rules,
    Source,
    clean_email,
    clean_phone,
    dedup_keys,
)
from turnout.messages.base import Envelope
from turnout.messages.facts import ParticipantRegistered, ParticipantUpdated
from turnout.runtime import gc_paused
from turnout.services.events import get_event
from turnout.services.registration import event_rules

if TYPE_CHECKING:
    from turnout.bootstrap import Turnout

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ERROR_CELL = 32 * 1024
IMPORTABLE_STATUSES = (EventStatus.DRAFT, EventStatus.OPEN, EventStatus.LIVE)


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    FAIL = "fail"


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ImportJob:
    id: str
    event_id: str
    status: ImportStatus
    filename: str
    file_path: str | None
    file_sha256: str
    on_duplicate: OnDuplicate
    mapping: dict[str, str]
    encoding: str | None
    detected_encoding: str | None
    rows_read: int
    rows_processed: int
    total: int
    created: int
    updated: int
    duplicates: int
    invalid: int
    error_code: str | None
    error_params: dict[str, Any] | None
    actor: str
    owner: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

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


def job_from_row(row: Any) -> ImportJob:
    return ImportJob(
        id=row.id,
        event_id=row.event_id,
        status=ImportStatus(row.status),
        filename=row.filename,
        file_path=row.file_path,
        file_sha256=row.file_sha256,
        on_duplicate=OnDuplicate(row.on_duplicate),
        mapping=dict(row.mapping or {}),
        encoding=row.encoding,
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
        actor=row.actor,
        owner=row.owner,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


# --- jobs -------------------------------------------------------------------------------------------


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def create_import_job(
    uow: UnitOfWork,
    *,
    event_id: str,
    path: Path,
    filename: str,
    actor: str,
    on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> ImportJob:
    """Queue an import of the file at ``path`` (already stored where every runner can read it)."""
    event = get_event(uow, event_id=event_id)
    if event.status not in IMPORTABLE_STATUSES:
        raise DomainError("registration_closed", status=event.status.value)
    if mapping:
        # refuse a bad FIELD now; columns are checked against the header when the file is read
        from turnout.domain.columns import TARGETS

        bad = [f"{k}={v}" for k, v in mapping.items() if v not in TARGETS]
        if bad:
            raise ColumnsRefused("invalid_mapping", mapping=bad[0])
    if sha256 is None or size is None:
        sha256, size = file_digest(path)
    job_id = new_id()
    now = uow.clock.now()
    uow.conn.execute(
        import_jobs.insert().values(
            id=job_id,
            event_id=event_id,
            status=ImportStatus.QUEUED.value,
            filename=filename[:300],
            file_path=str(path),
            file_sha256=sha256,
            file_size=size,
            on_duplicate=OnDuplicate(on_duplicate).value,
            mapping=mapping or {},
            encoding=encoding,
            actor=actor,
            created_at=now,
        )
    )
    uow.audit.record(
        actor=actor,
        action="import.queued",
        subject_type="import",
        subject_id=job_id,
        event_id=event_id,
        data={"filename": filename, "size": size, "on_duplicate": OnDuplicate(on_duplicate).value},
    )
    return get_import(uow, import_id=job_id)


def get_import(uow: UnitOfWork, *, import_id: str) -> ImportJob:
    row = uow.conn.execute(sa.select(import_jobs).where(import_jobs.c.id == import_id)).first()
    if row is None:
        raise NotFound("import_not_found", import_id=import_id)
    return job_from_row(row)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` is a process on this host that no longer runs."""
    if not owner:
        return True
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(uow: UnitOfWork, *, import_id: str) -> bool:
    """Take the job: queued, or running under an expired lease or a dead process. Caller commits."""
    job = get_import(uow, import_id=import_id)
    now = uow.clock.now()
    if job.status is ImportStatus.QUEUED:
        pass
    elif job.status is ImportStatus.RUNNING:
        row = uow.conn.execute(
            sa.select(import_jobs.c.lease_until).where(import_jobs.c.id == import_id)
        ).scalar_one()
        if not (row is None or row < now or _owner_is_dead(job.owner)):
            return False
    else:
        return False
    attempts = uow.conn.execute(
        sa.select(import_jobs.c.attempts).where(import_jobs.c.id == import_id)
    ).scalar_one()
    result = uow.conn.execute(
        import_jobs.update()
        .where(
            import_jobs.c.id == import_id,
            import_jobs.c.status == job.status.value,
            import_jobs.c.attempts == attempts,
        )
        .values(
            status=ImportStatus.RUNNING.value,
            owner=this_process(),
            lease_until=now + LEASE,
            attempts=attempts + 1,
            started_at=sa.func.coalesce(import_jobs.c.started_at, now),
        )
    )
    return result.rowcount == 1


def find_resumable(
    uow: UnitOfWork,
    *,
    event_id: str,
    sha256: str,
    on_duplicate: str,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
) -> ImportJob | None:
    """An unfinished import of the same file whose runner died (``turnout import`` run again)."""
    rows = uow.conn.execute(
        sa.select(import_jobs)
        .where(
            import_jobs.c.event_id == event_id,
            import_jobs.c.file_sha256 == sha256,
            import_jobs.c.on_duplicate == on_duplicate,
            import_jobs.c.status.in_([ImportStatus.QUEUED.value, ImportStatus.RUNNING.value]),
        )
        .order_by(import_jobs.c.created_at)
    ).fetchall()
    now = uow.clock.now()
    for row in rows:
        job = job_from_row(row)
        if job.mapping != (mapping or {}) or job.encoding != encoding:
            continue  # the same file read differently is another import
        if job.status is ImportStatus.RUNNING and (
            (row.lease_until is not None and row.lease_until < now) or _owner_is_dead(job.owner)
        ):
            return job
    return None


# --- running ----------------------------------------------------------------------------------------

Progress = Callable[[ImportJob, int], None]  # (job as committed, bytes read); runs on the saver thread


@dataclass(slots=True)
class _Candidate:
    row: int
    data: ParticipantInput
    cells: list[Any]
    keys: tuple[str, ...]
    participant_id: str = ""
    token: str = ""
    values: tuple[Any, ...] = ()  # the participants row but its timestamps (see ``_Rows``)
    fact: Any = None  # its participant.registered fact's JSON, as the driver takes it


@dataclass
class _Batch:
    consumed: int = 0  # records taken from the file
    candidates: list[_Candidate] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    error_cells: dict[int, list[Any]] = field(default_factory=dict)
    total: int = 0
    invalid: int = 0
    duplicates: int = 0


class _Counters:
    def __init__(self, job: ImportJob) -> None:
        self.total = job.total
        self.created = job.created
        self.updated = job.updated
        self.duplicates = job.duplicates
        self.invalid = job.invalid
        self.processed = job.rows_processed


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_ERROR_CELL else text[:MAX_ERROR_CELL] + "…"


_BLANK, _PROBLEM, _WIDTH = "blank", "problem", "width"


class _Cleaner:
    """Turns raw rows into candidates and row errors (no database access).

    A row is looked at twice: ``verdict`` (here, when it is read) sets aside blank rows, rows the
    reader flagged and rows of the wrong width; the others are cleaned by a :class:`RowCleaning`
    (in this process or in a worker) and ``merge`` then takes the outcomes in file order, dropping
    rows whose dedup key an earlier row of the file has.
    """

    def __init__(self, plan: ColumnPlan, rules: Rules, *, by_phone: bool) -> None:
        self.plan = plan
        self.rules = rules
        self.by_phone = by_phone
        self.columns = plan.column_of()
        self.cleaning = RowCleaning(
            fields=tuple(plan.fields.items()),
            custom=tuple(plan.custom),
            columns=self.columns,
            rules=rules,
        )
        self.seen: dict[str, int] = {}  # dedup key -> first row

    def refuse(self, batch: _Batch, record: RawRow, errors: list[FieldError]) -> None:
        batch.errors.extend(errors)
        batch.error_cells[record.row] = [_cell_text(c) for c in record.cells]
        batch.invalid += 1

    def verdict(self, record: RawRow) -> str | None:
        """None for a row to clean; else why not (blank, flagged by the reader, wrong width)."""
        cells = record.cells
        if record.problem is None and not any(cells) and not any(c not in (None, "") for c in cells):
            return _BLANK  # a blank row (``any(cells)``: the quick answer for the usual row with text in it)
        if record.problem:
            return _PROBLEM
        width = self.plan.width
        if len(cells) != width:
            extra_blank = len(cells) > width and not any(c not in (None, "") for c in cells[width:])
            if not extra_blank:
                return _WIDTH
        return None

    def merge(
        self,
        records: list[RawRow],
        verdicts: list[str | None],
        ids: list[str],
        outcomes: list[Outcome],
        tokens: list[str],
    ) -> _Batch:
        """The batch of ``records``: ``outcomes`` (and ``ids``) are those of the rows to clean, in order;
        ``tokens`` those of the rows that cleaned (none when not signing)."""
        batch = _Batch(consumed=len(records))
        by_phone, seen = self.by_phone, self.seen
        candidates = batch.candidates
        width = self.plan.width
        cleaned_index = 0  # into outcomes and ids
        token_index = 0
        for record, verdict in zip(records, verdicts, strict=True):
            if verdict is None:
                outcome = outcomes[cleaned_index]
                participant_id = ids[cleaned_index] if ids else ""
                cleaned_index += 1
                batch.total += 1
                if type(outcome) is not tuple:
                    self.refuse(batch, record, outcome)  # type: ignore[arg-type]
                    continue
                token = tokens[token_index] if tokens else ""
                token_index += 1
                data = ParticipantInput(*outcome)
                email, phone = data.email, data.phone
                keys = dedup_keys(email, phone, by_phone=by_phone)
                first = None
                for key in keys:
                    first = seen.get(key)
                    if first is not None:
                        self._duplicate(batch, record, key, first)
                        break
                if first is not None:
                    continue
                for key in keys:
                    seen[key] = record.row
                candidates.append(_Candidate(record.row, data, record.cells, keys, participant_id, token))
            elif verdict is _BLANK:
                continue
            elif verdict is _PROBLEM:
                batch.total += 1
                problem = FieldError("", record.problem or "", params=record.problem_params, row=record.row)
                self.refuse(batch, record, [problem])
            else:
                batch.total += 1
                params = {"expected": width, "got": len(record.cells)}
                self.refuse(
                    batch, record, [FieldError("", "wrong_field_count", params=params, row=record.row)]
                )
        if cleaned_index != len(outcomes) or (tokens and token_index != len(tokens)):
            raise RuntimeError("the cleaned rows do not match the batch")
        return batch

    def _duplicate(self, batch: _Batch, record: RawRow, key: str, first: int) -> None:
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
        batch.error_cells[record.row] = [_cell_text(c) for c in record.cells]
        batch.duplicates += 1

    def remember(self, record: RawRow) -> None:
        """On resume: learn the dedup keys of rows committed before (without re-saving them)."""
        if record.problem or not record.cells:
            return
        try:
            email = (
                clean_email(record.cells[self.plan.fields["email"]])
                if len(record.cells) > self.plan.fields["email"]
                else None
            )
        except Invalid:
            return
        if email is None:
            return
        self.seen.setdefault(f"email:{email}", record.row)
        if self.by_phone and "phone" in self.plan.fields and len(record.cells) > self.plan.fields["phone"]:
            try:
                phone = clean_phone(record.cells[self.plan.fields["phone"]])
            except Invalid:
                return
            if phone:
                self.seen.setdefault(f"phone:{phone}", record.row)


class _Engine(Protocol):
    """Where rows are cleaned (and tokens signed): ``LocalCleaning`` or ``ImportWorkers``."""

    depth: int

    def submit(self, rows: Sequence[tuple[int, list[Any]]], ids: Sequence[str]) -> Callable[[], Answer]: ...

    def close(self) -> None: ...


def _batches(
    rows: Iterator[RawRow],
    cleaner: _Cleaner,
    size: int,
    engine: _Engine,
    *,
    sign: bool,
    fallback: _Engine | None = None,
    rows_for: _Rows | None = None,
) -> Iterator[_Batch]:
    """Batches of ``size`` records in file order, up to ``engine.depth`` of them being cleaned at once.

    With ``sign`` each row to clean gets its participant id here (ids are handed out in file order,
    so they sort like the rows) and its token signed with the cleaning; a row that turns out a
    duplicate simply drops its id and token. Should the workers stop (a worker cannot start, or
    dies), the batches not yet answered are cleaned by ``fallback``: the same results.
    """
    pending: collections.deque[_Pending] = collections.deque()
    verdict = cleaner.verdict
    exhausted = False
    while True:
        while not exhausted and len(pending) < engine.depth:
            # while the workers load their modules (~0.3 s), small batches are cleaned here: the
            # saver has work from the start instead of waiting for the workers' first answer
            warming = fallback is not None and not getattr(engine, "ready", True)
            if warming and pending:
                break  # hand the batch cleaned here to the saver first
            records = list(itertools.islice(rows, min(size, WARM_UP_BATCH) if warming else size))
            if not records:
                exhausted = True
                break
            verdicts = [verdict(r) for r in records]
            to_clean = [(r.row, r.cells) for r, v in zip(records, verdicts, strict=True) if v is None]
            ids = sequential_ids(len(to_clean)) if sign else []
            try:
                answer = (fallback if warming and fallback is not None else engine).submit(to_clean, ids)
            except WorkerStopped as exc:
                if fallback is None:
                    raise
                engine, fallback = _fall_back(engine, fallback, pending, exc), None
                answer = engine.submit(to_clean, ids)
            pending.append(_Pending(records, verdicts, to_clean, ids, answer))
        if not pending:
            return
        try:
            outcomes, tokens = pending[0].answer()
        except WorkerStopped as exc:
            if fallback is None:
                raise
            engine, fallback = _fall_back(engine, fallback, pending, exc), None
            continue
        item = pending.popleft()
        batch = cleaner.merge(item.records, item.verdicts, item.ids, outcomes, tokens)
        if rows_for is not None:
            rows_for.fill(batch.candidates)
        yield batch


def _fall_back(
    engine: _Engine, fallback: _Engine, pending: collections.deque[_Pending], exc: Exception
) -> _Engine:
    """The workers stopped: end them, and clean the batches they had not answered with ``fallback``."""
    log.warning("import workers stopped, cleaning in this process: %s", exc)
    engine.close()
    for item in pending:
        item.answer = fallback.submit(item.to_clean, item.ids)
    return fallback


@dataclass(slots=True)
class _Pending:
    records: list[RawRow]
    verdicts: list[str | None]
    to_clean: list[tuple[int, list[Any]]]
    ids: list[str]
    answer: Callable[[], Answer]


#: files at least this large are cleaned and signed in worker processes
PARALLEL_MIN_BYTES = 512 * 1024
#: rows a batch cleaned in this process while the workers start
WARM_UP_BATCH = 1000
#: worker processes for a large file (the importing process keeps reading and saving)
WORKERS = 2


def run_import(turnout: Turnout, *, import_id: str, progress: Progress | None = None) -> ImportJob:
    """Run (or resume) a claimed import job to the end. Returns the finished job.

    A refusal of the whole file marks the job ``failed`` (``error_code``) with nothing saved.
    """
    with turnout.uow(readonly=True) as uow:
        job = get_import(uow, import_id=import_id)
    try:
        _execute(turnout, job, progress)
    except (FileRefused, ColumnsRefused, DomainError) as refusal:
        if not isinstance(refusal, FileRefused | ColumnsRefused) and refusal.code not in (
            "registration_closed",
            "duplicates_found",
            "event_not_found",
        ):
            raise
        _finish(turnout, import_id, ImportStatus.FAILED, error=(refusal.code, refusal.params))
    else:
        _finish(turnout, import_id, ImportStatus.DONE)
    with turnout.uow(readonly=True) as uow:
        return get_import(uow, import_id=import_id)


def _finish(
    turnout: Turnout, import_id: str, status: ImportStatus, error: tuple[str, dict[str, Any]] | None = None
) -> None:
    with turnout.uow() as uow:
        values: dict[str, Any] = {"status": status.value, "finished_at": uow.clock.now(), "lease_until": None}
        if error:
            values["error_code"] = error[0]
            values["error_params"] = {k: v for k, v in error[1].items() if isinstance(v, str | int | float)}
        uow.conn.execute(import_jobs.update().where(import_jobs.c.id == import_id).values(**values))
        job = get_import(uow, import_id=import_id)
        uow.audit.record(
            actor=job.actor,
            action=f"import.{status.value}",
            subject_type="import",
            subject_id=import_id,
            event_id=job.event_id,
            data={**job.summary(), "error": error[0] if error else None},
        )
        uow.commit()


def _open(job: ImportJob) -> Table:
    if not job.file_path or not Path(job.file_path).exists():
        raise FileRefused("unreadable_file", reason="the uploaded file is gone")
    return open_table(job.file_path, filename=job.filename, encoding=job.encoding)


def _execute(turnout: Turnout, job: ImportJob, progress: Progress | None) -> None:
    workers = _start_workers(job)  # first: their start-up overlaps ours
    try:
        _run(turnout, job, progress, workers)
    finally:
        if workers is not None:
            workers.close()


def _start_workers(job: ImportJob) -> ImportWorkers | None:
    """Worker processes for a large file; None for a small one or when processes cannot start."""
    try:
        size = Path(job.file_path or "").stat().st_size
    except OSError:
        return None
    if size < PARALLEL_MIN_BYTES:
        return None
    try:
        return ImportWorkers(WORKERS)
    except OSError as exc:  # pragma: no cover - no processes allowed here
        log.warning("import workers unavailable, cleaning in this process: %s", exc)
        return None


def _run(turnout: Turnout, job: ImportJob, progress: Progress | None, workers: ImportWorkers | None) -> None:
    with turnout.uow(readonly=True) as uow:
        event = get_event(uow, event_id=job.event_id)
    if event.status not in IMPORTABLE_STATUSES:
        raise DomainError("registration_closed", status=event.status.value)
    rules = event_rules(event)
    batch_size = turnout.settings.import_batch_size
    with _open(job) as table:
        plan = plan_columns(table.header, job.mapping)
        with turnout.uow() as uow:
            uow.conn.execute(
                import_jobs.update()
                .where(import_jobs.c.id == job.id)
                .values(header=[str(h) for h in table.header], detected_encoding=table.encoding)
            )
            uow.commit()
        if job.on_duplicate is OnDuplicate.FAIL and job.rows_processed == 0:
            _refuse_duplicates(turnout, table, plan, rules, event.id, event.dedup_by_phone, batch_size)
    with _open(job) as table:
        cleaner = _Cleaner(plan, rules, by_phone=event.dedup_by_phone)
        rows = iter(table.rows())
        for record in itertools.islice(rows, job.rows_processed):
            cleaner.remember(record)
        counters = _Counters(job)
        with turnout.uow() as uow:
            pair = turnout.tickets.keypair(uow, event_id=job.event_id)
            uow.commit()
        private_raw = _private_raw(pair)
        # libsodium signs the same bytes ~1.5x faster than OpenSSL (Ed25519 is deterministic)
        sign = fast_signer(private_raw) if private_raw is not None else pair.sign
        local = LocalCleaning(cleaner.cleaning, token_maker(job.event_id, sign))
        engine: _Engine = local
        if workers is not None and private_raw is not None:
            try:
                workers.start(cleaner.cleaning, job.event_id, private_raw)
                engine = workers
            except WorkerStopped as exc:  # a worker could not start (its stderr says why)
                log.warning("import workers unavailable, cleaning in this process: %s", exc)
                workers.close()
        with turnout.uow(readonly=True) as uow:
            rows_for = _Rows(uow.conn, job)
        batches = _batches(rows, cleaner, batch_size, engine, sign=True, fallback=local, rows_for=rows_for)
        with gc_paused():
            _pipeline(turnout, job, table, batches, cleaner, counters, progress)
    if counters.total == 0:
        raise FileRefused("no_data_rows")


def _private_raw(pair: Any) -> bytes | None:
    from cryptography.hazmat.primitives import serialization

    try:
        raw: bytes = pair.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    except AttributeError:
        return None
    return raw


def _pipeline(
    turnout: Turnout,
    job: ImportJob,
    table: Table,
    batches: Iterator[_Batch],
    cleaner: _Cleaner,
    counters: _Counters,
    progress: Progress | None,
) -> None:
    """Read (and dedup) batch k while batch k-1 is saved in a saver thread.

    Cleaning and signing happen in the worker processes (large files) while this thread reads the
    next batches; saving overlaps in the saver thread (the database driver releases the GIL while
    SQLite writes pages or PostgreSQL answers). Batches are saved one at a time in file order.
    """
    saves: queue.Queue[tuple[_Batch, int] | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def saver() -> None:
        while True:
            item = saves.get()
            if item is None:
                return
            if failure:
                continue  # drain, so that the reader never blocks on a full queue
            batch, position = item
            try:
                _save(turnout, job, batch, counters, cleaner)
                if progress:
                    progress(_job_now(turnout, job.id), position)
            except BaseException as exc:  # re-raised in the calling thread
                failure.append(exc)

    thread = threading.Thread(target=saver, name="import-saver", daemon=True)
    thread.start()
    try:
        for batch in batches:
            saves.put((batch, _position(table)))
            if failure:
                break
    finally:
        saves.put(None)
        thread.join()
    if failure:
        raise failure[0]


def _position(table: Table) -> int:
    raw = getattr(table, "_raw", None)
    try:
        return int(raw.tell()) if raw is not None else 0
    except (OSError, ValueError):
        return 0


def _job_now(turnout: Turnout, import_id: str) -> ImportJob:
    with turnout.uow(readonly=True) as uow:
        return get_import(uow, import_id=import_id)


def _save(
    turnout: Turnout,
    job: ImportJob,
    batch: _Batch,
    counters: _Counters,
    cleaner: _Cleaner,
) -> None:
    for attempt in range(3):
        try:
            with turnout.uow() as uow:
                delta = _save_batch(uow, job, batch, counters, cleaner)
                uow.commit()
        except sa.exc.IntegrityError:
            # another writer saved some of these rows meanwhile (PostgreSQL): dedup again
            if attempt == 2:
                raise
            continue
        counters.total += batch.total
        counters.created += delta["created"]
        counters.updated += delta["updated"]
        counters.duplicates += delta["duplicates"]
        counters.invalid += delta["invalid"]
        counters.processed += batch.consumed
        return


def _save_batch(
    uow: UnitOfWork,
    job: ImportJob,
    batch: _Batch,
    counters: _Counters,
    cleaner: _Cleaner,
) -> dict[str, int]:
    store = uow.participants
    event = get_event(uow, event_id=job.event_id, for_update=True)
    now = uow.clock.now()
    errors = list(batch.errors)
    error_cells = dict(batch.error_cells)
    duplicates = batch.duplicates
    invalid = batch.invalid
    by_phone = cleaner.by_phone
    emails = [c.data.email for c in batch.candidates]
    existing = store.ids_by_email(job.event_id, emails) if emails else {}
    existing_phone: dict[str, str] = {}
    if by_phone:
        phones = [c.data.phone for c in batch.candidates if c.data.phone]
        existing_phone = store.ids_by_phone(job.event_id, phones) if phones else {}
    fresh: list[tuple[_Candidate, str]] = []
    updates: list[tuple[_Candidate, str]] = []
    for candidate in batch.candidates:
        match = existing.get(candidate.data.email)
        match_column = "email"
        if match is None and by_phone and candidate.data.phone:
            match = existing_phone.get(candidate.data.phone)
            match_column = "phone"
        if match is None:
            fresh.append((candidate, candidate.token))
            continue
        if job.on_duplicate is OnDuplicate.UPDATE:
            updates.append((candidate, match))
            continue
        column = cleaner.columns.get(match_column, match_column)
        value = candidate.data.email if match_column == "email" else candidate.data.phone
        errors.append(FieldError(column, "already_registered", value=value, row=candidate.row))
        error_cells[candidate.row] = [_cell_text(c) for c in candidate.cells]
        duplicates += 1
    if event.capacity is not None and fresh:
        room = max(event.capacity - store.count_active(job.event_id), 0)
        for candidate, _token in fresh[room:]:
            errors.append(
                FieldError("", "event_full", params={"capacity": event.capacity}, row=candidate.row)
            )
            error_cells[candidate.row] = [_cell_text(c) for c in candidate.cells]
            invalid += 1
        fresh = fresh[:room]
    created = _insert_participants(uow, job, fresh, now)
    updated = _apply_updates(uow, job, updates, now) if updates else 0
    if errors:
        uow.conn.execute(
            import_errors.insert(),
            [
                {
                    "import_id": job.id,
                    "row": e.row or 0,
                    "column": e.field[:200] if e.field else None,
                    "code": e.code,
                    "value": None if e.value is None else _cell_text(e.value),
                    "params": {k: v for k, v in e.params.items() if isinstance(v, str | int | float)},
                }
                for e in errors
            ],
        )
        uow.conn.execute(
            import_error_rows.insert(),
            [{"import_id": job.id, "row": row, "cells": cells} for row, cells in error_cells.items()],
        )
    uow.conn.execute(
        import_jobs.update()
        .where(import_jobs.c.id == job.id)
        .values(
            rows_read=counters.processed + batch.consumed,
            rows_processed=counters.processed + batch.consumed,
            total=counters.total + batch.total,
            created=counters.created + created,
            updated=counters.updated + updated,
            duplicates=counters.duplicates + duplicates,
            invalid=counters.invalid + invalid,
            lease_until=now + LEASE,
        )
    )
    return {"created": created, "updated": updated, "duplicates": duplicates, "invalid": invalid}


_PARTICIPANT_COLUMNS = (
    "id", "event_id", "name", "email", "phone", "birth_date", "region", "organization", "gender", "locale",
    "custom_fields", "status", "check_in_status", "ticket_version", "token", "email_status", "source",
    "import_id", "created_at", "updated_at",
)  # fmt: skip
_OUTBOX_COLUMNS = ("id", "type", "key", "version", "occurred_at", "data")
_REGISTERED = ParticipantStatus.REGISTERED.value
_NOT_CHECKED_IN = CheckInStatus.NOT_CHECKED_IN.value
_IMPORT = Source.IMPORT.value


class _Rows:
    """A candidate's ``participants`` row but its two timestamps, and its fact's JSON, as the driver
    takes them (see ``participant_store.json_for``).

    The importing thread builds them as it merges a batch, while the saver thread is in the
    database driver (which releases the GIL), so that the saver only adds the save time: the
    saver is the stage every batch waits for.
    """

    def __init__(self, conn: sa.Connection, job: ImportJob) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.to_json = json_for(conn)
        self.as_json = json_text_for(conn)
        self.empty = self.to_json({})
        self.event_id, self.import_id = job.event_id, job.id
        # files repeat a few custom values a lot: each distinct set is serialised once
        self.custom_json: dict[tuple[tuple[str, str], ...], Any] = {}
        # the fact's JSON differs between rows only in the participant id (hex and dashes: no escaping)
        template = json_text(
            {"event_id": job.event_id, "participant_id": "\0", "source": _IMPORT, "import_id": job.id}
        )
        self.before, self.after = template.split("\\u0000")

    def fill(self, candidates: list[_Candidate]) -> None:
        for candidate in candidates:
            candidate.values = self.values(candidate)
            candidate.fact = self.as_json(self.before + candidate.participant_id + self.after)

    def values(self, candidate: _Candidate) -> tuple[Any, ...]:
        data = candidate.data
        birth = data.birth_date
        custom = data.custom_fields
        if not custom:
            custom_value = self.empty
        elif all(type(v) is str for v in custom.values()):  # 1, 1.0 and True are equal keys: str only
            key = tuple(custom.items())
            custom_value = self.custom_json.get(key)
            if custom_value is None:
                if len(self.custom_json) >= 10_000:
                    self.custom_json.clear()
                custom_value = self.custom_json[key] = self.to_json(custom)
        else:
            custom_value = self.to_json(custom)
        return (
            candidate.participant_id, self.event_id, data.name, data.email, data.phone,
            birth.isoformat() if self.sqlite and birth is not None else birth,
            data.region, data.organization, data.gender, data.locale,
            custom_value,
            _REGISTERED, _NOT_CHECKED_IN, 1, candidate.token, "none", _IMPORT, self.import_id,
        )  # fmt: skip


def _insert_participants(
    uow: UnitOfWork, job: ImportJob, fresh: list[tuple[_Candidate, str]], now: datetime
) -> int:
    """Participants and their ``participant.registered`` outbox rows, as plain tuples through the driver.

    The same rows ``participant_record`` / ``uow.emit_envelopes`` describe, converted once per
    candidate by :class:`_Rows` (usually already in the importing thread) instead of once per value
    (see ``participant_store.bulk_insert``).
    """
    if not fresh:
        return 0
    stamp = db_datetime(uow.conn, now)
    stamps = (stamp, stamp)
    if any(not candidate.values for candidate, _token in fresh):
        _Rows(uow.conn, job).fill([candidate for candidate, _token in fresh if not candidate.values])
    participants = [candidate.values + stamps for candidate, _token in fresh]
    insert_tuples(uow.conn, t.participants, _PARTICIPANT_COLUMNS, participants)
    fact_type, event_id = ParticipantRegistered.TYPE, job.event_id
    messages = [
        (message_id, fact_type, event_id, 1, stamp, candidate.fact)
        for (candidate, _token), message_id in zip(fresh, sequential_ids(len(fresh)), strict=True)
    ]
    insert_tuples(uow.conn, t.outbox, _OUTBOX_COLUMNS, messages)
    return len(participants)


UPDATABLE = ("name", "phone", "birth_date", "region", "organization", "gender", "locale")


def _apply_updates(
    uow: UnitOfWork, job: ImportJob, updates: list[tuple[_Candidate, str]], now: datetime
) -> int:
    """``on_duplicate=update``: overwrite the fields the file gives (blank cells keep what is there)."""
    table = t.participants
    ids = [pid for _c, pid in updates]
    current = {
        r.id: participant_from_row(r) for r in uow.conn.execute(sa.select(table).where(table.c.id.in_(ids)))
    }
    changed = 0
    envelopes: list[Envelope] = []
    for candidate, pid in updates:
        before = current.get(pid)
        if before is None:
            continue
        values: dict[str, Any] = {}
        for name in UPDATABLE:
            new_value = getattr(candidate.data, name)
            if new_value is not None and new_value != getattr(before, name):
                values[name] = new_value
        if candidate.data.custom_fields:
            merged = {**before.custom_fields, **candidate.data.custom_fields}
            if merged != before.custom_fields:
                values["custom_fields"] = merged
        if not values:
            continue
        values["updated_at"] = now
        uow.conn.execute(table.update().where(table.c.id == pid).values(**values))
        fields = sorted(k for k in values if k != "updated_at")
        uow.audit.record(
            actor=job.actor,
            action="participant.updated",
            subject_type="participant",
            subject_id=pid,
            event_id=job.event_id,
            data={"import_id": job.id, "fields": fields, "row": candidate.row},
        )
        envelopes.append(
            Envelope.wrap(
                ParticipantUpdated(
                    event_id=job.event_id,
                    participant_id=pid,
                    source=Source.IMPORT.value,
                    import_id=job.id,
                    fields=tuple(fields),
                ),
                now,
            )
        )
        changed += 1
    uow.emit_envelopes(envelopes)
    return len(updates)


def _refuse_duplicates(
    turnout: Turnout,
    table: Table,
    plan: ColumnPlan,
    rules: Rules,
    event_id: str,
    by_phone: bool,
    batch_size: int,
) -> None:
    """``on_duplicate=fail``: read the whole file first; any duplicate refuses it, nothing saved."""
    cleaner = _Cleaner(plan, rules, by_phone=by_phone)
    engine = LocalCleaning(cleaner.cleaning, None)
    count = 0
    for batch in _batches(iter(table.rows()), cleaner, batch_size, engine, sign=False):
        count += batch.duplicates
        emails = [c.data.email for c in batch.candidates]
        with turnout.uow(readonly=True) as uow:
            store = uow.participants
            count += len(store.ids_by_email(event_id, emails))
            if by_phone:
                phones = [c.data.phone for c in batch.candidates if c.data.phone]
                count += len(
                    set(store.ids_by_phone(event_id, phones).values())
                    - set(store.ids_by_email(event_id, emails).values())
                )
    if count:
        raise DomainError("duplicates_found", count=count)


# --- entry points -----------------------------------------------------------------------------------


def import_file(
    turnout: Turnout,
    *,
    event_id: str,
    path: Path,
    actor: str,
    filename: str | None = None,
    on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> ImportJob:
    """``turnout import``: run an import in this process (resuming a killed run of the same file)."""
    sha256, size = file_digest(path)
    with turnout.uow() as uow:
        job = find_resumable(
            uow,
            event_id=event_id,
            sha256=sha256,
            on_duplicate=OnDuplicate(on_duplicate).value,
            mapping=mapping,
            encoding=encoding,
        )
        if job is None:
            job = create_import_job(
                uow,
                event_id=event_id,
                path=path.resolve(),
                filename=filename or path.name,
                actor=actor,
                on_duplicate=on_duplicate,
                mapping=mapping,
                encoding=encoding,
                sha256=sha256,
                size=size,
            )
        if not claim(uow, import_id=job.id):
            raise DomainError("conflict")
        uow.commit()
    return run_import(turnout, import_id=job.id, progress=progress)


def run_pending_imports(turnout: Turnout, *, limit: int | None = None) -> int:
    """Run queued jobs (and jobs whose runner died) to the end; returns how many ran. Tests call it."""
    ran = 0
    while limit is None or ran < limit:
        with turnout.uow() as uow:
            now = uow.clock.now()
            candidates = (
                uow.conn.execute(
                    sa.select(import_jobs.c.id)
                    .where(
                        sa.or_(
                            import_jobs.c.status == ImportStatus.QUEUED.value,
                            sa.and_(
                                import_jobs.c.status == ImportStatus.RUNNING.value,
                                import_jobs.c.lease_until < now,
                            ),
                        )
                    )
                    .order_by(import_jobs.c.created_at)
                    .limit(5)
                )
                .scalars()
                .all()
            )
            claimed = next((c for c in candidates if claim(uow, import_id=c)), None)
            uow.commit()
        if claimed is None:
            return ran
        try:
            run_import(turnout, import_id=claimed)
        except Exception:
            log.exception("import %s failed", claimed)
            _finish(turnout, claimed, ImportStatus.FAILED, error=("import_failed", {}))
        ran += 1
    return ran


def imports_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Worker loop: run uploaded imports (durable: a restarted worker resumes them)."""
    while not stop.is_set():
        try:
            ran = run_pending_imports(turnout, limit=1)
        except Exception:  # keep the loop alive; the job is retried after its lease
            log.exception("imports loop")
            ran = 0
        if not ran:
            stop.wait(1.0)


# --- errors.csv -------------------------------------------------------------------------------------

ERROR_COLUMNS = ("row", "column", "code", "message")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if cell and cell[0] in "=+-@\t\r":
        return "'" + cell
    return cell


def error_report(uow: UnitOfWork, *, import_id: str, locale: str = "en") -> Iterator[str]:
    """errors.csv: the original row (as read) plus ``row, column, code, message``; one line per error."""
    from turnout.i18n import translate

    job = get_import(uow, import_id=import_id)
    header = [
        str(h)
        for h in (
            uow.conn.execute(
                sa.select(import_jobs.c.header).where(import_jobs.c.id == import_id)
            ).scalar_one()
            or []
        )
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise(h) for h in header] + list(ERROR_COLUMNS))
    yield "\ufeff" + flush()  # Excel opens UTF-8 with a BOM correctly
    cells_by_row: dict[int, list[Any]] = {}
    last_id = 0
    while True:
        rows = uow.conn.execute(
            sa.select(import_errors)
            .where(import_errors.c.import_id == job.id, import_errors.c.id > last_id)
            .order_by(import_errors.c.id)
            .limit(1000)
        ).fetchall()
        if not rows:
            return
        wanted = sorted({r.row for r in rows} - set(cells_by_row))
        if wanted:
            cells_by_row = {
                r.row: list(r.cells)
                for r in uow.conn.execute(
                    sa.select(import_error_rows).where(
                        import_error_rows.c.import_id == job.id, import_error_rows.c.row.in_(wanted)
                    )
                )
            }
        for error in rows:
            cells = [_cell_text(c) for c in cells_by_row.get(error.row, [])]
            cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
            message = translate(error.code, locale, error.params or {})
            extra = [str(error.row), error.column or "", error.code, message]
            writer.writerow([neutralise(c) for c in cells] + [neutralise(x) for x in extra])
        last_id = rows[-1].id
        yield flush()


def stored_upload_path(var_dir: Path, import_id_hint: str, filename: str) -> Path:
    suffix = Path(filename).suffix.lower()[:10]
    folder = var_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{import_id_hint}{suffix}"


def summarise(job: ImportJob) -> dict[str, Any]:
    return {"id": job.id, "status": job.status.value, **job.summary()}
