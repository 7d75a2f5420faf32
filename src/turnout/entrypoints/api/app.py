"""The FastAPI application: ``create_app(turnout)``; ``create_app_from_env()`` for uvicorn workers."""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from turnout import __version__
from turnout.adapters.db.engine import checkpointer_for
from turnout.adapters.metrics import http_latency, http_requests
from turnout.bootstrap import Turnout, bootstrap
from turnout.entrypoints.api import errors
from turnout.entrypoints.api.limits import BodyLimit, PlainRequestLine, body_limit_for
from turnout.entrypoints.api.routes import (
    attendance,
    deliveries,
    events,
    gates,
    imports,
    participants,
    system,
    tickets,
)
from turnout.entrypoints.api.routes import integrations as integration_routes
from turnout.entrypoints.api.routes import privacy as privacy_routes
from turnout.entrypoints.api.routes import privacy_notice as privacy_notice_routes
from turnout.entrypoints.api.routes import sagas as saga_routes
from turnout.entrypoints.api.routes import sync as sync_routes
from turnout.entrypoints.web import (
    console,
    dashboard_pages,
    events_pages,
    gate_pages,
    import_pages,
    mail_pages,
    ops_pages,
    pages,
    participant_pages,
    privacy_page,
    scanner,
)
from turnout.entrypoints.web import deliveries as delivery_pages
from turnout.entrypoints.web import integrations as integration_pages
from turnout.entrypoints.web import register as register_page
from turnout.entrypoints.web import tickets as ticket_pages
from turnout.entrypoints.web.assets import StaticAssets
from turnout.entrypoints.web.security import OriginGuard, SecurityHeaders
from turnout.entrypoints.web.session import SessionMiddleware
from turnout.entrypoints.web.templating import STATIC


class MetricsMiddleware:
    """Counts requests and their latency by route template (plain ASGI: cheap on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            http_requests.labels(method, template, str(status_holder["status"])).inc()
            http_latency.labels(method, template).observe(time.perf_counter() - started)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Per server process: WAL checkpoints in a background thread (SQLite), not in requests; and, in
    a server process (``create_app_from_env``), the bulk uploads' writer process started (SQLite
    file) and the start-up heap frozen out of the collector's way.

    A full (generation 2) collection walks every tracked object: after start-up that is mostly
    modules, routes, schemas and the ORM's tables, ~100 ms a pass, taken in the middle of whatever
    requests are in flight. ``gc.freeze()`` sets those objects aside for good, so a full collection
    only walks what was made since. Measured with the check-in bench: scan p99 63 ms -> 25 ms.
    Not in tests and other embedders: there, earlier apps' garbage would be frozen with the rest.
    """
    turnout: Turnout = app.state.turnout
    checkpointer = checkpointer_for(turnout.settings.database_url)
    if checkpointer is not None:
        checkpointer.start()
    if getattr(app.state, "freeze_heap", False):
        turnout.checkin.start()  # SQLite file: the bulk writer ready before the first upload comes
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if getattr(app.state, "freeze_heap", False):  # waits for a running upload: off the event loop
            await anyio.to_thread.run_sync(turnout.checkin.close)
        if checkpointer is not None:
            checkpointer.stop()


def create_app(turnout: Turnout) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Turnout",
        version=__version__,
        description="Registration, tickets, gate check-in and live statistics for events.",
        responses={
            401: {"description": "missing or invalid key"},
            403: {"description": "outside the key's scope"},
        },
    )
    app.state.turnout = turnout
    app.state.default_locale = turnout.settings.default_locale
    errors.install(app)
    pages.install(app, errors.domain_error_handler, errors.http_error_handler)
    app.add_middleware(attendance.ScanFastPath)
    app.add_middleware(SessionMiddleware)
    app.add_middleware(OriginGuard, base_url=turnout.settings.base_url)
    # outside the session and the key: a body over its limit is refused before either is looked at
    app.add_middleware(BodyLimit, limit_for=functools.partial(body_limit_for, turnout.settings))
    app.add_middleware(PlainRequestLine)
    app.add_middleware(SecurityHeaders)  # outermost: every answer carries the headers, a 413 too
    app.add_middleware(MetricsMiddleware)
    # Outermost: a trusted proxy's X-Forwarded-Proto / -For become the request's scheme and client
    # (the Secure cookie, HSTS and the sign-in limits depend on them); nobody else's are believed.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=turnout.settings.trusted_proxy_list())
    app.mount("/static", StaticAssets(directory=str(STATIC)), name="static")
    for module in (system, events, gates, participants, imports, attendance, tickets, deliveries):
        app.include_router(module.router)
    app.include_router(integration_routes.router)
    app.include_router(integration_pages.router)
    app.include_router(delivery_pages.router)
    app.include_router(sync_routes.router)
    app.include_router(saga_routes.router)
    app.include_router(privacy_routes.router)
    app.include_router(privacy_notice_routes.router)
    app.include_router(privacy_page.router)
    for page_module in (
        console,
        events_pages,
        gate_pages,
        participant_pages,
        import_pages,
        mail_pages,
        ops_pages,
        dashboard_pages,
        ticket_pages,
        register_page,
        scanner,
    ):
        app.include_router(page_module.router)
    return app


def create_app_from_env(**overrides: Any) -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process wires itself)."""
    app = create_app(bootstrap())
    app.state.freeze_heap = True
    return app
