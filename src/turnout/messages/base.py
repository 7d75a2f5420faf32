"""The message envelope and the base classes of Facts and Commands.

A Fact is a frozen dataclass with a class-level ``TYPE`` (``participant.registered``) and an
``event_id`` that becomes the envelope's ``key`` (per-event ordering on the stream).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from turnout.domain.ids import new_id

SOURCE = "turnout"
F = TypeVar("F", bound="Fact")

_REGISTRY: dict[str, type[Fact]] = {}


@dataclass(frozen=True)
class Message:
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    event_id: str

    @property
    def key(self) -> str:
        return self.event_id

    def data(self) -> dict[str, Any]:
        """The message's payload: its fields as JSON-ready values (times as ISO 8601 text, enums as
        their values, tuples as lists). This is the one serialisation of a message: the outbox,
        the stream and the tests all take it from here."""
        return _serialiser(type(self))(self)


@dataclass(frozen=True)
class Fact(Message):
    """Something that happened (past tense)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE:
            _REGISTRY[cls.TYPE] = cls

    @classmethod
    def topic(cls) -> str:
        return topic_for(cls.TYPE, cls.VERSION)


@dataclass(frozen=True)
class Command(Message):
    """Something to do (imperative)."""


def topic_for(message_type: str, version: int = 1) -> str:
    """``attendance.recorded`` -> ``turnout.attendance.recorded.v1``."""
    return f"{SOURCE}.{message_type}.v{version}"


def fact_types() -> dict[str, type[Fact]]:
    return dict(_REGISTRY)


def _serialiser(cls: type[Message]) -> Callable[[Message], dict[str, Any]]:
    """``data()`` of ``cls``: its field names and one getter for all of them, found once per class
    (walking ``dataclasses.fields`` per message costs twice as much, which counts when a bulk upload
    writes thousands of facts). A str, an int or None is taken as it is; anything else goes through
    ``_plain``."""
    serialise = _SERIALISERS.get(cls)
    if serialise is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        values = attrgetter(*names)

        def serialise(message: Message) -> dict[str, Any]:
            found = values(message)
            if len(names) == 1:
                found = (found,)
            return {
                name: value if type(value) in _AS_IS else _plain(value)
                for name, value in zip(names, found, strict=True)
            }

        _SERIALISERS[cls] = serialise
    return serialise


_SERIALISERS: dict[type[Message], Callable[[Message], dict[str, Any]]] = {}
_AS_IS = frozenset({str, int, type(None)})


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


@dataclass(frozen=True)
class Envelope:
    """What the outbox stores and the stream carries."""

    id: str
    type: str
    occurred_at: datetime
    key: str
    data: dict[str, Any]
    version: int = 1
    source: str = SOURCE

    @classmethod
    def wrap(cls, message: Message, occurred_at: datetime, message_id: str | None = None) -> Envelope:
        return cls(
            id=message_id or new_id(),
            type=message.TYPE,
            occurred_at=occurred_at,
            key=message.key,
            data=message.data(),
            version=message.VERSION,
        )

    @property
    def topic(self) -> str:
        return topic_for(self.type, self.version)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "key": self.key,
            "data": self.data,
            "source": self.source,
            "version": self.version,
        }
