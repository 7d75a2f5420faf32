"""Request limits, enforced in front of everything else: before routing, sessions, the key check and
the scan fast path, and before the body is read.

``PlainRequestLine``: a path or query string with control characters (``%00`` and the like) in it
is ``422 validation_failed`` with ``invalid_characters`` for ``path`` or the query parameter, before
any route could hand such an id or filter to the database (PostgreSQL refuses NUL in text).

``BodyLimit``: a declared ``Content-Length`` over the route's limit is answered
``413 payload_too_large`` at once, without reading a byte of the body or running the route (a route
with no body of its own included). A body without a length (``Transfer-Encoding: chunked``) is
counted as it comes, and cut off with the same ``413`` at the chunk that passes the limit; the rest
is never read.

Starlette's ``RequestBodyLimitMiddleware`` (and FastAPI's ``max_body_size``) were not enough here: they
check the length only when a route reads its body (a route without a body runs, key check and side
effects included, and only its answer is replaced), answer in plain text, and take their limit per
route when the module is imported, whereas the upload limit is a setting read at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout.config import MB, Settings
from turnout.domain.errors import FieldError, ValidationFailed
from turnout.entrypoints.api.errors import (
    BodyTooLarge,
    domain_error_response,
    locale_of,
    payload_too_large_response,
)

BULK_PATH = re.compile(r"^/api/v1/events/[^/]+/attendance/bulk/?$")
UPLOAD_PATH = re.compile(r"^/api/v1/events/[^/]+/imports/?$")
#: the console's import upload form (``web/import_pages.py``): the same limit as the API's upload
PAGE_UPLOAD_PATH = re.compile(r"^/events/[^/]+/import/?$")
#: an upload's form fields and multipart framing, allowed on top of the file's own limit
FORM_ALLOWANCE = MB


def body_limit_for(settings: Settings, path: str) -> int:
    """The largest body, in bytes, a request to ``path`` may send."""
    if BULK_PATH.match(path):
        return int(settings.max_bulk_mb * MB)
    if UPLOAD_PATH.match(path) or PAGE_UPLOAD_PATH.match(path):
        return settings.upload_max_bytes + FORM_ALLOWANCE
    return int(settings.max_body_mb * MB)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def too_large_answer(scope: Scope, limit: int) -> Response:
    """``413 payload_too_large`` (JSON); the console's upload form is answered with a page instead,
    saying the file is too large (``file_too_large``) in the reader's language."""
    request = Request(scope)
    if PAGE_UPLOAD_PATH.match(scope["path"]):
        from turnout.domain.imports import FileRefused
        from turnout.entrypoints.web.pages import refusal_page

        refused = FileRefused("file_too_large", max_bytes=max(limit - FORM_ALLOWANCE, 1))
        page = refusal_page(request, refused)
        page.headers["Connection"] = "close"
        return page
    return payload_too_large_response(request, limit)


class BodyLimit:
    """Plain ASGI: the limit for the path from ``limit_for``, then the length check and the count."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = declared_length(scope)
        if length is not None and length > limit:
            await too_large_answer(scope, limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large_answer(scope, limit)(scope, receive, send)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def request_line_errors(scope: Scope) -> list[FieldError]:
    """``invalid_characters`` for the path and each query parameter with control characters."""
    errors = []
    if _CONTROL.search(scope["path"]):
        errors.append(FieldError("path", "invalid_characters"))
    query: bytes = scope.get("query_string", b"")
    if query and (b"%" in query or _CONTROL.search(query.decode("latin-1"))):
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if _CONTROL.search(name) or _CONTROL.search(value):
                errors.append(FieldError(_CONTROL.sub("?", name), "invalid_characters"))
    return errors


class PlainRequestLine:
    """Plain ASGI: a request whose path or query carries control characters goes no further."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (errors := request_line_errors(scope)):
            request = Request(scope)
            await domain_error_response(ValidationFailed(errors), locale_of(request))(scope, receive, send)
            return
        await self.app(scope, receive, send)
