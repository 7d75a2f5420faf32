"""Ticket tokens: minting (same transaction as the participant), verification, reissue and cancel,
the revocation list, and what a token stands for.

``TicketBook`` holds each event's signing key. The key is made on first use inside the caller's
transaction (stored insert-if-absent, so concurrent first uses agree on one key) and kept in memory
only after that transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from turnout.domain.errors import Conflict, NotFound
from turnout.domain.events import Event
from turnout.domain.participants import CheckInStatus, Participant, ParticipantStatus
from turnout.domain.tickets import (
    TicketClaims,
    TicketError,
    decode_token,
    encode_token,
    normalise_token,
    verify_token,
)
from turnout.messages.facts import ParticipantCancelled, TicketReissued
from turnout.ports import KeyVault, Revocation, SigningKey, UnitOfWork


class TicketBook:
    def __init__(self, vault: KeyVault) -> None:
        self._vault = vault
        # event id -> key; a plain dict: each get and set is atomic, and two threads that make the
        # same event's key at once store equal keys (both read the one row that won)
        self._keys: dict[str, SigningKey] = {}

    def keypair(self, uow: UnitOfWork, *, event_id: str) -> SigningKey:
        """The event's signing key, made and stored on first use."""
        cached = self._keys.get(event_id)
        if cached is not None:
            return cached
        store = uow.tickets
        sealed = store.sealed_key(event_id)
        if sealed is None:
            made, made_sealed = self._vault.generate()
            store.add_key(
                event_id=event_id, public_key=made.public_b64(), sealed=made_sealed, now=uow.clock.now()
            )
            sealed = store.sealed_key(event_id)  # another transaction's key, if it stored one first
            assert sealed is not None
        key = self._vault.open(sealed)

        def remember() -> None:
            self._keys[event_id] = key

        uow.after_commit(remember)
        return key

    def mint(self, uow: UnitOfWork, *, event_id: str, participant_id: str, version: int = 1) -> str:
        return self.mint_many(uow, event_id=event_id, items=[(participant_id, version)])[0]

    def mint_many(self, uow: UnitOfWork, *, event_id: str, items: Sequence[tuple[str, int]]) -> list[str]:
        """Tokens for ``(participant_id, ticket_version)`` pairs of one event."""
        key = self.keypair(uow, event_id=event_id)
        return [
            encode_token(TicketClaims(event_id=event_id, participant_id=pid, version=version), key.sign)
            for pid, version in items
        ]

    def public_key(self, uow: UnitOfWork, *, event_id: str) -> str:
        return self.keypair(uow, event_id=event_id).public_b64()

    def verify(self, uow: UnitOfWork, *, token: str, event_id: str) -> TicketClaims:
        """Signature and event checks only (no revocation or participant lookup)."""
        key = self.keypair(uow, event_id=event_id)
        return verify_token(token, event_id=event_id, verify=key.verify)


# --- reissue, cancel, revocation list, ticket lookup ------------------------------------------------

REASON_REISSUED = "reissued"
REASON_CANCELLED = "cancelled"
REASON_TRANSFERRED = "transferred"


@dataclass(frozen=True, slots=True)
class TicketLookup:
    """What the ticket page shows for a token: ``valid``, ``checked_in``, ``cancelled`` or ``replaced``."""

    status: str
    event: Event
    participant: Participant
    claims: TicketClaims


def _locked_participant(uow: UnitOfWork, participant_id: str) -> Participant:
    participant = uow.participants.get(participant_id, for_update=True)
    if participant is None:
        raise NotFound("participant_not_found", participant_id=participant_id)
    return participant


def revoke_ticket(uow: UnitOfWork, *, participant: Participant, reason: str) -> None:
    """Put the participant's current token on the revocation list."""
    if not participant.token:
        return
    uow.tickets.revoke(
        event_id=participant.event_id,
        participant_id=participant.id,
        version=participant.ticket_version,
        token=participant.token,
        reason=reason,
        now=uow.clock.now(),
    )


