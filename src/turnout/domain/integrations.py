"""External systems Turnout tells about an event: which there are, and what makes an integration valid.

An integration is one event's connection to one system: where deliveries go (``url``), the Standard
Webhooks secret they are signed with, and whether it is enabled. The systems are fixed:

* ``gate-management``: the participant list with tokens, the event and the gate configuration;
* ``analytics-platform``: anonymised analytics only (never personal data);
* ``attendee-app``: a participant's info and check-in status;
* ``alerts``: operator alerts (a compensation that failed, a capacity threshold crossed).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from turnout.domain.errors import FieldError, NotFound, ValidationFailed

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
URL_MAX_LENGTH = 2000


class IntegrationSystem(StrEnum):
    GATE_MANAGEMENT = "gate-management"
    ANALYTICS_PLATFORM = "analytics-platform"
    ATTENDEE_APP = "attendee-app"
    ALERTS = "alerts"


class DeliveryStatus(StrEnum):
    """``pending`` (due at ``next_attempt_at``) -> ``sending`` (leased) -> ``delivered``; a failure
    goes back to ``pending`` for a later attempt, or ``dead`` with its reason when retrying ends."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Integration:
    """One event's integration with one system. ``secret_sealed`` is the secret as stored (sealed
    at rest); only the delivery path opens it."""

    event_id: str
    system: IntegrationSystem
    url: str
    secret_sealed: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


def system_of(name: str) -> IntegrationSystem:
    """The system named ``name``; ``NotFound`` (404 ``integration_system_not_found``) for another name."""
    try:
        return IntegrationSystem(name)
    except ValueError:
        raise NotFound("integration_system_not_found", system=name) from None


def url_problem(url: str) -> FieldError | None:
    """Why ``url`` cannot receive deliveries (``http`` or ``https`` with a host), or None. Where it
    points (a private address) is checked by the address guard, which resolves the name."""
    if len(url) > URL_MAX_LENGTH:
        return FieldError("url", "invalid_url", value=url[:100], params={"reason": "too_long"})
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):  # spaces and control characters
        return FieldError("url", "invalid_url", value=url[:300], params={"reason": "characters"})
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return FieldError("url", "invalid_url", value=url[:300], params={"reason": "malformed"})
    if parts.scheme not in ("http", "https"):
        return FieldError("url", "invalid_url", value=url[:300], params={"reason": "scheme"})
    if not parts.hostname:
        return FieldError("url", "invalid_url", value=url[:300], params={"reason": "host"})
    if parts.username is not None or parts.password is not None:
        return FieldError("url", "invalid_url", value=url[:300], params={"reason": "credentials"})
    del port
    return None


def secret_problem(secret: str) -> FieldError | None:
    """Why ``secret`` is not a Standard Webhooks secret (``whsec_`` + base64 of 24 to 64 bytes), or None."""
    if not secret.startswith(SECRET_PREFIX):
        return FieldError("secret", "invalid_secret", params={"reason": "prefix"})
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return FieldError("secret", "invalid_secret", params={"reason": "base64"})
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        return FieldError("secret", "invalid_secret", params={"reason": "length"})
    return None


def validate_integration(*, url: str, secret: str | None) -> None:
    """``ValidationFailed`` (422) with each field's problem; ``secret=None``: keep the stored one."""
    problems = [p for p in (url_problem(url), secret_problem(secret) if secret is not None else None) if p]
    if problems:
        raise ValidationFailed(problems)


# --- delivery: order, retries and the circuit breaker -------------------------------------------------

#: the ordering key of an event's barrier deliveries to one system (the gate system's sync pages,
#: status changes and gate configuration): a barrier goes only after every earlier delivery of the
#: event to that system, and every later one waits for it (a sync page read before a cancellation
#: is never delivered after it)
BARRIER_PREFIX = "sync:"


def barrier_key(event_id: str) -> str:
    return f"{BARRIER_PREFIX}{event_id}"


#: breaker states of an endpoint (an event's integration with one system)
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """An endpoint's circuit opens after ``failures_to_open`` failures in a row; after
    ``cooldown_seconds`` one probe at a time goes through (half-open) until one succeeds."""

    failures_to_open: int = 5
    cooldown_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Breaker:
    state: str = CLOSED
    failures: int = 0  # in a row
    opened_at: datetime | None = None

    def after(self, *, ok: bool, at: datetime, policy: BreakerPolicy) -> Breaker:
        """The state after one answer: a success closes it; a failure counts, and opens it at the
        ``failures_to_open``-th in a row, or at once when it was a half-open probe."""
        if ok:
            return Breaker()
        failures = self.failures + 1
        if self.state == HALF_OPEN or failures >= policy.failures_to_open:
            return Breaker(OPEN, failures, at)
        return Breaker(self.state, failures, self.opened_at)


def retry_delay_seconds(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """How long to wait after failed attempt number ``attempt`` (1-based): ``base`` doubled per
    attempt, at most ``cap``, times ``jitter`` (a number in [0.5, 1) the caller draws): retries of
    many deliveries that failed together spread out instead of coming back at once."""
    return float(min(cap, base * 2.0 ** min(attempt - 1, 30)) * jitter)


def answer_ok(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def endpoint_alive(status_code: int | None) -> bool:
    """Whether an answer says the endpoint works (for the breaker): any answer but 408, 429, 5xx."""
    return status_code is not None and status_code not in (408, 429) and status_code < 500
