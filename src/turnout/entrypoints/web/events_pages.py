"""The console's pages. Events: the list (``/``, in ``console.py``), create and edit, lifecycle, and
the event's own page.

- ``GET|POST /events/new``: the create form (admin keys: ``events.create``).
- ``GET /events/{event_id}``: today's figures in the event's zone, its facts, its lifecycle
  buttons (the domain's allowed next states only) and links to every page about it.
- ``GET|POST /events/{event_id}/edit``: the edit form.
- ``POST /events/{event_id}/status`` (``status``, ``confirm``): one lifecycle step. ``closed``,
  ``cancelled`` and ``archived`` first answer a confirm page whose form posts again with
  ``confirm=yes``; a refused step is the event page again with the coded message (409).

The forms' inputs carry the API's field names; they are checked with the API's schema
(``EventCreate``) and its codes (``PYDANTIC_CODES``), then by the same service functions, so a
refusal here says what the API would. The times are ``datetime-local`` inputs read in the chosen
``timezone``. A gate key opening these pages is sent to the scanner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from turnout.domain.access import Permission, Role
from turnout.domain.errors import Conflict, DomainError, FieldError, ValidationFailed
from turnout.domain.events import DEFAULT_MIN_AGE, DEFAULT_TIMEZONE, Event, EventStatus, allowed_transitions
from turnout.entrypoints.api.deps import TurnoutDep, page_principal
from turnout.entrypoints.api.errors import PYDANTIC_CODES, limit_params, status_for
from turnout.entrypoints.api.fields import LINE_PATTERN
from turnout.entrypoints.api.schemas import EventCreate
from turnout.entrypoints.web.pages import ConsolePage, PageRefused, console_page
from turnout.entrypoints.web.templating import page_locale
from turnout.i18n import translate
from turnout.services import events as event_service
from turnout.services import statistics as statistics_service
from turnout.services.closing import set_event_status
from turnout.services.privacy_notice import CONTACT_SETTING, event_contact

router = APIRouter(include_in_schema=False)

#: the time zones the form offers (an event in another zone keeps its own as an extra option)
ZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Taipei",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "UTC",
)
#: lifecycle steps that are asked again before they are taken
CONFIRMED_STEPS = frozenset({EventStatus.CLOSED, EventStatus.CANCELLED, EventStatus.ARCHIVED})
#: the order the lifecycle buttons are shown in (the way forward first, cancelling last)
STEP_ORDER = (
    EventStatus.OPEN,
    EventStatus.LIVE,
    EventStatus.CLOSED,
    EventStatus.ARCHIVED,
    EventStatus.CANCELLED,
)
FORM_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "timezone",
    "venue",
    "capacity",
    "min_age",
    "locale",
    CONTACT_SETTING,
)
PRIVACY_CONTACT_MAX = 300
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


@dataclass
class EventForm:
    """What the create and edit forms show: the values as typed, and the coded errors by field."""

    values: dict[str, str]
    errors: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def refuse(self, refusals: list[FieldError], locale: str) -> None:
        for refusal in refusals:
            name = refusal.field if refusal.field in FORM_FIELDS else "name"
            message = translate(refusal.code, locale, {"field": refusal.field, **refusal.params})
            self.errors.setdefault(name, []).append({"code": refusal.code, "message": message})


def local_input(moment: datetime, zone: str) -> str:
    """A stored time as a ``datetime-local`` input shows it: in the event's zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime(LOCAL_INPUT)


def contact_text(event: Event, locale: str) -> str:
    """The privacy contact as the form shows it (in the page's language when it has one per language)."""
    contact = event_contact(event) or {}
    return contact.get(locale) or contact.get("ko") or next(iter(contact.values()), "")


def form_of(event: Event, locale: str) -> EventForm:
    return EventForm(
        values={
            "name": event.name,
            "starts_at": local_input(event.starts_at, event.timezone),
            "ends_at": local_input(event.ends_at, event.timezone),
            "timezone": event.timezone,
            "venue": event.venue or "",
            "capacity": "" if event.capacity is None else str(event.capacity),
            "min_age": str(event.min_age),
            "locale": event.locale,
            CONTACT_SETTING: contact_text(event, locale),
        }
    )


def blank_form(locale: str) -> EventForm:
    return EventForm(
        values={
            **dict.fromkeys(FORM_FIELDS, ""),
            "timezone": DEFAULT_TIMEZONE,
            "min_age": str(DEFAULT_MIN_AGE),
            "locale": locale,
        }
    )


def posted_form(posted: dict[str, str]) -> EventForm:
    return EventForm(values={name: posted.get(name, "") for name in FORM_FIELDS})


