"""Real-time registration (staff API, public endpoint and form): one participant, one transaction.

``register_participant`` validates, checks the event (status, capacity, duplicates), saves the
participant with its ticket token and its consent record and emits ``participant.registered`` —
all in the caller's unit of work. An ``idempotency_key`` makes a repeated submit answer with the
same participant.

Every registration carries ``consents`` (``{"required": true, "optional", "marketing", "guardian"}``,
``domain.consent``): without the required consent it is refused (``consent_required``); a child
under 14 needs a guardian's (``guardian_consent_required``); the optional items given without the
optional consent are not stored; marketing is recorded only where the event's notice asks for it.

``register_publicly`` (the public endpoint and form) tells nothing about who is registered and
checks every refusal with reads before it opens a write transaction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from turnout.domain.consent import (
    Channel,
    ConsentGiven,
    consent_errors,
    consent_from,
    drop_unconsented,
    refusal,
)
from turnout.domain.errors import Conflict, DomainError, FieldError, ValidationFailed
from turnout.domain.events import Event
from turnout.domain.ids import new_id
from turnout.domain.participants import (
    CheckInStatus,
    Participant,
    ParticipantInput,
    ParticipantStatus,
    Rules,
    Source,
    clean_participant,
)
from turnout.messages.facts import ParticipantRegistered
from turnout.ports import UnitOfWork, UnitOfWorkFactory
from turnout.services import mail_queue
from turnout.services.consent import optional_items, record_for
from turnout.services.events import get_event
from turnout.services.privacy_notice import notice_in_force

if TYPE_CHECKING:
    from turnout.services.ticketing import TicketBook

ACCEPTED_FIELDS = (
    "name",
    "email",
    "phone",
    "birth_date",
    "region",
    "organization",
    "gender",
    "locale",
    "custom_fields",
    "consents",
)

#: the consent channel of a registration by its source, unless the caller names it
CHANNEL_OF_SOURCE = {
    Source.API: Channel.STAFF,
    Source.FORM: Channel.FORM,
    Source.IMPORT: Channel.IMPORT,
    Source.TRANSFER: Channel.TRANSFER,
}


class RegistrationError(Conflict):
    """``registration_closed``, ``event_full``, ``already_registered``, ``idempotency_conflict``."""

    code = "registration_closed"


class RateLimited(DomainError):
    code = "rate_limited"


def event_rules(event: Event) -> Rules:
    """Validation rules of ``event``: its start date in its own timezone, its minimum age."""
    starts_on = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()
    return Rules(starts_on=starts_on, min_age=event.min_age)


def participant_record(
    *,
    participant_id: str,
    event_id: str,
    data: ParticipantInput,
    token: str | None,
    source: Source,
    import_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A complete ``participants`` row (every column), for single and multi-row inserts."""
    return {
        "id": participant_id,
        "event_id": event_id,
        "name": data.name,
        "email": data.email,
        "phone": data.phone,
        "birth_date": data.birth_date,
        "region": data.region,
        "organization": data.organization,
        "gender": data.gender,
        "locale": data.locale,
        "custom_fields": data.custom_fields,
        "status": ParticipantStatus.REGISTERED.value,
        "check_in_status": CheckInStatus.NOT_CHECKED_IN.value,
        "ticket_version": 1,
        "token": token,
        "email_status": "none",
        "email_error": None,
        "source": source.value,
        "import_id": import_id,
        "first_checked_in_at": None,
        "last_scan_at": None,
        "created_at": now,
        "updated_at": now,
    }


def clean_or_refuse(data: Mapping[str, Any], rules: Rules) -> ParticipantInput:
    """The cleaned participant with its consent (``consent``), or every problem at once
    (``ValidationFailed``; ``consent_required`` / ``guardian_consent_required`` when the consent
    is the only problem)."""
    unknown = [k for k in data if k not in ACCEPTED_FIELDS]
    if unknown:
        raise ValidationFailed([FieldError(k, "unknown_field") for k in unknown])
    custom = data.get("custom_fields") or {}
    cleaned, errors = clean_participant(data, rules, custom=custom)
    consent = consent_from(data.get("consents"))
    errors = errors + consent_errors(
        consent, birth_date=cleaned.birth_date if cleaned else None, starts_on=rules.starts_on
    )
    if cleaned is None or errors:
        raise refusal(errors)
    cleaned.consent = consent
    return cleaned


