"""What every console page shares: who is signed in, the event it is about, the open alerts banner,
CSRF on its forms, and refusals answered as pages (never JSON) in the reader's language.

A page route reads::

    @router.get("/events/{event_id}/gates")
    def gates_page(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
        page = console_page(request, turnout, Permission.EVENT_MANAGE, event_id=event_id)
        with turnout.uow(readonly=True) as uow:
            gates = gate_service.list_gates(uow, event_id=event_id)
        return page.render("gates.html", gates=gates)

``console_page`` raises ``PageRefused``: not signed in (the sign-in form, which brings the reader
back here), outside the key's scope (403) or no such event (404). ``install`` answers it, and every
``DomainError`` or HTTP error raised on a path outside ``/api/``, as an HTML page; the API keeps its
JSON. A form post checks its CSRF token with ``page.check_csrf(token)`` (a bearer key needs none: it
is not sent by the browser on its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from turnout.bootstrap import Turnout
from turnout.domain.access import PERMISSIONS, Permission, Principal, authorize
from turnout.domain.errors import CsrfRefused, DomainError, Unauthenticated
from turnout.domain.events import Event
from turnout.domain.sagas import Alert
from turnout.entrypoints.api.deps import credentials_of, page_principal
from turnout.entrypoints.api.errors import status_for
from turnout.entrypoints.web.session import session_token
from turnout.entrypoints.web.templating import page_locale, render
from turnout.services import alerts as alert_service
from turnout.services import events as event_service
from turnout.services import keys as key_service

#: open alerts shown in an event page's banner (the alerts page lists them all)
BANNER_ALERTS = 5


class PageRefused(Exception):
    """A console page cannot be shown: ``refusal`` says why (its code picks the page and status)."""

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


@dataclass
class ConsolePage:
    """A signed-in console page: its principal, its event (when it is about one) and the event's open
    alerts (for the banner; only for keys that manage the event)."""

    request: Request
    turnout: Turnout
    principal: Principal
    event: Event | None = None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def locale(self) -> str:
        return page_locale(self.request)

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.principal.role]

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        return render(
            self.request,
            template,
            status_code=status_code,
            principal=self.principal,
            event=self.event,
            open_alerts=self.alerts,
            page=self,
            **context,
        )

    def check_csrf(self, token: str | None) -> None:
        """A form posted with the session cookie must carry the page's CSRF token (``csrf_failed``)."""
        check_csrf(self.request, self.turnout, token)

    def redirect(self, path: str, status_code: int = 303) -> Response:
        """After a form post: to ``path`` (in the page's language)."""
        joiner = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{joiner}lang={self.locale}", status_code=status_code)


def check_csrf(request: Request, turnout: Turnout, token: str | None) -> None:
    if credentials_of(request).bearer:
        return
    session = session_token(request)
    if not session or not key_service.csrf_matches(turnout.settings.resolve_secret_key(), session, token):
        raise PageRefused(CsrfRefused())


def console_page(
    request: Request,
    turnout: Turnout,
    permission: Permission,
    *,
    event_id: str | None = None,
) -> ConsolePage:
    """The signed-in principal may do ``permission`` (at ``event_id``, whose event is read); raises
    ``PageRefused`` otherwise."""
    try:
        principal = page_principal(request, turnout)
        authorize(principal, permission, event_id=event_id)
        page = ConsolePage(request, turnout, principal)
        if event_id is not None:
            with turnout.uow(readonly=True) as uow:
                page.event = event_service.get_event(uow, event_id=event_id)
                if page.may(Permission.EVENT_MANAGE):
                    page.alerts = alert_service.list_alerts(
                        uow, state="open", event_id=event_id, limit=BANNER_ALERTS
                    )
    except DomainError as refusal:
        raise PageRefused(refusal) from refusal
    return page


def is_page_path(path: str) -> bool:
    """Paths answered in HTML when refused: everything but the API and the machine endpoints."""
    return not (path.startswith("/api/") or path in ("/openapi.json", "/health", "/ready", "/metrics"))


def refusal_page(request: Request, refusal: DomainError) -> Response:
    """The page for a refusal: the sign-in form (401, coming back here after), else the error page
    with the refusal's status and message."""
    if isinstance(refusal, Unauthenticated) or refusal.code == "unauthenticated":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return render(request, "console_signin.html", status_code=401, error=None, next=back)
    status = status_for(refusal)
    if refusal.code.endswith("_not_found"):
        status = 404
    params = {k: v for k, v in refusal.params.items() if isinstance(v, str | int | float)}
    return render(
        request, "console_error.html", status_code=status, code=refusal.code, status=status, params=params
    )


def not_found_page(request: Request, status: int) -> Response:
    code = {404: "page_not_found", 405: "http_method_not_allowed"}.get(status, "error")
    return render(request, "console_error.html", status_code=status, code=code, status=status)


def install(
    app: FastAPI,
    json_domain: Callable[[Request, DomainError], Awaitable[Response]],
    json_http: Callable[[Request, StarletteHTTPException], Awaitable[Response]],
) -> None:
    """Refusals on page paths as pages; the JSON handlers (``api.errors``) for the rest."""

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        return refusal_page(request, exc.refusal)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if is_page_path(request.url.path):
            return refusal_page(request, exc)
        return await json_domain(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page_path(request.url.path) and exc.status_code in (404, 405):
            return not_found_page(request, exc.status_code)
        return await json_http(request, exc)


def safe_next(target: str | None) -> str | None:
    """A sign-in's ``next``: a path on this site only (``/…``, never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
