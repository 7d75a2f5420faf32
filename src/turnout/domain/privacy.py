"""Personal data rules: what erasing an event (or one person) keeps, when old records may go, and a
participant's own erasure request.

Erasing a closed event's personal data keeps its statistics and analytics as they were. Analytics
group people by age on the event's first day (``services.statistics.age_group``), so a birth date
is not removed but replaced by a stand-in in the same age group: the latest date that gives the
group's lowest age on that day. Nothing else of a person (name, email, phone, organisation, gender,
custom fields, token) is read by statistics or analytics; region is kept as the analytics' coarse
grouping.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from turnout.domain.errors import Conflict
from turnout.domain.events import EventStatus

#: the age groups of ``services.statistics.AGE_GROUPS`` by their lowest age, and 60 and over
GROUP_LOWEST_AGES = (0, 20, 30, 40, 50, 60)


class EventNotClosed(Conflict):
    """Only a closed (or archived) event's personal data may be erased."""

    code = "event_not_closed"


ERASABLE_STATUSES = frozenset({EventStatus.CLOSED, EventStatus.ARCHIVED})


def born_years_before(on: date, years: int) -> date:
    """The latest birth date of someone at least ``years`` old on ``on`` (29 February counted)."""
    year = on.year - years
    return date(year, on.month, min(on.day, calendar.monthrange(year, on.month)[1]))


@dataclass(frozen=True, slots=True)
class BirthDateBand:
    """Birth dates ``after < d <= up_to`` (an open end is None) become ``stand_in``."""

    after: date | None
    up_to: date | None
    stand_in: date


def birth_date_bands(on: date) -> list[BirthDateBand]:
    """Bands covering every birth date, each mapped to a stand-in with the same age on ``on``."""
    bands = [BirthDateBand(after=on, up_to=None, stand_in=on + timedelta(days=1))]  # born after the day
    lowest = list(GROUP_LOWEST_AGES)
    for index, age in enumerate(lowest):
        up_to = born_years_before(on, age)
        after = born_years_before(on, lowest[index + 1]) if index + 1 < len(lowest) else None
        bands.append(BirthDateBand(after=after, up_to=up_to, stand_in=up_to))
    return bands


ERASED_EMAIL_DOMAIN = "@erased.invalid"


def erased_email(participant_id: str) -> str:
    """A participant's email after erasure: unique per participant, names no one."""
    return f"{participant_id}{ERASED_EMAIL_DOMAIN}"


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Records older than this may be pruned."""
    return now - timedelta(days=days)


# --- a participant's own request to be erased ---------------------------------------------------------

#: the free-text reason a participant may give, and an organiser's decision note, at most
REASON_MAX = 1000
NOTE_MAX = 1000


class ErasureStatus(StrEnum):
    """``requested`` (open) → ``rejected``, or ``approved`` → ``done``. Approval erases in the same
    transaction, so a stored request is ``requested``, ``rejected`` or ``done``."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    DONE = "done"


OPEN_ERASURE_STATUSES = frozenset({ErasureStatus.REQUESTED, ErasureStatus.APPROVED})


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    """A participant's request to have their personal data erased, and the organiser's decision.
    ``alert_id`` is the operator alert that announced it (acknowledged once decided)."""

    id: str
    event_id: str
    participant_id: str
    status: ErasureStatus
    reason: str | None
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    alert_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ERASURE_STATUSES


class ErasureRequestDecided(Conflict):
    """A request decided already (approved, rejected or done) is not decided again."""

    code = "erasure_request_decided"


def clean_reason(value: str | None, limit: int = REASON_MAX) -> str | None:
    """A reason or note as stored: trimmed, None when empty, at most ``limit`` characters."""
    if value is None:
        return None
    text = value.strip()
    return text[:limit] if text else None
