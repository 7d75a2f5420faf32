"""Import jobs: queue one, find one to resume, claim one, finish one.

A job is durable (``uow.imports``). Whoever runs it holds a lease, renewed with every saved batch,
and is named by its runner (``host:pid``). A job may be taken when it is queued, or when it is
running but its lease has ended or its runner is known to be gone (a process on this host that no
longer runs): that is how a killed import is resumed. A runner writes its progress and the job's end
only while it still holds the job (``renew_lease``, ``finish``): one whose lease ended and whose job
another runner took over stops (``ImportTakenOver``) instead of saving the same rows again.

Every claim adds one to the job's ``attempts``: that number is the lease's generation, the fencing
token a runner's every write of the job is checked against (with its ``owner``), so a runner that
stalled past its lease cannot write once the job was claimed again, even by a runner in its own
process. A job whose runners keep dying (a file that kills the process reading it) is not claimed
again after ``max_attempts``: it ends ``failed`` with ``import_attempts_exhausted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from turnout.domain.columns import TARGETS, ColumnsRefused
from turnout.domain.consent import Basis
from turnout.domain.errors import DomainError, NotFound
from turnout.domain.events import Event
from turnout.domain.ids import new_id
from turnout.domain.imports import IMPORTABLE_STATUSES, ImportCounts, ImportJob, ImportStatus, OnDuplicate
from turnout.ports import FileDigest, Processes, UnitOfWork

#: how long a runner holds a job without saving a batch before another may take it over
LEASE = timedelta(seconds=60)
#: runs of one job that may end without finishing it (the runner died) before it is failed
MAX_ATTEMPTS = 3


class ImportTakenOver(DomainError):
    """Another runner took the job over (this runner's lease had ended): this one stops, and what it
    had not committed is decided by the other."""

    code = "import_taken_over"


def importable_event(uow: UnitOfWork, *, event_id: str, for_update: bool = False) -> Event:
    """The event, if it takes imports (``registration_closed`` otherwise)."""
    event = uow.events.get(event_id, for_update=for_update)
    if event is None:
        raise NotFound("event_not_found", event_id=event_id)
    if event.status not in IMPORTABLE_STATUSES:
        raise DomainError("registration_closed", status=event.status.value)
    return event


def create_import_job(
    uow: UnitOfWork,
    *,
    event_id: str,
    path: str,
    file: FileDigest,
    filename: str,
    actor: str,
    on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    consent_basis: str | None = None,
    rows_expected: int | None = None,
) -> ImportJob:
    """Queue an import of the file at ``path`` (already stored where every runner can read it).
    ``consent_basis``: ``collected_elsewhere`` when the uploader confirms consent was collected
    elsewhere (a file without a consent column needs it). ``rows_expected``: the data rows the file
    was counted to hold (for a progress bar)."""
    importable_event(uow, event_id=event_id)
    if consent_basis is not None and consent_basis != Basis.COLLECTED_ELSEWHERE.value:
        raise DomainError("invalid_consent_basis", consent_basis=consent_basis[:40])
    policy = OnDuplicate(on_duplicate)
    if mapping:
        # a bad FIELD is refused now; columns are checked against the header when the file is read
        bad = [f"{column}={target}" for column, target in mapping.items() if target not in TARGETS]
        if bad:
            raise ColumnsRefused("invalid_mapping", mapping=bad[0])
    job = ImportJob(
        id=new_id(),
        event_id=event_id,
        status=ImportStatus.QUEUED,
        filename=filename,
        file_path=path,
        file_sha256=file.sha256,
        file_size=file.size,
        on_duplicate=policy,
        mapping=dict(mapping or {}),
        encoding=encoding,
        actor=actor,
        created_at=uow.clock.now(),
        consent_basis=consent_basis,
        rows_expected=rows_expected,
    )
    uow.imports.add(job)
    uow.audit.record(
        actor=actor,
        action="import.queued",
        subject_type="import",
        subject_id=job.id,
        event_id=event_id,
        data={
            "filename": filename,
            "size": file.size,
            "on_duplicate": policy.value,
            "consent_basis": consent_basis,
        },
    )
    return get_import(uow, import_id=job.id)


def get_import(uow: UnitOfWork, *, import_id: str) -> ImportJob:
    job = uow.imports.get(import_id)
    if job is None:
        raise NotFound("import_not_found", import_id=import_id)
    return job


def _runner_gone(job: ImportJob, uow: UnitOfWork, processes: Processes, *, no_lease_counts: bool) -> bool:
    """A running job whose lease has ended or whose runner no longer runs."""
    if job.lease_until is None:
        return no_lease_counts or processes.has_ended(job.owner)
    return job.lease_until < uow.clock.now() or processes.has_ended(job.owner)


def claim(
    uow: UnitOfWork,
    *,
    job: ImportJob,
    processes: Processes,
    lease: timedelta = LEASE,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """Take ``job`` (as read in this transaction): queued, or running under an ended lease or a gone
    runner. The claimed job's lease generation is ``job.attempts + 1``. False when it is not to be
    taken, or another runner took it first, or its runs ended unfinished ``max_attempts`` times
    already (it is then marked failed, ``import_attempts_exhausted``). The caller commits."""
    if job.status is ImportStatus.RUNNING:
        if not _runner_gone(job, uow, processes, no_lease_counts=True):
            return False
        if job.attempts >= max_attempts:
            _give_up(uow, job)
            return False
    elif job.status is not ImportStatus.QUEUED:
        return False
    now = uow.clock.now()
    return uow.imports.claim(job, owner=processes.this_process(), lease_until=now + lease, now=now)


def _give_up(uow: UnitOfWork, job: ImportJob) -> None:
    error = DomainError("import_attempts_exhausted", attempts=job.attempts)
    if uow.imports.abandon(job, now=uow.clock.now(), error=error):
        uow.audit.record(
            actor=job.actor,
            action=f"import.{ImportStatus.FAILED.value}",
            subject_type="import",
            subject_id=job.id,
            event_id=job.event_id,
            data={**job.summary(), "error": error.code},
        )


def claim_next(
    uow: UnitOfWork, *, processes: Processes, lease: timedelta = LEASE, max_attempts: int = MAX_ATTEMPTS
) -> ImportJob | None:
    """The oldest job due (queued, or running under an ended lease), claimed: as claimed (its
    ``attempts`` is this runner's lease generation). The caller commits."""
    for job in uow.imports.due(now=uow.clock.now(), limit=5):
        if claim(uow, job=job, processes=processes, lease=lease, max_attempts=max_attempts):
            return replace(job, attempts=job.attempts + 1, status=ImportStatus.RUNNING)
    return None


def find_resumable(
    uow: UnitOfWork,
    *,
    event_id: str,
    sha256: str,
    on_duplicate: OnDuplicate | str,
    processes: Processes,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> ImportJob | None:
    """An unfinished import of the same file, read the same way, whose runner died (``turnout import``
    run again)."""
    for job in uow.imports.unfinished(
        event_id=event_id, sha256=sha256, on_duplicate=OnDuplicate(on_duplicate)
    ):
        if job.mapping != dict(mapping or {}) or job.encoding != encoding:
            continue  # the same file read differently is another import
        if job.status is ImportStatus.RUNNING and _runner_gone(job, uow, processes, no_lease_counts=False):
            return job
    return None


def renew_lease(
    uow: UnitOfWork, *, job: ImportJob, counts: ImportCounts, processes: Processes, lease: timedelta = LEASE
) -> None:
    """Record the job's counters and extend this runner's lease (``job`` as this runner claimed it:
    its ``attempts`` is the lease generation); ``ImportTakenOver`` when another runner holds the job
    now (nothing is then written: the caller's transaction is to roll back)."""
    lease_until = uow.clock.now() + lease
    if not uow.imports.record_progress(
        job.id, counts, owner=processes.this_process(), attempt=job.attempts, lease_until=lease_until
    ):
        raise ImportTakenOver(import_id=job.id)


def finish(
    uow: UnitOfWork,
    *,
    import_id: str,
    attempt: int,
    processes: Processes,
    status: ImportStatus,
    error: DomainError | None = None,
) -> bool:
    """Done, or failed with ``error``; audited with the summary. False (nothing written) when
    another runner holds the job now (``attempt``: this runner's lease generation). The caller
    commits."""
    if not uow.imports.finish(
        import_id,
        owner=processes.this_process(),
        attempt=attempt,
        status=status,
        now=uow.clock.now(),
        error=error,
    ):
        return False
    job = get_import(uow, import_id=import_id)
    uow.audit.record(
        actor=job.actor,
        action=f"import.{status.value}",
        subject_type="import",
        subject_id=import_id,
        event_id=job.event_id,
        data={**job.summary(), "error": error.code if error else None},
    )
    return True