def checked_consent(data: ParticipantInput, rules: Rules) -> ConsentGiven:
    """The consent of already-cleaned ``data`` (refused like ``clean_or_refuse`` when missing)."""
    errors = consent_errors(data.consent, birth_date=data.birth_date, starts_on=rules.starts_on)
    if errors or data.consent is None:
        raise refusal(errors)
    return data.consent


def request_hash(data: Mapping[str, Any] | ParticipantInput) -> str:
    raw = data.as_record() if isinstance(data, ParticipantInput) else dict(data)
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def refuse_if_registered(uow: UnitOfWork, event: Event, person: ParticipantInput) -> None:
    """``already_registered`` (409, with the field) when the event has someone with this email,
    or this phone when it dedups by phone."""
    if uow.participants.ids_by_email(event.id, [person.email]):
        raise RegistrationError("already_registered", field="email")
    if event.dedup_by_phone and person.phone and uow.participants.ids_by_phone(event.id, [person.phone]):
        raise RegistrationError("already_registered", field="phone")


def register_participant(
    uow: UnitOfWork,
    *,
    tickets: TicketBook,
    event_id: str,
    data: Mapping[str, Any] | ParticipantInput,
    source: Source | str,
    actor: str,
    idempotency_key: str | None = None,
    channel: Channel | None = None,
) -> Participant:
    """Validate and save one participant with its ticket token and its consent record (through
    ``channel``: by default the source's, ``staff`` for the staff API); emit ``participant.registered``.

    Refusals: ``ValidationFailed`` (422, field errors), ``consent_required`` /
    ``guardian_consent_required`` (422, the consent alone is missing), ``registration_closed``
    (the event is not open or live), ``event_full`` (capacity reached), ``already_registered``
    (same email — or phone when the event dedups by phone), ``idempotency_conflict`` (key reused
    with another body).
    """
    source = Source(source)
    channel = channel or CHANNEL_OF_SOURCE[source]
    store = uow.participants
    scope = f"registration:{event_id}"
    digest = request_hash(data) if idempotency_key else ""
    # The event row lock serialises registrations of one event on PostgreSQL (capacity, duplicates,
    # idempotency keys); SQLite writers are serialised by BEGIN IMMEDIATE.
    event = get_event(uow, event_id=event_id, for_update=True)
    if idempotency_key:
        stored = uow.idempotency.get(scope, idempotency_key)
        if stored is not None:
            stored_hash, _status, response = stored
            if stored_hash != digest:
                raise RegistrationError("idempotency_conflict")
            existing = store.get(str(response["participant_id"]))
            if existing is not None:
                return existing
    rules = event_rules(event)
    cleaned = data if isinstance(data, ParticipantInput) else clean_or_refuse(data, rules)
    consent = checked_consent(cleaned, rules)
    if not event.accepts_registrations:
        raise RegistrationError("registration_closed", status=event.status.value)
    notice = notice_in_force(uow, event)
    if not consent.optional:  # dropped first: not even the duplicate check uses them
        cleaned = drop_unconsented(cleaned, optional_items(notice, event))
    refuse_if_registered(uow, event, cleaned)
    if event.capacity is not None and store.count_active(event_id) >= event.capacity:
        raise RegistrationError("event_full", capacity=event.capacity)
    now = uow.clock.now()
    participant_id = new_id()
    token = tickets.mint(uow, event_id=event_id, participant_id=participant_id, version=1)
    store.insert_many(
        [
            participant_record(
                participant_id=participant_id,
                event_id=event_id,
                data=cleaned,
                token=token,
                source=source,
                import_id=None,
                now=now,
            )
        ]
    )
    uow.consent.record_many(
        [
            record_for(
                participant_id=participant_id,
                event=event,
                notice=notice,
                consent=consent,
                channel=channel,
                uow=uow,
            )
        ]
    )
    uow.audit.record(
        actor=actor,
        action="participant.registered",
        subject_type="participant",
        subject_id=participant_id,
        event_id=event_id,
        data={"source": source.value},
    )
    uow.emit(ParticipantRegistered(event_id=event_id, participant_id=participant_id, source=source.value))
    if idempotency_key:
        uow.idempotency.put(
            scope,
            idempotency_key,
            request_hash=digest,
            status_code=201,
            response={"participant_id": participant_id},
            now=now,
        )
    participant = store.get(participant_id)
    assert participant is not None
    return participant


