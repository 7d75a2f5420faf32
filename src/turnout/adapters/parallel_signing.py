"""Ticket signing in a helper process (imports of large files sign while the main process parses).

Ed25519 signing holds the GIL (~35 µs a token), so threads do not help; a process does. This module
stays small: the helper process imports only it, ``cryptography`` and ``turnout.domain.tickets``.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from turnout.domain.tickets import TicketClaims, encode_token

_KEY: Ed25519PrivateKey | None = None


def init(private_raw: bytes) -> None:
    global _KEY
    _KEY = Ed25519PrivateKey.from_private_bytes(private_raw)


def sign_tokens(event_id: str, participant_ids: list[str]) -> list[str]:
    if _KEY is None:
        raise RuntimeError("parallel_signing.init was not called in this process")
    sign = _KEY.sign
    return [
        encode_token(TicketClaims(event_id=event_id, participant_id=pid, version=1), sign)
        for pid in participant_ids
    ]
