"""Browser protection for every response and every cookie-authenticated write.

``SecurityHeaders`` adds a Content-Security-Policy without inline scripts (the pages' scripts are
static files under ``/static``), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, a
``Referrer-Policy``, and HSTS when the request came over https.

``OriginGuard`` refuses (``403 origin_refused``) a write (POST/PUT/PATCH/DELETE) that carries the
console's session cookie, signs in, or asks for a participant's erasure (``/t/{token}/data/erasure``)
when the browser says it was sent from another origin (``Origin``, else ``Referer``); a
cookie-authenticated write naming neither is refused too. Bearer
requests are left alone (a browser never adds that header by itself). The CSRF token (bound to
the session) is checked by the forms' routes and, for the JSON API, by ``deps.check_api_session``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout.entrypoints.api.errors import error_body, locale_for
from turnout.entrypoints.web.session import COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGNIN_PATHS = frozenset({"/signin", "/scan/signin"})
ERASURE_FORM = re.compile(r"^/t/[^/]+/data/erasure$")  # the participant's own erasure request

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from a CDN with a small inline starter script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net;"
    " style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com;"
    " img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly;"
    " font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = b"max-age=31536000; includeSubDomains"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name, value)
    return found


class OriginGuard:
    def __init__(self, app: ASGIApp, *, base_url: str) -> None:
        self.app = app
        self.base_origin = _origin_of(base_url)

    def own_origins(self, scope: Scope, headers: dict[bytes, bytes]) -> set[str]:
        own = {self.base_origin} if self.base_origin else set()
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host:
            own.add(f"{scope.get('scheme', 'http')}://{host}")
        return {origin for origin in own if origin}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        bearer = headers.get(b"authorization", b"")[:7].lower() == b"bearer "
        cookie = COOKIE.encode() + b"=" in headers.get(b"cookie", b"")
        guarded_form = scope["path"] in SIGNIN_PATHS or ERASURE_FORM.match(scope["path"]) is not None
        if bearer or not (cookie or guarded_form):
            await self.app(scope, receive, send)
            return
        claimed = headers.get(b"origin") or headers.get(b"referer")
        origin = _origin_of(claimed.decode("latin-1")) if claimed and claimed != b"null" else None
        if claimed is None and guarded_form and not cookie:
            await self.app(scope, receive, send)  # not a browser: nothing to forge
            return
        if origin is not None and origin in self.own_origins(scope, headers):
            await self.app(scope, receive, send)
            return
        lang = None
        for part in scope.get("query_string", b"").decode("latin-1").split("&"):
            if part.startswith("lang="):
                lang = part[5:]
        accept = headers.get(b"accept-language")
        locale = locale_for(lang, accept.decode("latin-1") if accept else None, "en")
        body = orjson.dumps(error_body("origin_refused", locale))
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else PAGE_CSP
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if https:
                    extra.append((b"strict-transport-security", HSTS))
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
