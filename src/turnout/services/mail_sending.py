"""Sending queued email: ``MailSender.send_batch()`` claims due jobs, composes and sends them, and
records every attempt.

1. **Claim** (one transaction): up to ``batch_size`` due jobs become ``sending`` under this sender's
   lease. A job whose previous sender's lease expired (that sender stopped mid-batch) gets an
   attempt row saying so. The event's template overrides are read in the same transaction.
2. **Compose and send**: a job whose participant was cancelled, or whose ticket was reissued since,
   is not sent (``dead``: ``participant_cancelled`` / ``ticket_superseded``). The others are composed
   (``MailComposer``: templates, QR code, MIME) and handed to the ``Mailer``, ``concurrency`` at a
   time, at most ``rate_per_second``. A job that does not compose is ``dead`` ("render failed").
3. **Record** (one transaction): a transient failure makes the job ``failed``, retried after an
   exponential backoff; a permanent one (5xx), or the last allowed attempt, makes it ``dead``.

Delivery is at least once: a sender that stops after the server accepted a message but before
recording it leaves the job ``sending``; once the lease expires the next claim sends it again,
under the same Message-ID. The worker loop around ``send_batch`` is ``entrypoints.workers``'.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from turnout.domain.ids import new_id
from turnout.domain.participants import ParticipantStatus
from turnout.ports import (
    ClaimedEmail,
    Clock,
    ComposedMail,
    DeliveryError,
    EmailAttempt,
    EmailOutcome,
    EmailStatus,
    MailComposer,
    Mailer,
    TemplateSources,
    TicketMail,
    UnitOfWorkFactory,
)
from turnout.services.mail_queue import mail_domain
from turnout.services.mail_templates import LOCALES, NOTICE_KINDS, SUBJECT_MAX, ticket_context

log = logging.getLogger(__name__)

LEASE_EXPIRED = "lease expired: the sender stopped before finishing"
SKIP_CANCELLED = "participant_cancelled"
SKIP_SUPERSEDED = "ticket_superseded"
DEFAULT_LOCALE = "ko"


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    rate_per_second: float = 50.0
    concurrency: int = 8
    batch_size: int = 100
    lease_seconds: float = 300.0
    max_attempts: int = 12
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 1800.0

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 1 min, 2 min, ... at most 30 min (12 attempts span about three hours)."""
        seconds = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class ReadyJob:
    """A claimed job with what sending it needs: the language, the event's override of the template
    (None: the built-in one), or why it is not to be sent."""

    job: ClaimedEmail
    locale: str
    sources: TemplateSources | None
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How sending one job went, before it is recorded."""

    job: ClaimedEmail
    started_at: datetime
    status: str
    error: str | None = None
    code: int | None = None
    subject: str | None = None


class RateLimiter:
    """Token bucket on the monotonic clock: at most ``rate`` acquisitions per second on average."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def _locale(job: ClaimedEmail) -> str:
    """The participant's language, else the event's."""
    for locale in (job.participant_locale, job.event_locale):
        if locale in LOCALES:
            return str(locale)
    return DEFAULT_LOCALE


def _skip_reason(job: ClaimedEmail) -> str | None:
    if job.kind in NOTICE_KINDS:  # about the change itself: sent whatever came after
        return None
    if job.participant_status == ParticipantStatus.CANCELLED:
        return SKIP_CANCELLED
    if job.participant_ticket_version != job.ticket_version or not job.participant_token:
        return SKIP_SUPERSEDED
    return None


