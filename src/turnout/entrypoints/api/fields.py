"""Field types shared by every request schema, so that what the API accepts is what the databases
store and what ``/openapi.json`` says:

- ``Line``: one line of text, no control characters (C0, DEL, C1); ``Text`` allows tab, newline and
  carriage return. Each has a ``pattern`` in the schema. Lone surrogates (``"\\ud800"`` escapes) are
  refused by Pydantic's own string check. Both refusals are ``invalid_characters`` naming the field.
- ``Int32`` / ``Count`` / ``Int64``: integers within the column types (``maximum``/``minimum``).
- ``JsonObject``: free-form JSON (scan ``metadata``) bounded in depth, size and keys, its strings held
  to the same rules; ``check_json_value`` is the same check for models that allow extra fields.

Lengths stay at each field (``Annotated[Line, Field(max_length=200)]``); a test walks the OpenAPI
schema and fails on any request string without ``maxLength`` and ``pattern`` or integer without
``maximum``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

#: one line: no C0 control characters, DEL or C1 control characters
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
#: text: as a line, but tab, newline and carriage return are allowed
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"

Line = Annotated[str, Field(pattern=LINE_PATTERN)]
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
Finite = Annotated[float, Field(allow_inf_nan=False)]

_NOT_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

METADATA_MAX_DEPTH = 8
METADATA_MAX_BYTES = 8 * 1024
METADATA_MAX_KEYS = 100


def check_json_value(value: Any, *, max_depth: int, max_bytes: int) -> Any:
    """``value`` (parsed JSON) when it is at most ``max_depth`` containers deep, at most ``max_bytes`` as
    JSON, its keys lines and its strings text, and its numbers finite; else a coded refusal."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > max_depth:
                raise PydanticCustomError(
                    "turnout_too_deep", "nested more than {max_depth} levels", {"max_depth": max_depth}
                )
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str) or _NOT_LINE.search(key):
                        raise PydanticCustomError("turnout_invalid_characters", "control characters")
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            if _NOT_TEXT.search(item):
                raise PydanticCustomError("turnout_invalid_characters", "control characters")
        elif isinstance(item, float) and not math.isfinite(item):
            raise PydanticCustomError("turnout_invalid_value", "not a finite number")
        elif item is not None and not isinstance(item, bool | int | float):
            raise PydanticCustomError("turnout_invalid_type", "not a JSON value")
    if len(orjson.dumps(value)) > max_bytes:
        raise PydanticCustomError(
            "turnout_too_large", "more than {max_bytes} bytes as JSON", {"max_bytes": max_bytes}
        )
    return value


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value
    checked: dict[str, Any] = check_json_value(
        value, max_depth=METADATA_MAX_DEPTH, max_bytes=METADATA_MAX_BYTES
    )
    return checked


JsonObject = Annotated[
    dict[str, Any],
    Field(max_length=METADATA_MAX_KEYS),
    AfterValidator(_check_metadata),
    Field(
        description=(
            f"free-form JSON object: at most {METADATA_MAX_KEYS} keys, {METADATA_MAX_DEPTH} levels of"
            f" depth and {METADATA_MAX_BYTES} bytes as JSON; no control characters in its strings"
        ),
    ),
]
