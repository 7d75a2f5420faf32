"""Identifiers: UUIDv7 strings, so that ids sort by creation time (cursor pagination relies on it)."""

from __future__ import annotations

import os
import threading
import time

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())


_lock = threading.Lock()
_last_ms = 0
_SEQUENCE = [f"7{i:03x}-" for i in range(4096)]  # version nibble + 12-bit sequence number
_VARIANT = {f"{i:x}": "89ab"[i & 3] for i in range(16)}  # RFC 4122 variant + 2 random bits


def sequential_ids(count: int) -> list[str]:
    """``count`` UUIDv7 strings in ascending order (what ``new_id`` makes, ~10x cheaper per id).

    48-bit millisecond time, version 7, a 12-bit sequence number, the RFC 4122 variant and 62
    random bits (one ``os.urandom`` call for the whole list). Each call starts at a millisecond
    after the previous call's last one, so ids from later calls sort after earlier ones; more than
    4096 ids use the following milliseconds.
    """
    global _last_ms
    if count <= 0:
        return []
    with _lock:
        start = max(time.time_ns() // 1_000_000, _last_ms + 1)
        _last_ms = start + (count - 1) // 4096
    randomness = os.urandom(8 * count).hex()
    sequence, variant = _SEQUENCE, _VARIANT
    out: list[str] = []
    append = out.append
    for block in range(0, count, 4096):
        stamp = f"{start + block // 4096:012x}"
        head = f"{stamp[:8]}-{stamp[8:]}-"
        for index in range(block, min(count, block + 4096)):
            r = randomness[16 * index : 16 * index + 16]
            append(f"{head}{sequence[index & 0xFFF]}{variant[r[0]]}{r[1:4]}-{r[4:]}")
    return out