@dataclass
class MailSender:
    """Claims, sends and records email jobs: ``await send_batch()`` handles one batch."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    mailer: Mailer
    composer: MailComposer
    mail_from: str
    base_url: str
    policy: SenderPolicy = field(default_factory=SenderPolicy)
    sender_id: str = field(default_factory=lambda: f"{os.getpid()}-{new_id()[-8:]}")
    _limiter: RateLimiter | None = None

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(self.policy.rate_per_second)
        return self._limiter

    def claim(self) -> list[ReadyJob]:
        """Take a batch of due jobs (one transaction)."""
        with self.uow_factory() as uow:
            now = uow.clock.now()
            jobs = uow.mail.claim_due(
                now=now,
                lease_until=now + timedelta(seconds=self.policy.lease_seconds),
                sender=self.sender_id,
                limit=self.policy.batch_size,
            )
            if not jobs:
                return []
            uow.mail.add_attempts(
                [
                    EmailAttempt(
                        job_id=job.job_id,
                        attempt=job.attempt - 1,
                        started_at=now,
                        finished_at=now,
                        outcome=EmailStatus.FAILED,
                        smtp_code=None,
                        error=LEASE_EXPIRED,
                        sender=self.sender_id,
                    )
                    for job in jobs
                    if job.taken_over
                ]
            )
            overrides = {
                (stored.event_id, stored.kind, stored.locale): stored.sources
                for stored in uow.mail_templates.for_events(sorted({job.event_id for job in jobs}))
            }
            uow.commit()
        ready = []
        for job in jobs:
            locale = _locale(job)
            ready.append(
                ReadyJob(
                    job=job,
                    locale=locale,
                    sources=overrides.get((job.event_id, job.kind, locale)),
                    skip_reason=_skip_reason(job),
                )
            )
        return ready

    def compose(self, ready: ReadyJob, now: datetime) -> ComposedMail:
        job = ready.job
        assert job.participant_token is not None  # else skipped as superseded
        qr_cid = f"qr.{job.job_id}@{mail_domain(self.mail_from)}"
        context = ticket_context(
            participant_name=job.participant_name,
            event_name=job.event_name,
            starts_at=job.starts_at,
            ends_at=job.ends_at,
            timezone=job.timezone,
            venue=job.venue,
            token=job.participant_token,
            locale=ready.locale,
            base_url=self.base_url,
            qr_cid=qr_cid,
        )
        return self.composer.compose_ticket(
            TicketMail(
                message_id=job.message_id,
                to_name=job.participant_name,
                to_address=job.to_address,
                token=job.participant_token,
                kind=job.kind,
                locale=ready.locale,
                sources=ready.sources,
                context=context,
                qr_cid=qr_cid,
                date=now,
                with_qr=job.kind not in NOTICE_KINDS,
            )
        )

    async def _send_one(self, ready: ReadyJob, gate: asyncio.Semaphore) -> AttemptResult:
        job = ready.job
        started = self.clock.now()
        if ready.skip_reason:
            return AttemptResult(job, started, EmailStatus.DEAD, error=ready.skip_reason)
        try:
            composed = self.compose(ready, started)
        except Exception as exc:
            log.exception("cannot render email job %s", job.job_id)
            return AttemptResult(job, started, EmailStatus.DEAD, error=f"render failed: {exc}")
        async with gate:
            await self.limiter.acquire()
            try:
                await self.mailer.send(composed.mail)
            except DeliveryError as exc:
                return self._failure(job, started, exc, composed.subject)
            except Exception as exc:
                log.exception("mailer failed on job %s", job.job_id)
                error = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
                return self._failure(job, started, error, composed.subject)
        return AttemptResult(job, started, EmailStatus.SENT, subject=composed.subject)

    def _failure(
        self, job: ClaimedEmail, started: datetime, error: DeliveryError, subject: str
    ) -> AttemptResult:
        if error.permanent:
            return AttemptResult(job, started, EmailStatus.DEAD, error.reason, error.code, subject)
        if job.attempt >= self.policy.max_attempts:
            reason = f"gave up after {job.attempt} attempts: {error.reason}"
            return AttemptResult(job, started, EmailStatus.DEAD, reason, error.code, subject)
        return AttemptResult(job, started, EmailStatus.FAILED, error.reason, error.code, subject)

    def record(self, results: list[AttemptResult]) -> None:
        """One transaction for the batch: each job's new state, its attempt, its participant's
        ``email_status``."""
        if not results:
            return
        with self.uow_factory() as uow:
            now = uow.clock.now()
            outcomes = [
                EmailOutcome(
                    job_id=result.job.job_id,
                    participant_id=result.job.participant_id,
                    attempt=result.job.attempt,
                    status=result.status,
                    started_at=result.started_at,
                    finished_at=now,
                    next_attempt_at=(
                        now + self.policy.backoff(result.job.attempt)
                        if result.status == EmailStatus.FAILED
                        else now
                    ),
                    sent_at=now if result.status == EmailStatus.SENT else None,
                    error=result.error,
                    smtp_code=result.code,
                    subject=result.subject[:SUBJECT_MAX] if result.subject else None,
                )
                for result in results
            ]
            uow.mail.record(outcomes, sender=self.sender_id)
            uow.commit()

    async def send_batch(self) -> int:
        """Claim one batch, send it, record the outcomes; the number of jobs handled."""
        ready = self.claim()
        if not ready:
            return 0
        gate = asyncio.Semaphore(self.policy.concurrency)
        results = await asyncio.gather(*(self._send_one(item, gate) for item in ready))
        self.record(list(results))
        return len(ready)

    async def drain(self, max_batches: int = 1000) -> int:
        """Send until nothing is due (tests, benchmarks)."""
        total = 0
        for _ in range(max_batches):
            handled = await self.send_batch()
            if not handled:
                break
            total += handled
        return total
