"""The console's pages. Import: upload, preview and mapping, live progress, the summary and the refused
rows.

- ``GET /events/{event_id}/import``: the upload form (a file picker that also takes a dropped file,
  ``static/import.js``) and the event's past imports with their summaries.
- ``POST /events/{event_id}/import`` (multipart ``file``, optional ``encoding``): the file is kept on
  the server (``adapters.import_uploads``: an unguessable upload id, the upload size limit, expires)
  and read only as far as its preview needs; a file that cannot be imported whatever the mapping
  (empty, unreadable, no data rows, too large …) is refused here with its coded message (422).
  Otherwise 303 to its preview.
- ``GET /events/{event_id}/import/uploads/{upload_id}``: the preview — the encoding read, each
  column with a ``<select name="mapping">`` of ``COLUMN=FIELD`` (the API's form), the first rows, the
  duplicate policy (``on_duplicate``), and ``consent_basis=collected_elsewhere`` when the file has no
  consent column. ``?encoding=`` reads it in another encoding.
- ``POST …/uploads/{upload_id}``: queues the import (the same job as the API's upload, run by the
  ``imports`` worker) with the chosen mapping, or shows the preview again (422) with what refuses it.
- ``GET /events/{event_id}/import/{import_id}``: progress (``…/progress`` is the fragment htmx polls
  every second; without JavaScript the page refreshes itself), then the summary and the refused
  rows; ``…/errors.csv`` is the API's errors.csv in the page's language.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from turnout.adapters.errors_csv import error_report
from turnout.adapters.import_uploads import PendingUpload, PendingUploads
from turnout.bootstrap import Turnout
from turnout.domain.access import Permission
from turnout.domain.columns import TARGETS, automatic_target, mapping_overrides, parse_mapping
from turnout.domain.errors import DomainError, NotFound
from turnout.domain.imports import ImportJob, OnDuplicate
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.pages import ConsolePage, console_page
from turnout.i18n import megabytes, translate
from turnout.ports import StoredRowError
from turnout.services.import_jobs import create_import_job, get_import
from turnout.services.import_preview import FilePreview, preview_file

router = APIRouter(include_in_schema=False)

CHUNK = 1 << 20
#: past imports listed on the upload page
PAST_IMPORTS = 50
#: refused rows shown on a job's page (errors.csv has them all)
SHOWN_ERRORS = 100
#: rows a preview shows
PREVIEW_ROWS = 10
#: encodings offered to read a text file in (what Korean files come in, and UTF-16 from Excel)
ENCODINGS = ("utf-8", "utf-8-sig", "cp949", "utf-16")
POLICIES = [policy.value for policy in OnDuplicate]


def uploads_of(turnout: Turnout) -> PendingUploads:
    return PendingUploads(turnout.settings.var_dir / "imports" / "pending")


def import_folder(turnout: Turnout) -> Path:
    """Where a queued import's file lives (its runner deletes it when the job ends)."""
    return turnout.settings.var_dir / "imports"


def _encoding(value: str | None) -> str | None:
    return value if value in ENCODINGS else None


def _past_imports(turnout: Turnout, event_id: str) -> list[ImportJob]:
    with turnout.uow(readonly=True) as uow:
        return uow.imports.for_event(event_id, limit=PAST_IMPORTS)


def _upload_page(
    page: ConsolePage, *, status_code: int = 200, refusal: DomainError | None = None
) -> Response:
    assert page.event is not None
    return page.render(
        "import.html",
        status_code=status_code,
        refusal=refusal,
        jobs=_past_imports(page.turnout, page.event.id),
        max_bytes=page.turnout.settings.upload_max_bytes,
        max_mb=megabytes(page.turnout.settings.upload_max_bytes),
        encodings=ENCODINGS,
    )


@router.get("/events/{event_id}/import")
def import_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    return _upload_page(page)


