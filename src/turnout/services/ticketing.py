"""Ticket tokens: minting (same transaction as the participant) and offline-style verification.

``TicketBook`` holds each event's key pair. The pair is made on first use inside the caller's
transaction (insert-if-absent, so concurrent first uses agree on one pair) and cached only after
that transaction commits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from turnout.adapters.db.repositories import event_from_row
from turnout.adapters.db.tables import events, participants
from turnout.adapters.db.tables_mail import ticket_revocations
from turnout.adapters.db.tables_tickets import ticket_keys
from turnout.adapters.db.uow import UnitOfWork
from turnout.adapters.signing import KeyPair, KeyVault, verifier
from turnout.domain.errors import Conflict, NotFound
from turnout.domain.events import Event
from turnout.domain.tickets import (
    TicketClaims,
    TicketError,
    decode_token,
    encode_token,
    normalise_token,
    verify_token,
)
from turnout.messages.facts import ParticipantCancelled, TicketReissued


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


# --- reissue, cancel, revocation list, ticket lookup ------------------------------------------------

REASON_REISSUED = "reissued"
REASON_CANCELLED = "cancelled"


@dataclass(frozen=True)
class TicketLookup:
    """What the ticket page shows for a token: ``valid``, ``checked_in``, ``cancelled`` or ``replaced``."""

    status: str
    event: Event
    participant: Any  # the participants row
    claims: TicketClaims


def _locked_participant(uow: UnitOfWork, participant_id: str) -> Any:
    query = sa.select(participants).where(participants.c.id == participant_id)
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    if row is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    return row


def _revoke(uow: UnitOfWork, *, row: Any, reason: str) -> None:
    if not row.token:
        return
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    uow.conn.execute(
        insert(ticket_revocations)
        .values(
            event_id=row.event_id,
            participant_id=row.id,
            version=row.ticket_version,
            token=row.token,
            reason=reason,
            revoked_at=uow.clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["token"])
    )


def reissue_ticket(uow: UnitOfWork, *, tickets: TicketBook, participant_id: str, actor: str) -> Any:
    """A new ticket version and token; the old token goes on the revocation list. Emits
    ``ticket.reissued`` (whose handler queues the new ticket's email). Returns the updated row."""
    row = _locked_participant(uow, participant_id)
    if row.status == "cancelled":
        raise Conflict("participant_cancelled")
    version = int(row.ticket_version) + 1
    token = tickets.mint(uow, event_id=row.event_id, participant_id=row.id, version=version)
    _revoke(uow, row=row, reason=REASON_REISSUED)
    now = uow.clock.now()
    uow.conn.execute(
        participants.update()
        .where(participants.c.id == row.id)
        .values(token=token, ticket_version=version, updated_at=now)
    )
    uow.audit.record(
        actor=actor,
        action="ticket.reissued",
        subject_type="participant",
        subject_id=row.id,
        event_id=row.event_id,
        data={"version": version},
    )
    uow.emit(
        TicketReissued(event_id=row.event_id, participant_id=row.id, ticket_version=version, actor=actor)
    )
    return _locked_participant(uow, participant_id)


def cancel_participant(uow: UnitOfWork, *, participant_id: str, actor: str) -> Any:
    """Status ``cancelled``, ticket revoked, ``participant.cancelled`` emitted. Cancelling again
    changes nothing and emits nothing. Returns the participant row."""
    row = _locked_participant(uow, participant_id)
    if row.status == "cancelled":
        return row
    _revoke(uow, row=row, reason=REASON_CANCELLED)
    uow.conn.execute(
        participants.update()
        .where(participants.c.id == row.id)
        .values(status="cancelled", updated_at=uow.clock.now())
    )
    uow.audit.record(
        actor=actor,
        action="participant.cancelled",
        subject_type="participant",
        subject_id=row.id,
        event_id=row.event_id,
        data={"ticket_version": row.ticket_version},
    )
    uow.emit(
        ParticipantCancelled(
            event_id=row.event_id, participant_id=row.id, ticket_version=row.ticket_version, actor=actor
        )
    )
    return _locked_participant(uow, participant_id)


def list_revocations(
    uow: UnitOfWork, *, event_id: str, after_id: int | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The event's revoked tokens, oldest first (``after_id`` pages; gates poll with the last id)."""
    query = (
        sa.select(ticket_revocations)
        .where(ticket_revocations.c.event_id == event_id)
        .order_by(ticket_revocations.c.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(ticket_revocations.c.id > after_id)
    return [dict(r._mapping) for r in uow.conn.execute(query)]


def lookup_ticket(uow: UnitOfWork, *, tickets: TicketBook, token: str) -> TicketLookup:
    """Verify ``token`` (format, event, signature) and find its participant.

    Raises ``TicketError`` (``malformed_token``, ``invalid_signature``) or ``NotFound`` (event)."""
    decoded = decode_token(token)
    event_id = decoded.claims.event_id
    event_row = uow.conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    if event_row is None:
        raise TicketError("unknown_token")
    claims = tickets.verify(uow, token=token, event_id=event_id)
    row = uow.conn.execute(sa.select(participants).where(participants.c.id == claims.participant_id)).first()
    event = event_from_row(event_row)
    if row is None:
        raise TicketError("unknown_token")
    if row.status == "cancelled":
        status = "cancelled"
    elif row.token != normalise_token(token):
        status = "replaced"
    elif row.check_in_status in ("inside", "exited") or row.first_checked_in_at is not None:
        status = "checked_in"
    else:
        status = "valid"
    return TicketLookup(status=status, event=event, participant=row, claims=claims)
