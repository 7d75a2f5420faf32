"""``outbox_rows.payload_text``: the JSON text of every fact class is its ``data()``'s, whichever way
it is made."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from typing import Any

import pytest

from turnout.adapters.db.outbox_rows import _plain_fields, payload_text
from turnout.messages.base import Fact, fact_types


class _Colour(StrEnum):
    RED = "red"


def _sample(field: dataclasses.Field[Any], index: int) -> Any:
    kind = str(field.type)
    if kind.startswith("int"):
        return 40 + index
    if kind.startswith("bool"):
        return True
    if kind.startswith("tuple"):
        return ("a", "b")
    if kind.startswith("dict"):
        return {"k": "v"}
    return _Colour.RED if index == 1 else f"값{index}"  # a str enum where a str goes, now and then


FACT_CLASSES = [fact_types()[name] for name in sorted(fact_types())]


@pytest.mark.parametrize("fact_class", FACT_CLASSES, ids=[c.TYPE for c in FACT_CLASSES])
def test_payload_text_is_the_facts_data_when_serialised(fact_class: type[Fact]) -> None:
    fields = dataclasses.fields(fact_class)
    fact = fact_class(**{f.name: _sample(f, i) for i, f in enumerate(fields)})
    assert json.loads(payload_text(fact)) == fact.data()
    if _plain_fields(fact_class):
        none_fields: dict[str, Any] = {f.name: None for f in fields if "None" in str(f.type)}
        if none_fields:
            sparse = dataclasses.replace(fact, **none_fields)
            assert json.loads(payload_text(sparse)) == sparse.data()
