"""The delivery sender against a real local receiver (pytest-httpserver), on SQLite and PostgreSQL:
signatures the reference ``standardwebhooks`` package verifies, retries, 410, redirects, timeouts,
the retry window, the address check at send time, the log and the audit."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeAddressGuard, FakeSealer
from tests.mail_support import add_event
from turnout.adapters.address_guard import ResolvingAddressGuard
from turnout.adapters.webhooks import HttpxWebhookSender
from turnout.bootstrap import Turnout, delivery_sender
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.ports import AddressGuard, OutboundMessage
from turnout.services.deliveries import DeliverySender

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
APP = IntegrationSystem.ATTENDEE_APP


class Receiver:
    """Answers each request with what ``answer`` returns; keeps every request."""

    def __init__(self, server: HTTPServer, answer: Callable[[Request], Response] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answer = answer or (lambda _r: Response("ok", 200))
        server.expect_request("/hooks").respond_with_handler(self._handle)
        self.url = server.url_for("/hooks")

    def _handle(self, request: Request) -> Response:
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return self.answer(request)


@pytest.fixture
def now_clock(clock: FakeClock) -> FakeClock:
    clock.set(datetime.now(UTC))  # signatures carry the time; the reference verifier wants it recent
    return clock


def setup(
    turnout: Turnout, clock: FakeClock, url: str, *, n: int = 1, key: str | None = "p1"
) -> tuple[str, list[str]]:
    with turnout.uow() as uow:
        event = add_event(uow)
        uow.integrations.put(
            Integration(event.id, APP, url, FakeSealer().seal(SECRET), True, None, clock.now(), clock.now())
        )
        ids = uow.outbound.enqueue(
            [
                OutboundMessage(
                    event.id, APP.value, "participant.status", {"n": i, "이름": "값"}, ordering_key=key
                )
                for i in range(n)
            ],
            now=clock.now(),
        )
        uow.commit()
    return event.id, ids


def sender(turnout: Turnout, guard: AddressGuard | None = None, **policy: Any) -> DeliverySender:
    return delivery_sender(turnout, sealer=FakeSealer(), guard=guard or FakeAddressGuard(), **policy)


def run(s: DeliverySender) -> int:
    async def go() -> int:
        try:
            return await s.send_batch()
        finally:
            await s.close()

    return asyncio.run(go())


def status_of(turnout: Turnout, delivery_id: str) -> Any:
    with turnout.uow(readonly=True) as uow:
        return uow.outbound.get(delivery_id)


def test_a_delivery_is_signed_as_standard_webhooks_and_logged(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    event_id, (delivery_id,) = setup(turnout, now_clock, receiver.url)
    assert run(sender(turnout)) == 1
    ((headers, body),) = receiver.requests
    verified = Webhook(SECRET).verify(body, headers)  # raises on a bad signature
    assert verified == {
        "type": "participant.status",
        "timestamp": now_clock.now().isoformat(),
        "data": {"n": 0, "이름": "값"},
    }
    assert headers["webhook-id"] == delivery_id
    assert headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)
    found = status_of(turnout, delivery_id)
    assert found.status == "delivered"
    assert [(a.attempt, a.outcome, a.status_code) for a in found.attempt_log] == [(1, "delivered", 200)]
    assert found.attempt_log[0].latency_ms is not None
    with turnout.uow(readonly=True) as uow:
        audit = uow.audit.for_subject("delivery", delivery_id)
    assert [(a["action"], a["event_id"]) for a in audit] == [("delivery.delivered", event_id)]


def test_a_failure_is_retried_after_a_backoff_with_the_same_id(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    answers = iter([Response("busy", 503), Response("ok", 200)])
    receiver = Receiver(httpserver, lambda _r: next(answers))
    _, (delivery_id,) = setup(turnout, now_clock, receiver.url)
    s = sender(turnout, backoff_seconds=10)
    assert run(s) == 1
    failed = status_of(turnout, delivery_id)
    assert (failed.status, failed.last_status_code, failed.last_error) == ("pending", 503, "HTTP 503: busy")
    wait = (failed.next_attempt_at - now_clock.now()).total_seconds()
    assert 5 <= wait <= 10  # 10 s with jitter in [0.5, 1)
    assert run(sender(turnout)) == 0  # not due yet
    now_clock.advance(seconds=wait)
    assert run(sender(turnout)) == 1
    assert [h["webhook-id"] for h, _ in receiver.requests] == [delivery_id, delivery_id]
    done = status_of(turnout, delivery_id)
    assert done.status == "delivered"
    assert [(a.attempt, a.outcome, a.status_code) for a in done.attempt_log] == [
        (1, "failed", 503),
        (2, "delivered", 200),
    ]


def test_410_gone_kills_the_delivery_and_disables_the_integration(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver, lambda _r: Response("gone", 410))
    event_id, (delivery_id, later) = setup(turnout, now_clock, receiver.url, n=2, key=None)
    assert run(sender(turnout, concurrency=1, batch_size=1)) == 1
    found = status_of(turnout, delivery_id)
    assert (found.status, found.last_status_code) == ("dead", 410)
    with turnout.uow(readonly=True) as uow:
        integration = uow.integrations.get(event_id, APP.value)
        audit = uow.audit.for_subject("integration", f"{event_id}/{APP.value}")
    assert integration is not None
    assert (integration.enabled, integration.disabled_reason) == (False, "410 Gone from the receiver")
    assert [a["action"] for a in audit] == ["integration.disabled"]
    assert run(sender(turnout)) == 0  # nothing more goes to a disabled integration
    assert status_of(turnout, later).status == "pending"
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed(turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer) -> None:
    elsewhere: list[bytes] = []

    def elsewhere_handler(request: Request) -> Response:
        elsewhere.append(request.get_data())
        return Response("x")

    httpserver.expect_request("/elsewhere").respond_with_handler(elsewhere_handler)
    receiver = Receiver(
        httpserver, lambda _r: Response("", 302, headers={"location": httpserver.url_for("/elsewhere")})
    )
    _, (delivery_id,) = setup(turnout, now_clock, receiver.url)
    run(sender(turnout))
    found = status_of(turnout, delivery_id)
    assert (found.status, found.last_status_code) == ("pending", 302)
    assert "not followed" in found.last_error
    assert elsewhere == []


def test_a_receiver_slower_than_the_timeout_is_a_failure(turnout: Turnout, now_clock: FakeClock) -> None:
    answered = threading.Event()

    def slow(_r: Request) -> Response:
        time.sleep(1.0)
        answered.set()
        return Response("late")

    server = HTTPServer(threaded=True)  # its own: a late request must not reach another test's receiver
    server.start()
    try:
        receiver = Receiver(server, slow)
        _, (delivery_id,) = setup(turnout, now_clock, receiver.url)
        s = sender(turnout)
        s.sender.timeout_seconds = 0.2  # type: ignore[attr-defined]
        run(s)
        found = status_of(turnout, delivery_id)
        assert (found.status, found.last_status_code, found.last_error) == (
            "pending",
            None,
            "timeout after 0.2 s",
        )
        assert answered.wait(5)
    finally:
        server.clear()
        server.stop()


def test_retrying_ends_with_dead_and_its_reason_after_the_window(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver, lambda _r: Response("no", 500))
    _, (delivery_id,) = setup(turnout, now_clock, receiver.url)
    attempts = 0
    for _ in range(100):
        if not run(sender(turnout, backoff_seconds=600, backoff_max_seconds=4 * 3600)):
            now_clock.advance(hours=4)
            continue
        attempts += 1
        if status_of(turnout, delivery_id).status == "dead":
            break
    found = status_of(turnout, delivery_id)
    assert found.status == "dead"
    assert found.last_error == f"retries ended after {found.attempts} attempts: HTTP 500: no"
    assert found.attempt_log[-1].started_at <= found.created_at + timedelta(hours=24)
    assert len(receiver.requests) == found.attempts == attempts
    assert attempts >= 5


def test_the_address_is_checked_again_at_send_time(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    _, (delivery_id,) = setup(turnout, now_clock, receiver.url)
    run(sender(turnout, guard=FakeAddressGuard({"localhost", "127.0.0.1"})))
    found = status_of(turnout, delivery_id)
    assert found.status == "pending"
    assert found.last_error.startswith("private_address")
    assert receiver.requests == []


def test_a_refused_connection_counts_toward_the_breaker(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks"
    _, ids = setup(turnout, now_clock, url, n=8, key=None)
    assert run(sender(turnout)) == 8
    now_clock.advance(hours=1)
    # open after 5 failures in a row: past the cooldown, one probe at a time
    assert run(sender(turnout)) == 1
    assert json.loads(json.dumps([status_of(turnout, i).status for i in ids])) == ["pending"] * 8


def _enqueue_to(turnout: Turnout, clock: FakeClock, url: str) -> str:
    with turnout.uow() as uow:
        event = add_event(uow)
        uow.integrations.put(
            Integration(event.id, APP, url, FakeSealer().seal(SECRET), True, None, clock.now(), clock.now())
        )
        (delivery_id,) = uow.outbound.enqueue(
            [OutboundMessage(event.id, APP.value, "participant.status", {"n": 1}, ordering_key="p1")],
            now=clock.now(),
        )
        uow.commit()
    return delivery_id


def test_a_url_httpx_refuses_fails_alone_and_the_rest_of_its_batch_is_recorded(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    """A URL stored before control characters were refused (a DEL in its path): its delivery fails
    on its own; the good one of the same batch is delivered and recorded."""
    receiver = Receiver(httpserver)
    good = _enqueue_to(turnout, now_clock, receiver.url)
    bad = _enqueue_to(turnout, now_clock, receiver.url + "\x7f")
    run(sender(turnout))
    assert len(receiver.requests) == 1
    assert status_of(turnout, good).status == "delivered"
    failed = status_of(turnout, bad)
    assert (failed.status, failed.last_error.split(":")[0]) == ("pending", "invalid_url")


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """Answers headers at once, then one body byte every 0.3 s for 3 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
                for _ in range(10):
                    if stop.is_set():
                        break
                    time.sleep(0.3)
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_the_timeout_bounds_the_whole_request(trickling_server: str) -> None:
    """A receiver that sends a byte now and then cannot hold a request past the timeout."""
    s = HttpxWebhookSender(timeout_seconds=1.0, max_connections=1)

    async def go() -> float:
        started = time.perf_counter()
        try:
            await s.send(
                url=trickling_server,
                secret=SECRET,
                message_id="m1",
                timestamp=datetime.now(UTC),
                body=b"{}",
            )
        finally:
            await s.close()
        return time.perf_counter() - started

    took = asyncio.run(go())
    assert took < 2.0, f"a 1 s timeout took {took:.1f} s"


def test_the_send_time_check_binds_the_address_the_request_connects_to(
    turnout: Turnout, now_clock: FakeClock, httpserver: HTTPServer
) -> None:
    """DNS rebinding: a name whose first answer is public and whose next is 127.0.0.1 must not
    reach loopback. Modelled with a resolver that answers a public address for ``localhost``: the
    request goes to the address the guard checked (here unreachable), never to 127.0.0.1."""
    receiver = Receiver(httpserver)
    url = receiver.url.replace("127.0.0.1", "localhost").replace("[::1]", "localhost")
    _enqueue_to(turnout, now_clock, url)
    guard = ResolvingAddressGuard(allow_private=False, resolve=lambda _host: ["93.184.216.34"])
    assert guard.problem(url) is None  # what the name server said first
    s = sender(turnout, guard=guard)
    s.sender.timeout_seconds = 1.0  # type: ignore[attr-defined]
    run(s)
    assert receiver.requests == [], "the request reached a loopback address the guard never checked"
