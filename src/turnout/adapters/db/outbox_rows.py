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


def fact_rows(
    facts: Sequence[tuple[str, datetime, Message]],
    *,
    time: Callable[[Any], Any],
    json_text: Callable[[str], Any] | None = None,
) -> list[tuple[Any, ...]]:
    """``(message id, occurred_at, message)`` triples as driver rows in ``OUTBOX_COLUMNS`` order:
    what ``driver_rows`` makes of ``Envelope.wrap(message, occurred_at, message_id)`` for each,
    without making the envelopes (the bulk writers' hot path: a bulk check-in writes an
    ``attendance.recorded`` for every accepted scan, an import a ``participant.registered`` for every
    row). The payload is its JSON text (``payload_text``), given to ``json_text`` when the driver
    wants something else (PostgreSQL's ``Jsonb``)."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for message_id, occurred_at, message in facts:
        text = payload_text(message)
        payload = text if json_text is None else json_text(text)
        append((message_id, message.TYPE, message.key, message.VERSION, time(occurred_at), payload))
    return rows


def payload_text(message: Message) -> str:
    """``message.data()`` as compact JSON text. A message whose fields are all text, whole numbers,
    booleans or None is serialised by orjson straight from the dataclass (the same text, several
    times faster; a test checks it for every fact class)."""
    if _PLAIN.get(type(message)) or _plain_fields(type(message)):
        return orjson.dumps(message).decode()
    return orjson.dumps(message.data()).decode()


_PLAIN_TYPES = frozenset({"str", "int", "bool", "str | None", "int | None", "bool | None", "None"})
_PLAIN: dict[type[Message], bool] = {}


def _plain_fields(cls: type[Message]) -> bool:
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = all(str(f.type) in _PLAIN_TYPES for f in dataclasses.fields(cls))
    return plain
