"""Reliability of the deliveries (issue 14), on SQLite and PostgreSQL: 1,000 participants' changes
go to the gate-management and attendee-app systems, whose real local receivers (pytest-httpserver)
answer 500 to 30 % of the requests at random, answer some past the timeout, and each go down for a
while and come back on the same port. In the end each receiver holds each change exactly once after
dropping repeats by ``webhook-id``, in order per participant, every request signed as Standard
Webhooks do; and each endpoint's circuit opened while its receiver was down, letting one probe at a
time through.

Everything runs on the real clock (signatures carry the time, and the reference verifier wants it
recent) with a short timeout, backoff and breaker cooldown."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from turnout.adapters.db.tables_integrations import delivery_attempts, delivery_endpoints, outbound_deliveries
from turnout.adapters.webhooks import HttpxWebhookSender
from turnout.bootstrap import Turnout, bootstrap, delivery_sender
from turnout.config import Settings
from turnout.domain.events import EventStatus
from turnout.domain.integrations import HALF_OPEN, OPEN, IntegrationSystem
from turnout.ports import SendOutcome
from turnout.services.checkin_decisions import ScanInput
from turnout.services.events import change_status, create_event
from turnout.services.gates import create_gate
from turnout.services.integrations import put_integration
from turnout.services.registration import register_participant
from turnout.services.ticketing import cancel_participant, reissue_ticket

pytestmark = pytest.mark.slow

GATE = IntegrationSystem.GATE_MANAGEMENT.value
APP = IntegrationSystem.ATTENDEE_APP.value

PEOPLE = 1000
SEED = 14
FAIL_RATE = 0.3  # answered 500
SLOW_RATE = 0.02  # taken (the receiver keeps it) but answered after the sender gave up
TIMEOUT_SECONDS = 0.3
SLOW_SECONDS = 0.6
DOWN_SECONDS = 1.5
DOWN_LIMIT_SECONDS = 30.0
CHANGES_PER_ROUND = 100  # second and third changes made between two sending rounds
RUN_LIMIT_SECONDS = 240.0

REGISTERED = "participant.registered"
CANCELLED = "participant.cancelled"
REISSUED = "ticket.reissued"
CHECKED_IN = "attendance.recorded"


def secret_of(system: str) -> str:
    return "whsec_" + base64.b64encode(system.encode().ljust(32, b"#")[:32]).decode()


class FlakyReceiver:
    """A real HTTP receiver that misbehaves: each request (seeded by its ``webhook-id`` and how many
    times this receiver has seen it, so thread timing does not change the draw) is answered 500 at
    random, or taken and answered too late; ``go_down``/``come_back`` stop and restart the server on
    the same port."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.requests: list[tuple[dict[str, str], bytes]] = []  # every request that reached it
        self.taken: list[tuple[str, bytes]] = []  # (webhook-id, body) of those it kept, in arrival order
        self.seen: Counter[str] = Counter()
        self.answered_500 = 0
        self.answered_late = 0
        self.down = False
        self.outages = 0
        self.opened_while_down = False
        self.server = HTTPServer(host="127.0.0.1", threaded=True)
        self.server.expect_request("/hooks", method="POST").respond_with_handler(self._handle)
        self.server.start()
        self.url = self.server.url_for("/hooks")

    def _handle(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = request.get_data()
        message_id = headers.get("webhook-id", "")
        with self.lock:
            self.seen[message_id] += 1
            draw = random.Random(f"{SEED}:{self.name}:{message_id}:{self.seen[message_id]}")
            self.requests.append((headers, body))
            fails = draw.random() < FAIL_RATE
            late = not fails and draw.random() < SLOW_RATE
            if fails:
                self.answered_500 += 1
            else:
                self.taken.append((message_id, body))
            if late:
                self.answered_late += 1
        if late:
            time.sleep(SLOW_SECONDS)
        return Response("busy", 500) if fails else Response("ok", 200)

    def go_down(self) -> None:
        self.server.stop()
        self.down = True

    def come_back(self) -> None:
        self.server.start()  # the same host and port
        assert self.server.url_for("/hooks") == self.url
        self.down = False
        self.outages += 1

    def close(self) -> None:
        if self.server.is_running():
            self.server.stop()
        self.server.clear()


def outage(
    receiver: FlakyReceiver,
    *,
    after_requests: int,
    opened_since: Callable[[datetime], bool],
    stop: threading.Event,
) -> None:
    """Take the receiver down once it has had ``after_requests`` requests (mid-batch: this does not
    wait for the sender), and bring it back after ``DOWN_SECONDS`` and once its endpoint's circuit
    was seen opened since it went down (or after ``DOWN_LIMIT_SECONDS``: the test then fails)."""
    while len(receiver.requests) < after_requests:
        if stop.wait(0.005):
            return
    receiver.go_down()
    went_down = time.monotonic()
    down_since = datetime.now(UTC)
    while not stop.wait(0.05):
        if not receiver.opened_while_down and opened_since(down_since):
            receiver.opened_while_down = True
        down_for = time.monotonic() - went_down
        if (down_for >= DOWN_SECONDS and receiver.opened_while_down) or down_for >= DOWN_LIMIT_SECONDS:
            break
    receiver.come_back()


@dataclass
class CountingSender:
    """The real httpx sender, counting the requests it makes to each URL."""

    inner: HttpxWebhookSender
    sent: Counter[str] = field(default_factory=Counter)

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
        self.sent[url] += 1
        return await self.inner.send(
            url=url,
            secret=secret,
            message_id=message_id,
            timestamp=timestamp,
            body=body,
            connect_to=connect_to,
        )

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
def real_time_turnout(settings: Settings) -> Iterator[Turnout]:
    """The app on the real clock, allowed to deliver to local receivers, with a short timeout,
    backoff and breaker cooldown."""
    tuned = settings.model_copy(
        update={
            "allow_private_webhooks": True,
            "delivery_timeout_seconds": TIMEOUT_SECONDS,
            "delivery_backoff_seconds": 0.02,
            "delivery_breaker_failures": 5,
            "delivery_breaker_cooldown_seconds": 0.3,
        }
    )
    wired = bootstrap(tuned)
    yield wired
    wired.close()


@pytest.fixture
def quiet_werkzeug() -> Iterator[None]:
    """Thousands of request log lines would only slow the receivers down."""
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def make_event(turnout: Turnout, receivers: dict[str, FlakyReceiver]) -> tuple[str, str]:
    """A live event whose gate-management and attendee-app integrations point at the receivers, and
    its gate (so the gate system also gets the status changes, syncs and gate configuration)."""
    now = datetime.now(UTC)
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="test",
            name="신뢰성 행사",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=9),
            min_age=0,  # no age rule
        )
        uow.commit()
    for system, receiver in receivers.items():
        put_integration(
            turnout.uow,
            sealer=turnout.sealer,
            guard=turnout.address_guard,
            actor="test",
            event_id=event.id,
            system=system,
            url=receiver.url,
            secret=secret_of(system),
        )
    with turnout.uow() as uow:
        for status in (EventStatus.OPEN, EventStatus.LIVE):
            change_status(uow, event_id=event.id, status=status, actor="test")
        gate = create_gate(uow, actor="test", event_id=event.id, name="정문")
        uow.commit()
    return event.id, gate.id


