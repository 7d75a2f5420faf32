"""The outbox relay: hands outbox messages to local handlers and publishes them to the stream.

    relay = Relay(uow_factory, handlers, settings=RelaySettings(), single_writer=True)
    relay.drain()      # deliver everything pending now (tests, scripts); returns deliveries

``bootstrap.Turnout.relay()`` makes one wired to the process's database, handlers and settings. The
relay's reads and writes of the bus state go through ``uow.messages`` (``SqlMessageStore``); the
loops that drive it are in ``entrypoints/workers.py``.

How exactly-once works (see docs/messaging.md):

* Every local handler has a cursor (``relay_cursors``: last outbox ``seq`` it has seen). A batch of
  messages is handled in ONE transaction: each handler runs inside a SAVEPOINT, and its cursor is
  advanced in the same transaction, so a handler's effects and its "done" commit together or not at
  all (a relay killed mid-batch leaves nothing half-done; the batch is simply done again).
* A handler that raises has its savepoint rolled back; a ``message_deliveries`` row (``pending``) is
  written for that (message, handler) with the error and a retry time (exponential backoff with
  jitter); the cursor moves on and the other handlers are untouched. After
  ``RelaySettings.max_attempts`` failed attempts the delivery is ``dead``.
* Two relays never hand the same message to the same handler: on PostgreSQL a relay locks the
  cursor rows it works on (``FOR UPDATE SKIP LOCKED``, held by its transaction, released by the
  server if the relay dies); on SQLite every writer takes ``BEGIN IMMEDIATE``, one at a time.
* On PostgreSQL, outbox ``seq`` values become visible out of order (a transaction that took seq 10
  may commit after one that took seq 11). A cursor must never skip a message that is not visible yet,
  so the relay only reads up to a *safe high-water mark* that moves once every transaction that was
  running when the newest seq was seen has ended (``_high_water``; it takes no lock).
* The stream has its own cursor (``consumer = "kafka"``) guarded by a time-limited lease. A batch is
  published and flushed (acks=all, idempotent producer), then the cursor advances. A relay killed
  after the broker acknowledged but before the cursor commit republishes that batch: the only
  duplicates on the topics, each with the same message id for consumers to drop.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from turnout.adapters import metrics
from turnout.adapters.db.message_store import OutboxEntry
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.adapters.deliveries import (
    Subscription,
    Tally,
    backoff_seconds,
    describe_error,
    envelope_from_dict,
    run_in_savepoint,
    subscriptions,
)
from turnout.ports import Delivery, Publisher
from turnout.services.bus import Handler, HandlerRegistry

log = logging.getLogger(__name__)

STREAM = "kafka"  # the stream publisher's cursor
PUBLISH_BATCH = 5000
SETTLE_SECONDS = 0.02
SQLITE_BATCH_SECONDS = 0.05  # longest a relay batch should hold SQLite's write lock
MIN_BATCH = 20


class SqlUnitOfWorkFactory(Protocol):
    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork: ...


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """``TURNOUT_RELAY_BATCH_SIZE``, ``TURNOUT_HANDLER_MAX_ATTEMPTS``, ``TURNOUT_RELAY_LEASE_SECONDS``."""

    batch_size: int = 500
    max_attempts: int = 8
    lease_seconds: float = 30.0


class Relay:
    """Outbox -> local handlers (+ retries) and outbox -> stream. Safe to run in several processes.

    ``single_writer``: the database lets one transaction write at a time and commits seqs in order
    (SQLite): no high-water mark is needed, and a batch, which holds the write lock, is sized to take
    about ``SQLITE_BATCH_SECONDS``. ``publisher`` (or ``publisher_factory``, called on first use, the
    publisher then closed by ``close``) streams the outbox; with neither, ``publish_once`` does nothing.
    """

    def __init__(
        self,
        uow_factory: SqlUnitOfWorkFactory,
        handlers: HandlerRegistry,
        *,
        settings: RelaySettings,
        single_writer: bool,
        deliver_locally: bool = True,
        publisher: Publisher | None = None,
        publisher_factory: Callable[[], Publisher] | None = None,
        retry_base_seconds: float = 1.0,
        retry_cap_seconds: float = 3600.0,
        rng: random.Random | None = None,
        handler_filter: Callable[[str], bool] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.handlers = handlers
        #: which handlers (by name) this relay runs, new messages and retries; None: all of them
        self.handler_filter = handler_filter
        self.settings = settings
        self.single_writer = single_writer
        self.deliver_locally = deliver_locally
        self._publisher = publisher
        self._publisher_factory = publisher_factory
        self._own_publisher = False
        self.batch_size = settings.batch_size
        self._batch = self.batch_size
        self.retry_base = retry_base_seconds
        self.retry_cap = retry_cap_seconds
        self.rng = rng or random.Random()
        self.max_attempts = settings.max_attempts
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self._known_cursors: set[str] = set()
        self._safe_high = 0  # PostgreSQL: every seq <= this is final (committed or never will be)
        self._candidate: tuple[int, int | None, float] | None = None  # (seq, xid fence, seen at)

    # --- wiring -------------------------------------------------------------------------------------

    @property
    def publisher(self) -> Publisher | None:
        if self._publisher is None and self._publisher_factory is not None:
            self._publisher = self._publisher_factory()
            self._own_publisher = True
        return self._publisher

    def close(self) -> None:
        if self._own_publisher and self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    @property
    def subscriptions(self) -> dict[str, Subscription]:
        subs = subscriptions(self.handlers)
        if self.handler_filter is None:
            return subs
        return {name: sub for name, sub in subs.items() if self.handler_filter(name)}

    def _ensure_cursors(self, names: Iterable[str]) -> None:
        missing = [n for n in names if n not in self._known_cursors]
        if not missing:
            return
        with self.uow_factory() as uow:
            uow.messages.ensure_cursors(missing)
            uow.commit()
        self._known_cursors.update(missing)

    def _high_water(self) -> int | None:
        """The highest seq that may be read, or None for "no bound" (one writer at a time).

        PostgreSQL: ``newest`` (the largest visible seq) becomes safe once every transaction that
        could still hold a smaller seq has ended. Such a transaction was running when ``newest``
        was seen; its xid is below the ``xmax`` of a snapshot taken ``SETTLE_SECONDS`` later (the
        wait covers the instant between ``nextval`` and the insert's xid assignment), so the mark
        moves once a snapshot's ``xmin`` reaches that ``xmax``. Nothing waits on a lock."""
        if self.single_writer:
            return None
        with self.uow_factory(readonly=True) as uow:
            seen = uow.messages.outbox_snapshot()
        if seen is None:
            return None
        now = time.monotonic()
        candidate = self._candidate
        if candidate is not None:
            mark, fence, seen_at = candidate
            if fence is None and now - seen_at >= SETTLE_SECONDS:
                fence = seen.xmax
            if fence is not None and seen.xmin >= fence:
                self._safe_high = mark
                candidate = None
            else:
                candidate = (mark, fence, seen_at)
        if candidate is None and seen.newest_seq > self._safe_high:
            candidate = (seen.newest_seq, None, now)
        self._candidate = candidate
        return self._safe_high

    @property
    def settling(self) -> bool:
        """True while newer outbox messages wait for their high-water mark (PostgreSQL)."""
        return self._candidate is not None

    # --- local delivery -----------------------------------------------------------------------------

    def deliver_once(self) -> Tally:
        """One batch of new outbox messages to every handler whose cursor is behind."""
        tally = Tally()
        subs = self.subscriptions
        if not subs:
            return tally
        self._ensure_cursors(subs)
        high = self._high_water()  # before our own transaction (which takes an xid)
        started = time.perf_counter()
        with self.uow_factory() as uow:
            store = uow.messages
            cursors = store.claim_cursors(list(subs))
            if not cursors:
                return tally
            entries = store.outbox_batch(after=min(cursors.values()), up_to=high, limit=self._batch)
            if not entries:
                return tally
            last_seq = entries[-1].seq
            tally.passed = len(entries)
            recorded = store.recorded([entry.envelope.id for entry in entries])
            now = uow.clock.now()
            for name, position in cursors.items():
                sub = subs[name]
                todo = [
                    entry
                    for entry in entries
                    if entry.seq > position
                    and entry.envelope.type in sub.types
                    and (entry.envelope.id, name) not in recorded
                ]
                if todo:
                    self._deliver(uow, name, sub.handler, todo, now, tally)
                store.advance_cursor(
                    name, position=max(position, last_seq), handled=tally.delivered.get(name, 0), now=now
                )
            uow.commit()
        self._size_batch(time.perf_counter() - started, full=tally.passed >= self._batch)
        tally.count()
        return tally

    def _size_batch(self, seconds: float, *, full: bool) -> None:
        if not self.single_writer:
            return
        if seconds > SQLITE_BATCH_SECONDS and self._batch > MIN_BATCH:
            self._batch = max(MIN_BATCH, self._batch // 2)
        elif full and seconds < SQLITE_BATCH_SECONDS / 2 and self._batch < self.batch_size:
            self._batch = min(self.batch_size, self._batch * 2)

    def _deliver(
        self,
        uow: SqlUnitOfWork,
        name: str,
        handler: Handler,
        todo: list[OutboxEntry],
        now: datetime,
        tally: Tally,
    ) -> None:
        # Optimistic: the whole run in one savepoint; if anything fails, one savepoint per message.
        if run_in_savepoint(uow, handler, [entry.envelope for entry in todo]) is None:
            tally.add(tally.delivered, name, len(todo))
            return
        for entry in todo:
            envelope = entry.envelope
            error = run_in_savepoint(uow, handler, [envelope])
            if error is None:
                tally.add(tally.delivered, name)
                continue
            log.warning("handler %s failed on %s %s: %s", name, envelope.type, envelope.id, error)
            dead = self.max_attempts <= 1
            tally.add(tally.dead if dead else tally.retried, name)
            uow.messages.add_delivery(
                Delivery(
                    message_id=envelope.id,
                    handler=name,
                    message_type=envelope.type,
                    message_seq=entry.seq,
                    envelope=envelope.as_dict(),
                    source="outbox",
                    status="dead" if dead else "pending",
                    attempts=1,
                    next_attempt_at=None if dead else now + self._backoff(1),
                    last_error=describe_error(error),
                    created_at=now,
                    updated_at=now,
                )
            )

    def _backoff(self, attempts: int) -> timedelta:
        seconds = backoff_seconds(attempts, base=self.retry_base, cap=self.retry_cap, rng=self.rng)
        return timedelta(seconds=seconds)

    # --- retries ------------------------------------------------------------------------------------

    def retry_due(self) -> Tally:
        """Run the pending deliveries whose retry time has come (from the outbox or the stream)."""
        tally = Tally()
        subs = self.subscriptions
        if not subs:
            return tally
        with self.uow_factory() as uow:
            now = uow.clock.now()
            due = uow.messages.claim_due(list(subs), now=now, limit=self.batch_size)
            if not due:
                return tally
            for delivery in due:
                self._attempt(uow, delivery, subs[delivery.handler].handler, now, tally)
            uow.commit()
        tally.count()
        return tally

    def _attempt(
        self, uow: SqlUnitOfWork, delivery: Delivery, handler: Handler, now: datetime, tally: Tally
    ) -> None:
        attempts = delivery.attempts + 1
        try:
            envelope = envelope_from_dict(delivery.envelope)
        except (KeyError, ValueError, TypeError) as exc:
            error: Exception | None = exc
        else:
            error = run_in_savepoint(uow, handler, [envelope])
        if error is None:
            tally.add(tally.delivered, delivery.handler)
            uow.messages.record_attempt(
                message_id=delivery.message_id,
                handler=delivery.handler,
                status="done",
                attempts=attempts,
                next_attempt_at=None,
                last_error=None,
                now=now,
            )
            return
        dead = attempts >= self.max_attempts
        tally.add(tally.dead if dead else tally.retried, delivery.handler)
        log.warning(
            "handler %s failed again (%d) on %s: %s", delivery.handler, attempts, delivery.message_id, error
        )
        uow.messages.record_attempt(
            message_id=delivery.message_id,
            handler=delivery.handler,
            status="dead" if dead else "pending",
            attempts=attempts,
            next_attempt_at=None if dead else now + self._backoff(attempts),
            last_error=describe_error(error),
            now=now,
        )

    # --- the stream ---------------------------------------------------------------------------------

    def publish_once(self) -> int:
        """Publish one batch to the stream (when there is a publisher); returns messages published."""
        publisher = self.publisher
        if publisher is None:
            return 0
        self._ensure_cursors([STREAM])
        position = self._take_lease()
        if position is None:
            return 0
        published = 0
        last_seq = position
        try:
            high = self._high_water()
            with self.uow_factory(readonly=True) as uow:
                entries = uow.messages.outbox_batch(after=position, up_to=high, limit=PUBLISH_BATCH)
            if entries:
                envelopes = [entry.envelope for entry in entries]
                published = publisher.publish(envelopes)
                if published:
                    last_seq = entries[published - 1].seq
                    for envelope in envelopes[:published]:
                        metrics.messages_published.labels(envelope.type).inc()
        finally:
            self._release_lease(last_seq, published)
        return published

    def _take_lease(self) -> int | None:
        with self.uow_factory() as uow:
            now = uow.clock.now()
            until = now + timedelta(seconds=self.settings.lease_seconds)
            position = uow.messages.take_lease(STREAM, owner=self.owner, until=until, now=now)
            uow.commit()
        return position

    def _release_lease(self, last_seq: int, published: int) -> None:
        with self.uow_factory() as uow:
            uow.messages.release_lease(
                STREAM, owner=self.owner, position=last_seq, handled=published, now=uow.clock.now()
            )
            uow.commit()

    # --- driving ------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """One round of local delivery and retries; returns deliveries made (successful handler runs)."""
        delivered = 0
        if self.deliver_locally:
            delivered += self.deliver_once().deliveries
        delivered += self.retry_due().deliveries
        return delivered

    def drain(self, *, publish: bool = True, max_rounds: int = 100_000, settle_timeout: float = 5.0) -> int:
        """Deliver every pending outbox message to the local handlers (and publish to the stream when
        there is a publisher), until nothing is left that is due now. Returns successful handler runs.
        On PostgreSQL it waits up to ``settle_timeout`` for transactions still open to end."""
        total = 0
        settle_until = time.monotonic() + settle_timeout
        for _ in range(max_rounds):
            progressed = 0
            mark = self._safe_high
            if self.deliver_locally:
                tally = self.deliver_once()
                total += tally.deliveries
                progressed += tally.passed
            retried = self.retry_due()
            total += retried.deliveries
            progressed += len(retried.delivered) + len(retried.retried) + len(retried.dead)
            if publish:
                progressed += self.publish_once()
            if self._safe_high != mark:
                continue  # the high-water mark moved: there is more to read
            if not progressed and self.settling and time.monotonic() < settle_until:
                time.sleep(SETTLE_SECONDS / 2)
                continue
            if not progressed:
                break
        return total


# --- bus metrics read from the database at scrape time (every process sees the same figures) ---------


def consumer_names(handlers: HandlerRegistry, *, streaming: bool) -> list[str]:
    """Every consumer of the outbox: each subscribed handler, and the stream publisher when streaming."""
    names = list(subscriptions(handlers))
    if streaming:
        names.append(STREAM)
    return names


@dataclass
class BusReading:
    lag_messages: float = 0.0
    lag_seconds: float = 0.0
    handled: dict[str, int] = field(default_factory=dict)  # consumer -> messages passed on the fast path
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (handler, status) -> rows


def read_bus(uow_factory: SqlUnitOfWorkFactory, consumers: Sequence[str]) -> BusReading:
    """The bus figures now: the lag behind the slowest of ``consumers``, messages each consumer
    handled, deliveries by handler and state."""
    reading = BusReading()
    with uow_factory(readonly=True) as uow:
        store = uow.messages
        cursors = store.cursors()
        reading.handled = {cursor.consumer: cursor.handled for cursor in cursors}
        reading.deliveries = {(c.handler, c.status): c.count for c in store.delivery_counts()}
        if consumers:
            positions = {cursor.consumer: cursor.position for cursor in cursors}
            lag = store.lag_after(min(positions.get(name, 0) for name in consumers))
            reading.lag_messages = float(lag.messages)
            if lag.oldest_at is not None:
                reading.lag_seconds = max(0.0, (uow.clock.now() - lag.oldest_at).total_seconds())
    return reading


def outbox_lag(uow_factory: SqlUnitOfWorkFactory, consumers: Sequence[str]) -> tuple[float, float]:
    """(messages, seconds): outbox messages some consumer has not passed yet, and the oldest's age."""
    reading = read_bus(uow_factory, consumers)
    return reading.lag_messages, reading.lag_seconds


class BusProbe:
    """Reads the bus state for ``/metrics`` (cached ``ttl`` seconds): the relay runs in the worker
    process, so the API process's own counters would not show its work."""

    def __init__(self, read: Callable[[], BusReading], ttl: float = 1.0) -> None:
        self._read_now = read
        self.ttl = ttl
        self._at = 0.0
        self._value = BusReading()
        self._lock = threading.Lock()

    def read(self) -> BusReading:
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._value
            try:
                self._value = self._read_now()
            except Exception:  # the database is away: report "unknown"
                self._value = BusReading(float("nan"), float("nan"))
            self._at = time.monotonic()
            return self._value


class BusCollector:
    """``turnout_bus_handled_total{consumer}`` (messages each handler passed on the fast path; for
    ``kafka``: published) and ``turnout_bus_deliveries{handler,status}`` (pending / done / dead
    off-path deliveries), database-wide."""

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        reading = _probe.read() if _probe is not None else BusReading()
        handled = CounterMetricFamily(
            "turnout_bus_handled",
            "Outbox messages passed by each consumer (database-wide)",
            labels=["consumer"],
        )
        for consumer, n in sorted(reading.handled.items()):
            handled.add_metric([consumer], n)
        deliveries = GaugeMetricFamily(
            "turnout_bus_deliveries",
            "Deliveries off the fast path by state: pending, done, dead (database-wide)",
            labels=["handler", "status"],
        )
        for (handler, status), n in sorted(reading.deliveries.items()):
            deliveries.add_metric([handler, status], n)
        return [handled, deliveries]

    def describe(self) -> Iterable[Any]:
        return []


_probe: BusProbe | None = None
_collector: BusCollector | None = None


def install_lag_gauge(read: Callable[[], BusReading]) -> None:
    """Point the bus metrics at ``read`` (this process's database; the latest wiring wins)."""
    global _probe, _collector
    _probe = BusProbe(read)
    metrics.outbox_lag.set_function(lambda: _probe.read().lag_messages if _probe else 0.0)
    metrics.outbox_lag_seconds.set_function(lambda: _probe.read().lag_seconds if _probe else 0.0)
    if _collector is None:
        _collector = BusCollector()
        metrics.register_scrape_time(_collector)
