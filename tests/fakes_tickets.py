"""``FakeTicketStore``: ``ports.TicketStore`` over a ``FakeDatabase``
(``tests/integration/test_ticket_store_contract.py`` holds it to what ``SqlTicketStore`` does)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from turnout.ports import Revocation

if TYPE_CHECKING:
    from tests.fakes import FakeDatabase


class FakeTicketStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    @property
    def _keys(self) -> dict[str, tuple[str, str]]:
        keys: dict[str, tuple[str, str]] = self._db.table("ticket_keys")
        return keys

    @property
    def _revocations(self) -> list[Revocation]:
        revocations: list[Revocation] = self._db.tables.setdefault("ticket_revocations", [])
        return revocations

    def sealed_key(self, event_id: str) -> str | None:
        stored = self._keys.get(event_id)
        return None if stored is None else stored[1]

    def add_key(self, *, event_id: str, public_key: str, sealed: str, now: datetime) -> None:
        self._keys.setdefault(event_id, (public_key, sealed))

    def revoke(
        self, *, event_id: str, participant_id: str, version: int, token: str, reason: str, now: datetime
    ) -> None:
        if any(r.token == token for r in self._revocations):
            return
        self._revocations.append(
            Revocation(
                id=len(self._revocations) + 1,
                event_id=event_id,
                participant_id=participant_id,
                version=version,
                token=token,
                reason=reason,
                revoked_at=now,
            )
        )

    def revocations(
        self, event_id: str, *, after_id: int | None = None, limit: int = 1000
    ) -> list[Revocation]:
        found = [
            r for r in self._revocations if r.event_id == event_id and (after_id is None or r.id > after_id)
        ]
        return found[:limit]
