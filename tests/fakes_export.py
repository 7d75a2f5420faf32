"""``FakeParticipantExport``: ``ports.ParticipantExportReader`` over the fake participants and
consent records (``tests/fakes.py``)."""

from __future__ import annotations

from typing import Any

from turnout.domain.consent import ConsentRecord
from turnout.domain.participants import Participant, ParticipantFilter
from turnout.ports import ExportRecord


class FakeParticipantExport:
    def __init__(self, db: Any) -> None:
        self._db = db

    def _chosen(self, event_id: str, where: ParticipantFilter) -> list[Participant]:
        people: dict[str, Participant] = self._db.table("participants")
        return sorted(
            (p for p in people.values() if p.event_id == event_id and where.matches(p)), key=lambda p: p.id
        )

    def custom_field_keys(self, event_id: str, where: ParticipantFilter) -> list[str]:
        first_seen: dict[str, str] = {}
        for person in self._chosen(event_id, where):
            for key in person.custom_fields:
                first_seen.setdefault(key, person.id)
        return sorted(first_seen, key=lambda key: (first_seen[key], key))

    def page(
        self, event_id: str, where: ParticipantFilter, *, after_id: str | None, limit: int
    ) -> list[ExportRecord]:
        consents: dict[str, ConsentRecord] = self._db.table("participant_consents")
        chosen = [p for p in self._chosen(event_id, where) if after_id is None or p.id > after_id]
        return [_record(p, consents.get(p.id)) for p in chosen[:limit]]


def _record(p: Participant, consent: ConsentRecord | None) -> ExportRecord:
    given = (
        (
            consent.channel.value,
            consent.basis.value,
            consent.optional,
            consent.marketing,
            consent.given_at,
            consent.notice_version,
        )
        if consent is not None
        else (None,) * 6
    )
    return (
        p.id,
        p.name,
        p.email,
        p.phone,
        p.birth_date,
        p.region,
        p.organization,
        p.gender,
        p.locale,
        p.status.value,
        p.check_in_status.value,
        p.first_checked_in_at,
        p.last_scan_at,
        p.created_at,
        *given,
        dict(p.custom_fields),
    )
