"""Errors in the CONTRACT shape: ``{"error": {"code", "message", "details"}}``.

Codes map to HTTP status here, in one table."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from turnout.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from turnout.i18n import pick_locale, translate

log = logging.getLogger(__name__)

# The one table from error code to HTTP status. Codes not listed fall back by class below.
STATUS_BY_CODE: dict[str, int] = {
    "validation_failed": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "invalid_transition": 409,
    "event_full": 409,
    "registration_closed": 409,
    "idempotency_conflict": 409,
    "payload_too_large": 413,
    "file_too_large": 413,
    "spreadsheet_too_large": 422,
    "consent_missing": 422,
    "invalid_consent_basis": 422,
    "rate_limited": 429,
    "http_method_not_allowed": 405,
    "invalid_cursor": 400,
    "invalid_json": 400,
}
STATUS_BY_CLASS: tuple[tuple[type[DomainError], int], ...] = (
    (ValidationFailed, 422),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
)

# Pydantic's error types, folded into our stable field codes.
PYDANTIC_CODES: dict[str, str] = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "invalid_json",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_large",
    "less_than_equal": "too_large",
    "enum": "invalid_value",
    "literal_error": "invalid_value",
    "datetime_parsing": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime",
    "timezone_aware": "naive_datetime",
    "string_pattern_mismatch": "invalid_characters",  # the request schemas' patterns: control characters
    "string_unicode": "invalid_characters",  # a lone surrogate
    "finite_number": "invalid_value",
}


def status_for(error: DomainError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def locale_for(lang: str | None, accept_language: str | None, default: str) -> str:
    """The answer's language: ``?lang=`` when it names one we have, else ``Accept-Language``."""
    if lang in ("ko", "en"):
        return lang
    return pick_locale(accept_language, default)


def locale_of(request: Request) -> str:
    return locale_for(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        getattr(request.app.state, "default_locale", "en"),
    )


def error_body(
    code: str, locale: str, params: dict[str, Any] | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": translate(code, locale, params), "details": details or []}}


def field_details(errors: list[FieldError], locale: str) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        item = err.as_dict()
        item["message"] = translate(err.code, locale, err.params)
        out.append(item)
    return out


def _shown(value: Any) -> bool:
    """A param a message may show: a string, a number, or a list of strings (codes)."""
    if isinstance(value, list | tuple):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, str | int | float)


def domain_error_response(error: DomainError, locale: str) -> JSONResponse:
    details = field_details(error.errors, locale) if isinstance(error, ValidationFailed) else []
    params = {k: v for k, v in error.params.items() if _shown(v)}
    status = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = error_body(error.code, locale, params, details)
    if params:
        body["error"]["params"] = error.params
    return JSONResponse(body, status_code=status, headers=headers)


class BodyTooLarge(StarletteHTTPException):
    """A request body past its route's limit (``entrypoints.api.limits``), raised as it is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, headers={"Connection": "close"})
        self.limit = limit


def payload_too_large_response(request: Request, limit: int) -> JSONResponse:
    """``413 payload_too_large`` with the limit; the connection is closed (the rest of the body unread)."""
    body = error_body("payload_too_large", locale_of(request), {"max_bytes": limit})
    body["error"]["params"] = {"max_bytes": limit}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


def limit_params(kind: str, ctx: Mapping[str, Any] | None) -> dict[str, Any]:
    """The limit a pydantic error names, as our codes' params: ``{max}``/``{min}`` (and ``{unit}``,
    characters or items, for lengths), so ``too_long`` says "at most 200 characters"."""
    ctx = ctx or {}
    unit = "characters" if kind.startswith("string_") else "items"
    if "max_length" in ctx:
        return {"max": ctx["max_length"], "unit": unit}
    if "min_length" in ctx:
        return {"min": ctx["min_length"], "unit": unit}
    for name, key, step in (("ge", "min", 0), ("gt", "min", 1), ("le", "max", 0), ("lt", "max", -1)):
        bound = ctx.get(name)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            # an exclusive integer bound is shown as the inclusive one ("> 0" -> "at least 1")
            return {key: bound + step if isinstance(bound, int) else bound}
    return {}


def _pydantic_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _not_json(err: Mapping[str, Any]) -> bool:
    """A body that is not JSON: malformed, not UTF-8, or sent as another content type (the route then
    sees bytes where it declared an object)."""
    if err.get("type") == "json_invalid":
        return True
    return tuple(err.get("loc", ())) == ("body",) and isinstance(err.get("input"), bytes)


def printable(text: str) -> str:
    """``text`` as it can be written in a UTF-8 answer (a lone surrogate becomes ``?``)."""
    return text.encode("utf-8", "replace").decode("utf-8")


#: codes whose refused value a validation answer does not repeat
UNECHOED_CODES = frozenset({"invalid_characters", "too_large", "too_deep"})

#: request fields whose value a validation answer never repeats
SECRET_FIELDS = frozenset({"secret", "password", "api_key", "key"})


async def domain_error_handler(request: Request, exc: DomainError) -> JSONResponse:
    return domain_error_response(exc, locale_of(request))


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    locale = locale_of(request)
    code = {
        404: "not_found",
        405: "http_method_not_allowed",
        413: "payload_too_large",
        401: "unauthenticated",
    }.get(exc.status_code, "error")
    return JSONResponse(
        error_body(code, locale), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def install(app: FastAPI) -> None:
    """The JSON error handlers (``web.pages.install`` then answers page paths with pages)."""
    app.add_exception_handler(DomainError, domain_error_handler)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        locale = locale_of(request)
        if any(_not_json(err) for err in exc.errors()):
            details = [FieldError("body", "invalid_json")]
            body = error_body("invalid_json", locale, details=field_details(details, locale))
            return JSONResponse(body, status_code=400)
        errors = []
        for err in exc.errors():
            kind = str(err.get("type", "invalid_value"))
            code = PYDANTIC_CODES.get(kind, kind if kind.startswith("turnout_") else "invalid_type")
            code = code.removeprefix("turnout_")
            value = err.get("input")
            field = printable(_pydantic_field(tuple(err.get("loc", ()))))
            if kind in ("missing", "json_invalid") or not isinstance(value, str | int | float | bool):
                value = None
            if field.rsplit(".", 1)[-1] in SECRET_FIELDS or code in UNECHOED_CODES:
                value = None  # never echo a secret, even a refused one; nor characters refused
            params = limit_params(kind, err.get("ctx"))
            errors.append(FieldError(field, code, params=params, value=value))
        body = error_body("validation_failed", locale, details=field_details(errors, locale))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return payload_too_large_response(request, exc.limit)

    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", locale_of(request)), status_code=500)
