"""The console's pages. Gates and gate keys: list, create, edit; make a key (shown once, with a scanner
sign-in QR); revoke.

* ``/events/{event_id}/gates``: the event's gates (name, direction, methods, opening hours, location,
  working gate keys); ``…/gates/new`` and ``…/gates/{gate_id}/edit`` are their forms. The inputs carry
  the API's field names (``name``, ``direction``, ``methods`` as checkboxes, ``opens_at``/``closes_at``
  as local times in the event's zone, ``location``) and are read by the API's own schema
  (``GateCreate``) and the same service functions, so a refusal has the API's codes, shown beside
  each field with the values kept.
* ``/events/{event_id}/keys``: the event's staff and gate keys (never a secret) and a form making a
  gate key. A new key is in the answer to that POST only (never in a URL, a redirect or a log; the
  page is not cached), with a QR code of the scanner's sign-in link ``{base_url}/scan/link#key=…``:
  the key rides in the fragment, which a browser never sends to a server. ``/scan/link`` (in
  ``scanner.py``) reads it in the phone's browser and signs in through ``POST /scan/signin``.
* ``/events/{event_id}/keys/{key_id}/revoke``: the confirm step, then the revocation (``POST``).

Every page needs ``event.manage`` within the event (admins, the event's staff keys); a gate key gets
the 403 page. A staff key may revoke gate keys only; staff keys are revoked by an admin
(``keys.manage``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from turnout.domain.access import Permission, Role
from turnout.domain.errors import FieldError, NotFound, ValidationFailed
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.api.errors import PYDANTIC_CODES, limit_params
from turnout.entrypoints.api.schemas import GateCreate
from turnout.entrypoints.web.pages import ConsolePage, console_page
from turnout.i18n import translate
from turnout.services import gates as gate_service
from turnout.services import keys as key_service

router = APIRouter(include_in_schema=False)

#: the gate form's fields, in the order errors are shown
GATE_FIELDS = ("name", "direction", "methods", "opens_at", "closes_at", "location", "capacity")
#: the key form's fields
KEY_FIELDS = ("gate_id", "name")
#: a page holding a new key: never cached, never sent on as a referrer, never indexed
SECRET_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
#: the scanner link's QR code: pixels per module and quiet zone (modules)
QR_SCALE, QR_BORDER = 5, 4
#: ``datetime-local`` inputs: minutes
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class ShownError:
    """A refusal beside its field: the code (``data-code``) and the message in the page's language."""

    code: str
    message: str


def shown_errors(
    errors: list[FieldError], fields: tuple[str, ...], locale: str
) -> dict[str, list[ShownError]]:
    """Field errors by the form field they belong to (``methods.0`` -> ``methods``); any other
    field's under ``form``."""
    shown: dict[str, list[ShownError]] = {}
    for error in errors:
        name = error.field.split(".", 1)[0]
        name = name if name in fields else "form"
        shown.setdefault(name, []).append(ShownError(error.code, translate(error.code, locale, error.params)))
    return shown


def pydantic_errors(exc: ValidationError) -> list[FieldError]:
    """The API's field codes for a schema's refusal (as ``api.errors`` folds them)."""
    errors = []
    for err in exc.errors():
        kind = str(err.get("type", "invalid_value"))
        code = PYDANTIC_CODES.get(kind, kind if kind.startswith("turnout_") else "invalid_type")
        field = ".".join(str(part) for part in err.get("loc", ())) or "form"
        errors.append(
            FieldError(field, code.removeprefix("turnout_"), params=limit_params(kind, err.get("ctx")))
        )
    return errors


# --- gates ------------------------------------------------------------------------------------------


