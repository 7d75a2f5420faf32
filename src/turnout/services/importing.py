"""Participant import: a file -> validated, de-duplicated participants with tickets, in batches.

An import is a durable job (``services.import_jobs``). Whoever runs it — ``turnout import`` in the
foreground (``Importer.import_file``), or the ``imports`` worker loop for API uploads
(``Importer.run_next_import``) — reads the file's records, has each cleaned by the domain rules
(and its ticket signed), drops duplicates within the file (``services.import_rows``), then saves
each batch in one transaction: duplicates against the event are reported (or, with
``on_duplicate=update``, overwrite), new participants are stored with their ticket tokens and one
``participant.registered`` fact each, with the rows' errors and the job's progress. A process
killed mid-way loses at most the batch in flight: running the job again resumes after the last
committed batch, and re-importing the same file creates nothing new (the rows are duplicates).

Whole-file problems (unreadable, empty, no data rows, a required column missing, duplicates with
``on_duplicate=fail``) refuse the job before anything is saved.

Consent: a file either carries a consent column (``consent``, ``개인정보 동의`` …: a row without
"yes" is refused, ``consent_required``) or the upload confirms consent was collected elsewhere
(``consent_basis=collected_elsewhere``); without either the file is refused (``consent_missing``).
Each new participant's consent record (channel ``import``, basis ``consent`` or
``collected_elsewhere``) is saved with it, in the batch's transaction. An event with a minimum
age needs a birth-date column (``missing_column``).

Where rows are cleaned and tickets signed (``RowCleaner``: in worker processes for a large file)
is the adapters' business; ``bootstrap`` picks it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from turnout.domain.columns import ColumnPlan, ColumnsRefused, plan_columns
from turnout.domain.consent import (
    AGE_ITEM,
    Basis,
    Channel,
    ConsentGiven,
    ConsentRecord,
    PrivacyNotice,
    record_of,
)
from turnout.domain.errors import DomainError, FieldError, NotFound
from turnout.domain.events import Event
from turnout.domain.imports import (
    FileRefused,
    ImportCounts,
    ImportJob,
    ImportStatus,
    OnDuplicate,
    RowCleaning,
    cell_text,
    changed_fields,
)
from turnout.domain.participants import Source
from turnout.messages.facts import ParticipantUpdated
from turnout.ports import (
    CleaningRun,
    CleanRow,
    Clock,
    ImportBatch,
    ImportFiles,
    Processes,
    RowCleaner,
    SaveConflict,
    Table,
    TicketKeys,
    UnitOfWork,
    UnitOfWorkFactory,
)
from turnout.services.consent import optional_items
from turnout.services.import_jobs import (
    LEASE,
    MAX_ATTEMPTS,
    ImportTakenOver,
    claim,
    claim_next,
    create_import_job,
    find_resumable,
    finish,
    get_import,
    importable_event,
    renew_lease,
)
from turnout.services.import_rows import FileRows
from turnout.services.privacy_notice import notice_in_force
from turnout.services.registration import event_rules

log = logging.getLogger(__name__)

#: ``(job as committed, bytes of the file read)`` after each saved batch
Progress = Callable[[ImportJob, int], None]

#: refusals that fail the job; anything else is a fault: the imports worker marks the job failed
#: (``import_failed``), ``turnout import`` leaves it running, to be resumed when run again
_JOB_REFUSALS = ("registration_closed", "duplicates_found", "event_not_found")
_SAVE_ATTEMPTS = 3
#: what an upload without a consent column must confirm
COLLECTED_ELSEWHERE = Basis.COLLECTED_ELSEWHERE.value
#: the consent of a row of a file without consent columns, its upload confirming consent elsewhere
_CONFIRMED = ConsentGiven(required=True, optional=True)


def check_consent_columns(plan: ColumnPlan, *, consent_basis: str | None, min_age: int) -> None:
    """Refuse a file that cannot be imported as it stands: no consent column and no confirmation
    that consent was collected elsewhere (``consent_missing``); no birth-date column for an event
    with a minimum age (``missing_column``)."""
    if "consent" not in plan.fields and consent_basis != COLLECTED_ELSEWHERE:
        raise FileRefused("consent_missing")
    if min_age > 0 and AGE_ITEM not in plan.fields:
        raise ColumnsRefused(
            "missing_column", column=AGE_ITEM, found=", ".join(n for n in plan.names if n)[:500]
        )


def basis_of(plan: ColumnPlan) -> Basis:
    return Basis.CONSENT if "consent" in plan.fields else Basis.COLLECTED_ELSEWHERE


@dataclass(slots=True)
class _Match:
    """A clean row the event already has (``on_duplicate=update``)."""

    row: CleanRow
    participant_id: str


class Importer:
    """Runs import jobs with the collaborators ``bootstrap`` wires."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        tickets: TicketKeys,
        files: ImportFiles,
        cleaner: RowCleaner,
        processes: Processes,
        batch_size: int = 5000,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.tickets = tickets
        self.files = files
        self.cleaner = cleaner
        self.processes = processes
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts

    # --- use cases ----------------------------------------------------------------------------------

    def import_file(
        self,
        *,
        event_id: str,
        path: str,
        filename: str,
        actor: str,
        on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
        mapping: Mapping[str, str] | None = None,
        encoding: str | None = None,
        progress: Progress | None = None,
        consent_basis: str | None = None,
    ) -> ImportJob:
        """``turnout import``: run an import in this process (resuming a killed run of the same file).
        ``consent_basis="collected_elsewhere"`` confirms consent was collected elsewhere (needed
        when the file has no consent column)."""
        digest = self.files.digest(path)
        with self.uow_factory() as uow:
            job = find_resumable(
                uow,
                event_id=event_id,
                sha256=digest.sha256,
                on_duplicate=on_duplicate,
                processes=self.processes,
                mapping=mapping,
                encoding=encoding,
            )
            if job is None:
                job = create_import_job(
                    uow,
                    event_id=event_id,
                    path=path,
                    file=digest,
                    filename=filename,
                    actor=actor,
                    on_duplicate=on_duplicate,
                    mapping=mapping,
                    encoding=encoding,
                    consent_basis=consent_basis,
                )
            claimed = claim(
                uow, job=job, processes=self.processes, lease=self.lease, max_attempts=self.max_attempts
            )
            uow.commit()
            if not claimed:
                given_up = get_import(uow, import_id=job.id)
                if given_up.status is ImportStatus.FAILED and given_up.error_code:
                    raise DomainError(given_up.error_code, **(given_up.error_params or {}))
                raise DomainError("conflict")
        return self.run_import(import_id=job.id, progress=progress, attempt=job.attempts + 1)

    def run_next_import(self) -> bool:
        """One step of the ``imports`` worker: claim the oldest due job and run it to the end.
        False when no job was due."""
        with self.uow_factory() as uow:
            job = claim_next(uow, processes=self.processes, lease=self.lease, max_attempts=self.max_attempts)
            uow.commit()
        if job is None:
            return False
        try:
            self.run_import(import_id=job.id, attempt=job.attempts)
        except ImportTakenOver:
            log.warning("import %s was taken over by another runner", job.id)
        except Exception:
            log.exception("import %s failed", job.id)
            self._finish(job.id, job.attempts, ImportStatus.FAILED, DomainError("import_failed"))
        return True

    def run_pending(self, *, limit: int | None = None) -> int:
        """Run due jobs until none is left (or ``limit`` ran); how many ran."""
        ran = 0
        while (limit is None or ran < limit) and self.run_next_import():
            ran += 1
        return ran

    def run_import(
        self, *, import_id: str, progress: Progress | None = None, attempt: int | None = None
    ) -> ImportJob:
        """Run (or resume) a claimed job to the end; the finished job. A refusal of the whole file
        marks it ``failed`` (``error_code``) with nothing saved. ``ImportTakenOver`` when another
        runner took the job over meanwhile (this runner's lease had ended): nothing more is saved
        here, and the other runner ends the job. ``attempt``: the lease generation this runner
        claimed (the job's ``attempts`` right after its claim; the job's current one if not given)."""
        job = self._job(import_id)
        if attempt is not None and job.attempts != attempt:
            raise ImportTakenOver(import_id=import_id)
        try:
            with self.cleaner.start(file_size=job.file_size) as cleaning:  # first: helpers start meanwhile
                self._run(job, cleaning, progress)
        except (FileRefused, ColumnsRefused, DomainError) as refusal:
            if not isinstance(refusal, FileRefused | ColumnsRefused) and refusal.code not in _JOB_REFUSALS:
                raise
            self._finish(import_id, job.attempts, ImportStatus.FAILED, refusal)
        else:
            self._finish(import_id, job.attempts, ImportStatus.DONE)
        return self._job(import_id)

    # --- running ------------------------------------------------------------------------------------

    def _run(self, job: ImportJob, cleaning: CleaningRun, progress: Progress | None) -> None:
        with self.uow_factory(readonly=True) as uow:
            event = importable_event(uow, event_id=job.event_id)
        rules = event_rules(event)
        with self._open(job) as table:
            plan = plan_columns(table.header, job.mapping)
            check_consent_columns(plan, consent_basis=job.consent_basis, min_age=event.min_age)
            with self.uow_factory() as uow:
                if not uow.imports.set_header(
                    job.id,
                    header=[str(h) for h in table.header],
                    encoding=table.encoding,
                    owner=self.processes.this_process(),
                    attempt=job.attempts,
                ):
                    raise ImportTakenOver(import_id=job.id)
                notice = notice_in_force(uow, event)
                uow.commit()
            row_cleaning = RowCleaning.of(
                plan,
                rules,
                optional_items=optional_items(notice, event),
                marketing_asked=notice.content.marketing,
            )
            if job.on_duplicate is OnDuplicate.FAIL and job.rows_processed == 0:
                self._refuse_duplicates(job, event, table, plan, row_cleaning, cleaning)
        with self._open(job) as table:
            rows = FileRows(plan, by_phone=event.dedup_by_phone, event_id=job.event_id, import_id=job.id)
            rows.notice = notice
            records = iter(table.rows())
            rows.remember(itertools.islice(records, job.rows_processed), row_cleaning)
            counts = ImportCounts.of(job)
            with self.uow_factory() as uow:
                key = self.tickets.keypair(uow, event_id=job.event_id)
                uow.commit()
            for read in cleaning.clean(
                rows.reader(records),
                cleaning=row_cleaning,
                batch_size=self.batch_size,
                event_id=job.event_id,
                key=key,
            ):
                batch = rows.merge(read, position=table.position(), registered_at=self.clock.now())
                self._save(job, rows, counts, progress, batch)
        if counts.total == 0:
            raise FileRefused("no_data_rows")

    def _open(self, job: ImportJob) -> Table:
        return self.files.open(job.file_path, filename=job.filename, encoding=job.encoding)

    def _refuse_duplicates(
        self,
        job: ImportJob,
        event: Event,
        table: Table,
        plan: ColumnPlan,
        row_cleaning: RowCleaning,
        cleaning: CleaningRun,
    ) -> None:
        """``on_duplicate=fail``: read the whole file first; any duplicate refuses it, nothing saved.
        The lease is renewed after each batch read (nothing is saved before the end of this pass)."""
        rows = FileRows(plan, by_phone=event.dedup_by_phone, event_id=job.event_id, import_id=job.id)
        unchanged = ImportCounts.of(job)
        count = 0
        for read in cleaning.clean(
            rows.reader(iter(table.rows())),
            cleaning=row_cleaning,
            batch_size=self.batch_size,
            event_id=job.event_id,
            key=None,
        ):
            batch = rows.merge(read, position=0, registered_at=self.clock.now())
            count += batch.duplicates
            emails = [r.data.email for r in batch.clean_rows]
            with self.uow_factory(readonly=True) as uow:
                by_email = uow.participants.ids_by_email(event.id, emails)
                count += len(by_email)
                if event.dedup_by_phone:
                    phones = [r.data.phone for r in batch.clean_rows if r.data.phone]
                    by_phone = uow.participants.ids_by_phone(event.id, phones)
                    count += len(set(by_phone.values()) - set(by_email.values()))
            with self.uow_factory() as uow:
                renew_lease(uow, job=job, counts=unchanged, processes=self.processes, lease=self.lease)
                uow.commit()
        if count:
            raise DomainError("duplicates_found", count=count)

    # --- saving -------------------------------------------------------------------------------------

    def _save(
        self,
        job: ImportJob,
        rows: FileRows,
        counts: ImportCounts,
        progress: Progress | None,
        batch: ImportBatch,
    ) -> None:
        """Save ``batch`` in one transaction; decided again if another writer saved some of its
        participants meanwhile."""
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                with self.uow_factory() as uow:
                    saved = self._save_batch(uow, job, rows, counts, batch)
                    uow.commit()
            except SaveConflict:
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise
                continue
            counts.add(saved)
            if progress is not None:
                progress(self._job(job.id), batch.position)
            return

    def _save_batch(
        self, uow: UnitOfWork, job: ImportJob, rows: FileRows, counts: ImportCounts, batch: ImportBatch
    ) -> ImportCounts:
        """Decide ``batch`` against the event (duplicates, capacity) and store it; what it adds to
        the job's counters. ``ImportTakenOver`` (the caller's transaction then rolls back) when
        another runner holds the job now."""
        event = uow.events.get(job.event_id, for_update=True)
        if event is None:
            raise NotFound("event_not_found", event_id=job.event_id)
        now = uow.clock.now()
        saved = ImportCounts(
            total=batch.total,
            duplicates=batch.duplicates,
            invalid=batch.invalid,
            rows_processed=batch.consumed,
        )
        errors = list(batch.errors)
        error_rows = dict(batch.error_rows)

        def refuse(row: CleanRow, error: FieldError) -> None:
            errors.append(error)
            error_rows[row.row] = [cell_text(c) for c in row.cells]

        by_phone = rows.by_phone
        emails = [r.data.email for r in batch.clean_rows]
        existing = uow.participants.ids_by_email(job.event_id, emails) if emails else {}
        existing_phone: dict[str, str] = {}
        if by_phone:
            phones = [r.data.phone for r in batch.clean_rows if r.data.phone]
            existing_phone = uow.participants.ids_by_phone(job.event_id, phones) if phones else {}
        fresh: list[CleanRow] = []
        matches: list[_Match] = []
        for row in batch.clean_rows:
            data = row.data
            match, field = existing.get(data.email), "email"
            if match is None and by_phone and data.phone:
                match, field = existing_phone.get(data.phone), "phone"
            if match is None:
                fresh.append(row)
            elif job.on_duplicate is OnDuplicate.UPDATE:
                matches.append(_Match(row, match))
            else:
                value = data.email if field == "email" else data.phone
                refuse(
                    row,
                    FieldError(
                        rows.columns.get(field, field),
                        "already_registered",
                        params={"field": field},
                        value=value,
                        row=row.row,
                    ),
                )
                saved.duplicates += 1
        if event.capacity is not None and fresh:
            room = max(event.capacity - uow.participants.count_active(job.event_id), 0)
            for row in fresh[room:]:
                refuse(row, FieldError("", "event_full", params={"capacity": event.capacity}, row=row.row))
                saved.invalid += 1
            fresh = fresh[:room]
        uow.imports.add_participants(fresh, event_id=job.event_id, import_id=job.id, now=batch.registered_at)
        if rows.notice is not None:
            self._record_consents(uow, rows.notice, basis_of(rows.plan), fresh, batch.registered_at)
        saved.created = len(fresh)
        if matches:
            saved.updated = self._update(uow, job, matches, now)
        uow.imports.add_errors(job.id, errors, error_rows)
        renew_lease(uow, job=job, counts=counts.plus(saved), processes=self.processes, lease=self.lease)
        return saved

    @staticmethod
    def _record_consents(
        uow: UnitOfWork, notice: PrivacyNotice, basis: Basis, fresh: list[CleanRow], given_at: datetime
    ) -> None:
        """The new participants' consent records, in the batch's transaction (one statement). Rows
        share a few consent objects (``RowCleaning``): one record is made per distinct consent."""
        groups: dict[int, tuple[ConsentRecord, list[str]]] = {}
        for row in fresh:
            consent = row.data.consent or _CONFIRMED
            group = groups.get(id(consent))
            if group is None:
                record = record_of(
                    participant_id=row.participant_id,
                    event_id=notice.event_id,
                    notice=notice,
                    consent=consent,
                    channel=Channel.IMPORT,
                    basis=basis,
                    given_at=given_at,
                )
                group = groups[id(consent)] = (record, [])
            group[1].append(row.participant_id)
        uow.consent.add_shared(list(groups.values()))

    @staticmethod
    def _update(uow: UnitOfWork, job: ImportJob, matches: list[_Match], now: datetime) -> int:
        """``on_duplicate=update``: overwrite the fields the file gives (blank cells keep what is
        there), audited, one ``participant.updated`` each. Counts every match, changed or not."""
        current = uow.imports.participants([m.participant_id for m in matches])
        facts: list[ParticipantUpdated] = []
        for match in matches:
            before = current.get(match.participant_id)
            if before is None:
                continue
            values = changed_fields(before, match.row.data)
            if not values:
                continue
            fields = sorted(values)
            uow.participants.update_fields(match.participant_id, {**values, "updated_at": now})
            uow.audit.record(
                actor=job.actor,
                action="participant.updated",
                subject_type="participant",
                subject_id=match.participant_id,
                event_id=job.event_id,
                data={"import_id": job.id, "fields": fields, "row": match.row.row},
            )
            facts.append(
                ParticipantUpdated(
                    event_id=job.event_id,
                    participant_id=match.participant_id,
                    source=Source.IMPORT.value,
                    import_id=job.id,
                    fields=tuple(fields),
                )
            )
        uow.emit_all(facts, occurred_at=now)
        return len(matches)

    # --- jobs ---------------------------------------------------------------------------------------

    def _job(self, import_id: str) -> ImportJob:
        with self.uow_factory(readonly=True) as uow:
            return get_import(uow, import_id=import_id)

    def _finish(
        self, import_id: str, attempt: int, status: ImportStatus, error: DomainError | None = None
    ) -> None:
        """End the job, unless another runner holds it now (then it is that runner's to end). An
        ended job's uploaded file is deleted: its rows are saved or refused, and it holds personal
        data (a failed job is not resumed; the user uploads again)."""
        with self.uow_factory() as uow:
            if not finish(
                uow,
                import_id=import_id,
                attempt=attempt,
                processes=self.processes,
                status=status,
                error=error,
            ):
                return
            path = get_import(uow, import_id=import_id).file_path
            uow.commit()
        self.files.discard(path)
