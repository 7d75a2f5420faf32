"""Sending what Turnout owes external systems: ``DeliverySender.send_batch()`` claims due outbound
deliveries, signs and sends them, and records every attempt. Also the delivery log and a manual retry.

1. **Claim**: up to ``batch_size`` due deliveries to enabled integrations are read
   (``uow.outbound.due``, a read-only transaction), then become ``sending`` under this sender's
   lease (``uow.outbound.lease``: only those still due, in a short write transaction). One ordering key (a
   participant) has at most one delivery out at a time, the earliest: a later change never
   overtakes an earlier one. An endpoint whose circuit is open gets nothing until its cooldown
   ends, then one probe at a time.
2. **Send**, ``concurrency`` at a time: the address is checked again (DNS can change), the secret
   is opened, and the ``WebhookSender`` posts ``{"type", "timestamp", "data"}`` signed as Standard
   Webhooks do, with the delivery's id as ``webhook-id`` (the same on every attempt, so a receiver
   drops repeats by it).
3. **Record** (one transaction): a 2xx is ``delivered``; ``410 Gone`` is ``dead`` and disables the
   integration; anything else is retried after an exponential backoff with jitter until the retry
   window (``delivery_retry_hours``) ends, then ``dead`` with the last reason. Each attempt is kept
   (status code, latency, error), each outcome audited, and each endpoint's breaker updated.

Delivery is at least once: a sender that stops after a receiver answered but before recording it
leaves the delivery ``sending``; when the lease ends the next claim sends it again, same id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from turnout.domain.errors import Conflict, FieldError, NotFound
from turnout.domain.integrations import (
    BreakerPolicy,
    DeliveryStatus,
    answer_ok,
    endpoint_alive,
    retry_delay_seconds,
    system_of,
)
from turnout.ports import (
    AddressGuard,
    AuditEntry,
    Clock,
    DeliveryRecord,
    DeliveryResult,
    DueDelivery,
    OutboundMessage,
    Sealer,
    UnitOfWork,
    UnitOfWorkFactory,
    WebhookSender,
)

log = logging.getLogger(__name__)

GONE = 410
ERROR_MAX = 1000  # characters of an error kept with an attempt


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class DeliveryInFlight(Conflict):
    """A delivery that is pending or being sent cannot be retried by hand (it will be anyway)."""

    code = "delivery_not_finished"


class DeliverySuperseded(Conflict):
    """A later delivery with the same ordering key exists (a participant changed since): sending
    this one again would deliver an older state after a newer one."""

    code = "delivery_superseded"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    concurrency: int = 32
    batch_size: int = 256
    lease_seconds: float = 120.0
    retry_hours: float = 24.0
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)


def wire_body(delivery: DueDelivery) -> bytes:
    """What a receiver gets: ``{"type", "timestamp", "data"}`` (``timestamp``: when Turnout owed it)."""
    head = json.dumps(
        {"type": delivery.type, "timestamp": delivery.created_at.isoformat()}, separators=(",", ":")
    )
    # the payload goes as it was stored (JSON text): not decoded and encoded again per delivery
    return f'{head[:-1]},"data":{delivery.payload_json}}}'.encode()


class DeliverySender:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sender: WebhookSender,
        sealer: Sealer,
        guard: AddressGuard,
        policy: DeliveryPolicy,
        worker: str,
        rng: random.Random | None = None,
        on_results: Callable[[Sequence[DeliveryResult]], None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.sender = sender
        self.sealer = sealer
        self.guard = guard
        self.policy = policy
        self.worker = worker
        self.rng = rng or random.Random()
        self.on_results = on_results
        self._recording: asyncio.Future[None] | None = None

    def claim(self, limit: int | None = None) -> list[DueDelivery]:
        """Read what is due (at most ``limit``, or the policy's ``batch_size``), then lease it in a
        short write transaction (the read does not hold SQLite's write lock, which gate scans need)."""
        policy = self.policy
        now = self.clock.now()
        with self.uow_factory(readonly=True) as uow:
            due = uow.outbound.due(now=now, limit=limit or policy.batch_size, breaker=policy.breaker)
        if not due:
            return []
        with self.uow_factory() as uow:
            leased = uow.outbound.lease(
                due, now=now, lease_seconds=policy.lease_seconds, worker=self.worker, breaker=policy.breaker
            )
            uow.commit()
        return leased

    async def send_batch(self, *, overlap: bool = False, limit: int | None = None) -> int:
        """Claim, send and record one batch of at most ``limit`` deliveries (default: the policy's
        ``batch_size``); how many it held (0: nothing was due).

        ``overlap``: record this batch while the next is claimed and sent (``flush`` waits for the
        last one). The next claim cannot take a delivery of a key this batch still holds (they are
        ``sending`` until recorded): a later change still goes after an earlier one."""
        claimed = await asyncio.to_thread(self.claim, limit)
        if not claimed:
            await self.flush()
            return 0
        # each URL checked once per batch, off the event loop (a name is resolved)
        urls = sorted({d.url for d in claimed})
        checked = await asyncio.to_thread(lambda: {url: self.guard.check(url) for url in urls})
        gate = asyncio.Semaphore(self.policy.concurrency)
        results = await asyncio.gather(*(self._send_one(d, gate, checked[d.url]) for d in claimed))
        await self.flush()  # the batch before: recorded before this one is
        recording = asyncio.ensure_future(asyncio.to_thread(self.record, results))
        if overlap:
            self._recording = recording
        else:
            await recording
        return len(claimed)

    async def flush(self) -> None:
        """Wait until the batch still being recorded (``overlap``) is recorded."""
        recording, self._recording = self._recording, None
        if recording is not None:
            await recording

    async def drain(self, max_batches: int = 10_000) -> int:
        """Send batches until none is due (tests, the bench); how many deliveries went out."""
        total = 0
        try:
            for _ in range(max_batches):
                sent = await self.send_batch(overlap=True)
                if not sent:
                    break
                total += sent
        finally:
            await self.flush()
        return total

    async def _send_one(
        self, delivery: DueDelivery, gate: asyncio.Semaphore, checked: tuple[FieldError | None, str | None]
    ) -> DeliveryResult:
        async with gate:
            started = self.clock.now()
            try:
                return await self._attempt(delivery, started, checked)
            except Exception as exc:  # whatever goes wrong with one delivery is its own failure
                log.exception("delivery %s failed unexpectedly", delivery.id)
                return self._failure(delivery, started, None, None, f"{type(exc).__name__}: {exc}", None)

    async def _attempt(
        self, delivery: DueDelivery, started: datetime, checked: tuple[FieldError | None, str | None]
    ) -> DeliveryResult:
        problem, address = checked
        if problem is not None:
            where = delivery.url.split("?", 1)[0]
            return self._failure(delivery, started, None, None, f"{problem.code}: {where}", None)
        try:
            secret = self.sealer.open(delivery.secret_sealed)
        except Exception as exc:  # a changed TURNOUT_SECRET_KEY: nothing to sign with
            return self._failure(
                delivery, started, None, None, f"secret does not open: {type(exc).__name__}", None
            )
        outcome = await self.sender.send(
            url=delivery.url,
            secret=secret,
            message_id=delivery.id,
            timestamp=self.clock.now(),
            body=wire_body(delivery),
            connect_to=address,
        )
        code = outcome.status_code
        alive = endpoint_alive(code)
        if answer_ok(code):
            return self._result(delivery, started, "delivered", code, outcome.latency_ms, None, alive)
        if code == GONE:
            gone = "gone: 410 from the receiver"
            return self._result(delivery, started, "dead", code, outcome.latency_ms, gone, alive)
        error = outcome.error or f"HTTP {code}"
        return self._failure(delivery, started, code, outcome.latency_ms, error, alive)

    def _result(
        self,
        delivery: DueDelivery,
        started: datetime,
        outcome: str,
        code: int | None,
        latency_ms: int | None,
        error: str | None,
        alive: bool | None,
        next_attempt_at: datetime | None = None,
    ) -> DeliveryResult:
        return DeliveryResult(
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            system=delivery.system,
            url=delivery.url,
            attempt=delivery.attempts + 1,
            started_at=started,
            finished_at=self.clock.now(),
            outcome=outcome,
            status_code=code,
            latency_ms=latency_ms,
            error=error[:ERROR_MAX] if error else None,
            next_attempt_at=next_attempt_at,
            endpoint_ok=alive,
        )

    def _failure(
        self,
        delivery: DueDelivery,
        started: datetime,
        code: int | None,
        latency_ms: int | None,
        error: str,
        alive: bool | None,
    ) -> DeliveryResult:
        """Retried after the backoff, or ``dead`` when the next try would fall past the window."""
        policy = self.policy
        attempt = delivery.attempts + 1
        delay = retry_delay_seconds(
            attempt,
            base=policy.backoff_seconds,
            cap=policy.backoff_max_seconds,
            jitter=0.5 + self.rng.random() / 2,
        )
        now = self.clock.now()
        deadline = delivery.retry_until or delivery.created_at + timedelta(hours=policy.retry_hours)
        next_at = now + timedelta(seconds=delay)
        if next_at > deadline:
            ended = f"retries ended after {attempt} attempts: {error}"
            return self._result(delivery, started, "dead", code, latency_ms, ended, alive)
        return self._result(delivery, started, "failed", code, latency_ms, error, alive, next_at)

    def record(self, results: Sequence[DeliveryResult]) -> None:
        with self.uow_factory() as uow:
            results = uow.outbound.record(results, worker=self.worker, breaker=self.policy.breaker)
            now = self.clock.now()
            uow.audit.record_many(
                [
                    AuditEntry(
                        actor="deliveries",
                        action=f"delivery.{r.outcome}",
                        subject_type="delivery",
                        subject_id=r.delivery_id,
                        event_id=r.event_id,
                        data={
                            "system": r.system,
                            "attempt": r.attempt,
                            "status_code": r.status_code,
                            "latency_ms": r.latency_ms,
                            "error": r.error,
                        },
                    )
                    for r in results
                ]
            )
            for r in results:
                if (
                    r.status_code == GONE
                    and self._still_points_at(uow, r)
                    and uow.integrations.disable(
                        r.event_id, r.system, reason="410 Gone from the receiver", now=now
                    )
                ):
                    uow.audit.record(
                        actor="deliveries",
                        action="integration.disabled",
                        subject_type="integration",
                        subject_id=f"{r.event_id}/{r.system}",
                        event_id=r.event_id,
                        data={"system": r.system, "reason": "410 Gone", "delivery_id": r.delivery_id},
                    )
            uow.commit()
        if self.on_results is not None:
            try:
                self.on_results(results)
            except Exception:  # metrics must not undo what was recorded
                log.exception("delivery results callback failed")

    @staticmethod
    def _still_points_at(uow: UnitOfWork, result: DeliveryResult) -> bool:
        """Whether the integration still has the URL that answered 410 (it may have been changed
        since the delivery was claimed: a new URL is not disabled for the old one's answer)."""
        integration = uow.integrations.get(result.event_id, result.system)
        return integration is not None and integration.url == result.url

    async def send_now(self, deliveries: Sequence[DueDelivery]) -> list[DeliveryResult]:
        """Lease, send and record these deliveries at once (a test delivery the console waits
        for), as a batch is; the results of those this sender leased (another worker may have
        taken one first: it is sent all the same, by that worker)."""
        now = self.clock.now()

        def lease() -> list[DueDelivery]:
            with self.uow_factory() as uow:
                leased = uow.outbound.lease(
                    deliveries,
                    now=now,
                    lease_seconds=self.policy.lease_seconds,
                    worker=self.worker,
                    breaker=self.policy.breaker,
                )
                uow.commit()
            return leased

        leased = await asyncio.to_thread(lease)
        if not leased:
            return []
        urls = sorted({d.url for d in leased})
        checked = await asyncio.to_thread(lambda: {url: self.guard.check(url) for url in urls})
        gate = asyncio.Semaphore(self.policy.concurrency)
        results = list(await asyncio.gather(*(self._send_one(d, gate, checked[d.url]) for d in leased)))
        await asyncio.to_thread(self.record, results)
        return results

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self.sender.close()


# --- the delivery log -------------------------------------------------------------------------------


def list_deliveries(
    uow: UnitOfWork,
    *,
    event_id: str,
    system: str | None = None,
    status: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[DeliveryRecord]:
    """An event's deliveries, newest first, each with its attempts."""
    if uow.events.get(event_id) is None:
        raise NotFound("event_not_found", event_id=event_id)
    if system is not None:
        system = system_of(system).value
    if status is not None:
        DeliveryStatus(status)  # the API checks the value; this guards other callers
    return uow.outbound.list_for_event(
        event_id, system=system, status=status, before_seq=before_seq, limit=max(1, min(limit, 500))
    )


def get_delivery(uow: UnitOfWork, *, delivery_id: str) -> DeliveryRecord:
    found = uow.outbound.get(delivery_id)
    if found is None:
        raise DeliveryNotFound(delivery_id=delivery_id)
    return found


def retry_delivery(uow: UnitOfWork, *, delivery_id: str, actor: str, retry_hours: float) -> DeliveryRecord:
    """Send a delivered or dead delivery again (same id: a receiver that has it drops the repeat),
    due now and retried for another window; not one a later delivery of its key supersedes."""
    found = get_delivery(uow, delivery_id=delivery_id)
    later = uow.outbound.later_of_its_key(delivery_id)
    if later is not None:  # sending it again would put an older state after a newer one
        raise DeliverySuperseded(delivery_id=delivery_id, later_id=later)
    now = uow.clock.now()
    if not uow.outbound.retry(delivery_id, now=now, retry_until=now + timedelta(hours=retry_hours)):
        raise DeliveryInFlight(delivery_id=delivery_id, status=found.status)
    uow.audit.record(
        actor=actor,
        action="delivery.retry",
        subject_type="delivery",
        subject_id=delivery_id,
        event_id=found.event_id,
        data={"system": found.system, "previous_status": found.status},
    )
    return get_delivery(uow, delivery_id=delivery_id)


TEST_TYPE = "integration.test"


def enqueue_test_delivery(uow: UnitOfWork, *, event_id: str, system: str, actor: str) -> DueDelivery:
    """A test delivery to the event's integration with ``system`` (enabled or not), owed now and
    tried once (``retry_until`` now: a failure is final), logged like any other; what a sender's
    ``send_now`` sends. ``integration_not_found`` when the event has none."""
    chosen = system_of(system)
    if uow.events.get(event_id) is None:
        raise NotFound("event_not_found", event_id=event_id)
    integration = uow.integrations.get(event_id, chosen.value)
    if integration is None:
        raise NotFound("integration_not_found", event_id=event_id, system=chosen.value)
    now = uow.clock.now()
    payload = {"event_id": event_id, "system": chosen.value, "test": True}
    (delivery_id,) = uow.outbound.enqueue(
        [OutboundMessage(event_id, chosen.value, TEST_TYPE, payload, retry_until=now)], now=now
    )
    stored = uow.outbound.get(delivery_id, with_attempts=False)
    assert stored is not None
    uow.audit.record(
        actor=actor,
        action="delivery.test",
        subject_type="delivery",
        subject_id=delivery_id,
        event_id=event_id,
        data={"system": chosen.value},
    )
    return DueDelivery(
        id=delivery_id,
        seq=stored.seq,
        event_id=event_id,
        system=chosen.value,
        type=TEST_TYPE,
        payload_json=json.dumps(payload, separators=(",", ":")),
        attempts=0,
        created_at=stored.created_at,
        retry_until=now,
        url=integration.url,
        secret_sealed=integration.secret_sealed,
    )


def delivery_view(record: DeliveryRecord) -> dict[str, Any]:
    """A delivery as the API and the command line show it."""
    view: dict[str, Any] = {
        "id": record.id,
        "event_id": record.event_id,
        "system": record.system,
        "type": record.type,
        "ordering_key": record.ordering_key,
        "status": record.status,
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at.isoformat() if record.status == "pending" else None,
        "last_status_code": record.last_status_code,
        "last_error": record.last_error,
        "created_at": record.created_at.isoformat(),
        "delivered_at": record.delivered_at.isoformat() if record.delivered_at else None,
        "attempt_log": [
            {
                "attempt": a.attempt,
                "started_at": a.started_at.isoformat(),
                "outcome": a.outcome,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in record.attempt_log
        ],
    }
    if record.payload is not None:
        view["payload"] = record.payload
    return view
