"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Query, Request

from turnout.bootstrap import Turnout
from turnout.domain.access import Principal
from turnout.domain.errors import DomainError, Unauthenticated
from turnout.entrypoints.api.errors import locale_of


def get_turnout(request: Request) -> Turnout:
    turnout: Turnout = request.app.state.turnout
    return turnout


def principal_from(turnout: Turnout, *, authorization: str | None, session_key: str | None) -> Principal:
    """The key from an ``Authorization: Bearer`` header's value, else the web console's session key."""
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        return turnout.authenticator.authenticate(credential.strip())
    if session_key:
        return turnout.authenticator.authenticate(session_key)
    raise Unauthenticated()


def get_principal(request: Request, turnout: Annotated[Turnout, Depends(get_turnout)]) -> Principal:
    """The key from ``Authorization: Bearer`` (or the web console's session cookie)."""
    return principal_from(
        turnout,
        authorization=request.headers.get("authorization"),
        session_key=getattr(request.state, "session_key", None),
    )


def get_locale(request: Request) -> str:
    return locale_of(request)


TurnoutDep = Annotated[Turnout, Depends(get_turnout)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
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
