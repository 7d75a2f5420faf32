"""``FakeConsentStore``: ``ports.ConsentStore`` over a ``FakeDatabase``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from turnout.domain.consent import ConsentRecord, PrivacyNotice

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeConsentStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _notices(self) -> dict[tuple[str, int], PrivacyNotice]:
        rows: dict[tuple[str, int], PrivacyNotice] = self._db.table("privacy_notices")
        return rows

    @property
    def _records(self) -> dict[str, ConsentRecord]:
        rows: dict[str, ConsentRecord] = self._db.table("participant_consents")
        return rows

    def current_notice(self, event_id: str) -> PrivacyNotice | None:
        versions = self.notices(event_id)
        return versions[0] if versions else None

    def notices(self, event_id: str) -> list[PrivacyNotice]:
        found = [n for (e, _v), n in self._notices.items() if e == event_id]
        return sorted(found, key=lambda n: n.version, reverse=True)

    def add_notice(self, notice: PrivacyNotice) -> None:
        key = (notice.event_id, notice.version)
        if key in self._notices:
            raise ValueError(f"privacy notice version taken: {key}")  # the database's IntegrityError
        self._notices[key] = notice

    def record_many(self, records: Sequence[ConsentRecord]) -> None:
        for record in records:
            self._records[record.participant_id] = record

    def add_new(self, records: Sequence[ConsentRecord]) -> None:
        taken = [r.participant_id for r in records if r.participant_id in self._records]
        if taken:
            raise ValueError(f"consent record taken: {taken[0]}")  # the database's IntegrityError
        self.record_many(records)

    def add_shared(self, groups: Sequence[tuple[ConsentRecord, Sequence[str]]]) -> None:
        self.add_new([replace(record, participant_id=pid) for record, ids in groups for pid in ids])

    def of_participant(self, participant_id: str) -> ConsentRecord | None:
        return self._records.get(participant_id)

    def of_participants(self, participant_ids: Sequence[str]) -> dict[str, ConsentRecord]:
        return {pid: self._records[pid] for pid in participant_ids if pid in self._records}
