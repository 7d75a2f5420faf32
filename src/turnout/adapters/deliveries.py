"""What the outbox relay and the stream consumer share: running a handler in a savepoint, the retry
backoff, error texts, envelopes read back from JSON, and the tally of one cycle for the metrics."""

from __future__ import annotations

import random
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from turnout.adapters import metrics
from turnout.messages.base import Envelope
from turnout.ports import UnitOfWork
from turnout.services.bus import Handler, HandlerRegistry
from turnout.services.messaging import UNDECODABLE

__all__ = [
    "MAX_ERROR",
    "UNDECODABLE",
    "Subscription",
    "Tally",
    "backoff_seconds",
    "describe_error",
    "envelope_from_dict",
    "run_in_savepoint",
    "subscriptions",
]

MAX_ERROR = 4000  # characters of an error kept with a delivery


@dataclass(frozen=True, slots=True)
class Subscription:
    """One handler and every message type it takes."""

    handler: Handler
    types: frozenset[str]


def subscriptions(registry: HandlerRegistry) -> dict[str, Subscription]:
    """Handler name -> its handler and the message types it takes."""
    found: dict[str, tuple[Handler, set[str]]] = {}
    for message_type in registry.types():
        for sub in registry.handlers_for(message_type):
            found.setdefault(sub.name, (sub.handler, set()))[1].add(message_type)
    return {name: Subscription(handler, frozenset(types)) for name, (handler, types) in found.items()}


def envelope_from_dict(data: dict[str, Any]) -> Envelope:
    """The inverse of ``Envelope.as_dict()``; raises ``KeyError``/``ValueError``/``TypeError`` on junk."""
    occurred = data["occurred_at"]
    occurred_at = occurred if isinstance(occurred, datetime) else datetime.fromisoformat(str(occurred))
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at has no timezone")
    if not isinstance(data["data"], dict):
        raise TypeError("data is not an object")
    return Envelope(
        id=str(data["id"]),
        type=str(data["type"]),
        occurred_at=occurred_at,
        key=str(data["key"]),
        data=data["data"],
        version=int(data.get("version", 1)),
        source=str(data.get("source", "turnout")),
    )


def describe_error(exc: BaseException) -> str:
    """The exception and the last lines of its traceback, cut to ``MAX_ERROR`` characters."""
    tail = "".join(traceback.format_exception(exc)[-3:])
    return f"{type(exc).__name__}: {exc}\n{tail}"[:MAX_ERROR]


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with ("equal") jitter: half fixed, half random, never 0."""
    delay = min(cap, base * 2.0 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def run_in_savepoint(uow: UnitOfWork, handler: Handler, envelopes: Iterable[Envelope]) -> Exception | None:
    """Run ``handler`` over ``envelopes`` inside one savepoint; on an exception roll it back (its
    after-commit callbacks and emitted messages too) and return the exception.

    A handler object that also has ``handle_many(envelopes, uow)`` gets a run of several messages in
    one call (for ``executemany``); if that raises, the caller falls back to one call per message."""
    batch = list(envelopes)
    many = getattr(handler, "handle_many", None) if len(batch) > 1 else None
    try:
        with uow.savepoint():
            if many is not None:
                many(batch, uow)
            else:
                for envelope in batch:
                    handler(envelope, uow)
    except Exception as exc:
        return exc
    return None


@dataclass
class Tally:
    """What one relay or consumer cycle did (metrics are counted after its commit)."""

    delivered: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    passed: int = 0  # outbox messages the cursors moved past

    def add(self, counter: dict[str, int], name: str, n: int = 1) -> None:
        if n:
            counter[name] = counter.get(name, 0) + n

    @property
    def deliveries(self) -> int:
        return sum(self.delivered.values())

    def count(self) -> None:
        for name, n in self.delivered.items():
            metrics.messages_delivered.labels(name).inc(n)
        for name, n in self.retried.items():
            metrics.messages_retried.labels(name).inc(n)
        for name, n in self.dead.items():
            metrics.messages_dead.labels(name).inc(n)