@router.post("/events/{event_id}/import")
def upload_file(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    encoding: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    page.check_csrf(csrf_token)
    if file is None or not file.filename:
        return _upload_page(page, status_code=422, refusal=DomainError("file_required"))
    uploads = uploads_of(turnout)
    now = turnout.clock.now()
    uploads.sweep(now=now)
    stream = file.file
    try:
        upload = uploads.save(
            iter(lambda: stream.read(CHUNK), b""),
            event_id=event_id,
            filename=Path(file.filename.replace("\\", "/")).name[:300] or "upload.csv",
            actor=page.principal.actor,
            max_bytes=turnout.settings.upload_max_bytes,
            now=now,
        )
    except DomainError as refused:
        return _upload_page(page, status_code=422, refusal=refused)
    chosen = _encoding(encoding)
    try:
        _preview(page, upload, encoding=chosen, mapping=None)
    except DomainError as refused:
        uploads.discard(upload)
        return _upload_page(page, status_code=422, refusal=refused)
    except BaseException:
        uploads.discard(upload)  # a file the reader fails on is not kept (it holds personal data)
        raise
    suffix = f"?encoding={chosen}" if chosen else ""
    return page.redirect(f"/events/{event_id}/import/uploads/{upload.upload_id}{suffix}")


def _pending(page: ConsolePage, upload_id: str) -> PendingUpload:
    assert page.event is not None
    upload = uploads_of(page.turnout).get(upload_id, event_id=page.event.id, now=page.turnout.clock.now())
    if upload is None:
        raise NotFound("upload_not_found")
    return upload


def _preview(
    page: ConsolePage, upload: PendingUpload, *, encoding: str | None, mapping: dict[str, str] | None
) -> FilePreview:
    assert page.event is not None
    return preview_file(
        page.turnout.importer.files,
        path=uploads_of(page.turnout).path(upload),
        filename=upload.filename,
        encoding=encoding,
        mapping=mapping,
        min_age=page.event.min_age,
        rows=PREVIEW_ROWS,
    )


def _preview_page(
    page: ConsolePage,
    upload: PendingUpload,
    preview: FilePreview,
    *,
    encoding: str | None,
    status_code: int = 200,
    refusal: DomainError | None = None,
    on_duplicate: str = OnDuplicate.SKIP.value,
    consent_basis: str | None = None,
) -> Response:
    shown = refusal or preview.refusal
    columns = [
        {
            "name": name,
            "target": target,
            "automatic": automatic_target(name),
            "index": index,
        }
        for index, (name, target) in enumerate(zip(preview.header, preview.targets, strict=True))
    ]
    return page.render(
        "import_preview.html",
        status_code=status_code,
        upload=upload,
        size_text=_size(upload.size, page.locale),
        preview=preview,
        columns=columns,
        targets=TARGETS,
        refusal=shown,
        refusal_field=_field_of(shown),
        encoding=encoding,
        encodings=ENCODINGS,
        policies=POLICIES,
        on_duplicate=on_duplicate,
        consent_basis=consent_basis,
    )


def _size(size: int, locale: str) -> str:
    """A file's size as people read it: kilobytes below a megabyte."""
    if size < 1024 * 1024:
        return translate("import.size.kb", locale, {"value": max(1, round(size / 1024))})
    return translate("import.size.mb", locale, {"value": megabytes(size)})


def _field_of(refusal: DomainError | None) -> str:
    """Which part of the preview form a refusal is shown beside."""
    if refusal is None:
        return ""
    if refusal.code == "consent_missing":
        return "consent_basis"
    if refusal.code in ("missing_column", "duplicate_column", "invalid_mapping"):
        return "mapping"
    return "form"


@router.get("/events/{event_id}/import/uploads/{upload_id}")
def preview_page(
    event_id: str, upload_id: str, request: Request, turnout: TurnoutDep, encoding: str | None = None
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    upload = _pending(page, upload_id)
    chosen = _encoding(encoding)
    try:
        preview = _preview(page, upload, encoding=chosen, mapping=None)
    except DomainError as refused:
        return _upload_page(page, status_code=422, refusal=refused)
    return _preview_page(page, upload, preview, encoding=chosen)


@router.post("/events/{event_id}/import/uploads/{upload_id}")
def start_import(
    event_id: str,
    upload_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    mapping: Annotated[list[str] | None, Form()] = None,
    on_duplicate: Annotated[str, Form(max_length=10)] = OnDuplicate.SKIP.value,
    consent_basis: Annotated[str, Form(max_length=40)] = "",
    encoding: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    page.check_csrf(csrf_token)
    upload = _pending(page, upload_id)
    chosen = _encoding(encoding)
    policy = on_duplicate if on_duplicate in POLICIES else OnDuplicate.SKIP.value
    basis = consent_basis or None
    shown = _preview(page, upload, encoding=chosen, mapping=None)
    try:
        columns = mapping_overrides(shown.header, parse_mapping(mapping or []))
    except DomainError as refused:
        return _preview_page(
            page, upload, shown, encoding=chosen, status_code=422, refusal=refused, on_duplicate=policy
        )
    preview = _preview(page, upload, encoding=chosen, mapping=columns)
    try:
        preview.check_start(consent_basis=basis)
        job = _queue(page, upload, preview, columns=columns, policy=policy, basis=basis, encoding=chosen)
    except DomainError as refused:
        return _preview_page(
            page,
            upload,
            preview,
            encoding=chosen,
            status_code=422,
            refusal=refused,
            on_duplicate=policy,
            consent_basis=basis,
        )
    return page.redirect(f"/events/{event_id}/import/{job.id}")


def _queue(
    page: ConsolePage,
    upload: PendingUpload,
    preview: FilePreview,
    *,
    columns: dict[str, str],
    policy: str,
    basis: str | None,
    encoding: str | None,
) -> ImportJob:
    """Move the upload to the import folder and queue its job (given back if it cannot be)."""
    turnout = page.turnout
    uploads = uploads_of(turnout)
    taken = uploads.take(upload, import_folder(turnout))
    if taken is None:
        raise NotFound("upload_not_found")
    try:
        expected = turnout.importer.files.count_rows(str(taken), filename=upload.filename)
        with turnout.uow() as uow:
            job = create_import_job(
                uow,
                event_id=upload.event_id,
                path=str(taken.resolve()),
                file=upload.digest,
                filename=upload.filename,
                actor=page.principal.actor,
                on_duplicate=policy,
                mapping=columns,
                encoding=encoding,
                consent_basis=basis if not preview.has_consent else None,
                rows_expected=expected,
            )
            uow.commit()
    except BaseException:
        uploads.give_back(upload, taken)
        raise
    return job


def _job_of(
    page: ConsolePage, import_id: str, *, with_errors: bool = False
) -> tuple[ImportJob, list[StoredRowError]]:
    """This event's import (``import_not_found`` for another event's), and its first refused rows
    once it has ended (``with_errors``)."""
    assert page.event is not None
    errors: list[StoredRowError] = []
    with page.turnout.uow(readonly=True) as uow:
        job = get_import(uow, import_id=import_id)
        if job.event_id != page.event.id:
            raise NotFound("import_not_found", import_id=import_id)
        if with_errors and job.finished:
            errors = sorted(uow.imports.errors(job.id, limit=SHOWN_ERRORS), key=lambda e: (e.row, e.id))
    return job, errors


def _job_context(job: ImportJob, errors: list[StoredRowError]) -> dict[str, Any]:
    done = job.rows_processed
    expected = job.rows_expected
    if job.finished:
        percent: int | None = 100
    elif expected:
        percent = min(99, done * 100 // expected)
    else:
        percent = None
    return {
        "job": job,
        "errors": errors,
        "percent": percent,
        "expected": expected,
        "more_errors": len(errors) >= SHOWN_ERRORS,
    }


@router.get("/events/{event_id}/import/{import_id}")
def job_page(event_id: str, import_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    job, errors = _job_of(page, import_id, with_errors=True)
    return page.render("import_job.html", **_job_context(job, errors))


@router.get("/events/{event_id}/import/{import_id}/progress")
def job_progress(event_id: str, import_id: str, request: Request, turnout: TurnoutDep) -> Response:
    """The part of the job's page that moves: htmx fetches it every second until the job ends; then
    it has htmx load the whole page again (``HX-Refresh``), which shows the summary and the refused
    rows."""
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    job, _ = _job_of(page, import_id)
    response = page.render("import_progress.html", **_job_context(job, []))
    if job.finished and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/events/{event_id}/import/{import_id}/errors.csv")
def job_errors_csv(event_id: str, import_id: str, request: Request, turnout: TurnoutDep) -> Response:
    """The API's errors.csv (the refused rows as read, plus row, column, code, message) in the page's
    language."""
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    job, _ = _job_of(page, import_id)
    locale = page.locale

    def body() -> Iterator[bytes]:
        with turnout.uow(readonly=True) as uow:
            for chunk in error_report(uow, import_id=job.id, locale=locale):
                yield chunk.encode("utf-8")

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )
