"""The Event (the gathering), its lifecycle, and its Gates. Plain Python: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from turnout.domain.errors import FieldError, InvalidTransition, ValidationFailed

DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_MIN_AGE = 14  # under 14 a legal guardian must consent (domain.consent.GUARDIAN_AGE)
LOCALES = ("ko", "en")
#: the largest capacity an event may have (well within the databases' 32-bit integer column)
MAX_CAPACITY = 10_000_000


class EventStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    LIVE = "live"
    CLOSED = "closed"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"


_FORWARD: dict[EventStatus, EventStatus] = {
    EventStatus.DRAFT: EventStatus.OPEN,
    EventStatus.OPEN: EventStatus.LIVE,
    EventStatus.LIVE: EventStatus.CLOSED,
    EventStatus.CLOSED: EventStatus.ARCHIVED,
}


def allowed_transitions(current: EventStatus) -> frozenset[EventStatus]:
    """``draft -> open -> live -> closed -> archived``; ``cancelled`` from any state before archived;
    a cancelled event can only be archived."""
    allowed: set[EventStatus] = set()
    if current in _FORWARD:
        allowed.add(_FORWARD[current])
    if current not in (EventStatus.ARCHIVED, EventStatus.CANCELLED):
        allowed.add(EventStatus.CANCELLED)
    if current is EventStatus.CANCELLED:
        allowed.add(EventStatus.ARCHIVED)
    return frozenset(allowed)


def zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def localize(moment: datetime, timezone: str) -> datetime:
    """A naive datetime is read in ``timezone``; an aware one is kept as it is."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str = DEFAULT_TIMEZONE
    venue: str | None = None
    capacity: int | None = None
    min_age: int = DEFAULT_MIN_AGE
    locale: str = "ko"
    status: EventStatus = EventStatus.DRAFT
    allow_reentry: bool = True
    dedup_by_phone: bool = False
    settings: dict[str, Any] = field(default_factory=dict)

    def transition(self, target: EventStatus) -> Event:
        if target not in allowed_transitions(self.status):
            raise InvalidTransition(
                current=self.status.value,
                target=target.value,
                allowed=sorted(s.value for s in allowed_transitions(self.status)),
            )
        return replace(self, status=target)

    @property
    def accepts_registrations(self) -> bool:
        return self.status in (EventStatus.OPEN, EventStatus.LIVE)


def validate_event(
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    capacity: int | None,
    min_age: int,
    locale: str,
) -> None:
    """Business rules that cross fields; shape and types are checked at the edge."""
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("name", "missing_field"))
    if not zone_exists(timezone):
        errors.append(FieldError("timezone", "invalid_timezone", value=timezone))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        errors.append(FieldError("starts_at", "naive_datetime"))
    elif ends_at <= starts_at:
        errors.append(FieldError("ends_at", "ends_before_start", value=ends_at.isoformat()))
    if capacity is not None and capacity < 0:
        errors.append(FieldError("capacity", "negative_capacity", value=capacity))
    elif capacity is not None and capacity > MAX_CAPACITY:
        errors.append(FieldError("capacity", "too_large", {"max": MAX_CAPACITY}, value=capacity))
    if not 0 <= min_age <= 150:
        errors.append(FieldError("min_age", "invalid_min_age", value=min_age))
    if locale not in LOCALES:
        errors.append(FieldError("locale", "invalid_locale", value=locale))
    if errors:
        raise ValidationFailed(errors)


class GateDirection(StrEnum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


class ScanMethod(StrEnum):
    QR = "qr"
    BLE = "ble"
    MANUAL = "manual"


@dataclass(frozen=True)
class Gate:
    id: str
    event_id: str
    name: str
    direction: GateDirection = GateDirection.BOTH
    methods: tuple[ScanMethod, ...] = (ScanMethod.QR, ScanMethod.BLE, ScanMethod.MANUAL)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    location: str | None = None
    #: people the gate's area holds (crowd safety, ``domain.crowd``); ``None``: no area to watch
    capacity: int | None = None

    def is_open_at(self, moment: datetime) -> bool:
        if self.opens_at is not None and moment < self.opens_at:
            return False
        return not (self.closes_at is not None and moment >= self.closes_at)

    def allows_direction(self, direction: str) -> bool:
        return self.direction is GateDirection.BOTH or self.direction.value == direction


def validate_gate(
    *,
    name: str,
    methods: tuple[ScanMethod, ...],
    opens_at: datetime | None,
    closes_at: datetime | None,
    capacity: int | None = None,
) -> None:
    errors: list[FieldError] = []
    if capacity is not None and capacity < 0:
        errors.append(FieldError("capacity", "negative_capacity", value=capacity))
    elif capacity is not None and capacity > MAX_CAPACITY:
        errors.append(FieldError("capacity", "too_large", {"max": MAX_CAPACITY}, value=capacity))
    if not name.strip():
        errors.append(FieldError("name", "missing_field"))
    if not methods:
        errors.append(FieldError("methods", "no_methods"))
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        errors.append(FieldError("closes_at", "ends_before_start", value=closes_at.isoformat()))
    if errors:
        raise ValidationFailed(errors)
