"""The outbox relay: hands outbox messages to local handlers and publishes them to the stream.

    from turnout.adapters.outbox import Relay
    Relay(turnout).drain()      # deliver everything pending now (tests, scripts); returns deliveries

How exactly-once works (see docs/messaging.md):

* Every local handler has a cursor (``relay_cursors``: last outbox ``seq`` it has seen). A batch of
  messages is handled in ONE transaction: each handler runs inside a SAVEPOINT, and its cursor is
  advanced in the same transaction, so a handler's effects and its "done" commit together or not at
  all (a relay killed mid-batch leaves nothing half-done; the batch is simply done again).
* A handler that raises has its savepoint rolled back; a ``message_deliveries`` row (``pending``) is
  written for that (message, handler) with the error and a retry time (exponential backoff with
  jitter); the cursor moves on and the other handlers are untouched. After
  ``settings.handler_max_attempts`` failed attempts the delivery is ``dead``.
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
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters import metrics
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_messaging import message_deliveries as md
from turnout.adapters.db.tables_messaging import relay_cursors as rc
from turnout.adapters.db.uow import UnitOfWork
from turnout.messages.base import Envelope
from turnout.ports import Publisher

if TYPE_CHECKING:
    from turnout.bootstrap import Turnout
    from turnout.services.bus import Handler, HandlerRegistry

log = logging.getLogger(__name__)

STREAM = "kafka"  # the stream publisher's cursor
UNDECODABLE = "-"  # handler name of a dead-lettered stream message nobody could read
PUBLISH_BATCH = 5000
SETTLE_SECONDS = 0.02
SNAPSHOT = sa.text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,"
    " (SELECT coalesce(max(seq), 0) FROM outbox) FROM pg_current_snapshot() AS s"
)
SQLITE_BATCH_SECONDS = 0.05  # longest a relay batch should hold SQLite's write lock
MIN_BATCH = 20
MAX_ERROR = 4000


def envelope_from_row(row: Any) -> Envelope:
    return Envelope(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        key=row.key,
        data=row.data,
        version=row.version,
    )


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
    tail = "".join(traceback.format_exception(exc)[-3:])
    return f"{type(exc).__name__}: {exc}\n{tail}"[:MAX_ERROR]


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with ("equal") jitter: half fixed, half random, never 0."""
    delay = min(cap, base * 2.0 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def subscriptions(registry: HandlerRegistry) -> dict[str, tuple[Handler, frozenset[str]]]:
    """Handler name -> (handler, the message types it takes)."""
    found: dict[str, tuple[Handler, set[str]]] = {}
    for message_type in registry.types():
        for sub in registry.handlers_for(message_type):
            found.setdefault(sub.name, (sub.handler, set()))[1].add(message_type)
    return {name: (handler, frozenset(types)) for name, (handler, types) in found.items()}


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def run_in_savepoint(uow: UnitOfWork, handler: Handler, envelopes: Iterable[Envelope]) -> Exception | None:
    """Run ``handler`` over ``envelopes`` inside one SAVEPOINT; on an exception roll it back (its
    after-commit callbacks and emitted messages too) and return the exception.

    A handler object that also has ``handle_many(envelopes, uow)`` gets a run of several messages in
    one call (for ``executemany``); if that raises, the relay falls back to one call per message."""
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
    """What one relay cycle did (metrics are counted after its commit)."""

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


class Relay:
    """Outbox -> local handlers (+ retries) and outbox -> stream. Safe to run in several processes."""

    def __init__(
        self,
        turnout: Turnout,
        *,
        deliver_locally: bool = True,
        publisher: Publisher | None = None,
        batch_size: int | None = None,
        retry_base_seconds: float = 1.0,
        retry_cap_seconds: float = 3600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.turnout = turnout
        self.deliver_locally = deliver_locally
        self._publisher = publisher
        self._own_publisher = False
        self.batch_size = batch_size or turnout.settings.relay_batch_size
        # SQLite has one writer: a batch holds the write lock, so it is sized to take about
        # ``SQLITE_BATCH_SECONDS`` (check-in requests queue behind it). PostgreSQL writers do not wait.
        self._batch = self.batch_size
        self.retry_base = retry_base_seconds
        self.retry_cap = retry_cap_seconds
        self.rng = rng or random.Random()
        self.max_attempts = turnout.settings.handler_max_attempts
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self._known_cursors: set[str] = set()
        self._safe_high = 0  # PostgreSQL: every seq <= this is final (committed or never will be)
        self._candidate: tuple[int, int | None, float] | None = None  # (seq, xid fence, seen at)

    # --- wiring -------------------------------------------------------------------------------------

    @property
    def publisher(self) -> Publisher | None:
        if self._publisher is None and self.turnout.settings.broker_url:
            from turnout.adapters.kafka import KafkaPublisher

            self._publisher = KafkaPublisher.from_url(self.turnout.settings.broker_url)
            self._own_publisher = True
        return self._publisher

    def close(self) -> None:
        if self._own_publisher and self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    @property
    def subscriptions(self) -> dict[str, tuple[Handler, frozenset[str]]]:
        return subscriptions(self.turnout.handlers)

    def _ensure_cursors(self, names: Iterable[str]) -> None:
        missing = [n for n in names if n not in self._known_cursors]
        if not missing:
            return
        with self.turnout.uow() as uow:
            insert_ignore(uow.conn, rc, [{"consumer": n, "position": 0, "handled": 0} for n in missing])
            uow.commit()
        self._known_cursors.update(missing)

    def _high_water(self) -> int | None:
        """The highest seq that may be read, or None for "no bound" (SQLite: one writer at a time).

        PostgreSQL: ``newest`` (the largest visible seq) becomes safe once every transaction that
        could still hold a smaller seq has ended. Such a transaction was running when ``newest``
        was seen; its xid is below the ``xmax`` of a snapshot taken ``SETTLE_SECONDS`` later (the
        wait covers the instant between ``nextval`` and the insert's xid assignment), so the mark
        moves once a snapshot's ``xmin`` reaches that ``xmax``. Nothing waits on a lock."""
        if self.turnout.dialect != "postgresql":
            return None
        with self.turnout.engine.connect() as conn:
            xmin, xmax, newest = conn.execute(SNAPSHOT).one()
            conn.rollback()
        now = time.monotonic()
        candidate = self._candidate
        if candidate is not None:
            mark, fence, seen_at = candidate
            if fence is None and now - seen_at >= SETTLE_SECONDS:
                fence = int(xmax)
            if fence is not None and int(xmin) >= fence:
                self._safe_high = mark
                candidate = None
            else:
                candidate = (mark, fence, seen_at)
        if candidate is None and int(newest) > self._safe_high:
            candidate = (int(newest), None, now)
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
        with self.turnout.uow() as uow:
            conn = uow.conn
            cursors = {
                row.consumer: row.position
                for row in conn.execute(
                    sa.select(rc.c.consumer, rc.c.position)
                    .where(rc.c.consumer.in_(list(subs)))
                    .with_for_update(skip_locked=True)
                )
            }
            if not cursors:
                return tally
            low = min(cursors.values())
            query = sa.select(t.outbox).where(t.outbox.c.seq > low).order_by(t.outbox.c.seq)
            if high is not None:
                query = query.where(t.outbox.c.seq <= high)
            rows = conn.execute(query.limit(self._batch)).all()
            if not rows:
                return tally
            last_seq = rows[-1].seq
            tally.passed = len(rows)
            envelopes = [(row.seq, envelope_from_row(row)) for row in rows]
            taken = {
                (r.message_id, r.handler)
                for r in conn.execute(
                    sa.select(md.c.message_id, md.c.handler).where(
                        md.c.message_id.in_([e.id for _, e in envelopes])
                    )
                )
            }
            now = uow.clock.now()
            for name, position in cursors.items():
                handler, types = subs[name]
                todo = [
                    (seq, e)
                    for seq, e in envelopes
                    if seq > position and e.type in types and (e.id, name) not in taken
                ]
                if todo:
                    self._deliver(uow, name, handler, todo, now, tally)
                conn.execute(
                    rc.update()
                    .where(rc.c.consumer == name)
                    .values(
                        position=max(position, last_seq),
                        handled=rc.c.handled + tally.delivered.get(name, 0),
                        updated_at=now,
                    )
                )
            uow.commit()
        self._size_batch(time.perf_counter() - started, full=tally.passed >= self._batch)
        tally.count()
        return tally

    def _size_batch(self, seconds: float, *, full: bool) -> None:
        if self.turnout.dialect != "sqlite":
            return
        if seconds > SQLITE_BATCH_SECONDS and self._batch > MIN_BATCH:
            self._batch = max(MIN_BATCH, self._batch // 2)
        elif full and seconds < SQLITE_BATCH_SECONDS / 2 and self._batch < self.batch_size:
            self._batch = min(self.batch_size, self._batch * 2)

    def _deliver(
        self,
        uow: UnitOfWork,
        name: str,
        handler: Handler,
        todo: list[tuple[int, Envelope]],
        now: datetime,
        tally: Tally,
    ) -> None:
        # Optimistic: the whole run in one savepoint; if anything fails, one savepoint per message.
        if run_in_savepoint(uow, handler, [e for _, e in todo]) is None:
            tally.add(tally.delivered, name, len(todo))
            return
        for seq, envelope in todo:
            error = run_in_savepoint(uow, handler, [envelope])
            if error is None:
                tally.add(tally.delivered, name)
                continue
            log.warning("handler %s failed on %s %s: %s", name, envelope.type, envelope.id, error)
            dead = self.max_attempts <= 1
            tally.add(tally.dead if dead else tally.retried, name)
            uow.conn.execute(
                md.insert().values(
                    message_id=envelope.id,
                    handler=name,
                    message_type=envelope.type,
                    message_seq=seq,
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
        with self.turnout.uow() as uow:
            now = uow.clock.now()
            rows = uow.conn.execute(
                sa.select(md)
                .where(
                    md.c.status == "pending",
                    md.c.next_attempt_at <= now,
                    md.c.handler.in_(list(subs)),
                )
                .order_by(md.c.next_attempt_at)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return tally
            for row in rows:
                self._attempt(uow, row, subs[row.handler][0], now, tally)
            uow.commit()
        tally.count()
        return tally

    def _attempt(self, uow: UnitOfWork, row: Any, handler: Handler, now: datetime, tally: Tally) -> None:
        attempts = row.attempts + 1
        where = sa.and_(md.c.message_id == row.message_id, md.c.handler == row.handler)
        try:
            envelope = envelope_from_dict(row.envelope)
        except (KeyError, ValueError, TypeError) as exc:
            error: Exception | None = exc
        else:
            error = run_in_savepoint(uow, handler, [envelope])
        if error is None:
            tally.add(tally.delivered, row.handler)
            uow.conn.execute(
                md.update()
                .where(where)
                .values(status="done", attempts=attempts, next_attempt_at=None, updated_at=now)
            )
            return
        dead = attempts >= self.max_attempts
        tally.add(tally.dead if dead else tally.retried, row.handler)
        log.warning("handler %s failed again (%d) on %s: %s", row.handler, attempts, row.message_id, error)
        uow.conn.execute(
            md.update()
            .where(where)
            .values(
                status="dead" if dead else "pending",
                attempts=attempts,
                next_attempt_at=None if dead else now + self._backoff(attempts),
                last_error=describe_error(error),
                updated_at=now,
            )
        )

    # --- the stream ---------------------------------------------------------------------------------

    def publish_once(self) -> int:
        """Publish one batch to the stream (when a broker is configured); returns messages published."""
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
            with self.turnout.uow(readonly=True) as uow:
                query = sa.select(t.outbox).where(t.outbox.c.seq > position).order_by(t.outbox.c.seq)
                if high is not None:
                    query = query.where(t.outbox.c.seq <= high)
                rows = uow.conn.execute(query.limit(PUBLISH_BATCH)).all()
            if rows:
                envelopes = [envelope_from_row(row) for row in rows]
                published = publisher.publish(envelopes)
                if published:
                    last_seq = rows[published - 1].seq
                    for envelope in envelopes[:published]:
                        metrics.messages_published.labels(envelope.type).inc()
        finally:
            self._release_lease(last_seq, published)
        return published

    def _take_lease(self) -> int | None:
        with self.turnout.uow() as uow:
            now = uow.clock.now()
            taken = uow.conn.execute(
                rc.update()
                .where(
                    rc.c.consumer == STREAM,
                    sa.or_(
                        rc.c.lease_owner.is_(None), rc.c.lease_owner == self.owner, rc.c.lease_until < now
                    ),
                )
                .values(
                    lease_owner=self.owner,
                    lease_until=now + timedelta(seconds=self.turnout.settings.relay_lease_seconds),
                )
            ).rowcount
            position = uow.conn.scalar(sa.select(rc.c.position).where(rc.c.consumer == STREAM))
            uow.commit()
        return int(position) if taken == 1 and position is not None else None

    def _release_lease(self, last_seq: int, published: int) -> None:
        with self.turnout.uow() as uow:
            uow.conn.execute(
                rc.update()
                .where(rc.c.consumer == STREAM, rc.c.lease_owner == self.owner)
                .values(
                    position=last_seq,
                    handled=rc.c.handled + published,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=uow.clock.now(),
                )
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
        one is configured), until nothing is left that is due now. Returns successful handler runs.
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

    def run(self, stop: threading.Event, *, publish: bool | None = None) -> None:
        """Loop until ``stop``: local delivery and retries (``publish=False``), or the stream only
        (``publish=True``)."""
        poll = self.turnout.settings.relay_poll_interval
        failures = 0
        while not stop.is_set():
            try:
                done = self.publish_once() if publish else self.run_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("relay cycle failed (%d in a row)", failures)
                stop.wait(min(30.0, poll * 2**failures))
                continue
            if not done:
                stop.wait(poll)
        self.close()


# --- bus metrics read from the database at scrape time (every process sees the same figures) ---------


@dataclass
class BusReading:
    lag_messages: float = 0.0
    lag_seconds: float = 0.0
    handled: dict[str, int] = field(default_factory=dict)  # consumer -> messages passed on the fast path
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (handler, status) -> rows


class BusProbe:
    """Reads the bus state for ``/metrics`` (cached ``ttl`` seconds): the relay runs in the worker
    process, so the API process's own counters would not show its work."""

    def __init__(self, turnout: Turnout, ttl: float = 1.0) -> None:
        self.turnout = turnout
        self.ttl = ttl
        self._at = 0.0
        self._value = BusReading()
        self._lock = threading.Lock()

    def read(self) -> BusReading:
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._value
            try:
                self._value = read_bus(self.turnout)
            except Exception:  # the database is away: report "unknown"
                self._value = BusReading(float("nan"), float("nan"))
            self._at = time.monotonic()
            return self._value


def consumer_names(turnout: Turnout) -> list[str]:
    names = list(subscriptions(turnout.handlers))
    if turnout.settings.broker_url:
        names.append(STREAM)
    return names


def outbox_lag(turnout: Turnout) -> tuple[float, float]:
    """(messages, seconds): outbox messages some consumer has not passed yet, and the oldest's age."""
    reading = read_bus(turnout)
    return reading.lag_messages, reading.lag_seconds


def read_bus(turnout: Turnout) -> BusReading:
    names = consumer_names(turnout)
    reading = BusReading()
    with turnout.uow(readonly=True) as uow:
        cursors = uow.conn.execute(sa.select(rc.c.consumer, rc.c.position, rc.c.handled)).all()
        reading.handled = {c.consumer: int(c.handled) for c in cursors}
        reading.deliveries = {
            (handler, status): int(n)
            for handler, status, n in uow.conn.execute(
                sa.select(md.c.handler, md.c.status, sa.func.count()).group_by(md.c.handler, md.c.status)
            )
        }
        if names:
            positions = {c.consumer: int(c.position) for c in cursors}
            low = min(positions.get(n, 0) for n in names)
            count, oldest = uow.conn.execute(
                sa.select(sa.func.count(), sa.func.min(t.outbox.c.occurred_at)).where(t.outbox.c.seq > low)
            ).one()
            now = uow.clock.now()
            reading.lag_messages = float(count)
            reading.lag_seconds = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return reading


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


def install_lag_gauge(turnout: Turnout) -> None:
    """Point the bus metrics at this process's database (the latest wiring wins)."""
    global _probe, _collector
    _probe = BusProbe(turnout)
    metrics.outbox_lag.set_function(lambda: _probe.read().lag_messages if _probe else 0.0)
    metrics.outbox_lag_seconds.set_function(lambda: _probe.read().lag_seconds if _probe else 0.0)
    if _collector is None:
        _collector = BusCollector()
        metrics.register_scrape_time(_collector)
