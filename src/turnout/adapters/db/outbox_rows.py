"""The one place a message becomes an outbox row.

Every path that writes facts (the unit of work's ``emit``, the check-in store, the import store)
stores ``Envelope.wrap(fact, ...)`` through the functions here, so the stored payload is always the
Fact class's own ``data()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

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
    json: Callable[[Any], Any],
) -> list[tuple[Any, ...]]:
    """Many messages of one moment as driver rows: what ``driver_rows`` makes of
    ``Envelope.wrap(message, occurred_at, id)`` for each, without making the envelopes (a bulk
    writer's hot path: an import writes a ``participant.registered`` for every row)."""
    at = time(occurred_at)
    return [
        (message_id, message.TYPE, message.key, message.VERSION, at, json(message.data()))
        for message, message_id in zip(messages, ids, strict=True)
    ]