def pydantic_refusals(error: ValidationError) -> list[FieldError]:
    """The schema's refusals as the API words them (``api.errors``: the same codes and limits)."""
    refusals = []
    for problem in error.errors():
        kind = str(problem.get("type", "invalid_value"))
        code = PYDANTIC_CODES.get(kind, kind if kind.startswith("turnout_") else "invalid_type")
        name = ".".join(str(part) for part in problem.get("loc", ())) or "name"
        refusals.append(
            FieldError(name, code.removeprefix("turnout_"), limit_params(kind, problem.get("ctx")))
        )
    return refusals


def checked_input(form: EventForm) -> dict[str, Any]:
    """The form's values as the API's event body, checked by its schema (``ValidationFailed``
    with every field's refusals). An empty input is a field left out."""
    body = {
        name: value.strip()
        for name, value in form.values.items()
        if name != CONTACT_SETTING and value.strip()
    }
    refusals: list[FieldError] = []
    try:
        data = EventCreate.model_validate(body).model_dump()
    except ValidationError as error:
        refusals = pydantic_refusals(error)
        data = {}
    contact = form.values.get(CONTACT_SETTING, "").strip()
    if len(contact) > PRIVACY_CONTACT_MAX:
        refusals.append(FieldError(CONTACT_SETTING, "too_long", {"max": PRIVACY_CONTACT_MAX}))
    elif not re.fullmatch(LINE_PATTERN, contact):
        refusals.append(FieldError(CONTACT_SETTING, "invalid_characters"))
    if refusals:
        raise ValidationFailed(refusals)
    return data


def settings_with_contact(settings: dict[str, Any], posted: str, shown: str) -> dict[str, Any]:
    """The event's settings with the posted privacy contact (kept as stored when it was not changed:
    a contact per language stays one)."""
    posted = posted.strip()
    if posted == shown.strip():
        return settings
    changed = {k: v for k, v in settings.items() if k != CONTACT_SETTING}
    if posted:
        changed[CONTACT_SETTING] = posted
    return changed


def zone_options(locale: str, current: str) -> list[tuple[str, str]]:
    """(zone id, what the select shows: its city and its offset now) for every offered zone."""
    now = datetime.now(ZoneInfo("UTC"))
    zones = list(ZONES) if current in ZONES or not current else [current, *ZONES]
    options = []
    for zone in zones:
        try:
            offset = now.astimezone(ZoneInfo(zone)).strftime("%z")
        except (KeyError, ValueError):
            options.append((zone, zone))
            continue
        city = translate(f"console.events.zone.{zone}", locale, default=zone)
        options.append((zone, f"{city} ({offset[:3]}:{offset[3:]})"))
    return options


class ToScanner(Exception):
    """A gate key opened a console page: its place is the scanner."""


def shown_page(
    request: Request, turnout: TurnoutDep, permission: Permission, *, event_id: str | None = None
) -> ConsolePage:
    """``console_page`` for a page that is read (GET): a gate key is sent to the scanner instead of
    being refused (``ToScanner``, answered by ``to_scanner``)."""
    try:
        page = console_page(request, turnout, permission, event_id=event_id)
    except PageRefused as refused:
        if refused.refusal.code == "forbidden" and is_gate_key(request, turnout):
            raise ToScanner from refused
        raise
    if page.principal.role is Role.GATE:
        raise ToScanner
    return page


def is_gate_key(request: Request, turnout: TurnoutDep) -> bool:
    try:
        return page_principal(request, turnout).role is Role.GATE
    except DomainError:
        return False


def to_scanner(request: Request) -> Response:
    return RedirectResponse(f"/scan?lang={page_locale(request)}", status_code=303)


def render_form(
    page: ConsolePage, form: EventForm, *, event: Event | None, status_code: int = 200
) -> Response:
    return page.render(
        "event_form.html",
        status_code=status_code,
        form=form,
        editing=event,
        zones=zone_options(page.locale, form.values.get("timezone", "")),
        locales=("ko", "en"),
        contact_field=CONTACT_SETTING,
        read_only=event is not None and event.status in event_service.READ_ONLY_STATUSES,
    )


@router.get("/events/new")
def new_event_form(request: Request, turnout: TurnoutDep) -> Response:
    try:
        page = shown_page(request, turnout, Permission.EVENTS_CREATE)
    except ToScanner:
        return to_scanner(request)
    return render_form(page, blank_form(page.locale), event=None)


@router.post("/events/new")
async def create_event(request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENTS_CREATE)
    posted = await posted_fields(request)
    page.check_csrf(posted.get("csrf_token"))
    form = posted_form(posted)
    try:
        data = checked_input(form)
        contact = form.values[CONTACT_SETTING].strip()
        with turnout.uow() as uow:
            event = event_service.create_event(
                uow,
                actor=page.principal.actor,
                settings={CONTACT_SETTING: contact} if contact else None,
                **data,
            )
            uow.commit()
    except ValidationFailed as refusal:
        form.refuse(refusal.errors, page.locale)
        return render_form(page, form, event=None, status_code=422)
    return page.redirect(f"/events/{event.id}")


