"""The console's pages. Mail: the template editor per language with a preview, the sent-mail log,
failed mails with retry.

``/events/{event_id}/mail`` edits the event's email of one kind (``kind``: the ticket, or a notice)
in one language (``locale``: ``ko`` or ``en``), as ``PUT /api/v1/events/{event_id}/mail-templates/
{locale}`` does (``subject``, ``html``, ``text``; the same check, the same ``invalid_template`` with a
``template_error`` per part). The preview renders the unsaved sources with the sample participant
(``POST …/mail/preview``: the whole page without JavaScript, the preview part alone for htmx). Failed
and undeliverable mails are listed with a retry (``POST /events/{event_id}/emails/{job_id}/retry``,
kept next to the sent-mail log ``/events/{event_id}/emails``).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from turnout.adapters import qr
from turnout.domain.access import Permission
from turnout.domain.errors import DomainError, FieldError, ValidationFailed
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.ops_pages import refused_action
from turnout.entrypoints.web.pages import ConsolePage, console_page
from turnout.i18n import translate
from turnout.ports import EmailStatus
from turnout.services import mail_queue, mail_templates

router = APIRouter(include_in_schema=False)

#: failed and undeliverable mails listed on the mail page (the sent-mail log has them all)
FAILED_SHOWN = 20
SAMPLE_QR_CID = "cid:qr.sample@turnout"

Text = Annotated[str, Form()]
Token = Annotated[str | None, Form()]


def _choice(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


def _sample_qr() -> str:
    """The sample ticket's QR as a data URL (the preview shows it where the mail has its image)."""
    token = str(mail_templates.sample_context("en")["token"])
    return "data:image/png;base64," + base64.b64encode(qr.png(token)).decode()


def _errors(
    page: ConsolePage, errors: list[FieldError] | tuple[FieldError, ...]
) -> dict[str, dict[str, str]]:
    """field -> {"code", "message"} (the first problem of each field), in the page's language."""
    shown: dict[str, dict[str, str]] = {}
    for error in errors:
        shown.setdefault(
            error.field, {"code": error.code, "message": translate(error.code, page.locale, error.params)}
        )
    return shown


def _preview_context(
    page: ConsolePage, *, locale: str, kind: str, subject: str, html: str, text: str, saved: bool = False
) -> dict[str, Any]:
    preview = mail_templates.preview_template(
        page.turnout.template_renderer,
        locale=locale,
        subject=subject,
        html=html,
        text=text,
        kind=kind,
        saved=saved,
    )
    shown_html = preview.html.replace(SAMPLE_QR_CID, _sample_qr()) if preview.html else preview.html
    return {"preview": preview, "preview_html": shown_html, "preview_errors": _errors(page, preview.errors)}


def _mail_page(
    page: ConsolePage,
    *,
    locale: str,
    kind: str,
    values: dict[str, str] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    preview: bool = False,
    status_code: int = 200,
    saved: str | None = None,
) -> Response:
    assert page.event is not None
    event_id = page.event.id
    with page.turnout.uow(readonly=True) as uow:
        sets = mail_templates.get_templates(
            uow, renderer=page.turnout.template_renderer, event_id=event_id, kind=kind
        )
        counts = mail_queue.count_by_status(uow, event_id=event_id)
        failed = [
            job
            for status in (EmailStatus.FAILED, EmailStatus.DEAD)
            for job in mail_queue.list_jobs(
                uow, event_id=event_id, status=status, limit=FAILED_SHOWN, newest_first=True
            )
        ]
    current = next(s for s in sets if s.locale == locale)
    form = values or {"subject": current.subject, "html": current.html, "text": current.text}
    context = (
        _preview_context(page, locale=locale, kind=kind, saved=values is None, **form) if preview else {}
    )
    return page.render(
        "mail_templates.html",
        status_code=status_code,
        locale_edited=locale,
        kind=kind,
        kinds=mail_templates.KINDS,
        locales=mail_templates.LOCALES,
        current=current,
        form=form,
        errors=errors or {},
        counts=counts,
        failed=failed,
        saved=saved,
        can_retry=page.may(Permission.PARTICIPANTS_WRITE),
        **context,
    )