def register_people(turnout: Turnout, event_id: str) -> list[tuple[str, str]]:
    """``PEOPLE`` participants through the registration service; their ids and tokens."""
    people: list[tuple[str, str]] = []
    for start in range(0, PEOPLE, 100):
        with turnout.uow() as uow:
            for n in range(start, start + 100):
                data = {"name": f"참가자{n}", "email": f"p{n}@example.com", "consents": {"required": True}}
                p = register_participant(
                    uow, tickets=turnout.tickets, event_id=event_id, data=data, source="api", actor="test"
                )
                people.append((p.id, p.token or ""))
            uow.commit()
    return people


@dataclass(frozen=True)
class Change:
    kind: str  # CANCELLED, REISSUED or CHECKED_IN
    participant_id: str
    token: str


def planned_changes(people: list[tuple[str, str]]) -> tuple[list[Change], dict[str, list[str]]]:
    """Second and third changes for 900 of the participants (seeded order), and the facts each
    participant's changes make, in order. By ``n % 10``: 0-1 cancelled; 2-3 reissued; 4-6 checked
    in; 7 checked in then reissued; 8 reissued then cancelled; 9 only registered."""
    facts: dict[str, list[str]] = {pid: [REGISTERED] for pid, _ in people}
    second: list[Change] = []
    third: list[Change] = []
    for n, (pid, token) in enumerate(people):
        group = n % 10
        if group in (0, 1):
            second.append(Change(CANCELLED, pid, token))
        elif group in (2, 3, 8):
            second.append(Change(REISSUED, pid, token))
        elif group in (4, 5, 6, 7):
            second.append(Change(CHECKED_IN, pid, token))
        if group == 7:
            third.append(Change(REISSUED, pid, token))
        elif group == 8:
            third.append(Change(CANCELLED, pid, token))
    rng = random.Random(SEED)
    rng.shuffle(second)
    rng.shuffle(third)
    changes = second + third
    for change in changes:
        facts[change.participant_id].append(change.kind)
    return changes, facts


