"""The one place that wires Turnout: settings -> engine -> unit of work -> adapters -> services.

Tests call ``bootstrap(settings, clock=FakeClock(), ...)`` to swap collaborators.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from turnout.adapters import log_redaction
from turnout.adapters.address_guard import ResolvingAddressGuard
from turnout.adapters.clock import SystemClock
from turnout.adapters.cpu_load import CpuLoad
from turnout.adapters.db.checkin_store import SqlCheckInStore
from turnout.adapters.db.engine import make_engine, ping, sqlite_file
from turnout.adapters.db.gate_traffic import SqlGateTraffic
from turnout.adapters.db.sqlite_checkin_store import SqliteCheckInStore
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.adapters.db.write_turn import TurnTakingUnitOfWork, WriteTurn
from turnout.adapters.group_commit import GroupCommit
from turnout.adapters.mail_templates import JinjaTemplates, TemplateLimits
from turnout.adapters.secrets import FernetSealer
from turnout.adapters.signing import KeyVault
from turnout.config import Settings
from turnout.ports import (
    AddressGuard,
    CheckInStore,
    Clock,
    Mailer,
    Publisher,
    Sealer,
    TemplateRenderer,
    TicketKeys,
    UnitOfWorkFactory,
    WebhookSender,
)
from turnout.services.bus import HandlerRegistry
from turnout.services.cancellation import cancellation_saga
from turnout.services.checkin import CheckIn
from turnout.services.closing import close_event_saga
from turnout.services.deliveries import DeliverySender
from turnout.services.importing import Importer
from turnout.services.keys import KeyAuthenticator
from turnout.services.mail_sending import MailSender, SenderPolicy
from turnout.services.pacing import RushWatch
from turnout.services.sagas import SagaPolicy, SagaRegistry
from turnout.services.statistics import Statistics
from turnout.services.ticketing import TicketBook
from turnout.services.transfer import transfer_saga

# The message bus's adapters are imported where they are used: they import ``prometheus_client``,
# which must not happen before ``turnout serve`` / ``worker`` set up the metrics directory (the
# command line imports this module first; see ``adapters/metrics_dir.py``).
if TYPE_CHECKING:
    from turnout.adapters.kafka import StreamConsumer
    from turnout.adapters.outbox import Relay, RelaySettings
    from turnout.adapters.readers import SpreadsheetLimits


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
    #: this process's snapshot cache and change counters of the live statistics
    statistics: Statistics
    #: participant imports: running jobs, the workers' step
    importer: Importer
    #: check-in at the gates: single scans (group commit) and bulk uploads
    checkin: CheckIn
    #: integration secrets sealed at rest; where deliveries may go (``TURNOUT_ALLOW_PRIVATE_WEBHOOKS``)
    sealer: Sealer
    address_guard: AddressGuard
    #: ``turnout worker --from-kafka``: the local handlers are fed from the stream, not the outbox
    from_kafka: bool = False
    #: called by ``close`` (what was started on demand: a bulk upload's writer process)
    on_close: list[Callable[[], None]] = field(default_factory=list)
    #: renders mail templates (ticket emails, the template editor's checks)
    template_renderer: TemplateRenderer = field(default_factory=JinjaTemplates)
    #: the sagas' step definitions by kind (``services.transfer`` and the others)
    sagas: SagaRegistry = field(default_factory=SagaRegistry)
    _background_turn: WriteTurn | None = None
    _rush_watch: RushWatch | None = None

    def saga_policy(self) -> SagaPolicy:
        return SagaPolicy(
            deadline_seconds=self.settings.transfer_deadline_seconds,
            retry_seconds=self.settings.saga_retry_seconds,
            undo_attempts=self.settings.saga_undo_attempts,
            lease_seconds=self.settings.saga_lease_seconds,
        )

    def rush_watch(self) -> RushWatch:
        """This process's watch on the gates (``services.pacing``): the integrations' feeds and
        deliveries give way while a rush is on (``TURNOUT_RUSH_SCANS_PER_SECOND``,
        ``TURNOUT_DELIVERY_BUSY_CPU``)."""
        if self._rush_watch is None:
            self._rush_watch = RushWatch(
                SqlGateTraffic(self.engine),
                CpuLoad(),
                scans_per_second=self.settings.rush_scans_per_second,
                busy_cpu=self.settings.delivery_busy_cpu,
            )
        return self._rush_watch

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=readonly)

    def turn_taking_uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """``uow``, except that on a SQLite file a read-write unit takes the writer turn the gate
        scans take (``write_turn.WriteTurn``) before ``BEGIN IMMEDIATE``: background writers (the
        integrations' feeds and deliveries) then queue with the scans, which wake the moment the
        turn is free, instead of making them wait in SQLite's busy handler (sleeps up to 100 ms)."""
        database = sqlite_file(self.settings.database_url) if self.dialect == "sqlite" else None
        if readonly or database is None:
            return self.uow(readonly=readonly)
        if self._background_turn is None:
            self._background_turn = WriteTurn.beside(database)
        return TurnTakingUnitOfWork(self.engine, self.clock, self._background_turn)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check_database(self) -> str:
        """The database answers a query (raises if not); returns which it is: sqlite or postgresql."""
        ping(self.engine)
        return self.dialect

    # --- the message bus ----------------------------------------------------------------------------

    def relay(
        self,
        *,
        deliver_locally: bool = True,
        publisher: Publisher | None = None,
        batch_size: int | None = None,
        rng: random.Random | None = None,
        handler_filter: Callable[[str], bool] | None = None,
        take_turn: bool = False,
    ) -> Relay:
        """An outbox relay over this process's database and handlers (those ``handler_filter``
        accepts by name, or all). It streams to Kafka when ``TURNOUT_BROKER_URL`` is set (or through
        ``publisher``)."""
        from turnout.adapters.outbox import Relay

        settings = self.relay_settings()
        if batch_size is not None:
            settings = dataclasses.replace(settings, batch_size=batch_size)
        return Relay(
            self.turn_taking_uow if take_turn else self.uow,
            self.handlers,
            settings=settings,
            single_writer=self.dialect == "sqlite",
            deliver_locally=deliver_locally,
            publisher=publisher,
            publisher_factory=self.stream_publisher if self.settings.broker_url else None,
            rng=rng,
            handler_filter=handler_filter,
        )

    def relay_settings(self) -> RelaySettings:
        from turnout.adapters.outbox import RelaySettings

        return RelaySettings(
            batch_size=self.settings.relay_batch_size,
            max_attempts=self.settings.handler_max_attempts,
            lease_seconds=self.settings.relay_lease_seconds,
        )

    def stream_publisher(self) -> Publisher:
        from turnout.adapters.kafka import KafkaPublisher

        return KafkaPublisher.from_url(self.settings.broker_url)

    def stream_consumer(self, *, group_id: str | None = None, poll_timeout: float = 0.5) -> StreamConsumer:
        """A Kafka consumer that feeds this process's handlers (needs ``TURNOUT_BROKER_URL``)."""
        from turnout.adapters.kafka import CONSUMER_GROUP, StreamConsumer, bootstrap_servers

        return StreamConsumer(
            self.uow,
            self.handlers,
            servers=bootstrap_servers(self.settings.broker_url),
            max_attempts=self.settings.handler_max_attempts,
            group_id=group_id or CONSUMER_GROUP,
            poll_timeout=poll_timeout,
        )

    def bus_consumers(self) -> list[str]:
        """Every consumer of the outbox: the subscribed handlers, and the stream when streaming."""
        from turnout.adapters.outbox import consumer_names

        return consumer_names(self.handlers, streaming=bool(self.settings.broker_url))

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
    log_redaction.install()  # no ticket token, key, email or phone number in any log record
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)

    def uow_factory(*, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, readonly=readonly)

    handlers = HandlerRegistry()
    tickets = TicketBook(KeyVault(settings.resolve_secret_key()))
    statistics = Statistics(uow_factory)
    checkin = build_checkin(
        settings=settings, engine=engine, clock=clock, tickets=tickets, on_recorded=statistics.changed
    )
    turnout = Turnout(
        settings=settings,
        engine=engine,
        clock=clock,
        authenticator=KeyAuthenticator(uow_factory, unknown_ttl=settings.unknown_key_cache_seconds),
        tickets=tickets,
        handlers=handlers,
        mailer=mailer or default_mailer(settings),
        statistics=statistics,
        importer=importer_for(settings, uow_factory, clock, tickets),
        template_renderer=JinjaTemplates(
            TemplateLimits(
                timeout_seconds=settings.template_render_timeout_seconds,
                max_output_chars=settings.template_max_output_chars,
                memory_bytes=settings.template_memory_bytes,
            )
        ),
        checkin=checkin,
        sealer=FernetSealer(settings.resolve_secret_key()),
        address_guard=ResolvingAddressGuard(allow_private=settings.allow_private_webhooks),
    )
    turnout.on_close.append(checkin.close)
    turnout.sagas.add(transfer_saga(tickets, mail_from=settings.mail_from))
    turnout.sagas.add(cancellation_saga(mail_from=settings.mail_from))
    turnout.sagas.add(close_event_saga())
    register_handlers(turnout)
    register_extra_handlers(turnout)
    from turnout.adapters.outbox import install_lag_gauge, read_bus

    install_lag_gauge(lambda: read_bus(uow_factory, turnout.bus_consumers()))
    from turnout.adapters import webhooks

    webhooks.install_lag_gauge(uow_factory, clock)
    from turnout.adapters import metrics

    metrics.install_saga_metrics(uow_factory)
    return turnout


