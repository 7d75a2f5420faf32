"""Consent for tests that register people: every registration carries ``consents``."""

from __future__ import annotations

from typing import Any

#: the person agreed to the required items only
REQUIRED: dict[str, Any] = {"required": True}
#: the person agreed to the required and the optional items (what the tests' people usually give)
ALL: dict[str, Any] = {"required": True, "optional": True}


def consenting(body: dict[str, Any], consents: dict[str, Any] | None = None) -> dict[str, Any]:
    """``body`` with ``consents`` (the required and optional items unless given)."""
    return {**body, "consents": dict(consents if consents is not None else ALL)}