def local_input(moment: datetime | None, zone: str) -> str:
    """A stored time as a ``datetime-local`` input's value in the event's zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime(LOCAL_INPUT) if moment else ""


def gate_values(gate: Gate | None, zone: str) -> dict[str, Any]:
    """The form's values for a gate (a new gate: the API's defaults)."""
    if gate is None:
        return {
            "name": "",
            "direction": GateDirection.BOTH.value,
            "methods": [m.value for m in ScanMethod],
            "opens_at": "",
            "closes_at": "",
            "location": "",
            "capacity": "",
        }
    return {
        "name": gate.name,
        "direction": gate.direction.value,
        "methods": [m.value for m in gate.methods],
        "opens_at": local_input(gate.opens_at, zone),
        "closes_at": local_input(gate.closes_at, zone),
        "location": gate.location or "",
        "capacity": "" if gate.capacity is None else str(gate.capacity),
    }


GateForm = dict[str, Any]


def read_gate_form(
    name: str,
    direction: str,
    methods: list[str],
    opens_at: str,
    closes_at: str,
    location: str,
    capacity: str = "",
) -> tuple[GateForm, GateCreate | None, list[FieldError]]:
    """The entered values (kept for the form), the body as the API reads it, or its refusals."""
    values: GateForm = {
        "name": name,
        "direction": direction,
        "methods": methods,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "location": location,
        "capacity": capacity,
    }
    body: dict[str, Any] = {
        "name": name,
        "direction": direction or GateDirection.BOTH.value,
        "methods": methods,
    }
    for field, value in (
        ("opens_at", opens_at),
        ("closes_at", closes_at),
        ("location", location),
        ("capacity", capacity),
    ):
        if value.strip():
            body[field] = value
    try:
        return values, GateCreate.model_validate(body), []
    except ValidationError as exc:
        return values, None, pydantic_errors(exc)


def render_gate_form(
    page: ConsolePage,
    *,
    gate: Gate | None,
    values: GateForm,
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    return page.render(
        "gate_form.html",
        status_code=status_code,
        gate=gate,
        values=values,
        errors=shown_errors(errors, GATE_FIELDS, page.locale),
        directions=[d.value for d in GateDirection],
        methods=[m.value for m in ScanMethod],
    )


FormText = Annotated[str, Form()]


@router.get("/events/{event_id}/gates")
def gates_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        gates = gate_service.list_gates(uow, event_id=event_id)
        keys = key_service.list_event_keys(uow, event_id=event_id)
    working = Counter(k.gate_id for k in keys if k.role is Role.GATE and k.revoked_at is None)
    return page.render("gate_list.html", gates=gates, key_counts=working)


@router.get("/events/{event_id}/gates/new")
def new_gate_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    assert page.event is not None
    return render_gate_form(page, gate=None, values=gate_values(None, page.event.timezone), errors=[])


@router.post("/events/{event_id}/gates/new")
def create_gate(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: FormText = "",
    name: FormText = "",
    direction: FormText = "",
    methods: Annotated[list[str] | None, Form()] = None,
    opens_at: FormText = "",
    closes_at: FormText = "",
    location: FormText = "",
    capacity: FormText = "",
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    values, body, errors = read_gate_form(
        name, direction, methods or [], opens_at, closes_at, location, capacity
    )
    if body is not None:
        try:
            with turnout.uow() as uow:
                gate_service.create_gate(
                    uow,
                    actor=page.principal.actor,
                    event_id=event_id,
                    name=body.name,
                    direction=body.direction,
                    methods=tuple(body.methods),
                    opens_at=body.opens_at,
                    closes_at=body.closes_at,
                    location=body.location,
                    capacity=body.capacity,
                )
                uow.commit()
        except ValidationFailed as refusal:
            errors = refusal.errors
        else:
            return page.redirect(f"/events/{event_id}/gates")
    return render_gate_form(page, gate=None, values=values, errors=errors, status_code=422)


@router.get("/events/{event_id}/gates/{gate_id}/edit")
def edit_gate_page(event_id: str, gate_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    assert page.event is not None
    with turnout.uow(readonly=True) as uow:
        gate = gate_service.get_gate(uow, gate_id=gate_id, event_id=event_id)
    return render_gate_form(page, gate=gate, values=gate_values(gate, page.event.timezone), errors=[])


@router.post("/events/{event_id}/gates/{gate_id}/edit")
def update_gate(
    event_id: str,
    gate_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: FormText = "",
    name: FormText = "",
    direction: FormText = "",
    methods: Annotated[list[str] | None, Form()] = None,
    opens_at: FormText = "",
    closes_at: FormText = "",
    location: FormText = "",
    capacity: FormText = "",
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    with turnout.uow(readonly=True) as uow:
        gate = gate_service.get_gate(uow, gate_id=gate_id, event_id=event_id)
    values, body, errors = read_gate_form(
        name, direction, methods or [], opens_at, closes_at, location, capacity
    )
    if body is not None:
        try:
            with turnout.uow() as uow:
                gate_service.update_gate(
                    uow,
                    actor=page.principal.actor,
                    event_id=event_id,
                    gate_id=gate_id,
                    name=body.name,
                    direction=body.direction,
                    methods=tuple(body.methods),
                    opens_at=body.opens_at,
                    closes_at=body.closes_at,
                    location=body.location,
                    capacity=body.capacity,
                )
                uow.commit()
        except ValidationFailed as refusal:
            errors = refusal.errors
        else:
            return page.redirect(f"/events/{event_id}/gates")
    return render_gate_form(page, gate=gate, values=values, errors=errors, status_code=422)


# --- keys -------------------------------------------------------------------------------------------


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def link_base(request: Request, base_url: str) -> str:
    """Where a phone reaches Turnout: ``TURNOUT_BASE_URL``, unless that is still a loopback address
    (the default) while the console was opened at another one (say the laptop's address on the
    venue's network), which a phone can reach where it cannot reach the organiser's 127.0.0.1."""
    configured = urlsplit(base_url)
    if configured.hostname in LOOPBACK and request.url.hostname not in LOOPBACK:
        return f"{request.url.scheme}://{request.url.netloc}"
    return base_url.rstrip("/")


def scanner_link(base: str, key: str) -> str:
    """The scanner's sign-in link for a key: the key in the fragment (a browser never sends it)."""
    return f"{base}/scan/link#key={key}"


def link_qr_svg(link: str, title: str) -> str:
    """The link's QR code as inline SVG. Made with segno directly: the ticket QR adapter caches its
    symbols by text, and a key must not stay in memory after its page is sent."""
    code = segno.make(link, error="m", micro=False)
    width, height = code.symbol_size(scale=QR_SCALE, border=QR_BORDER)
    svg: str = code.svg_inline(scale=QR_SCALE, border=QR_BORDER, title=title, svgclass="key-qr")
    # a viewBox, so the page's CSS may scale it to the screen
    return svg.replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)