def xlsx_limits(settings: Settings) -> SpreadsheetLimits:
    """What an uploaded XLSX may hold (``TURNOUT_IMPORT_XLSX_*``)."""
    from turnout.adapters.readers import SpreadsheetLimits

    return SpreadsheetLimits(
        max_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
        max_ratio=settings.import_xlsx_max_ratio,
        max_rows=settings.import_xlsx_max_rows,
        max_columns=settings.import_xlsx_max_columns,
        max_shared_strings_bytes=settings.import_xlsx_max_shared_strings_bytes,
    )


def importer_for(
    settings: Settings, uow_factory: UnitOfWorkFactory, clock: Clock, tickets: TicketBook
) -> Importer:
    """Imports: files read by ``adapters.readers``; large files cleaned and signed in worker
    processes while this process reads and saves."""
    from turnout.adapters.import_cleaning import ParallelRowCleaner
    from turnout.adapters.processes import LocalProcesses
    from turnout.adapters.readers import TableFiles

    return Importer(
        uow_factory=uow_factory,
        clock=clock,
        tickets=tickets,
        files=TableFiles(xlsx_limits(settings), uploads=settings.var_dir / "imports"),
        cleaner=ParallelRowCleaner(),
        processes=LocalProcesses(),
        batch_size=settings.import_batch_size,
        max_attempts=settings.import_max_attempts,
    )


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


