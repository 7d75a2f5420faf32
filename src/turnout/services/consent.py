"""Consent at registration: the notice a registration is made under, and each participant's record.

The notice in force is ``services.privacy_notice.notice_in_force``. ``record_for`` turns what a
new participant agreed to into the record saved with them, in the same transaction; ``consent_of``
reads one participant's record (the participant's own data page shows it).
"""

from __future__ import annotations

from turnout.domain.consent import (
    Basis,
    Channel,
    ConsentGiven,
    ConsentRecord,
    PrivacyNotice,
    effective_consent,
    optional_items_of,
    record_of,
)
from turnout.domain.events import Event
from turnout.ports import UnitOfWork


def optional_items(notice: PrivacyNotice | None, event: Event) -> tuple[str, ...]:
    """The items a registration keeps only with the optional consent."""
    return optional_items_of(notice.content if notice else None, min_age=event.min_age)


def record_for(
    *,
    participant_id: str,
    event: Event,
    notice: PrivacyNotice,
    consent: ConsentGiven,
    channel: Channel,
    basis: Basis = Basis.CONSENT,
    uow: UnitOfWork,
) -> ConsentRecord:
    """The record of ``consent`` as given (marketing only where the notice asks for it), now."""
    return record_of(
        participant_id=participant_id,
        event_id=event.id,
        notice=notice,
        consent=effective_consent(consent, notice.content),
        channel=channel,
        basis=basis,
        given_at=uow.clock.now(),
    )


def consent_of(uow: UnitOfWork, participant_id: str) -> ConsentRecord | None:
    """What the participant agreed to (None: registered before consent was recorded)."""
    return uow.consent.of_participant(participant_id)