def _refuse_while_transferring(participant: Participant) -> None:
    if participant.status in (ParticipantStatus.TRANSFERRING, ParticipantStatus.PENDING_TRANSFER):
        raise Conflict("transfer_in_progress", participant_id=participant.id)


def reissue_ticket(uow: UnitOfWork, *, tickets: TicketBook, participant_id: str, actor: str) -> Participant:
    """A new ticket version and token; the old token goes on the revocation list. Emits
    ``ticket.reissued`` (whose handler queues the new ticket's email). Returns the participant."""
    participant = _locked_participant(uow, participant_id)
    _refuse_while_transferring(participant)
    if participant.status != ParticipantStatus.REGISTERED:
        raise Conflict("participant_cancelled", status=participant.status.value)
    version = participant.ticket_version + 1
    event_id = participant.event_id
    token = tickets.mint(uow, event_id=event_id, participant_id=participant.id, version=version)
    revoke_ticket(uow, participant=participant, reason=REASON_REISSUED)
    uow.participants.update_fields(
        participant.id, {"token": token, "ticket_version": version, "updated_at": uow.clock.now()}
    )
    uow.audit.record(
        actor=actor,
        action="ticket.reissued",
        subject_type="participant",
        subject_id=participant.id,
        event_id=event_id,
        data={"version": version},
    )
    uow.emit(
        TicketReissued(event_id=event_id, participant_id=participant.id, ticket_version=version, actor=actor)
    )
    return _locked_participant(uow, participant_id)


def cancel_participant(
    uow: UnitOfWork, *, participant_id: str, actor: str, saga_id: str | None = None
) -> Participant:
    """Status ``cancelled``, ticket revoked, ``participant.cancelled`` emitted. Cancelling again
    changes nothing and emits nothing. Returns the participant."""
    participant = _locked_participant(uow, participant_id)
    if participant.status in (ParticipantStatus.CANCELLED, ParticipantStatus.TRANSFERRED):
        return participant
    _refuse_while_transferring(participant)
    revoke_ticket(uow, participant=participant, reason=REASON_CANCELLED)
    uow.participants.update_fields(
        participant.id, {"status": ParticipantStatus.CANCELLED.value, "updated_at": uow.clock.now()}
    )
    uow.audit.record(
        actor=actor,
        action="participant.cancelled",
        subject_type="participant",
        subject_id=participant.id,
        event_id=participant.event_id,
        data={"ticket_version": participant.ticket_version},
    )
    uow.emit(
        ParticipantCancelled(
            event_id=participant.event_id,
            participant_id=participant.id,
            ticket_version=participant.ticket_version,
            actor=actor,
            saga_id=saga_id,
        )
    )
    return _locked_participant(uow, participant_id)


def list_revocations(
    uow: UnitOfWork, *, event_id: str, after_id: int | None = None, limit: int = 1000
) -> list[Revocation]:
    """The event's revoked tokens, oldest first (``after_id`` pages; gates poll with the last id)."""
    return uow.tickets.revocations(event_id, after_id=after_id, limit=limit)


def lookup_ticket(uow: UnitOfWork, *, tickets: TicketBook, token: str) -> TicketLookup:
    """Verify ``token`` (format, event, signature) and find its participant.

    Raises ``TicketError`` (``malformed_token``, ``invalid_signature``, ``unknown_token``)."""
    decoded = decode_token(token)
    event = uow.events.get(decoded.claims.event_id)
    if event is None:
        raise TicketError("unknown_token")
    claims = tickets.verify(uow, token=token, event_id=event.id)
    participant = uow.participants.get(claims.participant_id)
    if participant is None:
        raise TicketError("unknown_token")
    if participant.status == ParticipantStatus.CANCELLED:
        status = "cancelled"
    elif participant.token != normalise_token(token):
        status = "replaced"
    elif (
        participant.check_in_status in (CheckInStatus.INSIDE, CheckInStatus.EXITED)
        or participant.first_checked_in_at is not None
    ):
        status = "checked_in"
    else:
        status = "valid"
    return TicketLookup(status=status, event=event, participant=participant, claims=claims)
