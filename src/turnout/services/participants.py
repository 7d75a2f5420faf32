"""Reading participants: one by id, and an event's list with search (name, email, phone, last 4 digits)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from turnout.domain.consent import ConsentRecord
from turnout.domain.errors import NotFound
from turnout.domain.participants import Participant, ParticipantFilter
from turnout.ports import UnitOfWork
from turnout.services.events import get_event


def get_participant(uow: UnitOfWork, *, participant_id: str) -> Participant:
    participant = uow.participants.get(participant_id)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    return participant


def list_participants(
    uow: UnitOfWork,
    *,
    event_id: str,
    q: str | None = None,
    status: str | None = None,
    check_in: str | None = None,
    after_id: str | None = None,
    limit: int = 100,
) -> list[Participant]:
    """Participants of ``event_id`` in registration order, filtered (``ParticipantFilter``): ``q``
    in the name or email, or the phone (its last four digits, or the whole number); ``status``;
    ``check_in`` state."""
    get_event(uow, event_id=event_id)
    where = ParticipantFilter.of(q, status, check_in)
    return uow.participants.search(event_id=event_id, where=where, after_id=after_id, limit=limit)


#: participants read in one page of an export
EXPORT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One participant of an export, with their consent record (None: none recorded) and the
    event's zone (the consent's time is shown in it)."""

    participant: Participant
    consent: ConsentRecord | None
    timezone: str


def participants_to_export(
    uow: UnitOfWork, *, event_id: str, q: str | None = None, status: str | None = None
) -> Iterator[ExportRow]:
    """Every participant of ``event_id`` that the list would show with the same filters, page by
    page, in registration order, each with their consent record (one query per page) — the export
    of ``GET …/participants/export``."""
    timezone = get_event(uow, event_id=event_id).timezone
    after: str | None = None
    while True:
        page = list_participants(
            uow, event_id=event_id, q=q, status=status, after_id=after, limit=EXPORT_PAGE
        )
        consents = uow.consent.of_participants([p.id for p in page])
        for person in page:
            yield ExportRow(person, consents.get(person.id), timezone)
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].id
