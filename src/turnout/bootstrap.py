"""The one place that wires Turnout: settings -> engine -> unit of work -> adapters -> services.

Tests call ``bootstrap(settings, clock=FakeClock(), ...)`` to swap collaborators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.uow import UnitOfWork
from turnout.adapters.signing import KeyVault
from turnout.config import Settings
from turnout.ports import Clock, SystemClock
from turnout.services.bus import HandlerRegistry
from turnout.services.keys import KeyAuthenticator
from turnout.services.ticketing import TicketBook


@dataclass
class Turnout:
    """Everything a process needs, wired once."""

    settings: Settings
    engine: sa.Engine
    clock: Clock
    authenticator: KeyAuthenticator
    tickets: TicketBook
    handlers: HandlerRegistry
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock, readonly=readonly)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: sa.Engine | None = None,
) -> Turnout:
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)

    def uow_factory(*, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(engine, clock, readonly=readonly)

    handlers = HandlerRegistry()
    turnout = Turnout(
        settings=settings,
        engine=engine,
        clock=clock,
        authenticator=KeyAuthenticator(uow_factory),
        tickets=TicketBook(KeyVault(settings.resolve_secret_key())),
        handlers=handlers,
    )
    register_handlers(turnout)
    return turnout


def register_handlers(turnout: Turnout) -> None:
    """Subscribe the default handlers (each area adds its own here)."""
