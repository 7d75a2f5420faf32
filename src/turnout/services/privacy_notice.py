"""An event's privacy notice: the version in force, the organiser's own text, the history.

**The version in force** (:func:`notice_in_force`) is the newest stored version, kept in step with
the event so that a consent record's version always names the text that was shown:

* an event whose organiser never wrote a notice (every stored version was made by ``turnout``, or
  none is stored) shows the default (``domain.consent.default_notice``: the event's name, its
  minimum age, the systems whose integrations are enabled, the event's privacy contact); when that
  default changes (an integration enabled or disabled, the minimum age or the name changed) a new
  version is stored, made by ``turnout``;
* an event whose organiser wrote their own (:func:`set_notice`) shows their text completed
  (``domain.consent.complete_notice``): the enabled systems they did not name are added as
  recipients, those no longer enabled are taken out, the birth date is required when the event has a
  minimum age; a change is stored as a new version, made by ``turnout``.

**Writes and races.** Reading never writes when nothing changed (:func:`shown_notice` reads in a
read-only transaction first and writes only when a new version is due). A writer locks the event's
row first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time) and reads the
newest version after the lock, so two writers make N+1 and N+2 one after the other, and the second
one, finding the text already stored, stores nothing. The primary key (event, version) is the last
guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from turnout.domain.consent import (
    NOTICE_LOCALES,
    NoticeContent,
    PrivacyNotice,
    complete_notice,
    default_notice,
    notice_hash,
    validate_notice,
)
from turnout.domain.events import Event
from turnout.ports import UnitOfWork, UnitOfWorkFactory
from turnout.services.events import get_event

#: who made the versions Turnout stores by itself (the default and the completed ones)
TURNOUT = "turnout"
#: the event setting that holds the organiser's privacy contact (``{"ko": …, "en": …}`` or one text)
CONTACT_SETTING = "privacy_contact"
SUBJECT = "privacy_notice"


def enabled_systems(uow: UnitOfWork, event_id: str) -> list[str]:
    """The systems whose integrations with the event are enabled."""
    return [i.system.value for i in uow.integrations.list_for_event(event_id) if i.enabled]


def event_contact(event: Event) -> dict[str, str] | None:
    """The event's privacy contact from its settings (``privacy_contact``), or None."""
    value: Any = event.settings.get(CONTACT_SETTING) if isinstance(event.settings, Mapping) else None
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(NOTICE_LOCALES, value.strip())
    if isinstance(value, Mapping):
        texts = {
            k: v.strip() for k, v in value.items() if k in NOTICE_LOCALES and isinstance(v, str) and v.strip()
        }
        return texts or None
    return None


def _organisers(versions: list[PrivacyNotice]) -> PrivacyNotice | None:
    """The newest version the organiser wrote (None: they never wrote one)."""
    return next((v for v in versions if v.created_by != TURNOUT), None)


def _wanted(uow: UnitOfWork, event: Event) -> tuple[PrivacyNotice | None, NoticeContent]:
    """The newest stored version, and what the notice in force should say now."""
    versions = uow.consent.notices(event.id)
    systems = enabled_systems(uow, event.id)
    own = _organisers(versions)
    if own is None:
        content = default_notice(
            event_name=event.name,
            min_age=event.min_age,
            enabled_systems=systems,
            contact=event_contact(event),
        )
    else:
        content = complete_notice(own.content, enabled_systems=systems, min_age=event.min_age)
    return (versions[0] if versions else None), content


def _store(
    uow: UnitOfWork, *, event_id: str, version: int, content: NoticeContent, actor: str
) -> PrivacyNotice:
    notice = PrivacyNotice(
        event_id=event_id,
        version=version,
        content=content,
        hash=notice_hash(content),
        created_at=uow.clock.now(),
        created_by=actor,
    )
    uow.consent.add_notice(notice)
    uow.audit.record(
        actor=actor,
        action="privacy_notice.stored",
        subject_type=SUBJECT,
        subject_id=f"{event_id}/{version}",
        event_id=event_id,
        data={"version": version, "hash": notice.hash},
    )
    return notice


def notice_in_force(uow: UnitOfWork, event: Event) -> PrivacyNotice:
    """The event's notice in force, storing a new version first when one is due (the module's rules);
    ``uow`` must be writable when a version may be due, and the caller commits."""
    current, content = _wanted(uow, event)
    if current is not None and current.hash == notice_hash(content):
        return current
    get_event(uow, event_id=event.id, for_update=True)  # one writer at a time, then read again
    current, content = _wanted(uow, event)
    if current is not None and current.hash == notice_hash(content):
        return current
    return _store(
        uow,
        event_id=event.id,
        version=(current.version if current else 0) + 1,
        content=content,
        actor=TURNOUT,
    )


def shown_notice(uows: UnitOfWorkFactory, *, event_id: str) -> tuple[Event, PrivacyNotice]:
    """The event and its notice in force, for a page or a public read: a read-only transaction, and a
    writing one only when a new version is due. ``NotFound`` (``event_not_found``)."""
    with uows(readonly=True) as uow:
        event = get_event(uow, event_id=event_id)
        current, content = _wanted(uow, event)
        if current is not None and current.hash == notice_hash(content):
            return event, current
    with uows() as uow:
        event = get_event(uow, event_id=event_id)
        notice = notice_in_force(uow, event)
        uow.commit()
    return event, notice


def notice_history(uows: UnitOfWorkFactory, *, event_id: str) -> tuple[Event, list[PrivacyNotice]]:
    """The event and every version of its notice, newest first (the one in force first)."""
    event, _ = shown_notice(uows, event_id=event_id)
    with uows(readonly=True) as uow:
        return event, uow.consent.notices(event_id)


def set_notice(uow: UnitOfWork, *, event_id: str, content: NoticeContent, actor: str) -> PrivacyNotice:
    """Store the organiser's notice as the version in force (completed with the enabled systems and
    the required items, as it will be shown), audited. The same text as the version in force stores
    nothing and answers that version. ``NotFound`` (``event_not_found``); ``ValidationFailed`` with
    every problem (``domain.consent.validate_notice``). The caller commits."""
    event = get_event(uow, event_id=event_id, for_update=True)
    validate_notice(content, min_age=event.min_age, locale=event.locale)
    shown = complete_notice(content, enabled_systems=enabled_systems(uow, event_id), min_age=event.min_age)
    current = uow.consent.current_notice(event_id)
    if current is not None and current.hash == notice_hash(shown):
        return current
    return _store(
        uow,
        event_id=event_id,
        version=(current.version if current else 0) + 1,
        content=shown,
        actor=actor,
    )
