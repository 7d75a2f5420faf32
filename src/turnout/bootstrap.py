"""The one place that wires Turnout: settings -> engine -> unit of work -> adapters -> services.

Tests call ``bootstrap(settings, clock=FakeClock(), ...)`` to swap collaborators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.uow import UnitOfWork
from turnout.config import Settings
from turnout.ports import Clock, SystemClock
from turnout.services.keys import KeyAuthenticator


@dataclass
class Turnout:
    """Everything a process needs, wired once."""

    settings: Settings
    engine: sa.Engine
    clock: Clock
    authenticator: KeyAuthenticator
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

    return Turnout(
        settings=settings,
        engine=engine,
        clock=clock,
        authenticator=KeyAuthenticator(uow_factory),
    )
