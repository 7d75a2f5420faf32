"""Reading participants: one by id, and an event's list with search (name, email, phone, last 4 digits)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from turnout.domain.errors import NotFound
from turnout.domain.participants import Participant, ParticipantFilter
from turnout.ports import ExportRecord, UnitOfWork, UnitOfWorkFactory
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


#: participants read in one page of an export (one query, one unit of work)
EXPORT_PAGE = 5000

#: one participant of an export (``ports.EXPORT_FIELDS``)
ExportRow = ExportRecord


@dataclass(frozen=True, slots=True)
class ParticipantExport:
    """An export about to be written: the event's zone (its times are shown in it), the custom
    field columns (known before the first row), and the rows, read a page at a time as they are
    consumed."""

    event_id: str
    timezone: str
    custom_fields: list[str]
    pages: Iterator[list[ExportRow]]


def participants_to_export(
    uows: UnitOfWorkFactory,
    *,
    event_id: str,
    where: ParticipantFilter = ParticipantFilter(),
    page_size: int = EXPORT_PAGE,
) -> ParticipantExport:
    """Every participant of ``event_id`` that the list would show with the same filter, in
    registration order, with their consent — the export of ``GET …/participants/export`` and
    ``turnout export``. The event is looked up now (``event_not_found`` before anything is
    written); the pages are read lazily, each in its own short read-only unit of work (keyset
    paging: nothing is held between pages, so a slow reader holds no transaction open)."""
    with uows(readonly=True) as uow:
        event = get_event(uow, event_id=event_id)
        custom = uow.participant_export.custom_field_keys(event_id, where)
    return ParticipantExport(event_id, event.timezone, custom, _pages(uows, event_id, where, page_size))


def _pages(
    uows: UnitOfWorkFactory, event_id: str, where: ParticipantFilter, page_size: int
) -> Iterator[list[ExportRow]]:
    after: str | None = None
    while True:
        with uows(readonly=True) as uow:
            page = uow.participant_export.page(event_id, where, after_id=after, limit=page_size)
        if page:
            yield page
        if len(page) < page_size:
            return
        after = page[-1][0]