@router.get("/events/{event_id}/mail")
def mail_page(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    locale: str | None = None,
    kind: str | None = None,
    saved: str | None = None,
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    chosen = _choice(locale, mail_templates.LOCALES, page.event.locale if page.event else "ko")
    return _mail_page(
        page,
        locale=_choice(chosen, mail_templates.LOCALES, "ko"),
        kind=_choice(kind, mail_templates.KINDS, mail_templates.KIND_TICKET),
        preview=True,
        saved=saved if saved in ("saved", "reset") else None,
    )


@router.post("/events/{event_id}/mail/preview")
def preview_mail(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    subject: Text = "",
    html: Text = "",
    text: Text = "",
    locale: Text = "ko",
    kind: Text = mail_templates.KIND_TICKET,
    csrf_token: Token = None,
) -> Response:
    """The unsaved sources rendered with the sample participant: the preview part for htmx, else
    the whole page with them (nothing is saved)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    locale = _choice(locale, mail_templates.LOCALES, "ko")
    kind = _choice(kind, mail_templates.KINDS, mail_templates.KIND_TICKET)
    values = {"subject": subject, "html": html, "text": text}
    if request.headers.get("hx-request") == "true":
        context = _preview_context(page, locale=locale, kind=kind, subject=subject, html=html, text=text)
        return page.render("mail_preview.html", **context)
    return _mail_page(page, locale=locale, kind=kind, values=values, preview=True)


@router.post("/events/{event_id}/mail/templates/{locale}")
def save_mail_template(
    event_id: str,
    locale: str,
    request: Request,
    turnout: TurnoutDep,
    subject: Text = "",
    html: Text = "",
    text: Text = "",
    kind: Text = mail_templates.KIND_TICKET,
    csrf_token: Token = None,
) -> Response:
    """Save the event's template (the API's checks); refused: the form again (422), each part's
    error beside it and what was typed kept."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    values = {"subject": subject, "html": html, "text": text}
    try:
        mail_templates.check_template(
            turnout.template_renderer, locale=locale, subject=subject, html=html, text=text, kind=kind
        )
        with turnout.uow() as uow:
            mail_templates.save_template(
                uow,
                renderer=turnout.template_renderer,
                event_id=event_id,
                locale=locale,
                subject=subject,
                html=html,
                text=text,
                actor=page.principal.actor,
                kind=kind,
            )
            uow.commit()
    except ValidationFailed as refused:
        return _mail_page(
            page,
            locale=_choice(locale, mail_templates.LOCALES, "ko"),
            kind=_choice(kind, mail_templates.KINDS, mail_templates.KIND_TICKET),
            values=values,
            errors=_errors(page, refused.errors),
            preview=True,
            status_code=422,
        )
    return page.redirect(f"/events/{event_id}/mail?locale={locale}&kind={kind}&saved=saved")


@router.post("/events/{event_id}/mail/templates/{locale}/reset")
def reset_mail_template(
    event_id: str,
    locale: str,
    request: Request,
    turnout: TurnoutDep,
    kind: Text = mail_templates.KIND_TICKET,
    csrf_token: Token = None,
) -> Response:
    """Back to the built-in template (nothing to do when there was no override)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    with turnout.uow() as uow:
        mail_templates.delete_template(
            uow, event_id=event_id, locale=locale, actor=page.principal.actor, kind=kind
        )
        uow.commit()
    return page.redirect(f"/events/{event_id}/mail?locale={locale}&kind={kind}&saved=reset")


@router.post("/events/{event_id}/emails/{job_id}/retry")
def retry_email(
    event_id: str,
    job_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Token = None,
    back: Text = "mail",
) -> Response:
    """Queue a failed or undeliverable mail again (``email_not_retriable`` otherwise); back to the
    page the button was on."""
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    page.check_csrf(csrf_token)
    target = "emails" if back == "emails" else "mail"
    try:
        with turnout.uow() as uow:
            mail_queue.retry_email(uow, job_id=job_id, event_id=event_id, actor=page.principal.actor)
            uow.commit()
    except DomainError as refusal:
        return refused_action(page, refusal, back=f"/events/{event_id}/{target}")
    return page.redirect(f"/events/{event_id}/{target}?retried={job_id}")
