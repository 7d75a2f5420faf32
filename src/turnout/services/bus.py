"""Handler registry: which local handlers run for which message type.

A handler is ``handler(envelope, uow)``. It makes its database effects through ``uow`` — the relay
runs it inside a transaction that also records the delivery as done, so the effect and the record
commit together (exactly once). External side effects are never made from a handler directly:
handlers enqueue durable jobs (an email job, a webhook delivery) that their own workers send.

Collaborators are bound with ``functools.partial`` in ``bootstrap.py`` (cosmicpython style).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from turnout.messages.base import Envelope
from turnout.ports import UnitOfWork

Handler = Callable[[Envelope, UnitOfWork], None]


@dataclass(frozen=True)
class Subscription:
    name: str
    handler: Handler


class HandlerRegistry:
    def __init__(self) -> None:
        self._by_type: dict[str, list[Subscription]] = {}

    def subscribe(self, types: Iterable[str], handler: Handler, *, name: str | None = None) -> None:
        """Run ``handler`` for every message of ``types``. ``name`` is its stable id in delivery records."""
        handler_name = name or getattr(handler, "__name__", None) or repr(handler)
        for message_type in types:
            subs = self._by_type.setdefault(message_type, [])
            if any(s.name == handler_name for s in subs):
                raise ValueError(f"handler {handler_name!r} already subscribed to {message_type!r}")
            subs.append(Subscription(handler_name, handler))

    def handlers_for(self, message_type: str) -> list[Subscription]:
        return list(self._by_type.get(message_type, ()))

    def types(self) -> list[str]:
        return sorted(self._by_type)

    def names(self) -> list[str]:
        return sorted({s.name for subs in self._by_type.values() for s in subs})
