"""Ticket emails: the queue, rendering, per-event template overrides and the sender.

* ``queue_ticket_email`` (a ``participant.registered`` / ``ticket.reissued`` handler) only inserts an
  email job, in the relay's transaction; at most one per (participant, kind, ticket version).
* ``MailSender`` claims due jobs under a lease, renders them (Jinja2, QR inline by ``cid`` and
  attached), sends them through the ``Mailer`` port with a rate limit and bounded concurrency, and
  records every attempt. Transient failures are retried with exponential backoff; permanent ones
  (5xx) make the job ``dead`` at once. A sender that crashes leaves ``sending`` jobs whose lease
  expires; the next claim takes them again (at-least-once: such a message can go out twice, under
  the same Message-ID).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters import qr
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_mail import email_attempts, email_jobs, mail_templates
from turnout.adapters.db.uow import UnitOfWork
from turnout.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from turnout.domain.ids import new_id
from turnout.messages.base import Envelope
from turnout.ports import Clock, DeliveryError, Mailer, OutgoingMail

log = logging.getLogger(__name__)

KIND_TICKET = "ticket"
KINDS = (KIND_TICKET,)
LOCALES = ("ko", "en")
PARTS = ("subject", "html", "text")
QUEUED, SENDING, SENT, FAILED, DEAD = "queued", "sending", "sent", "failed", "dead"
STATUSES = (QUEUED, SENDING, SENT, FAILED, DEAD)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
_SUFFIX = {"subject": "subject.j2", "html": "html.j2", "text": "txt.j2"}


# --------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


_TEXT_ENV = _environment(False)
_HTML_ENV = _environment(True)


@lru_cache(maxsize=256)
def _compile(part: str, source: str) -> jinja2.Template:
    env = _HTML_ENV if part == "html" else _TEXT_ENV
    return env.from_string(source)


@lru_cache(maxsize=16)
def default_source(kind: str, locale: str, part: str) -> str:
    return (TEMPLATES / f"{kind}.{locale}.{_SUFFIX[part]}").read_text(encoding="utf-8")


def render_parts(sources: dict[str, str], context: dict[str, Any]) -> RenderedEmail:
    """Render subject, html and text; raises ``jinja2.TemplateError`` (with the part in ``.part``)."""
    out: dict[str, str] = {}
    for part in PARTS:
        try:
            out[part] = _compile(part, sources[part]).render(context)
        except jinja2.TemplateError as exc:
            exc.part = part  # type: ignore[attr-defined]
            raise
    subject = " ".join(out["subject"].split())
    return RenderedEmail(subject=subject, html=out["html"], text=out["text"])


def format_moment(moment: datetime, timezone: str, locale: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    if locale == "ko":
        weekday = "월화수목금토일"[local.weekday()]
        return f"{local.year}년 {local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M}"


def ticket_context(
    *,
    participant_name: str,
    event_name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    venue: str | None,
    token: str,
    locale: str,
    base_url: str,
    qr_cid: str,
) -> dict[str, Any]:
    """The variables a ticket template may use (documented in docs/tickets.md)."""
    return {
        "participant_name": participant_name,
        "event_name": event_name,
        "starts_at": format_moment(starts_at, timezone, locale),
        "ends_at": format_moment(ends_at, timezone, locale),
        "timezone": timezone,
        "venue": venue or "",
        "token": token,
        "ticket_url": f"{base_url.rstrip('/')}/t/{token}",
        "qr_cid": qr_cid,
        "locale": locale,
    }


def sample_context(locale: str) -> dict[str, Any]:
    from datetime import UTC

    return ticket_context(
        participant_name="홍길동" if locale == "ko" else "Jane Doe",
        event_name="Sample event",
        starts_at=datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        timezone="Asia/Seoul",
        venue="COEX",
        token="A" * 159,
        locale=locale,
        base_url="http://127.0.0.1:8000",
        qr_cid="qr.sample@turnout",
    )


def mail_domain(mail_from: str) -> str:
    _local, at, domain = parseaddr(mail_from)[1].rpartition("@")
    return domain if at and domain else "turnout.localhost"


def build_message(
    *,
    rendered: RenderedEmail,
    mail_from: str,
    to_name: str,
    to_address: str,
    message_id: str,
    qr_png: bytes,
    qr_cid: str,
    date: datetime,
) -> OutgoingMail:
    """multipart/mixed[ alternative[ text, related[ html, qr.png (cid) ] ], ticket.png ].

    Written directly as MIME text (CRLF lines, UTF-8 bodies in base64, RFC 2047 headers): the
    structure the ``email`` package makes, without its per-header folding machinery, which costs
    milliseconds per message at hundreds of messages per second."""
    mixed, alternative, related = (f"=_turnout_{secrets.token_hex(12)}_{n}" for n in "mar")
    qr_b64 = _base64(qr_png)
    sender_name, sender_address = parseaddr(mail_from)
    lines = [
        f"From: {_address_header(sender_name, sender_address)}",
        f"To: {_address_header(to_name, to_address)}",
        f"Subject: {_encoded_header('Subject', rendered.subject)}",
        f"Message-ID: {message_id}",
        f"Date: {format_datetime(date)}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{mixed}"',
        "",
        f"--{mixed}",
        f'Content-Type: multipart/alternative; boundary="{alternative}"',
        "",
        f"--{alternative}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _base64(rendered.text.encode()),
        f"--{alternative}",
        f'Content-Type: multipart/related; boundary="{related}"; type="text/html"',
        "",
        f"--{related}",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _base64(rendered.html.encode()),
        f"--{related}",
        "Content-Type: image/png",
        "Content-Transfer-Encoding: base64",
        f"Content-ID: <{qr_cid}>",
        'Content-Disposition: inline; filename="qr.png"',
        "",
        qr_b64,
        f"--{related}--",
        f"--{alternative}--",
        f"--{mixed}",
        "Content-Type: image/png",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="ticket.png"',
        "",
        qr_b64,
        f"--{mixed}--",
        "",
    ]
    return OutgoingMail(
        sender=sender_address,
        recipients=(to_address,),
        message_id=message_id,
        data="\r\n".join(lines).encode("ascii"),
    )


def _base64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", "\r\n").rstrip("\r\n")


def _encoded_header(name: str, value: str) -> str:
    value = " ".join(value.split())
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _address_header(name: str, address: str) -> str:
    return formataddr((" ".join(name.split()), address), charset="utf-8") if name else address


# ------------------------------------------------------------------------------------ template overrides


@dataclass(frozen=True)
class TemplateSet:
    event_id: str
    kind: str
    locale: str
    subject: str
    html: str
    text: str
    overridden: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


def _check_kind_locale(kind: str, locale: str) -> None:
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("kind", "invalid_value", value=kind))
    if locale not in LOCALES:
        errors.append(FieldError("locale", "invalid_value", value=locale))
    if errors:
        raise ValidationFailed(errors)


def get_templates(uow: UnitOfWork, *, event_id: str, kind: str = KIND_TICKET) -> list[TemplateSet]:
    """Both locales: the event's override where there is one, else the built-in template."""
    rows = {
        r.locale: r
        for r in uow.conn.execute(
            sa.select(mail_templates).where(
                mail_templates.c.event_id == event_id, mail_templates.c.kind == kind
            )
        )
    }
    out = []
    for locale in LOCALES:
        row = rows.get(locale)
        if row is not None:
            out.append(
                TemplateSet(
                    event_id,
                    kind,
                    locale,
                    row.subject,
                    row.html,
                    row.text,
                    True,
                    row.updated_at,
                    row.updated_by,
                )
            )
        else:
            out.append(
                TemplateSet(
                    event_id,
                    kind,
                    locale,
                    subject=default_source(kind, locale, "subject"),
                    html=default_source(kind, locale, "html"),
                    text=default_source(kind, locale, "text"),
                    overridden=False,
                )
            )
    return out


