"""The one place a message becomes an outbox row.

Every path that writes facts (the unit of work's ``emit``, the check-in store, the import store)
stores ``Envelope.wrap(fact, ...)`` through the functions here, so the stored payload is always the
Fact class's own ``data()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from turnout.messages.base import Envelope, Message

#: the outbox's columns in the order of ``driver_row``'s values
OUTBOX_COLUMNS = ("id", "type", "key", "version", "occurred_at", "data")


def outbox_row(envelope: Envelope) -> dict[str, Any]:
    """An envelope as SQLAlchemy Core's insert parameters for the ``outbox`` table."""
    return {
        "id": envelope.id,
        "type": envelope.type,
        "key": envelope.key,
        "version": envelope.version,
        "occurred_at": envelope.occurred_at,
        "data": envelope.data,
    }


def driver_rows(
    envelopes: Sequence[Envelope], *, time: Callable[[Any], Any], json: Callable[[Any], Any]
) -> list[tuple[Any, ...]]:
    """Envelopes as the database driver's rows in ``OUTBOX_COLUMNS`` order: ``time`` and ``json``
    turn the moment and the payload into what the driver stores (see ``participant_store.json_for``
    and ``db_datetime``)."""
    return [
        (
            envelope.id,
            envelope.type,
            envelope.key,
            envelope.version,
            time(envelope.occurred_at),
            json(envelope.data),
        )
        for envelope in envelopes
    ]


def fact_driver_rows(
    messages: Sequence[Message],
    *,
    ids: Sequence[str],
    occurred_at: datetime,
    time: Callable[[Any], Any],
    json_text: Callable[[str], Any],
) -> list[tuple[Any, ...]]:
    """Many messages of one moment as driver rows: what ``driver_rows`` makes of
    ``Envelope.wrap(message, occurred_at, id)`` for each, without making the envelopes (a bulk
    writer's hot path: an import writes a ``participant.registered`` for every row). ``json_text``
    turns the payload's JSON text (``payload_text``) into what the driver stores."""
    at = time(occurred_at)
    plain = _PLAIN
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for message, message_id in zip(messages, ids, strict=True):
        cls = type(message)
        if plain.get(cls) or _plain_fields(cls):
            text = orjson.dumps(message).decode()
        else:
            text = orjson.dumps(message.data()).decode()
        append((message_id, cls.TYPE, message.key, cls.VERSION, at, json_text(text)))
    return rows


def payload_text(message: Message) -> str:
    """``message.data()`` as compact JSON text. A message whose fields are all text, whole numbers,
    booleans or None is serialised by orjson straight from the dataclass (the same text, ~7x faster;
    a test checks it for every fact class)."""
    if _plain_fields(type(message)):
        return orjson.dumps(message).decode()
    return orjson.dumps(message.data()).decode()


_PLAIN_TYPES = frozenset({"str", "int", "bool", "str | None", "int | None", "bool | None", "None"})
_PLAIN: dict[type[Message], bool] = {}


def _plain_fields(cls: type[Message]) -> bool:
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = all(str(f.type) in _PLAIN_TYPES for f in dataclasses.fields(cls))
    return plain
