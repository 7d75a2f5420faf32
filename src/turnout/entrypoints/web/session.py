"""Console sessions: the cookie holds a random session id (stored hashed, with its expiry, in the
database), never the API key. The cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` whenever the
page was served over https (behind a proxy named in ``TURNOUT_TRUSTED_PROXIES``, its
``X-Forwarded-Proto`` says so). Pages and the API accept it in place of ``Authorization: Bearer``
(the API only from the console's own pages: ``deps.check_api_session``).

Sign-in attempts count against a per-minute limit per client address and per key id (``429
rate_limited`` with ``Retry-After``); sign-out deletes the session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from turnout.bootstrap import Turnout
from turnout.domain.access import Principal
from turnout.domain.errors import CsrfRefused, DomainError, Unauthenticated
from turnout.services import keys as key_service
from turnout.services.registration import check_rate_limit

COOKIE = "turnout_session"
CSRF_FIELD = "csrf_token"


def session_token(request: Request) -> str | None:
    token: str | None = getattr(request.state, "session_token", None)
    return token


def csrf_for(request: Request, turnout: Turnout) -> str:
    """The CSRF token for the forms and scripts of the page (empty when not signed in by cookie)."""
    token = session_token(request)
    return key_service.csrf_token(turnout.settings.resolve_secret_key(), token) if token else ""


def sign_in(
    request: Request,
    turnout: Turnout,
    key: str,
    *,
    accept: Callable[[Principal], bool] = lambda principal: True,
    refusal: str = "unauthenticated",
) -> tuple[Principal, str]:
    """Count the attempt (per address, per key id), check the key (and ``accept`` its principal, else
    ``refusal``), start a session: the principal and the new session's id. ``rate_limited`` or
    ``unauthenticated`` otherwise."""
    settings = turnout.settings
    address = request.client.host if request.client else "unknown"
    parsed = key_service.parse_key(key)
    with turnout.uow() as uow:
        check_rate_limit(uow, client=f"signin-ip:{address}", limit=settings.signin_attempts_per_address)
        if parsed is not None:
            check_rate_limit(
                uow, client=f"signin-key:{parsed[0][:24]}", limit=settings.signin_attempts_per_key
            )
        uow.commit()
    if parsed is None:
        raise Unauthenticated()
    principal = turnout.authenticator.authenticate(key)
    if not accept(principal):
        raise DomainError(refusal)
    with turnout.uow() as uow:
        token = key_service.start_session(
            uow, principal=principal, lifetime=timedelta(hours=settings.session_hours)
        )
        uow.commit()
    return principal, token


def set_session_cookie(request: Request, turnout: Turnout, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(turnout.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def sign_out(request: Request, turnout: Turnout, response: Response, csrf: str | None) -> None:
    """Delete the session (the form's CSRF token must match it) and the cookie."""
    token = session_token(request)
    if token:
        if not key_service.csrf_matches(turnout.settings.resolve_secret_key(), token, csrf):
            raise CsrfRefused()
        with turnout.uow() as uow:
            key_service.end_session(uow, token=token)
            uow.commit()
        turnout.authenticator.forget_session(token)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


class SessionMiddleware:
    """Puts the session cookie's value (if any) on ``request.state.session_token``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            for name, value in scope.get("headers", ()):
                if name == b"cookie" and COOKIE.encode() in value:
                    for part in value.decode("latin-1").split(";"):
                        key, _, cookie = part.strip().partition("=")
                        if key == COOKIE and cookie:
                            state["session_token"] = cookie
        await self.app(scope, receive, send)
