"""librdkafka's built-in mock Kafka cluster (it speaks the real protocol over TCP) as a pytest fixture.

The confluent-kafka wheel bundles librdkafka; we reach ``rd_kafka_mock_cluster_new`` and friends
through ctypes. Import the fixture in a test module with
``from tests.kafka_support import kafka_cluster  # noqa: F401``.
When the cluster cannot start the tests skip, or FAIL under ``TURNOUT_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from turnout.adapters.kafka import StreamConsumer

REQUIRE_SERVICES = os.environ.get("TURNOUT_REQUIRE_SERVICES") == "1"
RD_KAFKA_PRODUCER = 0


def _library() -> ctypes.CDLL:
    import confluent_kafka

    package = Path(confluent_kafka.__file__).parent
    candidates = sorted(glob.glob(str(package.parent / "confluent_kafka.libs" / "librdkafka*")))
    candidates += sorted(glob.glob(str(package / ".dylibs" / "librdkafka*")))
    if not candidates:
        raise RuntimeError("the confluent-kafka wheel carries no librdkafka")
    lib = ctypes.CDLL(candidates[0])
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.rd_kafka_mock_broker_set_down.restype = ctypes.c_int
    lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_broker_set_up.restype = ctypes.c_int
    lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    return lib


@dataclass
class MockCluster:
    """A running mock cluster: ``bootstrap_servers`` for clients, plus fault injection."""

    lib: Any
    handle: int
    cluster: int
    brokers: int
    bootstrap_servers: str

    def create_topic(self, name: str, partitions: int = 3) -> None:
        err = self.lib.rd_kafka_mock_topic_create(self.cluster, name.encode(), partitions, 1)
        if err:
            raise RuntimeError(f"mock topic {name}: error {err}")

    def set_down(self) -> None:
        """Every broker stops answering (connections are closed and refused)."""
        for broker_id in range(1, self.brokers + 1):
            self.lib.rd_kafka_mock_broker_set_down(self.cluster, broker_id)

    def set_up(self) -> None:
        for broker_id in range(1, self.brokers + 1):
            self.lib.rd_kafka_mock_broker_set_up(self.cluster, broker_id)

    @property
    def url(self) -> str:
        """As ``TURNOUT_BROKER_URL``."""
        return "kafka://" + self.bootstrap_servers

    def close(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self.cluster)
        self.lib.rd_kafka_destroy(self.handle)


def start_mock_cluster(brokers: int = 3) -> MockCluster:
    lib = _library()
    errstr = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
    handle = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
    if not handle:
        raise RuntimeError(f"rd_kafka_new: {errstr.value.decode()}")
    cluster = lib.rd_kafka_mock_cluster_new(handle, brokers)
    if not cluster:
        lib.rd_kafka_destroy(handle)
        raise RuntimeError("rd_kafka_mock_cluster_new failed")
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0)  # groups form at once in tests
    bootstraps = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode()
    return MockCluster(lib, handle, cluster, brokers, bootstraps)


@pytest.fixture
def kafka_cluster() -> Iterator[MockCluster]:
    """A fresh three-broker mock Kafka cluster."""
    try:
        cluster = start_mock_cluster()
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"required service unavailable: Kafka mock cluster ({exc})")
        pytest.skip(f"Kafka mock cluster unavailable: {exc}")
    try:
        yield cluster
    finally:
        cluster.close()


def read_topics(
    bootstrap_servers: str, topics: list[str], *, expect: int, timeout: float = 30.0, distinct: bool = False
) -> list[Any]:
    """Every message on ``topics`` from the beginning (a throwaway consumer group), stopping once
    ``expect`` messages (``distinct``: distinct ``id`` headers) have arrived or after ``timeout``
    seconds of no progress."""
    import time
    import uuid

    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    got: list[Any] = []
    ids: set[str | bytes | None] = set()
    deadline = time.monotonic() + timeout
    try:
        while (len(ids) if distinct else len(got)) < expect and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            for message in batch:
                if message.error() is None:
                    got.append(message)
                    ids.add(dict(message.headers() or []).get("id", b""))
            if batch:
                deadline = time.monotonic() + timeout
    finally:
        consumer.close()
    return got


def consume_until(consumer: StreamConsumer, done: Callable[[], bool], *, timeout: float = 30.0) -> int:
    """Run ``consumer.consume_once()`` until ``done()`` is true (then once more, to show nothing
    else arrives); returns the records read."""
    import time

    deadline = time.monotonic() + timeout
    read = 0
    while not done() and time.monotonic() < deadline:
        read += consumer.consume_once()
    read += consumer.consume_once()
    return read
