"""Kafka: ``KafkaPublisher`` (outbox -> topics) and ``StreamConsumer`` (topics -> local handlers).

Topic ``turnout.<type>.v<version>`` (``attendance.recorded`` -> ``turnout.attendance.recorded.v1``),
key = the event id (per-event ordering), value = the envelope as JSON, headers ``id`` and ``type``.
The producer is idempotent with ``acks=all``: retries inside one producer session never duplicate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_messaging import message_deliveries as md
from turnout.adapters.db.tables_messaging import relay_cursors as rc
from turnout.adapters.db.uow import UnitOfWork
from turnout.adapters.outbox import (
    UNDECODABLE,
    Tally,
    backoff_seconds,
    describe_error,
    envelope_from_dict,
    insert_ignore,
    run_in_savepoint,
    subscriptions,
)
from turnout.messages.base import Envelope, fact_types, topic_for

if TYPE_CHECKING:
    from turnout.bootstrap import Turnout

log = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "turnout.dead-letter.v1"
CONSUMER_GROUP = "turnout"
_PENDING = object()


def bootstrap_servers(broker_url: str) -> str:
    """``kafka://host:9092,host2:9092`` -> ``host:9092,host2:9092``."""
    parts = urlsplit(broker_url)
    if parts.scheme != "kafka" or not parts.netloc:
        raise ValueError(f"TURNOUT_BROKER_URL must look like kafka://host:9092[,host2:9092]: {broker_url!r}")
    return parts.netloc


