"""Check-in: one scan, bulk uploads of offline scans, live statistics and anonymised analytics."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout.bootstrap import Turnout
from turnout.domain.access import Permission, Principal, authorize
from turnout.domain.admission import Direction
from turnout.domain.errors import DomainError, FieldError, ValidationFailed
from turnout.entrypoints.api.deps import (
    Credentials,
    PrincipalDep,
    TurnoutDep,
    credentials_of,
    get_turnout,
    principal_async,
)
from turnout.entrypoints.api.errors import locale_for
from turnout.entrypoints.api.fields import INT32_MAX
from turnout.entrypoints.api.json_body import JsonRoute, parse_json
from turnout.entrypoints.api.schemas import (
    AttendanceBulkCreate,
    AttendanceBulkRead,
    AttendanceCreate,
    AttendanceRead,
)
from turnout.i18n import translate
from turnout.services.checkin import ScanAnswer, ScanInput
from turnout.services.statistics import analytics

router = APIRouter(prefix="/api/v1", tags=["attendance"], route_class=JsonRoute)

LIVE_POLL_SECONDS = 0.25
LIVE_REFRESH_SECONDS = 1.0
LIVE_HEARTBEAT_SECONDS = 15.0
LIVE_RETRY_MS = 10_000
LIVE_KEY_CHECK_SECONDS = 4.0  # with the authenticator's 5 s cache: a revoked key's stream ends within 10 s
ACTIVE_STATUSES = ("open", "live")


@dataclass(frozen=True)
class ScanContext:
    turnout: Turnout
    principal: Principal
    locale: str


async def scan_context_for(
    turnout: Turnout,
    event_id: str,
    *,
    credentials: Credentials,
    lang: str | None,
    accept_language: str | None,
    default_locale: str,
) -> ScanContext:
    """Key and language of a scan request, authorised to scan at this event (before the body is
    read). The one check of both scan entries: the route's dependency and ``ScanFastPath``. The key
    check answers from the authenticator's cache on the loop; a miss reads the database in a thread."""
    principal = await principal_async(turnout, credentials)
    authorize(principal, Permission.SCAN, event_id=event_id)
    return ScanContext(turnout, principal, locale_for(lang, accept_language, default_locale))


async def scan_context(event_id: str, request: Request) -> ScanContext:
    """``scan_context_for`` the request. One ``async`` dependency instead of four plain ones: FastAPI
    runs each plain dependency in the thread pool, a measurable cost per scan. The key check is a
    cache hit but every 5 s."""
    return await scan_context_for(
        get_turnout(request),
        event_id,
        credentials=credentials_of(request),
        lang=request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        default_locale=getattr(request.app.state, "default_locale", "en"),
    )


def stats_reader(event_id: str, principal: PrincipalDep) -> Principal:
    authorize(principal, Permission.STATS_READ, event_id=event_id)
    return principal


ScanContextDep = Annotated[ScanContext, Depends(scan_context)]
StatsReaderDep = Annotated[Principal, Depends(stats_reader)]


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")


def _to_input(
    body: AttendanceCreate, principal: Principal, event_id: str, index: int | None = None
) -> ScanInput:
    gate_id = body.gate_id or principal.gate_id
    field_prefix = f"records.{index}." if index is not None else ""
    errors = []
    if gate_id is None:
        errors.append(FieldError(f"{field_prefix}gate_id", "missing_field", row=index))
    if body.token is None and body.participant_id is None:
        errors.append(FieldError(f"{field_prefix}token", "token_or_participant_required", row=index))
    if errors:
        raise ValidationFailed(errors)
    assert gate_id is not None
    authorize(principal, Permission.SCAN, event_id=event_id, gate_id=gate_id)
    return _scan_input(body, gate_id)


_DIRECTIONS = {direction.value: direction for direction in Direction}  # a look-up, not Enum's __call__


def _scan_input(body: AttendanceCreate, gate_id: str) -> ScanInput:
    return ScanInput(
        gate_id=gate_id,
        method=body.method,
        token=body.token,
        participant_id=body.participant_id,
        direction=_DIRECTIONS[body.direction] if body.direction else None,
        occurred_at=body.timestamp,
        nonce=body.nonce,
        location=body.location.model_dump(exclude_none=True) if body.location else {},
        device=body.device.model_dump(exclude_none=True) if body.device else {},
        metadata=body.metadata,
    )


def _to_inputs(records: list[AttendanceCreate], principal: Principal, event_id: str) -> list[ScanInput]:
    """``_to_input`` for each record of a bulk upload; the scope check runs once per gate named, and
    a refusal names the first record it applies to."""
    allowed: set[str] = set()
    inputs: list[ScanInput] = []
    append = inputs.append
    default_gate = principal.gate_id
    for index, record in enumerate(records):
        gate_id = record.gate_id or default_gate
        if (
            gate_id is None
            or gate_id not in allowed
            or (record.token is None and record.participant_id is None)
        ):
            scan = _to_input(record, principal, event_id, index)  # checks, and raises what is refused
            allowed.add(scan.gate_id)
            append(scan)
            continue
        append(_scan_input(record, gate_id))
    return inputs


