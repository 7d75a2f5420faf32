"""Kafka: ``KafkaPublisher`` (outbox -> topics) and ``StreamConsumer`` (topics -> local handlers).

Topic ``turnout.<type>.v<version>`` (``attendance.recorded`` -> ``turnout.attendance.recorded.v1``),
key = the event id (per-event ordering), value = the envelope as JSON, headers ``id`` and ``type``.
The producer is idempotent with ``acks=all``: retries inside one producer session never duplicate.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson

from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.adapters.deliveries import (
    UNDECODABLE,
    Tally,
    backoff_seconds,
    describe_error,
    envelope_from_dict,
    run_in_savepoint,
)
from turnout.adapters.outbox import SqlUnitOfWorkFactory
from turnout.messages.base import Envelope, fact_types, topic_for
from turnout.ports import Delivery, Publisher
from turnout.services.bus import HandlerRegistry

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

    Each (message id, handler) gets a delivery record in the handling transaction (the inbox: a
    message seen twice is handled once). A handler that fails is retried from that record by the
    relay's retries (backoff, then ``dead``, after ``max_attempts``); an undecodable record is
    dead-lettered to ``turnout.dead-letter.v1`` (through ``dead_letters``, a ``KafkaPublisher`` on
    ``servers`` unless given) and recorded; either way the partition keeps flowing."""

    def __init__(
        self,
        uow_factory: SqlUnitOfWorkFactory,
        handlers: HandlerRegistry,
        *,
        servers: str,
        max_attempts: int,
        group_id: str = CONSUMER_GROUP,
        batch_size: int = 500,
        poll_timeout: float = 0.5,
        config: dict[str, Any] | None = None,
        dead_letters: Publisher | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.handlers = handlers
        self.servers = servers
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.rng = rng or random.Random()
        self.config: dict[str, Any] = {
            "bootstrap.servers": self.servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "logger": logging.getLogger("turnout.kafka.client"),
            **(config or {}),
        }
        self._consumer: Any = None
        self._dead_letters = dead_letters or KafkaPublisher(self.servers)

    def topics(self) -> list[str]:
        known = fact_types()
        return sorted(
            topic_for(message_type, known[message_type].VERSION if message_type in known else 1)
            for message_type in self.handlers.types()
        )

    def start(self) -> None:
        from confluent_kafka import Consumer

        if self._consumer is None:
            self._consumer = Consumer(self.config)
            self._consumer.subscribe(self.topics())

    def close(self) -> None:
        """Leave the group (a later ``consume_once`` joins again, from the committed offsets)."""
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
        dead_letters: list[Envelope] = []
        with self.uow_factory() as uow:
            now = uow.clock.now()
            decoded: list[Envelope] = []
            poison: list[Delivery] = []
            for record in records:
                try:
                    decoded.append(envelope_from_dict(orjson.loads(record.value())))
                except (ValueError, KeyError, TypeError) as exc:
                    poison.append(self._poison(record, exc, now))
            if poison:
                uow.messages.add_deliveries_once(poison)
                dead_letters = [self._dead_letter(delivery, now) for delivery in poison]
                tally.add(tally.dead, UNDECODABLE, len(poison))
            if decoded:
                self._run_handlers(uow, decoded, now, tally)
            uow.commit()
        return tally, dead_letters

    def _run_handlers(
        self, uow: SqlUnitOfWork, envelopes: list[Envelope], now: datetime, tally: Tally
    ) -> None:
        store = uow.messages
        ids = list({e.id for e in envelopes})
        recorded = store.recorded(ids)
        # A message this database wrote itself may already have been handled by the outbox relay
        # (the fast path, up to each handler's cursor). Lock those cursors so that the relay and
        # this consumer cannot both run a handler for the same message.
        local = store.outbox_seqs(ids)
        cursors = store.lock_cursors(self.handlers.names()) if local else {}
        for envelope in envelopes:
            for sub in self.handlers.handlers_for(envelope.type):
                if (envelope.id, sub.name) in recorded:
                    continue
                seq = local.get(envelope.id)
                if seq is not None and seq <= cursors.get(sub.name, 0):
                    continue
                recorded.add((envelope.id, sub.name))
                error = run_in_savepoint(uow, sub.handler, [envelope])
                next_at: datetime | None = None
                if error is None:
                    status, text = "done", None
                    tally.add(tally.delivered, sub.name)
                elif self.max_attempts <= 1:
                    status, text = "dead", describe_error(error)
                    tally.add(tally.dead, sub.name)
                else:
                    delay = backoff_seconds(1, base=1.0, cap=3600.0, rng=self.rng)
                    status, next_at, text = "pending", now + timedelta(seconds=delay), describe_error(error)
                    tally.add(tally.retried, sub.name)
                store.add_delivery(
                    Delivery(
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
    def _poison(record: Any, error: Exception, now: datetime) -> Delivery:
        raw = record.value() or b""
        return Delivery(
            message_id=f"kafka:{record.topic()}/{record.partition()}/{record.offset()}"[:200],
            handler=UNDECODABLE,
            message_type="undecodable",
            message_seq=None,
            envelope={
                "topic": record.topic(),
                "partition": record.partition(),
                "offset": record.offset(),
                "key": (record.key() or b"").decode("utf-8", "replace"),
                "value": raw.decode("utf-8", "replace")[:10_000],
            },
            source="kafka",
            status="dead",
            attempts=1,
            next_attempt_at=None,
            last_error=describe_error(error),
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _dead_letter(delivery: Delivery, now: datetime) -> Envelope:
        return Envelope(
            id=delivery.message_id,
            type="dead-letter",
            occurred_at=now,
            key=str(delivery.envelope["key"]) or delivery.message_id,
            data={**delivery.envelope, "error": delivery.last_error},
            version=1,
        )
