"""The gate scanner page ``/scan``: sign in with a gate key (or a staff key, which picks a gate), then
scan with a keyboard-wedge scanner, the camera (where the browser has ``BarcodeDetector``) or a
manual search (staff keys). The page calls the check-in API with the session cookie."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from turnout.domain.access import Permission, Role, authorize
from turnout.domain.errors import DomainError
from turnout.entrypoints.api.deps import TurnoutDep, page_principal
from turnout.entrypoints.web import session
from turnout.entrypoints.web.console import signin_refused
from turnout.entrypoints.web.session import csrf_for
from turnout.entrypoints.web.templating import page_locale, render
from turnout.i18n import translate
from turnout.services import events as event_service

router = APIRouter(include_in_schema=False)


@router.get("/scan")
def scan_page(request: Request, turnout: TurnoutDep) -> Response:
    try:
        principal = page_principal(request, turnout)
    except DomainError:
        return render(request, "scan_signin.html", error=None)
    if principal.role is Role.ADMIN or principal.event_id is None:
        return render(request, "scan_signin.html", status_code=403, error="scan_bad_key")
    try:
        authorize(principal, Permission.SCAN, event_id=principal.event_id)
        with turnout.uow(readonly=True) as uow:
            event = event_service.get_event(uow, event_id=principal.event_id)
            gates = uow.gates.list_for_event(principal.event_id)
    except DomainError:
        return render(request, "scan_signin.html", status_code=403, error="scan_bad_key")
    if principal.gate_id is not None:
        gates = [g for g in gates if g.id == principal.gate_id]
    locale = page_locale(request)
    return render(
        request,
        "scan.html",
        event=event,
        gates=gates,
        can_search=principal.role is Role.STAFF,
        key_name=principal.name,
        config={
            "event_id": event.id,
            "locale": locale,
            "strings": scanner_strings(locale),
            "csrf": csrf_for(request, turnout),
        },
    )


#: the scanner script's texts: its name for each -> the catalogue code (``web.scan.<name>``)
SCANNER_TEXTS = (
    "admitted",
    "exited",
    "denied",
    "exit_denied",
    "ready",
    "working",
    "offline",
    "camera",
    "camera_stop",
    "check_in",
    "no_matches",
)
#: what ``getUserMedia`` may refuse with (``DOMException.name``), plus a page not served securely
CAMERA_ERRORS = (
    "NotAllowedError",
    "NotFoundError",
    "NotReadableError",
    "OverconstrainedError",
    "SecurityError",
    "insecure",
    "other",
)
#: HTTP answers the scanner explains (by status; any 5xx as ``5xx``)
HTTP_ERRORS = ("401", "403", "404", "429", "5xx", "other")


def scanner_strings(locale: str) -> dict[str, Any]:
    """Every text the scanner's script may show, from the catalogue (the page passes it as JSON)."""
    strings: dict[str, Any] = {name: translate(f"web.scan.{name}", locale) for name in SCANNER_TEXTS}
    strings["camera_errors"] = {name: translate(f"web.scan.camera.{name}", locale) for name in CAMERA_ERRORS}
    strings["http_errors"] = {name: translate(f"web.scan.http.{name}", locale) for name in HTTP_ERRORS}
    return strings


@router.get("/scan/link")
def scan_link_page(request: Request) -> Response:
    """The scanner's sign-in link (a gate key's QR code on the console): ``/scan/link#key=…``. The
    key is in the fragment, never sent here; the page's script (``static/scan_link.js``) posts it
    to ``/scan/signin`` and clears it from the address bar. The form is there without a key.
    ``same-origin`` referrers: with ``no-referrer`` a browser posts the form with ``Origin: null``,
    which the Origin guard refuses (a fragment is never part of a referrer anyway)."""
    response = render(request, "scan_link.html")
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})
    return response


@router.post("/scan/signin")
def scan_sign_in(
    request: Request, turnout: TurnoutDep, key: Annotated[str, Form(max_length=200)]
) -> Response:
    try:
        _principal, token = session.sign_in(
            request,
            turnout,
            key.strip(),
            accept=lambda principal: principal.role is not Role.ADMIN and principal.event_id is not None,
            refusal="scan_bad_key",
        )
    except DomainError as refusal:
        return signin_refused(request, "scan_signin.html", refusal, "scan_bad_key")
    response = RedirectResponse(f"/scan?lang={page_locale(request)}", status_code=303)
    session.set_session_cookie(request, turnout, response, token)
    return response


@router.post("/scan/signout")
def scan_sign_out(
    request: Request, turnout: TurnoutDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    response = RedirectResponse(f"/scan?lang={page_locale(request)}", status_code=303)
    try:
        session.sign_out(request, turnout, response, csrf_token)
    except DomainError as refusal:
        return render(request, "console_error.html", status_code=403, code=refusal.code)
    return response