def apply_changes(turnout: Turnout, event_id: str, gate_id: str, changes: list[Change]) -> None:
    """Cancel and reissue through the ticketing service, check in through the check-in service."""
    with turnout.uow() as uow:
        for change in changes:
            if change.kind == CANCELLED:
                cancel_participant(uow, participant_id=change.participant_id, actor="test")
            elif change.kind == REISSUED:
                reissue_ticket(
                    uow, tickets=turnout.tickets, participant_id=change.participant_id, actor="test"
                )
        uow.commit()
    scans = [ScanInput(gate_id=gate_id, token=c.token) for c in changes if c.kind == CHECKED_IN]
    if scans:
        result = turnout.checkin.bulk(event_id=event_id, records=scans, batch_size=len(scans))
        assert (result.successful, result.errors) == (len(scans), [])


def endpoint_states(turnout: Turnout, event_id: str) -> dict[str, tuple[str, datetime | None]]:
    """Each endpoint's circuit: its state and when it last opened."""
    e = delivery_endpoints.c
    with turnout.uow(readonly=True) as uow:
        rows = uow.conn.execute(sa.select(e.system, e.state, e.opened_at).where(e.event_id == event_id))
        return {str(system): (str(state), opened_at) for system, state, opened_at in rows}


def opened_since(turnout: Turnout, event_id: str, system: str) -> Callable[[datetime], bool]:
    """Whether the system's circuit is open (or half-open) and opened after a moment."""

    def check(moment: datetime) -> bool:
        state, opened_at = endpoint_states(turnout, event_id).get(system, ("closed", None))
        if state not in (OPEN, HALF_OPEN) or opened_at is None:
            return False
        return (opened_at if opened_at.tzinfo else opened_at.replace(tzinfo=UTC)) >= moment

    return check


@dataclass(frozen=True)
class Stored:
    id: str
    seq: int
    system: str
    type: str
    ordering_key: str | None
    status: str
    payload: dict[str, Any]


def stored_deliveries(turnout: Turnout, event_id: str) -> list[Stored]:
    d = outbound_deliveries.c
    with turnout.uow(readonly=True) as uow:
        rows = uow.conn.execute(
            sa.select(d.id, d.seq, d.system, d.type, d.ordering_key, d.status, d.payload)
            .where(d.event_id == event_id)
            .order_by(d.seq)
        )
        return [Stored(*row) for row in rows]


def attempts_by_delivery(turnout: Turnout) -> tuple[Counter[str], list[str | None]]:
    a = delivery_attempts.c
    with turnout.uow(readonly=True) as uow:
        query = sa.select(a.delivery_id, sa.func.count()).group_by(a.delivery_id)
        counts = Counter[str]({str(i): int(n) for i, n in uow.conn.execute(query)})
        errors = list(uow.conn.execute(sa.select(a.error).where(a.outcome != "delivered")).scalars())
    return counts, errors


def participant_of(delivery: Stored) -> str | None:
    if delivery.type == "participant.changed":
        return str(delivery.payload["participant"]["id"])
    if delivery.type == "participant.status":
        return str(delivery.payload["participant_id"])
    return None


