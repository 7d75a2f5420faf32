"""Ticket tokens: minting (same transaction as the participant) and offline-style verification.

``TicketBook`` holds each event's key pair. The pair is made on first use inside the caller's
transaction (insert-if-absent, so concurrent first uses agree on one pair) and cached only after
that transaction commits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters.db.tables_tickets import ticket_keys
from turnout.adapters.db.uow import UnitOfWork
from turnout.adapters.signing import KeyPair, KeyVault, verifier
from turnout.domain.tickets import TicketClaims, encode_token, verify_token


class TicketBook:
    def __init__(self, vault: KeyVault) -> None:
        self._vault = vault
        self._pairs: dict[str, KeyPair] = {}
        self._lock = threading.Lock()

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> KeyPair:
        with self._lock:
            cached = self._pairs.get(event_id)
        if cached is not None:
            return cached
        row = uow.conn.execute(sa.select(ticket_keys).where(ticket_keys.c.event_id == event_id)).first()
        if row is None:
            pair, sealed = self._vault.generate()
            insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
            uow.conn.execute(
                insert(ticket_keys)
                .values(
                    event_id=event_id,
                    public_key=pair.public_b64(),
                    private_key_sealed=sealed,
                    created_at=uow.clock.now(),
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
            )
            row = uow.conn.execute(sa.select(ticket_keys).where(ticket_keys.c.event_id == event_id)).one()
        pair = self._vault.open(row.private_key_sealed)

        def remember() -> None:
            with self._lock:
                self._pairs[event_id] = pair

        uow.after_commit(remember)
        return pair

    def mint(self, uow: UnitOfWork, *, event_id: str, participant_id: str, version: int = 1) -> str:
        return self.mint_many(uow, event_id=event_id, items=[(participant_id, version)])[0]

    def mint_many(self, uow: UnitOfWork, *, event_id: str, items: Sequence[tuple[str, int]]) -> list[str]:
        """Tokens for ``(participant_id, ticket_version)`` pairs of one event."""
        pair = self.keypair(uow, event_id=event_id)
        return [
            encode_token(TicketClaims(event_id=event_id, participant_id=pid, version=version), pair.sign)
            for pid, version in items
        ]

    def public_key(self, uow: UnitOfWork, *, event_id: str) -> str:
        return self.keypair(uow, event_id=event_id).public_b64()

    def verify(self, uow: UnitOfWork, *, token: str, event_id: str) -> TicketClaims:
        """Signature and event checks only (no revocation or participant lookup)."""
        pair = self.keypair(uow, event_id=event_id)
        return verify_token(token, event_id=event_id, verify=verifier(pair.public))