@router.get("/events/{event_id}/edit")
def edit_event_form(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    try:
        page = shown_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    except ToScanner:
        return to_scanner(request)
    assert page.event is not None
    return render_form(page, form_of(page.event, page.locale), event=page.event)


@router.post("/events/{event_id}/edit")
async def edit_event(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    assert page.event is not None
    posted = await posted_fields(request)
    page.check_csrf(posted.get("csrf_token"))
    form = posted_form(posted)
    try:
        data = checked_input(form)
        data = {name: data[name] for name in event_service.EDITABLE if name in data}
        with turnout.uow() as uow:
            current = event_service.get_event(uow, event_id=event_id, for_update=True)
            settings = settings_with_contact(
                current.settings, form.values[CONTACT_SETTING], contact_text(current, page.locale)
            )
            event_service.update_event(
                uow, actor=page.principal.actor, event_id=event_id, settings=settings, **data
            )
            uow.commit()
    except ValidationFailed as refusal:
        form.refuse(refusal.errors, page.locale)
        return render_form(page, form, event=page.event, status_code=422)
    except Conflict as refusal:  # archived meanwhile: the form says so (``read_only``)
        with turnout.uow(readonly=True) as uow:
            page.event = event_service.get_event(uow, event_id=event_id)
        return render_form(page, form, event=page.event, status_code=status_for(refusal))
    return page.redirect(f"/events/{event_id}")


async def posted_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (each as sent; an input sent twice keeps its first value)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(name, value)
    return fields


def next_steps(event: Event) -> list[EventStatus]:
    allowed = allowed_transitions(event.status)
    return [status for status in STEP_ORDER if status in allowed]


def overview(page: ConsolePage, *, refusal: DomainError | None = None, status_code: int = 200) -> Response:
    event = page.event
    assert event is not None
    with page.turnout.uow(readonly=True) as uow:
        figures, day = statistics_service.today(uow, event=event)
    code = message = None
    if isinstance(refusal, ValidationFailed) and refusal.errors:  # a step that is no status
        code = refusal.errors[0].code
        message = translate(code, page.locale, refusal.errors[0].params)
    elif refusal is not None:
        code = refusal.code
        params = {k: v for k, v in refusal.params.items() if isinstance(v, str | int | list)}
        message = translate(code, page.locale, params)
    return page.render(
        "event_page.html",
        status_code=status_code,
        figures=figures,
        day=day,
        steps=next_steps(event) if page.may(Permission.EVENT_MANAGE) else [],
        confirmed_steps=CONFIRMED_STEPS,
        contact=contact_text(event, page.locale),
        zone_label=dict(zone_options(page.locale, event.timezone)).get(event.timezone, event.timezone),
        refusal_code=code,
        refusal_message=message,
    )


@router.get("/events/{event_id}")
def event_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    try:
        page = shown_page(request, turnout, Permission.EVENT_READ, event_id=event_id)
    except ToScanner:
        return to_scanner(request)
    return overview(page)


@router.post("/events/{event_id}/status")
async def change_status(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    """One lifecycle step (``status``); ``closed``, ``cancelled`` and ``archived`` are asked again
    first (the confirm page posts ``asked=yes`` and, ticked, ``confirm=yes``)."""
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    posted = await posted_fields(request)
    page.check_csrf(posted.get("csrf_token"))
    assert page.event is not None
    status, confirm, asked = (posted.get(name, "") for name in ("status", "confirm", "asked"))
    try:
        target = EventStatus(status)
    except ValueError:
        refusal = ValidationFailed([FieldError("status", "invalid_value", value=status[:40])])
        return overview(page, refusal=refusal, status_code=422)
    if target in CONFIRMED_STEPS and confirm != "yes" and target in allowed_transitions(page.event.status):
        # asked again first; posted from the confirm page without its box ticked: said beside it
        return page.render(
            "event_confirm.html", status_code=422 if asked else 200, target=target, unconfirmed=bool(asked)
        )
    try:
        with turnout.uow() as uow:
            set_event_status(
                uow,
                sagas=turnout.sagas,
                policy=turnout.saga_policy(),
                event_id=event_id,
                status=target,
                actor=page.principal.actor,
            )
            uow.commit()
    except DomainError as refusal:
        with turnout.uow(readonly=True) as uow:
            page.event = event_service.get_event(uow, event_id=event_id)
        return overview(page, refusal=refusal, status_code=status_for(refusal))
    return page.redirect(f"/events/{event_id}")