def test_each_receiver_gets_each_change_once_in_order_through_failures_timeouts_and_outages(
    real_time_turnout: Turnout, quiet_werkzeug: None
) -> None:
    turnout = real_time_turnout
    started = time.monotonic()
    receivers = {GATE: FlakyReceiver(GATE), APP: FlakyReceiver(APP)}
    stop = threading.Event()
    relay = turnout.relay()
    counting = CountingSender(
        HttpxWebhookSender(
            timeout_seconds=turnout.settings.delivery_timeout_seconds,
            max_connections=turnout.settings.delivery_concurrency,
        )
    )
    sender = delivery_sender(
        turnout,
        sealer=turnout.sealer,
        guard=turnout.address_guard,
        sender=counting,
        rng=random.Random(SEED),
        backoff_max_seconds=0.5,
    )
    outages: list[threading.Thread] = []
    probe_rounds: Counter[str] = Counter()  # rounds that began with the endpoint's circuit open or half-open
    too_many_probes: list[tuple[str, int]] = []
    rounds = 0
    try:
        event_id, gate_id = make_event(turnout, receivers)
        people = register_people(turnout, event_id)
        relay.drain(publish=False)
        changes, facts = planned_changes(people)
        setup_seconds = time.monotonic() - started

        outages += [
            threading.Thread(
                target=outage,
                args=(receivers[system],),
                kwargs={
                    "after_requests": after,
                    "opened_since": opened_since(turnout, event_id, system),
                    "stop": stop,
                },
            )
            for system, after in ((GATE, 600), (APP, 1200))
        ]
        for thread in outages:
            thread.start()

        async def deliver_everything() -> None:
            nonlocal rounds
            todo = list(changes)
            while True:
                if todo:  # the next changes happen while earlier ones are still being delivered
                    apply_changes(turnout, event_id, gate_id, todo[:CHANGES_PER_ROUND])
                    del todo[:CHANGES_PER_ROUND]
                    relay.drain(publish=False)
                states = endpoint_states(turnout, event_id)
                counting.sent.clear()
                sent = await sender.send_batch()
                rounds += 1
                for system, receiver in receivers.items():
                    if states.get(system, ("closed", None))[0] in (OPEN, HALF_OPEN):
                        probe_rounds[system] += 1
                        if counting.sent[receiver.url] > 1:
                            too_many_probes.append((system, counting.sent[receiver.url]))
                if sent or todo:
                    continue
                with turnout.uow(readonly=True) as uow:
                    counts = uow.outbound.counts(event_id)
                unfinished = sum(
                    n for by in counts.values() for s, n in by.items() if s in ("pending", "sending")
                )
                if not unfinished and not relay.drain(publish=False):
                    return
                assert time.monotonic() - started < RUN_LIMIT_SECONDS, f"still unfinished: {counts}"
                await asyncio.sleep(0.02)

        async def run() -> None:
            try:
                await deliver_everything()
            finally:
                await sender.close()

        asyncio.run(run())
        for thread in outages:
            thread.join(timeout=DOWN_LIMIT_SECONDS + 5)
        delivering_seconds = time.monotonic() - started - setup_seconds
    finally:
        stop.set()
        for thread in outages:
            if thread.is_alive():
                thread.join(timeout=DOWN_LIMIT_SECONDS + 5)
        relay.close()
        for receiver in receivers.values():
            receiver.close()

    # the receivers did misbehave: 500s, late answers, an outage each
    for receiver in receivers.values():
        assert receiver.outages == 1, receiver.name
        assert 0.2 < receiver.answered_500 / len(receiver.requests) < 0.4, receiver.name
        assert receiver.answered_late > 0, receiver.name
    attempts, errors = attempts_by_delivery(turnout)
    assert any(e and e.startswith("timeout after") for e in errors)
    assert any(e and e.startswith("ConnectError") for e in errors)  # refused while down

    # nothing is left or dead: every delivery is delivered
    stored = stored_deliveries(turnout, event_id)
    assert {(d.system, d.status) for d in stored} == {(GATE, "delivered"), (APP, "delivered")}

    for system, receiver in receivers.items():
        ours = [d for d in stored if d.system == system]
        by_id = {d.id: d for d in ours}
        # every request is signed with the system's secret (and not with another's)
        signer = Webhook(secret_of(system))
        for headers, body in receiver.requests:
            verified = signer.verify(body, headers)
            assert verified["data"] == by_id[headers["webhook-id"]].payload
        other = Webhook(secret_of(APP if system == GATE else GATE))
        with pytest.raises(Exception, match="signature"):
            other.verify(receiver.requests[0][1], receiver.requests[0][0])
        # no request the sender did not record as an attempt (a request is never sent twice)
        assert all(n <= attempts[i] for i, n in receiver.seen.items()), system
        # after dropping repeats by webhook-id: each delivery exactly once, the repeats the same body
        first: dict[str, bytes] = {}
        for message_id, body in receiver.taken:
            assert first.setdefault(message_id, body) == body
        assert len(receiver.taken) > len(first)  # repeats did arrive (late answers, lost answers)
        assert set(first) == set(by_id), system
        # in order per ordering key: the order of first arrival is the order they were enqueued
        arrived: dict[str | None, list[str]] = defaultdict(list)
        for message_id in first:  # dicts keep insertion order: first arrivals
            arrived[by_id[message_id].ordering_key].append(message_id)
        enqueued: dict[str | None, list[str]] = defaultdict(list)
        for d in ours:
            enqueued[d.ordering_key].append(d.id)
        assert arrived == enqueued, system
        # per participant: each change of theirs once, in the order the changes happened
        changes_seen: dict[str, list[str]] = defaultdict(list)
        for message_id in first:
            d = by_id[message_id]
            pid = participant_of(d)
            if pid is not None:
                changes_seen[pid].append(d.payload["change"])
        expected = {
            pid: [f for f in kinds if system == APP or f != CHECKED_IN] for pid, kinds in facts.items()
        }
        assert changes_seen == expected, system
        assert sum(len(k) for k in expected.values()) >= 1500

    # the circuit opened while each receiver was down, and an open circuit let one probe at a time
    assert [r.opened_while_down for r in receivers.values()] == [True, True]
    assert too_many_probes == []
    print(
        f"\n{turnout.dialect}: setup {setup_seconds:.1f} s, delivering {delivering_seconds:.1f} s in "
        f"{rounds} rounds; deliveries {len(stored)}, requests "
        + ", ".join(
            f"{r.name} {len(r.requests)} (500: {r.answered_500}, late: {r.answered_late})"
            for r in receivers.values()
        )
        + f"; rounds with an open circuit {dict(probe_rounds)}"
    )