def answer_body(answer: ScanAnswer, locale: str) -> dict[str, Any]:
    person = answer.participant
    return {
        "result": answer.result.value,
        "code": answer.code,
        "message": translate(answer.code or answer.result.value, locale),
        "participant": (
            {"id": person.id, "name": person.name, "check_in_status": person.check_in_status}
            if person
            else None
        ),
        "attendance_id": answer.attendance_id,
    }


@router.post("/events/{event_id}/attendance", response_model=AttendanceRead)
async def record_scan(event_id: str, body: AttendanceCreate, context: ScanContextDep) -> Response:
    """Decide and record one scan. A refusal is an answer (``result: denied`` with its ``code``), not an
    HTTP error; the same ``nonce`` twice gives the same answer and one record. A gate key scans only at
    its own gate (``gate_id`` defaults to it); manual check-in sends ``participant_id`` and
    ``method: manual``, and the key is recorded as the actor."""
    scan = _to_input(body, context.principal, event_id)
    answer = await context.turnout.checkin.scan_async(
        event_id=event_id, scan=scan, actor=context.principal.actor
    )
    return _json(answer_body(answer, context.locale))


_BULK_ADAPTER = TypeAdapter(AttendanceBulkCreate)
_BULK_SCHEMA = {
    key: value
    for key, value in AttendanceBulkCreate.model_json_schema(
        ref_template="#/components/schemas/{model}"
    ).items()
    if key != "$defs"  # AttendanceCreate and its parts are in the components (the scan route's body)
}
_BULK_BODY_DOC = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _BULK_SCHEMA}}}
}


def _bulk_body(raw: bytes) -> AttendanceBulkCreate:
    """The bulk body, parsed straight from the bytes (``validate_json``: about a fifth of the time of
    FastAPI's ``json.loads`` then ``validate_python`` for 10,000 records). A body that does not validate
    is parsed again FastAPI's way, so refusals read exactly as a declared body parameter's would."""
    try:
        return AttendanceBulkCreate.model_validate_json(raw)
    except ValidationError:
        pass
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        data = parse_json(raw)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ]
        ) from None
    try:
        return _BULK_ADAPTER.validate_python(data, from_attributes=True)
    except ValidationError as error:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in error.errors(include_url=False)]
        ) from None


@router.post(
    "/events/{event_id}/attendance/bulk", response_model=AttendanceBulkRead, openapi_extra=_BULK_BODY_DOC
)
async def record_bulk(event_id: str, request: Request, context: ScanContextDep) -> Response:
    """Up to 10,000 offline scans, applied in timestamp order in batches (statistics move after each
    batch); idempotent by nonce. Refused records are listed by their index in ``records``."""
    return await run_in_threadpool(_record_bulk, event_id, await request.body(), context)


def _record_bulk(event_id: str, raw: bytes, context: ScanContext) -> Response:
    principal, locale = context.principal, context.locale
    body = _bulk_body(raw)
    inputs = _to_inputs(body.records, principal, event_id)
    result = context.turnout.checkin.bulk(event_id=event_id, records=inputs, actor=principal.actor)
    return _json(
        {
            "total_processed": result.total_processed,
            "successful": result.successful,
            "failed": result.failed,
            "errors": [
                {"index": err.index, "code": err.code, "message": translate(err.code, locale)}
                for err in result.errors
            ],
        }
    )


@router.get("/events/{event_id}/stats")
def get_stats(event_id: str, turnout: TurnoutDep, principal: StatsReaderDep) -> Response:
    """A statistics snapshot (cached for about a second)."""
    return _json(turnout.statistics.get(event_id=event_id))


