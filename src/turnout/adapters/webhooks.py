"""``HttpxWebhookSender``: ``ports.WebhookSender`` over one ``httpx.AsyncClient`` (kept-alive
connections, ``delivery_timeout_seconds`` for the whole request, redirects not followed), signing
each request with the reference ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from turnout import __version__
from turnout.ports import Clock, DeliveryResult, SendOutcome, UnitOfWorkFactory

ANSWER_KEPT = 300  # characters of a non-2xx answer's body kept as its error


class HttpxWebhookSender:
    """Up to ``max_connections`` requests in flight, each on its own ``httpx.AsyncClient`` of one
    kept-alive connection (a lane): httpcore's pool looks over all its connections for every
    request, which with 32 connections in one pool cost more than the requests themselves."""

    def __init__(self, *, timeout_seconds: float, max_connections: int = 32) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_connections = max_connections
        self._lanes: asyncio.Queue[httpx.AsyncClient] | None = None
        self._clients: list[httpx.AsyncClient] = []
        self._signers: dict[str, Webhook] = {}
        self._tls: ssl.SSLContext | None = None

    def _signer(self, secret: str) -> Webhook:
        signer = self._signers.get(secret)
        if signer is None:
            if len(self._signers) > 1000:
                self._signers.clear()
            signer = self._signers[secret] = Webhook(secret)
        return signer

    def _client(self) -> httpx.AsyncClient:
        if self._tls is None:  # one context for every lane (loading the CA bundle takes ~20 ms)
            self._tls = httpx.create_ssl_context()
        client = httpx.AsyncClient(
            verify=self._tls,
            timeout=httpx.Timeout(self.timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"user-agent": f"Turnout/{__version__}", "content-type": "application/json"},
        )
        self._clients.append(client)
        return client

    @property
    def lanes(self) -> asyncio.Queue[httpx.AsyncClient]:
        if self._lanes is None:  # made on first use, on the loop that sends
            self._lanes = asyncio.Queue()
            for _ in range(self.max_connections):
                self._lanes.put_nowait(self._client())
        return self._lanes

    async def send(
        self,
        *,
        url: str,
        secret: str,
        message_id: str,
        timestamp: datetime,
        body: bytes,
        connect_to: str | None = None,
    ) -> SendOutcome:
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self._signer(secret).sign(message_id, timestamp, body.decode()),
        }
        extensions: dict[str, Any] = {}
        target = httpx.URL(url)
        if connect_to is not None and target.host:
            # connect to the address the guard checked, not to what the name resolves to now;
            # the request names the host, and TLS checks the certificate against it
            headers["host"] = target.netloc.decode("ascii")
            extensions["sni_hostname"] = target.host
            target = target.copy_with(host=connect_to)
        lanes = self.lanes
        client = await lanes.get()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_seconds):  # the whole request, not each read
                async with client.stream(
                    "POST", target, content=body, headers=headers, extensions=extensions
                ) as answer:
                    code = answer.status_code
                    kept = b""
                    # read the answer (a whole short one keeps the connection for the next request),
                    # keeping at most ANSWER_KEPT bytes: a longer one is cut and its connection closed
                    async for chunk in answer.aiter_raw():
                        kept += chunk
                        if len(kept) >= ANSWER_KEPT:
                            break
                    location = answer.headers.get("location", "?")
        except TimeoutError:
            return SendOutcome(None, _ms(started), f"timeout after {self.timeout_seconds:g} s")
        except httpx.TimeoutException:
            return SendOutcome(None, _ms(started), f"timeout after {self.timeout_seconds:g} s")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return SendOutcome(None, _ms(started), f"{type(exc).__name__}: {exc}"[:ANSWER_KEPT])
        finally:
            lanes.put_nowait(client)
        latency = _ms(started)
        if 200 <= code < 300:
            return SendOutcome(code, latency)
        text = kept[:ANSWER_KEPT].decode("utf-8", "replace")
        if 300 <= code < 400:
            text = f"redirect to {location[:200]} not followed"
        return SendOutcome(code, latency, f"HTTP {code}" + (f": {text}" if text else ""))

    async def close(self) -> None:
        clients, self._clients, self._lanes = self._clients, [], None
        for client in clients:
            await client.aclose()


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def count_results(results: Sequence[DeliveryResult]) -> None:
    """Prometheus: each attempt by system and outcome."""
    from turnout.adapters import metrics

    for r in results:
        metrics.outbound_deliveries.labels(r.system, r.outcome).inc()


def install_lag_gauge(uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    """``turnout_delivery_lag_seconds``: read from the database when ``/metrics`` is rendered."""
    from turnout.adapters import metrics

    def lag() -> float:
        with uow_factory(readonly=True) as uow:
            now = clock.now()
            oldest = uow.outbound.oldest_due(now=now)
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    metrics.delivery_lag_seconds.set_function(lag)
