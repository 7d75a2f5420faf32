"""Prometheus metrics, in one process or across the processes of a deployment.

Work counters (HTTP requests, messages published / delivered / retried / dead) are counted by the
process that does the work. ``turnout serve`` runs the API in several uvicorn processes and the
background work in a ``turnout worker`` subprocess, so it sets ``PROMETHEUS_MULTIPROC_DIR`` (see
:mod:`turnout.adapters.metrics_dir`) before any of them imports ``prometheus_client``: each process then
keeps its counters in memory-mapped files there, and ``/metrics`` (:func:`render`) adds up the files of
every process with ``MultiProcessCollector``. Without the variable (tests, ``create_app`` in a script)
the counters live in this process's :data:`REGISTRY` and ``/metrics`` renders that.

Database-wide readings (outbox lag, the bus collector) are not stored per process: they are read at
scrape time by the process that renders ``/metrics`` (:func:`register_scrape_time`), the same in every
process and in both modes.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import values as _values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

# Chosen once, when prometheus_client was first imported in this process (it reads the variable then).
MULTIPROCESS: bool = _values.ValueClass is not _values.MutexValue

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "turnout_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
http_latency = Histogram(
    "turnout_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
messages_published = Counter(
    "turnout_messages_published_total", "Messages published to the stream", ["type"], registry=REGISTRY
)
messages_delivered = Counter(
    "turnout_messages_delivered_total", "Messages handled by local handlers", ["handler"], registry=REGISTRY
)
messages_retried = Counter(
    "turnout_messages_retried_total",
    "Handler attempts that failed and will be retried",
    ["handler"],
    registry=REGISTRY,
)
messages_dead = Counter(
    "turnout_messages_dead_total", "Deliveries given up and dead-lettered", ["handler"], registry=REGISTRY
)
outbound_deliveries = Counter(
    "turnout_outbound_deliveries_total",
    "Outbound delivery attempts to external systems, by system and outcome (delivered, failed, dead)",
    ["system", "outcome"],
    registry=REGISTRY,
)

_scrape_time: list[Any] = []


def register_scrape_time(collector: Any) -> None:
    """A collector read at scrape time from shared state (the database): rendered once, by the
    process that answers ``/metrics``, in both modes."""
    _scrape_time.append(collector)
    REGISTRY.register(collector)


class ScrapeTimeGauge:
    """A gauge whose value a function returns when ``/metrics`` is rendered (``set_function``)."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self._function: Callable[[], float] = lambda: 0.0
        register_scrape_time(self)

    def set_function(self, function: Callable[[], float]) -> None:
        self._function = function

    def collect(self) -> Iterable[Any]:
        return [GaugeMetricFamily(self.name, self.documentation, value=float(self._function()))]

    def describe(self) -> Iterable[Any]:
        return [GaugeMetricFamily(self.name, self.documentation)]


outbox_lag = ScrapeTimeGauge("turnout_outbox_lag_messages", "Outbox messages not yet fully handled")
outbox_lag_seconds = ScrapeTimeGauge(
    "turnout_outbox_lag_seconds", "Age of the oldest outbox message not yet fully handled"
)

delivery_lag_seconds = ScrapeTimeGauge(
    "turnout_delivery_lag_seconds", "How long the oldest due outbound delivery has been waiting to be sent"
)


def deployment_registry() -> CollectorRegistry:
    """What ``/metrics`` shows: every process's counters (multiprocess mode) or this process's."""
    if not MULTIPROCESS:
        return REGISTRY
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in _scrape_time:
        registry.register(collector)
    return registry


def render() -> tuple[bytes, str]:
    """The ``/metrics`` body and its content type."""
    return generate_latest(deployment_registry()), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int | None = None) -> None:
    """Bookkeeping when a process of the deployment exits (drops its live-gauge files)."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid() if pid is None else pid)  # type: ignore[no-untyped-call]


if MULTIPROCESS:
    # Each process of the deployment (uvicorn workers, ``turnout worker``) does its own bookkeeping on
    # a normal exit; ``turnout serve`` sweeps what a killed one left (metrics_dir.sweep_dead).
    atexit.register(mark_process_dead)


class ScrapeTimeFamilies:
    """Metric families a function builds when ``/metrics`` is rendered (``set_function``)."""

    def __init__(self, describe: list[Any]) -> None:
        self._describe = describe
        self._build: Callable[[], list[Any]] = lambda: []
        register_scrape_time(self)

    def set_function(self, build: Callable[[], list[Any]]) -> None:
        self._build = build

    def collect(self) -> Iterable[Any]:
        return self._build()

    def describe(self) -> Iterable[Any]:
        return self._describe


_SAGAS_FINISHED = (
    "turnout_sagas_finished",
    "Sagas that ended, by kind and outcome (completed, compensated, failed)",
)
_SAGAS_ACTIVE = ("turnout_sagas_active", "Sagas running or compensating now, by kind and state")
_ALERTS_OPEN = ("turnout_alerts_open", "Operator alerts not yet acknowledged")
_FINISHED_STATES = ("completed", "compensated", "failed")

saga_families = ScrapeTimeFamilies(
    [
        CounterMetricFamily(*_SAGAS_FINISHED, labels=["kind", "outcome"]),
        GaugeMetricFamily(*_SAGAS_ACTIVE, labels=["kind", "state"]),
        GaugeMetricFamily(*_ALERTS_OPEN),
    ]
)


def install_saga_metrics(uow_factory: Any) -> None:
    """``turnout_sagas_finished_total{kind,outcome}``, ``turnout_sagas_active{kind,state}`` and
    ``turnout_alerts_open``, read from the database at scrape time (every process's sagas)."""

    def build() -> list[Any]:
        with uow_factory(readonly=True) as uow:
            counts = uow.sagas.counts()
            open_alerts = len(uow.alerts.find(state="open", limit=10_000))
        finished = CounterMetricFamily(*_SAGAS_FINISHED, labels=["kind", "outcome"])
        active = GaugeMetricFamily(*_SAGAS_ACTIVE, labels=["kind", "state"])
        for (kind, state), n in sorted(counts.items()):
            if state in _FINISHED_STATES:
                finished.add_metric([kind, state], n)
            else:
                active.add_metric([kind, state], n)
        return [finished, active, GaugeMetricFamily(*_ALERTS_OPEN, value=open_alerts)]

    saga_families.set_function(build)
