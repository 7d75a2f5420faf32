"""Prometheus metrics. Collectors live in one registry per process; ``/metrics`` renders it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
outbox_lag = Gauge("turnout_outbox_lag_messages", "Outbox messages not yet fully handled", registry=REGISTRY)
outbox_lag_seconds = Gauge(
    "turnout_outbox_lag_seconds", "Age of the oldest outbox message not yet fully handled", registry=REGISTRY
)
