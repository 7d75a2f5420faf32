"""Messages in Korean and English for every error code and UI string.

Each area keeps its own catalogue module (``spine``, ``intake``, ``tickets``, ``attendance``,
``messaging``); a catalogue maps a code to ``{"ko": ..., "en": ...}`` with ``str.format`` fields.
An entry may add ``"ko_plain"``/``"en_plain"``: the message used when its params are not given
(say ``payload_too_large`` without the limit).

A param whose value is a code (an event status, a field name, a scan method, a role, a reason…)
is never spliced raw into a message: :func:`localise_params` shows it through its own catalogue
entry first (``event_status.draft`` -> ``준비 중``); see ``ENUM_PARAMS``. The words used are in
``docs/glossary.md``.
"""

from __future__ import annotations

import string
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
    "consent",
    "notice",
    "cli",
    "privacy",
    "console_events",
    "console_gates",
    "console_people",
    "console_import",
    "console_mail",
    "console_ops",
    "console_dashboard",
    "export",
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


#: message params whose value is a code, and the catalogue prefix that names it: a param
#: ``status="draft"`` is shown as the entry ``event_status.draft``. A value with no entry is shown
#: as it is (a file's own column name, say).
ENUM_PARAMS: dict[str, str] = {
    "status": "event_status",
    "current": "event_status",
    "target": "event_status",
    "field": "field",
    "column": "field",
    "method": "method",
    "role": "role",
    "direction": "direction",
    "email_status": "email_status",
    "state": "saga_state",
    "system": "system",
    "unit": "unit",
    "allowed": "event_status",
}

#: the same, where one message's param is of another kind than ``ENUM_PARAMS`` says
ENUM_PARAMS_BY_CODE: dict[str, dict[str, str]] = {
    "delivery_not_finished": {"status": "delivery_status"},
    "cli.deliveries.retried": {"status": "delivery_status"},
}

MEGABYTE = 1024 * 1024


def megabytes(size: int | float) -> str:
    """``10485760`` -> ``"10"``; ``1572864`` -> ``"1.5"``; small sizes keep two decimals."""
    value = size / MEGABYTE
    text = f"{value:.2f}" if value < 1 else f"{value:.1f}"
    return text.rstrip("0").rstrip(".") or "0"


def _fill(template: str, params: Mapping[str, Any]) -> str | None:
    try:
        return string.Formatter().vformat(template, (), dict(params))
    except (KeyError, IndexError, ValueError, AttributeError):
        return None


def value_key(code: str, name: str, value: Any) -> str | None:
    """The catalogue entry that shows param ``name`` = ``value`` of message ``code``, if any:
    ``{code}.{name}.{value}`` (a reason only this message gives), else ``{kind}.{value}``."""
    if not isinstance(value, str) or not value:
        return None
    entries = catalog()
    own = f"{code}.{name}.{value}"
    if own in entries:
        return own
    kind = ENUM_PARAMS_BY_CODE.get(code, {}).get(name) or ENUM_PARAMS.get(name)
    if kind is not None and f"{kind}.{value}" in entries:
        return f"{kind}.{value}"
    return None


def localise_params(code: str, locale: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` as a message in ``locale`` shows them: codes translated (see ``ENUM_PARAMS``),
    ``max_bytes`` also given as ``max_mb``."""
    raw = dict(params or {})
    shown = dict(raw)
    for name, value in raw.items():
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            kind = ENUM_PARAMS_BY_CODE.get(code, {}).get(name) or ENUM_PARAMS.get(name)
            names = [label(kind, v, locale) if kind else v for v in value]
            shown[name] = ", ".join(names) if names else translate("list.none", locale)
            continue
        key = value_key(code, name, value)
        if key is not None:
            entry = catalog()[key]
            template = entry.get(locale) or entry.get("en") or str(value)
            shown[name] = _fill(template, raw) or template
    if "unit" not in raw and ("max" in raw or "min" in raw):
        shown["unit"] = label("unit", "characters", locale)  # a length limit counts characters
    for name in ("max_bytes", "size_bytes"):
        value = raw.get(name)
        target = name.replace("_bytes", "_mb")
        if isinstance(value, int | float) and not isinstance(value, bool) and target not in raw:
            shown[target] = megabytes(value)
    return shown


def translate(
    code: str, locale: str, params: Mapping[str, Any] | None = None, default: str | None = None
) -> str:
    entry = catalog().get(code)
    if entry is None:
        return default if default is not None else code
    template = entry.get(locale) or entry.get("en") or code
    filled = _fill(template, localise_params(code, locale, params))
    if filled is not None:
        return filled
    plain = entry.get(f"{locale}_plain") or entry.get("en_plain")
    return plain if plain is not None else template


def label(kind: str, value: str, locale: str) -> str:
    """A code's name for a person: ``label("event_status", "draft", "ko")`` -> ``준비 중``;
    the value itself when the catalogue has no entry for it."""
    return translate(f"{kind}.{value}", locale, default=value)