def encode(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the record for ``envelope``."""
    headers = [("id", envelope.id.encode()), ("type", envelope.type.encode())]
    return envelope.key.encode(), orjson.dumps(envelope.as_dict()), headers


class KafkaPublisher:
    """Publishes envelopes and waits until the brokers acknowledged them (acks=all)."""

    def __init__(
        self, servers: str, *, message_timeout_ms: int = 10_000, config: dict[str, Any] | None = None
    ) -> None:
        self.config: dict[str, Any] = {
            "bootstrap.servers": servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": message_timeout_ms,
            "logger": logging.getLogger("turnout.kafka.client"),
            **(config or {}),
        }
        self.flush_timeout = int(self.config["message.timeout.ms"]) / 1000 + 5
        self._producer: Any = None

    @classmethod
    def from_url(cls, broker_url: str, **kwargs: Any) -> KafkaPublisher:
        return cls(bootstrap_servers(broker_url), **kwargs)

    def _ensure(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            self._producer = Producer(self.config)
        return self._producer

    def publish(self, envelopes: Sequence[Envelope]) -> int:
        """Returns how many envelopes, counted from the first, the brokers acknowledged."""
        producer = self._ensure()
        results: list[Any] = [_PENDING] * len(envelopes)
        for index, envelope in enumerate(envelopes):
            key, value, headers = encode(envelope)

            def delivered(err: Any, _msg: Any, index: int = index) -> None:
                results[index] = err

            while True:
                try:
                    producer.produce(
                        envelope.topic, value=value, key=key, headers=headers, on_delivery=delivered
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush(self.flush_timeout)
        published = 0
        for result in results:
            if result is not None:
                break
            published += 1
        failures = [r for r in results if r is not None and r is not _PENDING]
        if failures:
            log.warning("Kafka refused %d of %d messages: %s", len(failures), len(results), failures[0])
            if any(getattr(f, "fatal", lambda: False)() for f in failures):
                self.close()
        return published

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(1)
            self._producer = None


class StreamConsumer:
    """``turnout worker --from-kafka``: consume the topics of every subscribed type in a consumer
    group, run the local handlers, and commit offsets only after the handling has committed.

    Each (message id, handler) gets a ``message_deliveries`` row in the handling transaction (the
    inbox: a message seen twice is handled once). A handler that fails is retried from that row by
    the relay's retry loop (backoff, then ``dead``); an undecodable record is dead-lettered to
    ``turnout.dead-letter.v1`` and recorded; either way the partition keeps flowing."""

    def __init__(
        self,
        turnout: Turnout,
        *,
        servers: str | None = None,
        group_id: str = CONSUMER_GROUP,
        batch_size: int = 500,
        poll_timeout: float = 0.5,
        config: dict[str, Any] | None = None,
    ) -> None:
        import random

        self.turnout = turnout
        self.servers = servers or bootstrap_servers(turnout.settings.broker_url)
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.rng = random.Random()
        self.config: dict[str, Any] = {
            "bootstrap.servers": self.servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "logger": logging.getLogger("turnout.kafka.client"),
            **(config or {}),
        }
        self._consumer: Any = None
        self._dead_letters = KafkaPublisher(self.servers)

    def topics(self) -> list[str]:
        known = fact_types()
        return sorted(
            topic_for(message_type, known[message_type].VERSION if message_type in known else 1)
            for message_type in self.turnout.handlers.types()
        )

    def start(self) -> None:
        from confluent_kafka import Consumer

        if self._consumer is None:
            self._consumer = Consumer(self.config)
            self._consumer.subscribe(self.topics())

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self._dead_letters.close()

    def consume_once(self) -> int:
        """Handle one batch; returns the records read."""
        self.start()
        records = self._consumer.consume(num_messages=self.batch_size, timeout=self.poll_timeout)
        good = []
        for record in records:
            if record.error() is None:
                good.append(record)
            else:
                log.info("Kafka: %s", record.error())
        if not good:
            return 0
        tally, dead = self.handle(good)
        if dead:
            sent = self._dead_letters.publish(dead)
            if sent < len(dead):
                raise RuntimeError("the dead-letter topic did not take the poison messages")
        self._consumer.commit(asynchronous=False)
        tally.count()
        return len(good)

    def handle(self, records: Sequence[Any]) -> tuple[Tally, list[Envelope]]:
        """Run the handlers for ``records`` in one transaction; returns what it did and the
        dead-letter envelopes to publish."""
        tally = Tally()
        subs = subscriptions(self.turnout.handlers)
        dead_letters: list[Envelope] = []
        with self.turnout.uow() as uow:
            now = uow.clock.now()
            decoded: list[Envelope] = []
            poison: list[dict[str, Any]] = []
            for record in records:
                try:
                    decoded.append(envelope_from_dict(orjson.loads(record.value())))
                except (ValueError, KeyError, TypeError) as exc:
                    poison.append(self._poison_row(record, exc, now))
            if poison:
                insert_ignore(uow.conn, md, poison)
                dead_letters = [self._dead_letter(row, now) for row in poison]
                tally.add(tally.dead, UNDECODABLE, len(poison))
            if decoded:
                self._run_handlers(uow, decoded, subs, now, tally)
            uow.commit()
        return tally, dead_letters

    def _run_handlers(
        self,
        uow: UnitOfWork,
        envelopes: list[Envelope],
        subs: dict[str, Any],
        now: datetime,
        tally: Tally,
    ) -> None:
        conn = uow.conn
        ids = list({e.id for e in envelopes})
        taken = {
            (r.message_id, r.handler)
            for r in conn.execute(sa.select(md.c.message_id, md.c.handler).where(md.c.message_id.in_(ids)))
        }
        # A message this database wrote itself may already have been handled by the outbox relay
        # (the fast path, up to each handler's cursor). Lock those cursors so that the relay and
        # this consumer cannot both run a handler for the same message.
        local = dict(
            conn.execute(sa.select(t.outbox.c.id, t.outbox.c.seq).where(t.outbox.c.id.in_(ids))).all()
        )
        cursors: dict[str, int] = {}
        if local:
            cursors = dict(
                conn.execute(
                    sa.select(rc.c.consumer, rc.c.position)
                    .where(rc.c.consumer.in_(list(subs)))
                    .order_by(rc.c.consumer)
                    .with_for_update()
                ).all()
            )
        max_attempts = self.turnout.settings.handler_max_attempts
        for envelope in envelopes:
            for sub in self.turnout.handlers.handlers_for(envelope.type):
                if (envelope.id, sub.name) in taken:
                    continue
                seq = local.get(envelope.id)
                if seq is not None and seq <= cursors.get(sub.name, 0):
                    continue
                taken.add((envelope.id, sub.name))
                error = run_in_savepoint(uow, sub.handler, [envelope])
                if error is None:
                    status, next_at, text = "done", None, None
                    tally.add(tally.delivered, sub.name)
                elif max_attempts <= 1:
                    status, next_at, text = "dead", None, describe_error(error)
                    tally.add(tally.dead, sub.name)
                else:
                    delay = backoff_seconds(1, base=1.0, cap=3600.0, rng=self.rng)
                    status, next_at, text = "pending", now + _seconds(delay), describe_error(error)
                    tally.add(tally.retried, sub.name)
                conn.execute(
                    md.insert().values(
                        message_id=envelope.id,
                        handler=sub.name,
                        message_type=envelope.type,
                        message_seq=seq,
                        envelope=envelope.as_dict(),
                        source="kafka",
                        status=status,
                        attempts=1,
                        next_attempt_at=next_at,
                        last_error=text,
                        created_at=now,
                        updated_at=now,
                    )
                )

    @staticmethod
    def _poison_row(record: Any, error: Exception, now: datetime) -> dict[str, Any]:
        raw = record.value() or b""
        return {
            "message_id": f"kafka:{record.topic()}/{record.partition()}/{record.offset()}"[:200],
            "handler": UNDECODABLE,
            "message_type": "undecodable",
            "message_seq": None,
            "envelope": {
                "topic": record.topic(),
                "partition": record.partition(),
                "offset": record.offset(),
                "key": (record.key() or b"").decode("utf-8", "replace"),
                "value": raw.decode("utf-8", "replace")[:10_000],
            },
            "source": "kafka",
            "status": "dead",
            "attempts": 1,
            "next_attempt_at": None,
            "last_error": describe_error(error),
            "created_at": now,
            "updated_at": now,
        }

    @staticmethod
    def _dead_letter(row: dict[str, Any], now: datetime) -> Envelope:
        return Envelope(
            id=row["message_id"],
            type="dead-letter",
            occurred_at=now,
            key=str(row["envelope"]["key"]) or row["message_id"],
            data={**row["envelope"], "error": row["last_error"]},
            version=1,
        )

    def run(self, stop: threading.Event) -> None:
        failures = 0
        try:
            while not stop.is_set():
                try:
                    self.consume_once()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("stream consumer cycle failed (%d in a row)", failures)
                    # Start again from the last committed offsets: what was read is read again.
                    self.close()
                    stop.wait(min(30.0, 0.5 * 2**failures))
        finally:
            self.close()


def _seconds(value: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)