@dataclass(frozen=True, slots=True)
class PublicRegistration:
    """What a public registration answers: the same fields whether the person was new or already
    registered (then ``id`` is a fresh id that names no one and the rest comes from the request)."""

    id: str
    event_id: str
    name: str
    email: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, participant: Participant) -> PublicRegistration:
        return cls(
            id=participant.id,
            event_id=participant.event_id,
            name=participant.name,
            email=participant.email,
            status=participant.status.value,
            created_at=participant.created_at,
        )


def client_key(host: str) -> str:
    """The rate-limit key of a client address: an IPv4 address on its own, an IPv6 address by its
    /64 (one household or server usually has a whole /64), anything else as given."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"ip:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip6:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


def register_publicly(
    uow_factory: UnitOfWorkFactory,
    *,
    tickets: TicketBook,
    rate_limit: int,
    event_id: str,
    data: Mapping[str, Any] | ParticipantInput,
    client: str,
    idempotency_key: str | None = None,
    mail_from: str = "Turnout <no-reply@localhost>",
    resend_interval_seconds: int = 3600,
    channel: Channel = Channel.API,
) -> PublicRegistration:
    """Self-registration by a member of the public (the API's ``/registrations``, the registration
    page). It tells nothing about who is registered: a known email (or phone, when the event dedups
    by phone) gets the same answer as a new one, and the holder is emailed their ticket again
    (through the mail queue, at most once per ``resend_interval_seconds``).

    Everything that can refuse is checked first in a read-only unit of work (SQLite: no write lock,
    so a flood of refused attempts does not hold up the gates' scans): the client's rate limit
    (``rate_limited`` past ``rate_limit`` requests per minute per address, an IPv6 address counted
    by its /64), the event, the fields and the consent, an ``Idempotency-Key`` seen before,
    capacity, duplicates. ``channel``: ``api`` (the endpoint) or ``form`` (the page).
    Only then does a write transaction count the request and save the participant (or queue the
    holder's ticket email once per interval: a repeat within the interval writes nothing)."""
    key = client_key(client)
    with uow_factory(readonly=True) as uow:
        refuse_if_rate_limited(uow, client=key, limit=rate_limit)
        event = get_event(uow, event_id=event_id)
        if idempotency_key:
            replayed = replay(uow, scope=f"registration:{event_id}", key=idempotency_key, data=data)
            if replayed is not None:
                return PublicRegistration.of(replayed)
        cleaned = data if isinstance(data, ParticipantInput) else clean_or_refuse(data, event_rules(event))
        if cleaned.consent is not None and not cleaned.consent.optional:  # as register_participant
            notice = uow.consent.current_notice(event_id)
            cleaned = drop_unconsented(cleaned, optional_items(notice, event))
        if not event.accepts_registrations:
            raise RegistrationError("registration_closed", status=event.status.value)
        # a full event is full for everyone, known or not (else "full" would tell who is registered)
        if event.capacity is not None and uow.participants.count_active(event_id) >= event.capacity:
            raise RegistrationError("event_full", capacity=event.capacity)
        holder_id = registered_holder(uow, event, cleaned)
        now = uow.clock.now()
        resend_key = f"resend:{holder_id}"
        bucket = resend_bucket(now, resend_interval_seconds)
        resend_due = holder_id is not None and not resent_in(uow, resend_key, bucket)
    if holder_id is None:
        try:
            with uow_factory() as uow:
                check_rate_limit(uow, client=key, limit=rate_limit)
                participant = register_participant(
                    uow,
                    tickets=tickets,
                    event_id=event_id,
                    data=data,  # as sent: the idempotency key's stored hash is of the request
                    source=Source.FORM,
                    actor=f"public:{client}",
                    idempotency_key=idempotency_key,
                    channel=channel,
                )
                uow.commit()
            return PublicRegistration.of(participant)
        except RegistrationError as refusal:
            if refusal.code != "already_registered":
                raise
            # registered by a concurrent request since the read: answered like any known person
    elif resend_due:
        with uow_factory() as uow:
            check_rate_limit(uow, client=key, limit=rate_limit)
            holder = uow.participants.get(holder_id)
            if holder is not None and not resent_in(uow, resend_key, bucket):
                uow.rate_limits.start_window(resend_key, started_at=bucket)
                job_id = mail_queue.queue_ticket_again(
                    uow,
                    participant=holder,
                    dedup_key=f"{holder.id}:ticket-again:{int(bucket.timestamp())}",
                    mail_from=mail_from,
                )
                if job_id is not None:
                    uow.audit.record(
                        actor=f"public:{client}",
                        action="ticket.resent",
                        subject_type="participant",
                        subject_id=holder.id,
                        event_id=event_id,
                        data={"job_id": job_id, "reason": "registered_again"},
                    )
            uow.commit()
    return PublicRegistration(
        id=new_id(),
        event_id=event_id,
        name=cleaned.name,
        email=cleaned.email,
        status=ParticipantStatus.REGISTERED.value,
        created_at=now,
    )


def replay(
    uow: UnitOfWork, *, scope: str, key: str, data: Mapping[str, Any] | ParticipantInput
) -> Participant | None:
    """The participant a request with this idempotency key made before (None: none yet);
    ``idempotency_conflict`` when the key came with another body."""
    stored = uow.idempotency.get(scope, key)
    if stored is None:
        return None
    stored_hash, _status, response = stored
    if stored_hash != request_hash(data):
        raise RegistrationError("idempotency_conflict")
    return uow.participants.get(str(response["participant_id"]))


def registered_holder(uow: UnitOfWork, event: Event, person: ParticipantInput) -> str | None:
    """The id of the event's participant with this email (or phone, when it dedups by phone)."""
    by_email = uow.participants.ids_by_email(event.id, [person.email])
    if by_email:
        return next(iter(by_email.values()))
    if event.dedup_by_phone and person.phone:
        by_phone = uow.participants.ids_by_phone(event.id, [person.phone])
        if by_phone:
            return next(iter(by_phone.values()))
    return None


def resend_bucket(now: datetime, interval_seconds: int) -> datetime:
    """The start of the resend interval ``now`` falls in (intervals start at multiples of it)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % max(interval_seconds, 1), tz=now.tzinfo)


def resent_in(uow: UnitOfWork, resend_key: str, bucket: datetime) -> bool:
    window = uow.rate_limits.window(resend_key)
    return window is not None and window.started_at >= bucket


# --- public rate limit ------------------------------------------------------------------------------

IDLE_CLIENT = timedelta(hours=1)


def window_start_of(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)


def refuse_if_rate_limited(uow: UnitOfWork, *, client: str, limit: int, window_seconds: int = 60) -> None:
    """``rate_limited`` when ``client`` has used up ``limit`` in the current window: a read only (a
    refused request is not counted and takes no write lock)."""
    now = uow.clock.now()
    window = uow.rate_limits.window(client)
    if (
        window is not None
        and window.started_at == window_start_of(now, window_seconds)
        and window.count >= limit
    ):
        epoch = int(now.timestamp())
        raise RateLimited(limit=limit, retry_after=window_seconds - epoch % window_seconds)


def check_rate_limit(
    uow: UnitOfWork,
    *,
    client: str,
    limit: int,
    window_seconds: int = 60,
    housekeeping: Callable[[], bool] = lambda: secrets.randbelow(200) == 0,
) -> None:
    """Count one request of ``client`` in the current fixed window (windows start at multiples of
    ``window_seconds`` since the epoch); ``rate_limited`` past ``limit``, with the seconds until the
    next window as ``retry_after``. The caller commits.

    When a client starts a window, now and then (``housekeeping()``) the clients idle for an hour
    are forgotten."""
    store = uow.rate_limits
    now = uow.clock.now()
    epoch = int(now.timestamp())
    window_start = datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)
    window = store.window(client)
    if window is None or window.started_at != window_start:
        store.start_window(client, started_at=window_start)
        if window is None and housekeeping():
            store.forget_idle(before=now - IDLE_CLIENT)
        return
    if window.count >= limit:
        raise RateLimited(limit=limit, retry_after=window_seconds - epoch % window_seconds)
    store.count_request(client)
