"""Every request schema bounds what it takes, and says so in OpenAPI: each string a ``maxLength`` and
the ``pattern`` without control characters, each integer a ``minimum`` and ``maximum`` the databases
can store. And every API route reads its JSON body the strict way (``JsonRoute``)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from turnout.entrypoints.api import routes
from turnout.entrypoints.api.fields import INT64_MAX, LINE_PATTERN, TEXT_PATTERN
from turnout.entrypoints.api.json_body import JsonRoute

# every module of the routes package (a router added later is checked without being listed here)
ROUTERS = tuple(
    importlib.import_module(f"{routes.__name__}.{module.name}")
    for module in pkgutil.iter_modules(routes.__path__)
)


def api() -> FastAPI:
    app = FastAPI()
    for module in ROUTERS:
        app.include_router(module.router)
    return app


def unbounded(schema: dict[str, Any], defs: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """The places under ``schema`` where a string or an integer is left unbounded."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return unbounded(defs[name], defs, name, seen)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += unbounded(option, defs, where, seen)
    kind = schema.get("type")
    free_text = kind == "string" and not {"enum", "const", "format"} & schema.keys()
    if free_text and ("maxLength" not in schema or schema.get("pattern") not in (LINE_PATTERN, TEXT_PATTERN)):
        found.append(where)
    low, high = schema.get("minimum", -(2**80)), schema.get("maximum", 2**80)
    if kind == "integer" and not (low >= -INT64_MAX - 1 and high <= INT64_MAX):
        found.append(where)
    for name, inner in schema.get("properties", {}).items():
        found += unbounded(inner, defs, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        found += unbounded(schema["items"], defs, f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found += unbounded(schema["additionalProperties"], defs, f"{where}{{}}", seen)
    if isinstance(schema.get("propertyNames"), dict):
        found += unbounded(schema["propertyNames"], defs, f"{where}{{key}}", seen)
    return found


def test_every_json_request_body_bounds_its_strings_and_integers() -> None:
    document = api().openapi()
    defs = document["components"]["schemas"]
    found: list[str] = []
    bodies = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                bodies += 1
                found += unbounded(content["application/json"]["schema"], defs, f"{method} {path}", set())
    assert bodies >= 8
    assert found == []


def test_every_integer_parameter_has_a_range() -> None:
    document = api().openapi()
    found = [
        f"{method} {path} {parameter['name']}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        for schema in [parameter["schema"], *parameter["schema"].get("anyOf", [])]
        if schema.get("type") == "integer" and "maximum" not in schema
    ]
    assert found == []


def test_every_api_route_reads_json_strictly() -> None:
    routes = [route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)]
    assert len(routes) > 20
    assert [route.path for route in routes if not isinstance(route, JsonRoute)] == []