@router.get("/events/{event_id}/stats/live", response_class=StreamingResponse)
async def live_stats(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    principal: StatsReaderDep,
    max_messages: Annotated[
        int | None, Query(ge=1, le=INT32_MAX, description="close after this many snapshots")
    ] = None,
) -> StreamingResponse:
    """Server-sent events: a ``stats`` message with the snapshot now and whenever it changes.

    For an event that is not open or live (nothing moves any more) the stream sends one snapshot and
    closes; the ``retry`` hint has browsers reconnect after 10 s. The key (or console session) is
    checked again every few seconds: a revoked key, an expired or signed-out session ends the stream."""
    stats = turnout.statistics
    first = await run_in_threadpool(stats.get, event_id=event_id)  # 404 before streaming
    credentials = credentials_of(request)

    async def still_allowed() -> bool:
        try:
            await principal_async(turnout, credentials)
        except DomainError:
            return False
        return True

    async def stream() -> AsyncIterator[bytes]:
        sent = 0
        last_body = None
        last_version = -1
        last_read = 0.0
        last_write = time.monotonic()
        last_key_check = last_write
        data = first
        while True:
            body = json.dumps(
                {k: v for k, v in data.items() if k != "at"}, sort_keys=True, ensure_ascii=False
            )
            if body != last_body:
                last_body = body
                sent += 1
                last_write = time.monotonic()
                message = (
                    f"retry: {LIVE_RETRY_MS}\nevent: stats\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                )
                yield message.encode()
                if max_messages is not None and sent >= max_messages:
                    return
                if data.get("event_status") not in ACTIVE_STATUSES:
                    return
            while True:
                await asyncio.sleep(LIVE_POLL_SECONDS)
                if await request.is_disconnected():
                    return
                now = time.monotonic()
                if now - last_key_check >= LIVE_KEY_CHECK_SECONDS:
                    last_key_check = now
                    if not await still_allowed():
                        return
                version = stats.version(event_id)
                if version != last_version or now - last_read >= LIVE_REFRESH_SECONDS:
                    last_version, last_read = version, now
                    break
                if now - last_write >= LIVE_HEARTBEAT_SECONDS:
                    last_write = now
                    yield b": keep-alive\n\n"
            data = await run_in_threadpool(stats.get, event_id=event_id)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/events/{event_id}/analytics")
def get_analytics(event_id: str, turnout: TurnoutDep, principal: StatsReaderDep) -> Response:
    """Anonymised analytics: counts, age groups, regions, check-in times, stays, methods, peak hours."""
    with turnout.uow(readonly=True) as uow:
        return _json(analytics(uow, event_id=event_id))


# --- the scan fast path -----------------------------------------------------------------------------

SCAN_PATH = re.compile(r"^/api/v1/events/([^/]+)/attendance$")
FAST_BODY_LIMIT = 64 * 1024
_SCAN_ROUTE = SimpleNamespace(path="/api/v1/events/{event_id}/attendance")


class ScanFastPath:
    """Plain ASGI in front of the router for ``POST /api/v1/events/{event_id}/attendance``: the scan
    route's usual success (a bearer key, an ``application/json`` body that validates, a key allowed
    to scan at a gate this process has cached) answered without FastAPI's routing, dependency solving
    and exception layers, which cost more CPU than the scan itself. Everything else — no key, a
    cookie session, another content type, a refusal of the key or the body, ``?lang=``, a cold gate
    cache — is handed on to the real route with the body replayed, so errors and their formats stay
    exactly the route's own. The request is read as the route reads it (a repeated header: its first
    value), and answers are the same as the route's (same function builds them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        match = SCAN_PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        authorization = content_type = accept_language = None
        for name, value in scope["headers"]:  # a repeated header: its first value, as the route reads it
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"accept-language" and accept_language is None:
                accept_language = value
        if authorization is None or content_type is None or not _plain_json(content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > FAST_BODY_LIMIT:
                break
        body = b"".join(chunks)
        if not more:
            answer = await self._try(scope, match.group(1), authorization, accept_language, body)
            if answer is not None:
                scope["route"] = _SCAN_ROUTE  # for the metrics middleware's route label
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(answer)).encode()),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, _replay(body, more, receive), send)

    async def _try(
        self, scope: Scope, event_id: str, authorization: bytes, accept_language: bytes | None, body: bytes
    ) -> bytes | None:
        app = scope["app"]
        turnout: Turnout = app.state.turnout
        try:
            context = await scan_context_for(
                turnout,
                event_id,
                # bearer keys only (we have one): a cookie session is the route's
                credentials=Credentials(authorization=authorization.decode("latin-1"), method="POST"),
                lang=None,  # a query string: the route's
                accept_language=accept_language.decode("latin-1") if accept_language else None,
                default_locale=getattr(app.state, "default_locale", "en"),
            )
            scan = _to_input(AttendanceCreate.model_validate_json(body), context.principal, event_id)
        except (DomainError, ValidationError, ValueError):
            return None
        checkin = turnout.checkin
        if checkin.cached_gate(event_id=event_id, gate_id=scan.gate_id) is None:
            return None  # the route looks the gate up (and refuses an unknown one)
        answer = await checkin.scan_async(event_id=event_id, scan=scan, actor=context.principal.actor)
        return orjson.dumps(answer_body(answer, context.locale))


def _plain_json(content_type: bytes) -> bool:
    """``application/json``, with or without parameters: a body the route reads as JSON too (other
    types it reads as JSON, ``application/*+json``, go to the route)."""
    return content_type == b"application/json" or content_type.startswith(b"application/json;")


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
