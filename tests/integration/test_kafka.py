"""Kafka against librdkafka's mock cluster: publish, consume in a group, broker outage, poison."""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.fakes import FakeClock
from tests.kafka_support import MockCluster, consume_until, kafka_cluster, read_topics  # noqa: F401
from tests.messaging_support import PROBE, effects, emit, subscribe_effect
from turnout.adapters.db.tables_messaging import message_deliveries, relay_cursors
from turnout.adapters.kafka import DEAD_LETTER_TOPIC, KafkaPublisher, bootstrap_servers
from turnout.adapters.outbox import STREAM, outbox_lag
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings

pytestmark = pytest.mark.kafka
TOPIC = "turnout.probe.happened.v1"


@pytest.fixture
def streaming(settings: Settings, clock: FakeClock, kafka_cluster: MockCluster) -> Iterator[Turnout]:  # noqa: F811
    """Turnout wired with TURNOUT_BROKER_URL pointing at the mock cluster."""
    kafka_cluster.create_topic(TOPIC)
    wired = bootstrap(settings.model_copy(update={"broker_url": kafka_cluster.url}), clock=clock)
    yield wired
    wired.close()


def stream_position(turnout: Turnout) -> int:
    with turnout.engine.connect() as conn:
        return int(
            conn.scalar(sa.select(relay_cursors.c.position).where(relay_cursors.c.consumer == STREAM)) or 0
        )


def lag(turnout: Turnout) -> float:
    """Outbox messages some consumer (a handler, or the stream) has not passed yet."""
    return outbox_lag(turnout.uow, turnout.bus_consumers())[0]


def test_broker_url_names_bootstrap_servers_when_parsed() -> None:
    assert bootstrap_servers("kafka://a:9092,b:9093") == "a:9092,b:9093"
    with pytest.raises(ValueError, match="kafka://"):
        bootstrap_servers("http://a:9092")


