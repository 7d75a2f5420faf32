"""Ports: what the services need from the outside world. Adapters implement them; tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from turnout.messages.base import Envelope


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DeliveryError(Exception):
    """A message was not delivered. ``permanent`` (5xx) means never retry; otherwise retry later."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class OutgoingMail:
    """One message ready for the wire: envelope addresses and the RFC 5322 bytes (CRLF lines)."""

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes


class Mailer(Protocol):
    """Sends one email message; raises ``DeliveryError`` when it was not accepted."""

    async def send(self, mail: OutgoingMail) -> None: ...

    async def close(self) -> None:
        """Release connections (idempotent)."""
        ...


class Publisher(Protocol):
    """Streams messages (Kafka in production). ``publish`` returns how many of ``envelopes``, counted
    from the first, are durably on the stream; the rest are offered again later."""

    def publish(self, envelopes: Sequence[Envelope]) -> int: ...

    def close(self) -> None: ...