def mail_sender(turnout: Turnout, mailer: Mailer | None = None, **policy: Any) -> MailSender:
    """The email sender: ``turnout.mailer`` (or ``mailer``), the settings' rate and concurrency;
    ``policy`` overrides other ``SenderPolicy`` fields (``batch_size=…``, ``lease_seconds=…``)."""
    from turnout.adapters.mail_compose import TicketMailComposer

    settings = turnout.settings
    return MailSender(
        uow_factory=turnout.uow,
        clock=turnout.clock,
        mailer=mailer or turnout.mailer,
        composer=TicketMailComposer(mail_from=settings.mail_from, templates=turnout.template_renderer),
        mail_from=settings.mail_from,
        base_url=settings.base_url,
        policy=SenderPolicy(
            rate_per_second=settings.mail_rate_per_second,
            concurrency=settings.mail_concurrency,
            **policy,
        ),
    )


def delivery_sender(
    turnout: Turnout,
    *,
    sealer: Sealer | None = None,
    guard: AddressGuard | None = None,
    sender: WebhookSender | None = None,
    rng: random.Random | None = None,
    **policy: Any,
) -> DeliverySender:
    """The outbound delivery sender: httpx (or ``sender``), the settings' timeout, concurrency,
    retry window, backoff and breaker; ``policy`` overrides other ``DeliveryPolicy`` fields."""
    from turnout.adapters.webhooks import HttpxWebhookSender, count_results
    from turnout.domain.integrations import BreakerPolicy
    from turnout.services.deliveries import DeliveryPolicy

    settings = turnout.settings
    return DeliverySender(
        uow_factory=turnout.turn_taking_uow,
        clock=turnout.clock,
        sender=sender
        or HttpxWebhookSender(
            timeout_seconds=settings.delivery_timeout_seconds, max_connections=settings.delivery_concurrency
        ),
        sealer=sealer or turnout.sealer,
        guard=guard or turnout.address_guard,
        policy=DeliveryPolicy(
            **{
                "concurrency": settings.delivery_concurrency,
                "retry_hours": settings.delivery_retry_hours,
                "lease_seconds": settings.delivery_lease_seconds,
                "backoff_seconds": settings.delivery_backoff_seconds,
                "breaker": BreakerPolicy(
                    failures_to_open=settings.delivery_breaker_failures,
                    cooldown_seconds=settings.delivery_breaker_cooldown_seconds,
                ),
                **policy,
            }
        ),
        worker=f"{socket.gethostname()}:{os.getpid()}:{id(turnout):x}",
        rng=rng,
        on_results=count_results,
    )


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
    from turnout.services import statistics

    turnout.handlers.subscribe(
        ["participant.registered", "attendance.recorded"],
        functools.partial(statistics.signal_live, turnout.statistics),
        name="statistics.signal_live",
    )
    from turnout.services import mail_queue

    turnout.handlers.subscribe(
        ["participant.registered", "ticket.reissued"],
        functools.partial(mail_queue.queue_ticket_email, mail_from=turnout.settings.mail_from),
        name="mailing.queue_ticket_email",  # the stable name in delivery records
    )
    from turnout.services import messaging

    turnout.handlers.subscribe(
        ["event.status.changed"], messaging.audit_status_change, name="messaging.audit_status_change"
    )
    turnout.handlers.subscribe(
        ["event.status.changed"], messaging.invalidate_event_caches, name="messaging.invalidate_event_caches"
    )
    register_feeds(turnout)


def register_feeds(turnout: Turnout) -> None:
    """What the external systems are told (``services/feeds.py``): each feed its own subscriber."""
    from turnout.services import feeds

    subscribe = turnout.handlers.subscribe
    for name, handler in feeds.STATUS_HANDLERS:
        subscribe(["event.status.changed"], handler, name=name)
    subscribe(feeds.PARTICIPANT_FACTS, feeds.GateParticipantFeed(), name="feeds.gate_participants")
    subscribe(["gate.created", "gate.updated"], feeds.GateConfigFeed(), name="feeds.gate_configuration")
    app_facts = [*feeds.PARTICIPANT_FACTS, *feeds.ATTENDANCE_FACTS]
    subscribe(app_facts, feeds.AttendeeAppFeed(), name="feeds.attendee_app")
