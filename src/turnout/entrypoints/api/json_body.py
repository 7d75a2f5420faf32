"""JSON request bodies read one way everywhere: RFC 8259 JSON in UTF-8 (no other encoding, no ``NaN``
or ``Infinity``, nesting bounded by the interpreter's recursion limit). Anything else is a
``json.JSONDecodeError``, which the API answers ``400 invalid_json``.

``JsonRoute`` is the route class of every API router: FastAPI parses declared bodies with the
request's ``json()``, which here is ``parse_json`` (Starlette's would guess UTF-16 or UTF-32 from the
bytes and take ``NaN``). Routes that read their body themselves (bulk attendance) call
``parse_json`` directly.

Lone surrogates written as ``\\ud800`` escapes are valid JSON syntax and parse here; the schemas
refuse them field by field (``422 invalid_characters``), so the answer names the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The JSON document in ``raw``; ``json.JSONDecodeError`` (with a position) when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(f"not UTF-8 ({error.reason})", "", error.start) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
    except ValueError as error:  # NaN, Infinity; an integer with too many digits for Python
        raise json.JSONDecodeError(str(error), "", 0) from None


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """An API route whose JSON body is read by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_json_handler
