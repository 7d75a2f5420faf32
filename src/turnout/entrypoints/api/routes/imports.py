"""Participant imports: upload (202, run by the ``imports`` worker), progress and summary, errors.csv."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from turnout.adapters.errors_csv import error_report
from turnout.adapters.readers import check_spreadsheet
from turnout.bootstrap import Turnout, xlsx_limits
from turnout.domain.access import Permission, authorize
from turnout.domain.columns import parse_mapping, plan_columns
from turnout.domain.errors import DomainError
from turnout.domain.ids import new_id
from turnout.domain.imports import ImportJob, OnDuplicate
from turnout.entrypoints.api.deps import LocaleDep, PrincipalDep, TurnoutDep, permits
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import ImportRead, ImportSummary
from turnout.ports import FileDigest
from turnout.services.events import get_event
from turnout.services.import_jobs import create_import_job, get_import

router = APIRouter(prefix="/api/v1", tags=["imports"], route_class=JsonRoute)

CHUNK = 1 << 20


def import_read(job: ImportJob) -> ImportRead:
    return ImportRead(
        id=job.id,
        event_id=job.event_id,
        status=job.status.value,
        filename=job.filename,
        on_duplicate=job.on_duplicate.value,
        encoding=job.encoding or job.detected_encoding,
        rows_read=job.rows_read,
        rows_processed=job.rows_processed,
        summary=ImportSummary(**job.summary()),
        error={"code": job.error_code, "params": job.error_params or {}} if job.error_code else None,
        errors_url=f"/api/v1/imports/{job.id}/errors.csv",
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


class ConsentBasis(StrEnum):
    COLLECTED_ELSEWHERE = "collected_elsewhere"


def refuse_without_consent_column(
    turnout: Turnout, path: Path, filename: str, encoding: str | None, mapping: dict[str, str]
) -> None:
    """``consent_missing`` (422) when the file's header has no consent column. A file whose header
    cannot be read is left to the import job, which reports why."""
    try:
        with turnout.importer.files.open(str(path), filename=filename, encoding=encoding) as table:
            plan = plan_columns(table.header, mapping)
    except DomainError:
        return
    if "consent" not in plan.fields:
        raise ConsentMissing()


class ConsentMissing(DomainError):
    code = "consent_missing"


@router.post(
    "/events/{event_id}/imports",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[permits(Permission.PARTICIPANTS_WRITE)],
)
async def upload_import(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="CSV, TSV, TXT or XLSX")],
    on_duplicate: Annotated[OnDuplicate, Form()] = OnDuplicate.SKIP,
    mapping: Annotated[list[str] | None, Form(description="COLUMN=FIELD, repeatable")] = None,
    encoding: Annotated[str | None, Form(max_length=40)] = None,
    consent_basis: Annotated[
        ConsentBasis | None,
        Form(description="collected_elsewhere: consent was collected elsewhere (no consent column)"),
    ] = None,
) -> ImportRead:
    """Store the upload and queue the import; poll ``GET /imports/{id}`` for progress and summary.
    A file without a consent column needs ``consent_basis=collected_elsewhere``, else it is refused
    at once (``422 consent_missing``, nothing stored)."""
    authorize(principal, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    columns = parse_mapping(mapping or [])
    basis = consent_basis.value if consent_basis is not None else None
    with turnout.uow(readonly=True) as uow:
        get_event(uow, event_id=event_id)
    filename = Path(file.filename or "upload.csv").name
    folder = turnout.settings.var_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{new_id()}{Path(filename).suffix.lower()[:10]}"
    limit = turnout.settings.upload_max_bytes
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as handle:
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise DomainError("payload_too_large", max_bytes=limit)
                digest.update(chunk)
                handle.write(chunk)
        with target.open("rb") as handle:
            is_zip = handle.read(4) == b"PK\x03\x04"
        if is_zip:  # an XLSX over the limits (a zip bomb ...) is refused now, before it is queued
            await run_in_threadpool(check_spreadsheet, target, xlsx_limits(turnout.settings))
        if basis is None:  # no consent confirmed: the file must have a consent column (read its header now)
            await run_in_threadpool(
                refuse_without_consent_column, turnout, target, filename, encoding, columns
            )
        with turnout.uow() as uow:
            job = create_import_job(
                uow,
                event_id=event_id,
                path=str(target.resolve()),
                file=FileDigest(sha256=digest.hexdigest(), size=size),
                filename=filename,
                actor=principal.actor,
                on_duplicate=on_duplicate,
                mapping=columns,
                encoding=encoding,
                consent_basis=basis,
            )
            uow.commit()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return import_read(job)


@router.get("/imports/{import_id}")
def get_import_job(import_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> ImportRead:
    authorize(principal, Permission.PARTICIPANTS_READ)
    with turnout.uow(readonly=True) as uow:
        job = get_import(uow, import_id=import_id)
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=job.event_id)
    return import_read(job)


@router.get("/imports/{import_id}/errors.csv", response_class=StreamingResponse)
def import_errors_csv(
    import_id: str, turnout: TurnoutDep, principal: PrincipalDep, locale: LocaleDep
) -> StreamingResponse:
    """The refused rows as read, plus ``row, column, code, message`` (formulas neutralised)."""
    authorize(principal, Permission.PARTICIPANTS_READ)
    with turnout.uow(readonly=True) as uow:
        job = get_import(uow, import_id=import_id)
    authorize(principal, Permission.PARTICIPANTS_READ, event_id=job.event_id)

    def body() -> Iterator[bytes]:
        with turnout.uow(readonly=True) as uow:
            for chunk in error_report(uow, import_id=import_id, locale=locale):
                yield chunk.encode("utf-8")

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )
