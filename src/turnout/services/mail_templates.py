"""Ticket email templates: the variables they get, and each event's overrides of the built-in ones.

An override is checked before it is saved: each part is rendered with sample data by the
``TemplateRenderer`` (Jinja2's sandbox, bounded in time, memory and output), and a template with a
part that does not render is refused (422, ``invalid_template``) with the error of each such part
(``template_error``). The built-in templates come from the renderer too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from turnout.domain.errors import FieldError, ValidationFailed
from turnout.domain.participants import NAME_MAX
from turnout.ports import StoredTemplate, TemplateProblem, TemplateRenderer, TemplateSources, UnitOfWork

KIND_TICKET = "ticket"
KIND_TRANSFERRED = "transferred"  # to a ticket's previous holder, once it was passed on
KIND_CANCELLED = "cancelled"  # to a participant whose registration was cancelled
KINDS = (KIND_TICKET, KIND_TRANSFERRED, KIND_CANCELLED)
NOTICE_KINDS = (KIND_TRANSFERRED, KIND_CANCELLED)  # no ticket (QR code) in them
LOCALES = ("ko", "en")
PARTS = ("subject", "html", "text")
SUBJECT_MAX = 300
EVENT_NAME_MAX = 200  # as the API takes them
VENUE_MAX = 300


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """The template in effect for one kind and language of an event."""

    event_id: str
    kind: str
    locale: str
    subject: str
    html: str
    text: str
    overridden: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


class InvalidTemplate(ValidationFailed):
    """A template that does not render (within the limits): ``errors`` say why, per part."""

    code = "invalid_template"


# --- the variables ---------------------------------------------------------------------------------


def format_moment(moment: datetime, timezone: str, locale: str) -> str:
    """``2026년 6월 1일 (월) 09:00`` / ``Mon 1 June 2026, 09:00``, in ``timezone``."""
    local = moment.astimezone(ZoneInfo(timezone))
    if locale == "ko":
        weekday = "월화수목금토일"[local.weekday()]
        return f"{local.year}년 {local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M}"


def ticket_context(
    *,
    participant_name: str,
    event_name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    venue: str | None,
    token: str,
    locale: str,
    base_url: str,
    qr_cid: str,
) -> dict[str, Any]:
    """The variables a ticket template may use (documented in docs/tickets.md)."""
    return {
        "participant_name": participant_name,
        "event_name": event_name,
        "starts_at": format_moment(starts_at, timezone, locale),
        "ends_at": format_moment(ends_at, timezone, locale),
        "timezone": timezone,
        "venue": venue or "",
        "token": token,
        "ticket_url": f"{base_url.rstrip('/')}/t/{token}",
        "data_url": f"{base_url.rstrip('/')}/t/{token}/data",  # what is held, and erasure
        "qr_cid": qr_cid,
        "locale": locale,
    }


def sample_context(locale: str) -> dict[str, Any]:
    """What a template is checked with before it is saved."""
    return ticket_context(
        participant_name="홍길동" if locale == "ko" else "Jane Doe",
        event_name="Sample event",
        starts_at=datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        timezone="Asia/Seoul",
        venue="COEX",
        token="A" * 159,
        locale=locale,
        base_url="http://127.0.0.1:8000",
        qr_cid="qr.sample@turnout",
    )


def longest_context(locale: str) -> dict[str, Any]:
    """The sample with every free-text variable as long as a real one can be (a participant's
    name, the event's name and venue): what a template's cost is checked with."""
    return {
        **sample_context(locale),
        "participant_name": "W" * NAME_MAX,
        "event_name": "W" * EVENT_NAME_MAX,
        "venue": "W" * VENUE_MAX,
    }


# --- overrides -------------------------------------------------------------------------------------


def _check_kind_locale(kind: str, locale: str) -> None:
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("kind", "invalid_value", value=kind))
    if locale not in LOCALES:
        errors.append(FieldError("locale", "invalid_value", value=locale))
    if errors:
        raise ValidationFailed(errors)


def get_templates(
    uow: UnitOfWork, *, renderer: TemplateRenderer, event_id: str, kind: str = KIND_TICKET
) -> list[TemplateSet]:
    """Both locales: the event's override where there is one, else the built-in template."""
    stored = {
        template.locale: template
        for template in uow.mail_templates.for_events([event_id])
        if template.kind == kind
    }
    out = []
    for locale in LOCALES:
        override = stored.get(locale)
        sources = override.sources if override is not None else renderer.builtin(kind, locale)
        out.append(
            TemplateSet(
                event_id=event_id,
                kind=kind,
                locale=locale,
                subject=sources.subject,
                html=sources.html,
                text=sources.text,
                overridden=override is not None,
                updated_at=override.updated_at if override is not None else None,
                updated_by=override.updated_by if override is not None else None,
            )
        )
    return out


def validate_templates(renderer: TemplateRenderer, *, locale: str, sources: TemplateSources) -> None:
    """Render each part with sample data, then with the longest values (within the renderer's
    limits both times); refuse (422, ``invalid_template``) with each part's error."""
    errors = []
    context = sample_context(locale)
    longest = longest_context(locale)
    for part in PARTS:
        try:
            rendered = renderer.render_part(part, getattr(sources, part), context)
            renderer.render_part(part, getattr(sources, part), longest)
        except TemplateProblem as problem:
            errors.append(FieldError(part, "template_error", params={"error": problem.message}))
            continue
        if part == "subject" and not rendered.strip():
            errors.append(FieldError(part, "template_error", params={"error": "subject_empty"}))
        if part == "subject" and len(rendered) > SUBJECT_MAX:
            errors.append(
                FieldError(part, "template_error", params={"error": "subject_too_long", "max": SUBJECT_MAX})
            )
    if errors:
        raise InvalidTemplate(errors)


@dataclass(frozen=True, slots=True)
class Preview:
    """A template rendered with the sample participant (``sample_context``): each part that
    rendered, and a ``template_error`` for each that did not."""

    subject: str | None
    html: str | None
    text: str | None
    errors: tuple[FieldError, ...]


def preview_template(
    renderer: TemplateRenderer,
    *,
    locale: str,
    subject: str,
    html: str,
    text: str,
    kind: str = KIND_TICKET,
    saved: bool = False,
) -> Preview:
    """Render the sources with the sample participant, as the editor's preview shows them; the
    refusals are those ``save_template`` would give for a part that does not render.

    ``saved``: the sources are the template in effect (built in, or checked when it was saved),
    rendered as the mail sender renders them (in this thread, within the renderer's limits);
    otherwise (what someone typed) each part is rendered as a save checks it (in isolation)."""
    _check_kind_locale(kind, locale)
    context = sample_context(locale)
    if saved:
        try:
            whole = renderer.render(TemplateSources(subject=subject, html=html, text=text), context)
        except Exception:  # whatever it was, each part's own error is found below
            whole = None
        if whole is not None:
            return Preview(subject=whole.subject, html=whole.html, text=whole.text, errors=())
    rendered: dict[str, str | None] = {}
    errors: list[FieldError] = []
    for part, source in (("subject", subject), ("html", html), ("text", text)):
        try:
            rendered[part] = renderer.render_part(part, source, context)
        except TemplateProblem as problem:
            rendered[part] = None
            errors.append(FieldError(part, "template_error", params={"error": problem.message}))
    return Preview(
        subject=rendered["subject"], html=rendered["html"], text=rendered["text"], errors=tuple(errors)
    )


def check_template(
    renderer: TemplateRenderer,
    *,
    locale: str,
    subject: str,
    html: str,
    text: str,
    kind: str = KIND_TICKET,
) -> None:
    """What ``save_template`` checks, without a unit of work: call it first, outside any transaction,
    so a slow template (refused after the renderer's time limit) holds no database lock meanwhile.
    The renderer remembers what it rendered, so the check in ``save_template`` is then immediate."""
    _check_kind_locale(kind, locale)
    validate_templates(
        renderer, locale=locale, sources=TemplateSources(subject=subject, html=html, text=text)
    )


def save_template(
    uow: UnitOfWork,
    *,
    renderer: TemplateRenderer,
    event_id: str,
    locale: str,
    subject: str,
    html: str,
    text: str,
    actor: str,
    kind: str = KIND_TICKET,
) -> TemplateSet:
    _check_kind_locale(kind, locale)
    sources = TemplateSources(subject=subject, html=html, text=text)
    validate_templates(renderer, locale=locale, sources=sources)
    now = uow.clock.now()
    uow.mail_templates.save(
        StoredTemplate(
            event_id=event_id, kind=kind, locale=locale, sources=sources, updated_at=now, updated_by=actor
        )
    )
    uow.audit.record(
        actor=actor,
        action="mail_template.saved",
        subject_type="event",
        subject_id=event_id,
        event_id=event_id,
        data={"kind": kind, "locale": locale},
    )
    return TemplateSet(event_id, kind, locale, subject, html, text, True, now, actor)


def delete_template(
    uow: UnitOfWork, *, event_id: str, locale: str, actor: str, kind: str = KIND_TICKET
) -> bool:
    """Back to the built-in template; False when the event had no override."""
    _check_kind_locale(kind, locale)
    deleted = uow.mail_templates.delete(event_id=event_id, kind=kind, locale=locale)
    if deleted:
        uow.audit.record(
            actor=actor,
            action="mail_template.deleted",
            subject_type="event",
            subject_id=event_id,
            event_id=event_id,
            data={"kind": kind, "locale": locale},
        )
    return deleted