def render_keys(
    page: ConsolePage,
    *,
    event_id: str,
    values: dict[str, str],
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    with page.turnout.uow(readonly=True) as uow:
        gates = gate_service.list_gates(uow, event_id=event_id)
        keys = key_service.list_event_keys(uow, event_id=event_id)
    return page.render(
        "keys.html",
        status_code=status_code,
        gates=gates,
        gate_names={g.id: g.name for g in gates},
        keys=keys,
        values=values,
        errors=shown_errors(errors, KEY_FIELDS, page.locale),
        may_revoke=lambda key: (
            key.revoked_at is None and (key.role is Role.GATE or page.may(Permission.KEYS_MANAGE))
        ),
    )


@router.get("/events/{event_id}/keys")
def keys_page(event_id: str, request: Request, turnout: TurnoutDep, gate_id: str = "") -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    return render_keys(page, event_id=event_id, values={"gate_id": gate_id, "name": ""}, errors=[])


@router.post("/events/{event_id}/keys")
def create_key(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: FormText = "",
    gate_id: FormText = "",
    name: FormText = "",
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    try:
        with turnout.uow() as uow:
            issued = key_service.create_gate_key(
                uow, principal=page.principal, event_id=event_id, gate_id=gate_id, name=name
            )
            gate = gate_service.get_gate(uow, gate_id=gate_id, event_id=event_id)
            uow.commit()
    except (ValidationFailed, NotFound) as refusal:
        if isinstance(refusal, NotFound) and refusal.code != "gate_not_found":
            raise
        errors = (
            refusal.errors if isinstance(refusal, ValidationFailed) else [FieldError("gate_id", refusal.code)]
        )
        values = {"gate_id": gate_id, "name": name}
        return render_keys(page, event_id=event_id, values=values, errors=errors, status_code=422)
    base = link_base(request, turnout.settings.base_url)
    link = scanner_link(base, issued.key)
    response = page.render(
        "keys_issued.html",
        issued=issued,
        gate=gate,
        link_base=base,
        qr_svg=link_qr_svg(link, translate("console.keys.qr_title", page.locale)),
    )
    response.headers.update(SECRET_HEADERS)
    return response


@router.get("/events/{event_id}/keys/{key_id}/revoke")
def revoke_key_page(event_id: str, key_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        key = key_service.get_event_key(uow, event_id=event_id, key_id=key_id)
        gates = {g.id: g.name for g in gate_service.list_gates(uow, event_id=event_id)}
    return page.render("keys_revoke.html", key=key, gate_names=gates)


@router.post("/events/{event_id}/keys/{key_id}/revoke")
def revoke_key(
    event_id: str, key_id: str, request: Request, turnout: TurnoutDep, csrf_token: FormText = ""
) -> Response:
    page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
    page.check_csrf(csrf_token)
    with turnout.uow() as uow:
        key_service.revoke_key(uow, principal=page.principal, event_id=event_id, key_id=key_id)
        uow.commit()
    turnout.authenticator.forget(key_id)
    return page.redirect(f"/events/{event_id}/keys")