def validate_templates(*, locale: str, subject: str, html: str, text: str) -> None:
    """Compile and render with sample data; refuse (422, code ``template_error``) with the error."""
    errors = []
    sources = {"subject": subject, "html": html, "text": text}
    for part in PARTS:
        try:
            rendered = _compile(part, sources[part]).render(sample_context(locale))
        except jinja2.TemplateSyntaxError as exc:
            errors.append(
                FieldError(part, "template_error", params={"error": f"line {exc.lineno}: {exc.message}"})
            )
            continue
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            errors.append(FieldError(part, "template_error", params={"error": str(exc)}))
            continue
        if part == "subject" and not rendered.strip():
            errors.append(FieldError(part, "template_error", params={"error": "the subject is empty"}))
        if part == "subject" and len(rendered) > 300:
            errors.append(FieldError(part, "template_error", params={"error": "the subject is too long"}))
    if errors:
        raise ValidationFailed(errors)


def save_template(
    uow: UnitOfWork,
    *,
    event_id: str,
    locale: str,
    subject: str,
    html: str,
    text: str,
    actor: str,
    kind: str = KIND_TICKET,
) -> TemplateSet:
    _check_kind_locale(kind, locale)
    validate_templates(locale=locale, subject=subject, html=html, text=text)
    now = uow.clock.now()
    key = {"event_id": event_id, "kind": kind, "locale": locale}
    values = {"subject": subject, "html": html, "text": text, "updated_at": now, "updated_by": actor}
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    uow.conn.execute(
        insert(mail_templates)
        .values(**key, **values)
        .on_conflict_do_update(index_elements=["event_id", "kind", "locale"], set_=values)
    )
    uow.audit.record(
        actor=actor,
        action="mail_template.saved",
        subject_type="event",
        subject_id=event_id,
        event_id=event_id,
        data={"kind": kind, "locale": locale},
    )
    return TemplateSet(event_id, kind, locale, subject, html, text, True, now, actor)


