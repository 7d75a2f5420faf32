"""Identifiers: UUIDv7 strings, so that ids sort by creation time (cursor pagination relies on it)."""

from __future__ import annotations

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())
