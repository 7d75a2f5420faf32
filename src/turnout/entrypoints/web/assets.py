"""The browser packages Turnout serves itself (vendored from npm; see docs/assets.md).

``static/vendor/<package>/<file>`` holds the files ``scripts/vendor_assets.py`` copied from
``node_modules``; ``static/vendor/manifest.json`` gives each package's exact version, its files and
their SRI hashes. Pages name a file by ``asset_url("htmx.org", "htmx.min.js")`` →
``/static/vendor/htmx.org@2.0.11/htmx.min.js`` and ``asset_integrity(...)`` → ``sha384-…``.

``StaticAssets`` is the ``/static`` mount: a versioned vendor URL is answered from the package's
folder with ``Cache-Control: public, max-age=31536000, immutable`` (the URL changes with the
version, so a browser never needs to ask again, which also keeps an offline venue's phones
working); a version other than the vendored one is 404, never another version's bytes. Everything
else under ``/static`` is served as before.
"""

from __future__ import annotations

import functools
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
MANIFEST = VENDOR / "manifest.json"
URL_PREFIX = "/static/vendor"
IMMUTABLE = "public, max-age=31536000, immutable"
LICENSE = "LICENSE"

# Not left to the host's /etc/mime.types: a module script served as anything but JavaScript is
# refused by browsers (with nosniff), and WebAssembly.instantiateStreaming needs application/wasm.
for _type, _suffix in (
    ("text/javascript", ".js"),
    ("text/javascript", ".mjs"),
    ("text/css", ".css"),
    ("application/wasm", ".wasm"),
    ("application/json", ".json"),
):
    mimetypes.add_type(_type, _suffix)


class UnknownAsset(LookupError):
    """A template named a package or file that is not vendored (a programming error: fail loudly)."""


@functools.cache
def manifest() -> dict[str, dict[str, Any]]:
    """``{package: {"version": …, "license": "LICENSE", "files": {file: "sha384-…"}}}``."""
    packages: dict[str, dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["packages"]
    return packages


def _entry(package: str, file: str) -> dict[str, Any]:
    entry = manifest().get(package)
    if entry is None:
        raise UnknownAsset(f"{package} is not vendored (package.json, make assets)")
    if file not in entry["files"] and file != entry["license"]:
        raise UnknownAsset(f"{package}@{entry['version']} has no vendored {file}")
    return entry


def asset_url(package: str, file: str) -> str:
    """The versioned URL of a vendored file: ``/static/vendor/htmx.org@2.0.11/htmx.min.js``."""
    entry = _entry(package, file)
    return f"{URL_PREFIX}/{package}@{entry['version']}/{file}"


def asset_integrity(package: str, file: str) -> str:
    """The file's Subresource Integrity value (``sha384-<base64>``) for ``integrity="…"``."""
    entry = _entry(package, file)
    if file not in entry["files"]:
        raise UnknownAsset(f"{package}: {file} has no integrity hash (a licence, not an asset)")
    integrity: str = entry["files"][file]
    return integrity


def vendored_path(parts: list[str]) -> str | None:
    """``["htmx.org@2.0.11", "htmx.min.js"]`` (or ``["@noble", "ed25519@3.2.0", "index.js"]``) →
    the file under ``static/`` (``vendor/htmx.org/htmx.min.js``); None when the first segment
    names no version (served as a plain static path). A version, package or file that is not
    vendored is 404."""
    if not parts:
        return None
    scope_name, parts = (parts[0], parts[1:]) if parts[0].startswith("@") else ("", parts)
    if len(parts) != 2 or "@" not in parts[0]:
        return None
    name, _, version = parts[0].rpartition("@")
    package = f"{scope_name}/{name}" if scope_name else name
    entry = manifest().get(package)
    file = parts[1]
    if (
        entry is None
        or entry["version"] != version
        or (file not in entry["files"] and file != entry["license"])
    ):
        raise HTTPException(status_code=404)
    return "/".join(["vendor", package, file])


class StaticAssets(StaticFiles):
    """``/static``: the page scripts as they are, the vendored packages by versioned URL with a
    year's immutable caching."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        parts = path.split(os.sep)
        if len(parts) > 1 and parts[0] == "vendor":
            target = vendored_path(parts[1:])
            if target is not None:
                response = await super().get_response(target.replace("/", os.sep), scope)
                response.headers["Cache-Control"] = IMMUTABLE
                return response
        return await super().get_response(path, scope)
