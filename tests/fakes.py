"""Test doubles (``Fake*``): only ports are faked, never our own database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 5, 1, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.current = moment
