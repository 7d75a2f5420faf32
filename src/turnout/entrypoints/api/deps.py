"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Query, Request

from turnout.bootstrap import Turnout
from turnout.domain.access import Permission, Principal, authorize
from turnout.domain.errors import CsrfRefused, DomainError, Unauthenticated
from turnout.entrypoints.api.errors import locale_of
from turnout.services.keys import csrf_matches


def get_turnout(request: Request) -> Turnout:
    turnout: Turnout = request.app.state.turnout
    return turnout


CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request offers to authenticate with: a bearer key, else a console session's id (from
    the cookie) together with what the JSON API needs to accept it from the console's own pages."""

    authorization: str | None = None
    session_token: str | None = None
    method: str = "GET"
    csrf_header: str | None = None
    fetch_site: str | None = None

    @property
    def bearer(self) -> str | None:
        scheme, _, credential = (self.authorization or "").partition(" ")
        return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def credentials_of(request: Request) -> Credentials:
    headers = request.headers
    return Credentials(
        authorization=headers.get("authorization"),
        session_token=getattr(request.state, "session_token", None),
        method=request.method,
        csrf_header=headers.get(CSRF_HEADER),
        fetch_site=headers.get("sec-fetch-site"),
    )


def check_api_session(turnout: Turnout, credentials: Credentials) -> str:
    """The JSON API takes the console's cookie only from the console's own pages: a write carries
    the session's CSRF token in ``X-CSRF-Token`` (a script on another site cannot read it); a read
    is not marked cross-site by the browser (``Sec-Fetch-Site``). ``csrf_failed`` otherwise."""
    token = credentials.session_token
    assert token is not None
    if credentials.method.upper() not in SAFE_METHODS:
        if not csrf_matches(turnout.settings.resolve_secret_key(), token, credentials.csrf_header):
            raise CsrfRefused()
    elif credentials.fetch_site in ("cross-site", "same-site"):
        raise CsrfRefused()
    return token


def principal_from(turnout: Turnout, credentials: Credentials) -> Principal:
    """The key from an ``Authorization: Bearer`` header's value, else the web console's session (for
    the API, only with ``check_api_session``'s marks of the console's own requests). Reads the
    database on a cache miss: call from a thread (``principal_async`` in ``async`` code)."""
    bearer = credentials.bearer
    if bearer:
        return turnout.authenticator.authenticate(bearer)
    if credentials.session_token:
        return turnout.authenticator.authenticate_session(check_api_session(turnout, credentials))
    raise Unauthenticated()


async def principal_async(turnout: Turnout, credentials: Credentials) -> Principal:
    """``principal_from`` without blocking the event loop."""
    bearer = credentials.bearer
    if bearer:
        return await turnout.authenticator.authenticate_async(bearer)
    return await anyio.to_thread.run_sync(principal_from, turnout, credentials)


def get_principal(request: Request, turnout: Annotated[Turnout, Depends(get_turnout)]) -> Principal:
    """The key from ``Authorization: Bearer`` (or the web console's session cookie). A plain
    dependency: FastAPI runs it in the thread pool, off the event loop."""
    return principal_from(turnout, credentials_of(request))


def page_principal(request: Request, turnout: Turnout) -> Principal:
    """The signed-in principal of a console page: a bearer key, else the session cookie (pages do
    their own CSRF check on their forms)."""
    credentials = credentials_of(request)
    if credentials.bearer:
        return turnout.authenticator.authenticate(credentials.bearer)
    if credentials.session_token:
        return turnout.authenticator.authenticate_session(credentials.session_token)
    raise Unauthenticated()


def get_locale(request: Request) -> str:
    return locale_of(request)


TurnoutDep = Annotated[Turnout, Depends(get_turnout)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def permits(permission: Permission) -> Any:
    """A route dependency: the key may do ``permission`` at the path's ``{event_id}`` (or at the
    event of its ``{participant_id}``), checked before the request body is read and validated, so
    a key outside its scope gets ``403 forbidden``, not the body's ``422``."""

    def check(request: Request, turnout: TurnoutDep, principal: PrincipalDep) -> None:
        authorize(principal, permission)
        event_id = request.path_params.get("event_id")
        participant_id = request.path_params.get("participant_id")
        if event_id is None and participant_id is not None and principal.event_id is not None:
            with turnout.uow(readonly=True) as uow:
                participant = uow.participants.get(participant_id)
            event_id = participant.event_id if participant is not None else None
        if event_id is not None:
            authorize(principal, permission, event_id=event_id)

    return Depends(check)


LocaleDep = Annotated[str, Depends(get_locale)]


class Page:
    """``limit`` (1..1000, default 100) and an opaque ``cursor``."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> None:
        self.limit = limit
        self.cursor = cursor

    @property
    def after(self) -> str | None:
        return decode_cursor(self.cursor) if self.cursor else None


PageDep = Annotated[Page, Depends(Page)]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise DomainError("invalid_cursor") from exc


def next_cursor(items_last_key: str | None, got: int, limit: int) -> str | None:
    return encode_cursor(items_last_key) if items_last_key and got >= limit else None