def delete_template(
    uow: UnitOfWork, *, event_id: str, locale: str, actor: str, kind: str = KIND_TICKET
) -> bool:
    _check_kind_locale(kind, locale)
    result = uow.conn.execute(
        mail_templates.delete().where(
            mail_templates.c.event_id == event_id,
            mail_templates.c.kind == kind,
            mail_templates.c.locale == locale,
        )
    )
    if result.rowcount:
        uow.audit.record(
            actor=actor,
            action="mail_template.deleted",
            subject_type="event",
            subject_id=event_id,
            event_id=event_id,
            data={"kind": kind, "locale": locale},
        )
    return bool(result.rowcount)


# ------------------------------------------------------------------------------------------------- queue


def _insert_job(
    uow: UnitOfWork, *, participant: Any, kind: str, dedup_key: str | None, mail_from: str
) -> str | None:
    """Insert a queued job (nothing when ``dedup_key`` exists already); returns its id."""
    job_id = new_id()
    now = uow.clock.now()
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    statement = insert(email_jobs).values(
        id=job_id,
        event_id=participant.event_id,
        participant_id=participant.id,
        kind=kind,
        ticket_version=participant.ticket_version,
        dedup_key=dedup_key,
        status=QUEUED,
        message_id=f"<{job_id}.{kind}@{mail_domain(mail_from)}>",
        to_address=participant.email,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    if dedup_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedup_key"])
    if uow.conn.execute(statement.returning(email_jobs.c.id)).first() is None:
        return None  # the automatic mail for this ticket version is queued already
    uow.conn.execute(
        t.participants.update()
        .where(t.participants.c.id == participant.id)
        .values(email_status=QUEUED, email_error=None)
    )
    return job_id


def _participant(uow: UnitOfWork, participant_id: str) -> Any:
    return uow.conn.execute(sa.select(t.participants).where(t.participants.c.id == participant_id)).first()


def queue_ticket_email(envelope: Envelope, uow: UnitOfWork, *, mail_from: str) -> None:
    """Handler for ``participant.registered`` and ``ticket.reissued``: one ticket email per version."""
    participant_id = envelope.data.get("participant_id")
    if not participant_id:
        return
    participant = _participant(uow, participant_id)
    if participant is None or participant.status == "cancelled" or not participant.email:
        return
    dedup_key = f"{participant.id}:{KIND_TICKET}:{participant.ticket_version}"
    _insert_job(uow, participant=participant, kind=KIND_TICKET, dedup_key=dedup_key, mail_from=mail_from)


def resend_ticket(uow: UnitOfWork, *, participant_id: str, actor: str, mail_from: str) -> dict[str, Any]:
    """A new job for the participant's current ticket (always a new message, a new Message-ID)."""
    participant = _participant(uow, participant_id)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    if participant.status == "cancelled":
        raise Conflict("participant_cancelled")
    job_id = _insert_job(uow, participant=participant, kind=KIND_TICKET, dedup_key=None, mail_from=mail_from)
    assert job_id is not None
    uow.audit.record(
        actor=actor,
        action="ticket.resent",
        subject_type="participant",
        subject_id=participant_id,
        event_id=participant.event_id,
        data={"job_id": job_id},
    )
    return get_job(uow, job_id=job_id)


def get_job(uow: UnitOfWork, *, job_id: str) -> dict[str, Any]:
    row = uow.conn.execute(sa.select(email_jobs).where(email_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound("not_found", job_id=job_id)
    return dict(row._mapping)


def list_jobs(
    uow: UnitOfWork,
    *,
    event_id: str,
    after_id: str | None = None,
    limit: int = 100,
    status: str | None = None,
    participant_id: str | None = None,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    query = (
        sa.select(email_jobs, t.participants.c.name.label("participant_name"))
        .join(t.participants, t.participants.c.id == email_jobs.c.participant_id)
        .where(email_jobs.c.event_id == event_id)
        .order_by(email_jobs.c.id.desc() if newest_first else email_jobs.c.id)
        .limit(limit)
    )
    if after_id:
        query = query.where(email_jobs.c.id < after_id if newest_first else email_jobs.c.id > after_id)
    if status:
        query = query.where(email_jobs.c.status == status)
    if participant_id:
        query = query.where(email_jobs.c.participant_id == participant_id)
    return [dict(r._mapping) for r in uow.conn.execute(query)]


def attempts_of(uow: UnitOfWork, *, job_id: str) -> list[dict[str, Any]]:
    rows = uow.conn.execute(
        sa.select(email_attempts).where(email_attempts.c.job_id == job_id).order_by(email_attempts.c.id)
    )
    return [dict(r._mapping) for r in rows]


def count_by_status(uow: UnitOfWork, *, event_id: str) -> dict[str, int]:
    rows = uow.conn.execute(
        sa.select(email_jobs.c.status, sa.func.count())
        .where(email_jobs.c.event_id == event_id)
        .group_by(email_jobs.c.status)
    )
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


# ------------------------------------------------------------------------------------------------ sender


@dataclass(frozen=True)
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


@dataclass
class ClaimedJob:
    id: str
    attempt: int
    message_id: str
    to_address: str
    participant_id: str
    participant_name: str
    token: str | None
    locale: str
    event_name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue: str | None
    sources: dict[str, str]
    skip_reason: str | None = None  # superseded / cancelled: not sent, made dead
    taken_over: bool = False


@dataclass
class Outcome:
    job: ClaimedJob
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


@dataclass
class MailSender:
    """Claims, sends and records email jobs. ``await run_once()`` handles one batch."""

    uow_factory: Any  # (readonly=False) -> UnitOfWork
    clock: Clock
    mailer: Mailer
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

    def claim(self) -> list[ClaimedJob]:
        with self.uow_factory() as uow:
            now = uow.clock.now()
            due = sa.or_(
                sa.and_(email_jobs.c.status.in_((QUEUED, FAILED)), email_jobs.c.next_attempt_at <= now),
                sa.and_(email_jobs.c.status == SENDING, email_jobs.c.lease_until < now),
            )
            query = (
                sa.select(email_jobs.c.id, email_jobs.c.status, email_jobs.c.attempts)
                .where(due)
                .order_by(email_jobs.c.next_attempt_at, email_jobs.c.id)
                .limit(self.policy.batch_size)
            )
            if uow.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            picked = uow.conn.execute(query).all()
            if not picked:
                return []
            ids = [r.id for r in picked]
            taken_over = {r.id for r in picked if r.status == SENDING}
            for row in picked:
                if row.id in taken_over:
                    uow.conn.execute(
                        email_attempts.insert().values(
                            job_id=row.id,
                            attempt=row.attempts,
                            started_at=now,
                            finished_at=now,
                            outcome=FAILED,
                            error="lease expired: the sender stopped before finishing",
                            sender=self.sender_id,
                        )
                    )
            uow.conn.execute(
                email_jobs.update()
                .where(email_jobs.c.id.in_(ids))
                .values(
                    status=SENDING,
                    attempts=email_jobs.c.attempts + 1,
                    lease_until=now + timedelta(seconds=self.policy.lease_seconds),
                    leased_by=self.sender_id,
                    updated_at=now,
                )
            )
            rows = uow.conn.execute(
                sa.select(
                    email_jobs,
                    t.participants.c.name.label("p_name"),
                    t.participants.c.token.label("p_token"),
                    t.participants.c.locale.label("p_locale"),
                    t.participants.c.status.label("p_status"),
                    t.participants.c.ticket_version.label("p_version"),
                    t.events.c.name.label("e_name"),
                    t.events.c.starts_at,
                    t.events.c.ends_at,
                    t.events.c.timezone,
                    t.events.c.venue,
                    t.events.c.locale.label("e_locale"),
                )
                .join(t.participants, t.participants.c.id == email_jobs.c.participant_id)
                .join(t.events, t.events.c.id == email_jobs.c.event_id)
                .where(email_jobs.c.id.in_(ids))
                .order_by(email_jobs.c.next_attempt_at, email_jobs.c.id)
            ).all()
            event_ids = {r.event_id for r in rows}
            overrides = {
                (o.event_id, o.kind, o.locale): {"subject": o.subject, "html": o.html, "text": o.text}
                for o in uow.conn.execute(
                    sa.select(mail_templates).where(mail_templates.c.event_id.in_(event_ids))
                )
            }
            uow.conn.execute(
                t.participants.update()
                .where(t.participants.c.id.in_({r.participant_id for r in rows}))
                .values(email_status=SENDING)
            )
            uow.commit()
        claimed = []
        for r in rows:
            locale = r.p_locale if r.p_locale in LOCALES else r.e_locale if r.e_locale in LOCALES else "ko"
            sources = overrides.get((r.event_id, r.kind, locale)) or {
                part: default_source(r.kind, locale, part) for part in PARTS
            }
            skip = None
            if r.p_status == "cancelled":
                skip = "participant_cancelled"
            elif r.p_version != r.ticket_version or not r.p_token:
                skip = "ticket_superseded"
            claimed.append(
                ClaimedJob(
                    id=r.id,
                    attempt=r.attempts,
                    message_id=r.message_id,
                    to_address=r.to_address,
                    participant_id=r.participant_id,
                    participant_name=r.p_name,
                    token=r.p_token,
                    locale=locale,
                    event_name=r.e_name,
                    starts_at=r.starts_at,
                    ends_at=r.ends_at,
                    timezone=r.timezone,
                    venue=r.venue,
                    sources=sources,
                    skip_reason=skip,
                    taken_over=r.id in taken_over,
                )
            )
        return claimed

    def compose(self, job: ClaimedJob, now: datetime) -> tuple[OutgoingMail, str]:
        assert job.token is not None
        qr_cid = f"qr.{job.id}@{mail_domain(self.mail_from)}"
        context = ticket_context(
            participant_name=job.participant_name,
            event_name=job.event_name,
            starts_at=job.starts_at,
            ends_at=job.ends_at,
            timezone=job.timezone,
            venue=job.venue,
            token=job.token,
            locale=job.locale,
            base_url=self.base_url,
            qr_cid=qr_cid,
        )
        rendered = render_parts(job.sources, context)
        message = build_message(
            rendered=rendered,
            mail_from=self.mail_from,
            to_name=job.participant_name,
            to_address=job.to_address,
            message_id=job.message_id,
            qr_png=qr.png(job.token),
            qr_cid=qr_cid,
            date=now,
        )
        return message, rendered.subject

    async def _send_one(self, job: ClaimedJob, gate: asyncio.Semaphore) -> Outcome:
        started = self.clock.now()
        if job.skip_reason:
            return Outcome(job, started, DEAD, error=job.skip_reason)
        try:
            message, subject = self.compose(job, started)
        except Exception as exc:
            log.exception("cannot render email job %s", job.id)
            return Outcome(job, started, DEAD, error=f"render failed: {exc}")
        async with gate:
            await self.limiter.acquire()
            try:
                await self.mailer.send(message)
            except DeliveryError as exc:
                return self._failure(job, started, exc, subject)
            except Exception as exc:
                log.exception("mailer failed on job %s", job.id)
                error = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
                return self._failure(job, started, error, subject)
        return Outcome(job, started, SENT, subject=subject)

    def _failure(self, job: ClaimedJob, started: datetime, error: DeliveryError, subject: str) -> Outcome:
        if error.permanent:
            return Outcome(job, started, DEAD, error.reason, error.code, subject)
        if job.attempt >= self.policy.max_attempts:
            reason = f"gave up after {job.attempt} attempts: {error.reason}"
            return Outcome(job, started, DEAD, reason, error.code, subject)
        return Outcome(job, started, FAILED, error.reason, error.code, subject)

    def record(self, outcomes: list[Outcome]) -> None:
        """One transaction for the batch: each job's new state, its attempt, its participant's
        ``email_status`` (three executemany statements, whatever the batch size)."""
        if not outcomes:
            return
        bind = sa.bindparam
        with self.uow_factory() as uow:
            now = uow.clock.now()
            jobs, attempts, people = [], [], []
            for outcome in outcomes:
                job = outcome.job
                retry_at = now + self.policy.backoff(job.attempt) if outcome.status == FAILED else now
                jobs.append(
                    {
                        "b_id": job.id,
                        "b_status": outcome.status,
                        "b_error": outcome.error,
                        "b_subject": outcome.subject[:300] if outcome.subject else None,
                        "b_sent_at": now if outcome.status == SENT else None,
                        "b_next": retry_at,
                    }
                )
                attempts.append(
                    {
                        "job_id": job.id,
                        "attempt": job.attempt,
                        "started_at": outcome.started_at,
                        "finished_at": now,
                        "outcome": outcome.status,
                        "smtp_code": outcome.code,
                        "error": outcome.error,
                        "sender": self.sender_id,
                    }
                )
                people.append(
                    {"b_pid": job.participant_id, "b_status": outcome.status, "b_error": outcome.error}
                )
            uow.conn.execute(
                email_jobs.update()
                .where(email_jobs.c.id == bind("b_id"), email_jobs.c.leased_by == self.sender_id)
                .values(
                    status=bind("b_status"),
                    last_error=bind("b_error"),
                    subject=sa.func.coalesce(bind("b_subject", type_=sa.String), email_jobs.c.subject),
                    sent_at=bind("b_sent_at"),
                    next_attempt_at=bind("b_next"),
                    lease_until=None,
                    leased_by=None,
                    updated_at=now,
                ),
                jobs,
            )
            uow.conn.execute(email_attempts.insert(), attempts)
            uow.conn.execute(
                t.participants.update()
                .where(t.participants.c.id == bind("b_pid"))
                .values(email_status=bind("b_status"), email_error=bind("b_error")),
                people,
            )
            uow.commit()

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; the number of jobs handled."""
        jobs = self.claim()
        if not jobs:
            return 0
        gate = asyncio.Semaphore(self.policy.concurrency)
        outcomes = await asyncio.gather(*(self._send_one(job, gate) for job in jobs))
        self.record(list(outcomes))
        return len(jobs)

    async def drain(self, max_batches: int = 1000) -> int:
        """Send until nothing is due (tests, benchmarks)."""
        total = 0
        for _ in range(max_batches):
            handled = await self.run_once()
            if not handled:
                break
            total += handled
        return total


def sender_for(turnout: Any, mailer: Mailer | None = None, **policy: Any) -> MailSender:
    settings = turnout.settings
    return MailSender(
        uow_factory=turnout.uow,
        clock=turnout.clock,
        mailer=mailer or turnout.mailer,
        mail_from=settings.mail_from,
        base_url=settings.base_url,
        policy=SenderPolicy(
            rate_per_second=settings.mail_rate_per_second,
            concurrency=settings.mail_concurrency,
            **policy,
        ),
    )


def run_mail_sender(turnout: Any, stop: threading.Event, *, poll_seconds: float = 0.5) -> None:
    """Worker loop: one asyncio loop in this thread; batches until ``stop`` is set."""
    sender = sender_for(turnout)
    loop = asyncio.new_event_loop()
    try:
        while not stop.is_set():
            try:
                handled = loop.run_until_complete(sender.run_once())
            except Exception:
                log.exception("mail sender batch failed")
                handled = 0
            if not handled:
                stop.wait(poll_seconds)
    finally:
        try:
            loop.run_until_complete(sender.mailer.close())
        finally:
            loop.close()
