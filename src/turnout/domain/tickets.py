"""Ticket tokens: compact, signed, verifiable offline. Pure functions over keys (no I/O).

Format (version 1), before encoding::

    0      1 byte   format version (0x01)
    1     16 bytes  event id (UUID)
    17    16 bytes  participant id (UUID)
    33     2 bytes  ticket version (big-endian; a reissue increments it)
    35    64 bytes  Ed25519 signature over bytes 0..34, by the event's private key

99 bytes, encoded as RFC 4648 base32 without padding: 159 characters from ``A-Z2-7``, which QR's
alphanumeric mode stores at 5.5 bits each and which keyboard-wedge scanners type without trouble.
Verification needs only the event's public key (``GET /api/v1/events/{event_id}/ticket-key``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from turnout.domain.errors import DomainError

FORMAT_V1 = 1
_BODY_LEN = 35
_SIG_LEN = 64
TOKEN_BYTES = _BODY_LEN + _SIG_LEN
TOKEN_LENGTH = 159  # base32 characters, unpadded


class TicketError(DomainError):
    """A token that cannot be accepted: ``malformed_token``, ``invalid_signature``, ``wrong_event``,
    ``unknown_token``, ``revoked``."""

    code = "malformed_token"


@dataclass(frozen=True)
class TicketClaims:
    event_id: str
    participant_id: str
    version: int

    def body(self) -> bytes:
        return (
            bytes([FORMAT_V1])
            + uuid.UUID(self.event_id).bytes
            + uuid.UUID(self.participant_id).bytes
            + self.version.to_bytes(2, "big")
        )


@dataclass(frozen=True)
class DecodedToken:
    claims: TicketClaims
    body: bytes
    signature: bytes


def encode_token(claims: TicketClaims, sign: Callable[[bytes], bytes]) -> str:
    body = claims.body()
    signature = sign(body)
    if len(signature) != _SIG_LEN:
        raise ValueError("an Ed25519 signature is 64 bytes")
    return base64.b32encode(body + signature).decode("ascii").rstrip("=")


def normalise_token(raw: str) -> str:
    """What a scanner typed: trims whitespace, upper-cases, drops padding."""
    return "".join(raw.split()).upper().rstrip("=")


def decode_token(raw: str) -> DecodedToken:
    """Parse without verifying. Raises ``TicketError('malformed_token')`` for anything not a v1 token."""
    token = normalise_token(raw)
    if len(token) != TOKEN_LENGTH:
        raise TicketError("malformed_token", length=len(token))
    try:
        data = base64.b32decode(token + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError) as exc:
        raise TicketError("malformed_token") from exc
    if len(data) != TOKEN_BYTES or data[0] != FORMAT_V1:
        raise TicketError("malformed_token")
    if base64.b32encode(data)[: len(token)] != token.encode("ascii"):
        # the last character's three unused bits were not zero: one ticket has one spelling
        raise TicketError("malformed_token")
    body, signature = data[:_BODY_LEN], data[_BODY_LEN:]
    claims = TicketClaims(
        event_id=str(uuid.UUID(bytes=body[1:17])),
        participant_id=str(uuid.UUID(bytes=body[17:33])),
        version=int.from_bytes(body[33:35], "big"),
    )
    return DecodedToken(claims=claims, body=body, signature=signature)


def verify_token(raw: str, *, event_id: str, verify: Callable[[bytes, bytes], bool]) -> TicketClaims:
    """Decode and check a token for ``event_id`` with ``verify(signature, body)`` (the event's public key).

    Order of checks gives distinct codes: malformed -> wrong_event -> invalid_signature.
    """
    decoded = decode_token(raw)
    if decoded.claims.event_id != event_id:
        raise TicketError("wrong_event", token_event_id=decoded.claims.event_id)
    if not verify(decoded.signature, decoded.body):
        raise TicketError("invalid_signature")
    return decoded.claims
