"""Fast sequential UUIDv7 ids: valid version-7 UUIDs that sort by creation."""

from __future__ import annotations

import time
import uuid

from turnout.domain.ids import sequential_ids


def test_sequential_ids_are_uuid7_with_the_rfc_variant_when_generated() -> None:
    ids = sequential_ids(5000)
    for text in ids:
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)


def test_sequential_ids_sort_in_creation_order_when_called_repeatedly() -> None:
    batches = [sequential_ids(n) for n in (1, 4095, 4097, 3, 10_000)]
    flat = [i for batch in batches for i in batch]
    assert flat == sorted(flat)


def test_sequential_ids_carry_the_current_millisecond_when_generated() -> None:
    before = time.time_ns() // 1_000_000
    first = sequential_ids(1)[0]
    stamp = int(first.replace("-", "")[:12], 16)
    assert before <= stamp <= before + 60_000


def test_sequential_ids_are_random_in_the_low_bits_when_generated() -> None:
    tails = {i[-12:] for i in sequential_ids(1000)}
    assert len(tails) == 1000
    assert sequential_ids(0) == []
