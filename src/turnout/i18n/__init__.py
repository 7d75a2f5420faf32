"""Messages in Korean and English for every error code and UI string.

Each area keeps its own catalogue module (``spine``, ``intake``, ``tickets``, ``attendance``,
``messaging``); a catalogue maps a code to ``{"ko": ..., "en": ...}`` with ``str.format`` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import Any

LOCALES = ("ko", "en")
_AREAS = (
    "spine",
    "messaging",
    "intake",
    "tickets",
    "attendance",
    "web",
    "integrations",
    "deliveries",
    "sagas",
    "privacy",
)


@cache
def catalog() -> Mapping[str, Mapping[str, str]]:
    merged: dict[str, Mapping[str, str]] = {}
    for area in _AREAS:
        module = import_module(f"turnout.i18n.{area}")
        merged.update(module.CATALOG)
    return merged


def pick_locale(accept_language: str | None, default: str = "en") -> str:
    """The best of ``ko``/``en`` for an ``Accept-Language`` header (q-values honoured)."""
    if not accept_language:
        return default
    best: tuple[float, str] | None = None
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = lang.strip().lower().split("-")[0]
        if primary in LOCALES and (best is None or quality > best[0]):
            best = (quality, primary)
    return best[1] if best else default


def translate(
    code: str, locale: str, params: Mapping[str, Any] | None = None, default: str | None = None
) -> str:
    entry = catalog().get(code)
    if entry is None:
        return default if default is not None else code
    template = entry.get(locale) or entry.get("en") or code
    try:
        return template.format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return template