def test_relay_publishes_every_message_with_key_headers_and_json_when_broker_set(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    ids = emit(streaming, 30, event_id="ev-1") + emit(streaming, 20, event_id="ev-2")
    relay = streaming.relay()
    relay.drain()
    relay.close()
    records = read_topics(kafka_cluster.bootstrap_servers, [TOPIC], expect=50)
    assert sorted(r.headers()[0][1].decode() for r in records) == sorted(ids)
    by_id = {json.loads(r.value())["id"]: r for r in records}
    for record in by_id.values():
        value = json.loads(record.value())
        assert record.key().decode() == value["key"] == value["data"]["event_id"]
        assert dict(record.headers()) == {"id": value["id"].encode(), "type": b"probe.happened"}
        assert (value["type"], value["source"], value["version"]) == (PROBE, "turnout", 1)
    # per-event order: one key, one partition, in outbox order
    ev1 = [json.loads(r.value())["id"] for r in records if r.key() == b"ev-1"]
    assert ev1 == ids[:30]
    assert lag(streaming) == 0


def test_outbox_accumulates_and_drains_later_when_broker_is_down(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    subscribe_effect(streaming, "local")
    publisher = KafkaPublisher(kafka_cluster.bootstrap_servers, message_timeout_ms=1500)
    relay = streaming.relay(publisher=publisher)
    kafka_cluster.set_down()
    before = emit(streaming, 40)
    relay.drain()
    assert stream_position(streaming) == 0
    assert lag(streaming) == 40
    # local handlers do not wait for the stream
    assert all(effects(streaming)[(i, "local")] == 1 for i in before)

    after = emit(streaming, 10)
    kafka_cluster.set_up()
    relay.drain()
    publisher.close()
    records = read_topics(kafka_cluster.bootstrap_servers, [TOPIC], expect=50)
    assert {json.loads(r.value())["id"] for r in records} == set(before + after)
    assert lag(streaming) == 0


def test_consumer_group_runs_handlers_and_commits_offsets_when_consuming(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    subscribe_effect(streaming, "from-stream")
    ids = emit(streaming, 60)
    streaming.relay(deliver_locally=False).drain()  # publish only
    consumer = streaming.stream_consumer(group_id="g1", poll_timeout=0.2)
    assert TOPIC in consumer.topics()
    consume_until(consumer, lambda: len(effects(streaming)) >= 60)
    consumer.close()
    assert effects(streaming) == {(i, "from-stream"): 1 for i in ids}
    # offsets are committed: the group has read every record
    check = Consumer({"bootstrap.servers": kafka_cluster.bootstrap_servers, "group.id": "g1"})
    committed = check.committed([TopicPartition(TOPIC, p) for p in range(3)], timeout=10)
    check.close()
    assert sum(tp.offset for tp in committed if tp.offset > 0) == 60


def test_consumer_handles_a_message_once_when_the_stream_repeats_it(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    subscribe_effect(streaming, "from-stream")
    ids = emit(streaming, 10)
    relay = streaming.relay(deliver_locally=False)
    relay.drain()
    with streaming.engine.begin() as conn:  # a relay killed before its cursor commit publishes again
        conn.execute(relay_cursors.update().where(relay_cursors.c.consumer == STREAM).values(position=0))
    relay.drain()
    assert len(read_topics(kafka_cluster.bootstrap_servers, [TOPIC], expect=20)) == 20
    consumer = streaming.stream_consumer(group_id="g2", poll_timeout=0.2)
    read = [0]

    def all_read() -> bool:
        read[0] += consumer.consume_once()
        return read[0] >= 20

    consume_until(consumer, all_read)
    consumer.close()
    assert effects(streaming) == {(i, "from-stream"): 1 for i in ids}


def test_consumer_skips_messages_the_outbox_relay_already_handled_when_both_run(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    subscribe_effect(streaming, "h")
    ids = emit(streaming, 5)
    streaming.relay().drain()  # local delivery and publishing
    consumer = streaming.stream_consumer(group_id="g3", poll_timeout=0.2)
    read = [0]

    def all_read() -> bool:
        read[0] += consumer.consume_once()
        return read[0] >= 5

    consume_until(consumer, all_read)
    consumer.close()
    assert effects(streaming) == {(i, "h"): 1 for i in ids}


def test_poison_message_is_dead_lettered_and_partition_keeps_flowing_when_undecodable(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    subscribe_effect(streaming, "h")
    kafka_cluster.create_topic(DEAD_LETTER_TOPIC, partitions=1)
    producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    producer.produce(TOPIC, key=b"e1", value=b"\xff not json")
    producer.produce(TOPIC, key=b"e1", value=orjson.dumps({"id": "x", "type": PROBE}))  # no data
    producer.flush(10)
    ids = emit(streaming, 3)  # same key "e1": the same partition, after the poison
    streaming.relay(deliver_locally=False).drain()
    consumer = streaming.stream_consumer(group_id="g4", poll_timeout=0.2)
    consume_until(consumer, lambda: len(effects(streaming)) >= 3)
    consumer.close()
    assert effects(streaming) == {(i, "h"): 1 for i in ids}
    with streaming.engine.connect() as conn:
        dead = conn.execute(sa.select(message_deliveries).where(message_deliveries.c.handler == "-")).all()
    assert len(dead) == 2
    assert {row.status for row in dead} == {"dead"}
    assert any("not json" in row.envelope["value"] for row in dead)
    letters = read_topics(kafka_cluster.bootstrap_servers, [DEAD_LETTER_TOPIC], expect=2)
    assert len(letters) == 2
    assert {json.loads(r.value())["data"]["topic"] for r in letters} == {TOPIC}


def test_failed_stream_delivery_is_retried_from_the_database_when_handler_recovers(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
    clock: FakeClock,
) -> None:
    down = [True]

    def flaky(envelope: object, uow: object) -> None:
        if down[0]:
            raise RuntimeError("not yet")

    streaming.handlers.subscribe([PROBE], flaky, name="flaky")
    subscribe_effect(streaming, "h")
    ids = emit(streaming, 4)
    streaming.relay(deliver_locally=False).drain()
    consumer = streaming.stream_consumer(group_id="g5", poll_timeout=0.2)
    consume_until(consumer, lambda: len(effects(streaming)) >= 4)
    consumer.close()
    with streaming.engine.connect() as conn:
        rows = conn.execute(
            sa.select(message_deliveries).where(message_deliveries.c.handler == "flaky")
        ).all()
    assert sorted(r.message_id for r in rows) == sorted(ids)
    assert {(r.status, r.source) for r in rows} == {("pending", "kafka")}
    down[0] = False
    clock.advance(hours=1)
    streaming.relay(deliver_locally=False).drain()
    with streaming.engine.connect() as conn:
        statuses = conn.execute(
            sa.select(message_deliveries.c.status).where(message_deliveries.c.handler == "flaky")
        ).scalars()
        assert set(statuses) == {"done"}


def test_worker_from_kafka_feeds_handlers_from_the_stream_when_flagged(
    streaming: Turnout,
    kafka_cluster: MockCluster,  # noqa: F811
) -> None:
    import threading

    from turnout.entrypoints.workers import publisher_loop, relay_loop, stream_consumer_loop

    subscribe_effect(streaming, "h")
    ids = emit(streaming, 25)
    streaming.from_kafka = True
    stop = threading.Event()
    loops = [relay_loop, publisher_loop, stream_consumer_loop]
    threads = [threading.Thread(target=loop, args=(streaming, stop)) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        import time

        deadline = time.monotonic() + 30
        while len(effects(streaming)) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert effects(streaming) == {(i, "h"): 1 for i in ids}
    with streaming.engine.connect() as conn:
        sources = conn.execute(
            sa.select(message_deliveries.c.source, message_deliveries.c.status).where(
                message_deliveries.c.handler == "h"
            )
        ).all()
    assert sorted(sources) == [("kafka", "done")] * 25  # through the stream, not the outbox cursor
