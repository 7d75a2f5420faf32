"""Ticket tokens one at a time, fast: the per-event part encoded once, libsodium's Ed25519.

Version-1 tokens (``domain.tickets``) for in-process signing (small imports, and the import
workers' fallback); the import workers sign whole batches (``adapters.import_workers``). libsodium
(PyNaCl) signs ~1.5x faster than OpenSSL through ``cryptography``; Ed25519 signatures are
deterministic, so the tokens are the same bytes (tests check ``encode_token`` makes them too).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable

from turnout.domain.tickets import FORMAT_V1

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every 10-bit value as two base32 characters
_GROUPS: dict[int, struct.Struct] = {}


def b32_unpadded(data: bytes) -> str:
    """RFC 4648 base32 without padding, ~3x faster than ``base64.b32encode`` (pure Python in 3.11).

    Each 5-byte group is unpacked by ``struct`` as a byte and a 32-bit word: four 10-bit lookups.
    """
    pad = -len(data) % 5
    groups = (len(data) + pad) // 5
    unpack = _GROUPS.get(groups)
    if unpack is None:
        unpack = _GROUPS.setdefault(groups, struct.Struct(">" + "BI" * groups))
    values = unpack.unpack(data + b"\0" * pad if pad else data)
    pairs = _PAIRS
    out: list[str] = []
    for i in range(0, 2 * groups, 2):
        high, low = values[i], values[i + 1]
        out += (
            pairs[(high << 2) | (low >> 30)],
            pairs[(low >> 20) & 1023],
            pairs[(low >> 10) & 1023],
            pairs[low & 1023],
        )
    text = "".join(out)
    return text[: (len(data) * 8 + 4) // 5] if pad else text


def raw_token_maker(event_id: str, sign: Callable[[bytes], bytes]) -> Callable[[bytes], str]:
    """``16-byte participant id -> token`` for version-1 tickets (see ``token_maker``).

    The first 15 bytes (format, most of the event id) are the same in every token: their 24 base32
    characters are computed once and only the rest is encoded per token.
    """
    prefix = bytes([FORMAT_V1]) + uuid.UUID(event_id).bytes
    suffix = (1).to_bytes(2, "big")
    constant = b32_unpadded(prefix[:15])
    tail = prefix[15:]

    def make(participant_raw: bytes) -> str:
        body = prefix + participant_raw + suffix
        return constant + b32_unpadded(tail + participant_raw + suffix + sign(body))

    return make


def token_maker(event_id: str, sign: Callable[[bytes], bytes]) -> Callable[[str], str]:
    """``participant_id -> token`` for version-1 tickets: the bytes ``domain.tickets.encode_token``
    makes (a test checks they are identical), with the per-event part computed once."""
    make = raw_token_maker(event_id, sign)
    return lambda participant_id: make(uuid.UUID(participant_id).bytes)


def fast_signer(private_raw: bytes) -> Callable[[bytes], bytes]:
    """Ed25519 ``sign(message) -> 64-byte signature``: libsodium when installed, else OpenSSL."""
    try:
        from nacl.bindings import crypto_sign, crypto_sign_seed_keypair
    except ImportError:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(private_raw).sign
    _public, secret = crypto_sign_seed_keypair(private_raw)
    return lambda message: crypto_sign(message, secret)[:64]
