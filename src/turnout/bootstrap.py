"""The one place that wires Turnout: settings -> engine -> unit of work -> adapters -> services.

Tests call ``bootstrap(settings, clock=FakeClock(), ...)`` to swap collaborators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from turnout.adapters.clock import SystemClock
from turnout.adapters.db.checkin_store import SqlCheckInStore
from turnout.adapters.db.engine import make_engine, sqlite_file
from turnout.adapters.db.sqlite_checkin_store import SqliteCheckInStore
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.adapters.db.write_turn import TurnTakingUnitOfWork
from turnout.adapters.group_commit import GroupCommit
from turnout.adapters.signing import KeyVault
from turnout.config import Settings
from turnout.ports import CheckInStore, Clock, Mailer, TicketKeys, UnitOfWorkFactory
from turnout.services.bus import HandlerRegistry
from turnout.services.checkin import CheckIn
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
    mailer: Mailer
    checkin: CheckIn
    extras: dict[str, Any] = field(default_factory=dict)
    #: called by ``close`` (what was started on demand: a bulk upload's writer process)
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=readonly)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        """Each ``on_close`` hook (the last added first; all of them, even after one raises), then the
        engine. The first error a hook raised is raised at the end."""
        failed: BaseException | None = None
        while self.on_close:
            try:
                self.on_close.pop()()
            except BaseException as error:  # the other hooks and the engine still close
                failed = failed or error
        self.engine.dispose()
        if failed is not None:
            raise failed


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: sa.Engine | None = None,
    mailer: Mailer | None = None,
) -> Turnout:
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)

    def uow_factory(*, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, readonly=readonly)

    handlers = HandlerRegistry()
    tickets = TicketBook(KeyVault(settings.resolve_secret_key()))

    def on_recorded(event_id: str) -> None:
        from turnout.services import statistics

        statistics.changed(turnout, event_id=event_id)

    checkin = build_checkin(
        settings=settings,
        engine=engine,
        clock=clock,
        tickets=cast(TicketKeys, tickets),  # until TicketBook.keypair takes ports.UnitOfWork
        on_recorded=on_recorded,
    )
    turnout = Turnout(
        settings=settings,
        engine=engine,
        clock=clock,
        authenticator=KeyAuthenticator(uow_factory),
        tickets=tickets,
        handlers=handlers,
        mailer=mailer or default_mailer(settings),
        checkin=checkin,
    )
    turnout.on_close.append(checkin.close)
    register_handlers(turnout)
    register_extra_handlers(turnout)
    from turnout.adapters.outbox import install_lag_gauge

    install_lag_gauge(turnout)
    return turnout


def checkin_store_for(engine: sa.Engine, database_url: str) -> CheckInStore:
    """The check-in store for the database: on a SQLite file with its writer turn and writer
    process, on other SQLite with driver rows, else through SQLAlchemy Core (PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        return SqliteCheckInStore(engine, database=sqlite_file(database_url))
    return SqlCheckInStore(engine)


def build_checkin(
    *,
    settings: Settings,
    engine: sa.Engine,
    clock: Clock,
    tickets: TicketKeys,
    on_recorded: Callable[[str], None] | None = None,
    store: CheckInStore | None = None,
) -> CheckIn:
    """The check-in service with its store (``checkin_store_for`` unless given) and group commit.
    Its own writes outside the store (an event's signing key) take the store's writer turn."""
    store = store or checkin_store_for(engine, settings.database_url)
    turn = store.turn if isinstance(store, SqliteCheckInStore) else None

    def uow_factory(*, readonly: bool = False) -> SqlUnitOfWork:
        if turn is None:
            return SqlUnitOfWork(engine, clock, readonly=readonly)
        return TurnTakingUnitOfWork(engine, clock, turn, readonly=readonly)

    units: UnitOfWorkFactory = uow_factory
    return CheckIn(
        uow_factory=units,
        store=store,
        tickets=tickets,
        clock=clock,
        group_commit=GroupCommit,
        ble_debounce_seconds=settings.ble_debounce_seconds,
        bulk_batch_size=settings.bulk_batch_size,
        on_recorded=on_recorded,
    )


def default_mailer(settings: Settings) -> Mailer:
    """SMTP when ``TURNOUT_SMTP_URL`` is set, else ``.eml`` files under ``var/mail/``."""
    from turnout.adapters.mail import DropFolderMailer, SmtpMailer

    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return DropFolderMailer(settings.var_dir / "mail")


def register_extra_handlers(turnout: Turnout) -> None:
    """``TURNOUT_EXTRA_HANDLERS=module:function[,...]``: each function is called with ``turnout`` and
    subscribes what it wants (test harnesses, site-specific handlers)."""
    import importlib

    for spec in filter(None, (part.strip() for part in turnout.settings.extra_handlers.split(","))):
        module_name, _, function_name = spec.partition(":")
        setup = getattr(importlib.import_module(module_name), function_name)
        setup(turnout)


def register_handlers(turnout: Turnout) -> None:
    """Subscribe the default handlers (each area adds its own here)."""
    import functools

    from turnout.services import statistics

    turnout.handlers.subscribe(
        ["participant.registered", "attendance.recorded"],
        functools.partial(statistics.signal_live, turnout),
        name="statistics.signal_live",
    )
    from turnout.services import mailing

    turnout.handlers.subscribe(
        ["participant.registered", "ticket.reissued"],
        functools.partial(mailing.queue_ticket_email, mail_from=turnout.settings.mail_from),
        name="mailing.queue_ticket_email",
    )
    from turnout.services import messaging

    turnout.handlers.subscribe(
        ["event.status.changed"], messaging.audit_status_change, name="messaging.audit_status_change"
    )
    turnout.handlers.subscribe(
        ["event.status.changed"], messaging.invalidate_event_caches, name="messaging.invalidate_event_caches"
    )
