"""Ticket signing in a helper process, so that large imports sign while the main process parses.

Ed25519 signing holds the GIL (~25-35 µs a token), so threads do not help; a second process does.
The helper is ``python -m turnout.adapters.parallel_signing`` talking over pipes (no
multiprocessing: nothing of the caller's ``__main__`` is re-imported), in raw bytes:

    stdin:  32-byte private key, 16-byte event id;   then per batch: u32 count, count x 16-byte ids
    stdout: per batch: u32 count, u32 length, ``length`` bytes of ASCII tokens (equal widths)

It signs with libsodium (PyNaCl) when installed (~1.5x faster than OpenSSL through
``cryptography``; Ed25519 signatures are deterministic, so the tokens are the same bytes) and
imports only that, ``cryptography`` as a fallback, and ``turnout.domain.tickets``.
"""

from __future__ import annotations

import contextlib
import queue
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from typing import IO

from turnout.domain.tickets import FORMAT_V1

_COUNT = struct.Struct(">I")
_ANSWER = struct.Struct(">II")


class SigningHelper:
    """One helper process; ``submit(ids)`` returns a callable that waits for that batch's tokens."""

    def __init__(self, private_raw: bytes, event_id: str) -> None:
        if len(private_raw) != 32:
            raise ValueError("an Ed25519 private key is 32 bytes")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "turnout.adapters.parallel_signing"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=1 << 16,
        )
        if self._process.stdin is None or self._process.stdout is None:
            raise RuntimeError("the token signing helper has no pipes")
        self._stdin: IO[bytes] = self._process.stdin
        self._stdout: IO[bytes] = self._process.stdout
        self._answers: queue.Queue[list[str] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="token-signing-reader", daemon=True)
        self._reader.start()
        self._stdin.write(private_raw + uuid.UUID(event_id).bytes)
        self._stdin.flush()

    def _read(self) -> None:
        read = self._stdout.read
        while True:
            head = read(_ANSWER.size)
            if len(head) < _ANSWER.size:
                break
            count, length = _ANSWER.unpack(head)
            blob = read(length)
            if len(blob) < length or count == 0 or length % count:
                break
            text = blob.decode("ascii")
            width = length // count
            self._answers.put([text[i : i + width] for i in range(0, length, width)])
        self._answers.put(None)

    def submit(self, ids: list[str]) -> Callable[[], list[str]]:
        if not ids:
            return lambda: []
        raw = bytes.fromhex("".join(ids).replace("-", ""))
        if len(raw) != 16 * len(ids):
            raise ValueError("participant ids must be UUIDs")
        self._stdin.write(_COUNT.pack(len(ids)) + raw)
        self._stdin.flush()
        expected = len(ids)

        def result() -> list[str]:
            tokens = self._answers.get(timeout=300)
            if tokens is None:
                raise RuntimeError("the token signing helper stopped")
            if len(tokens) != expected:
                raise RuntimeError("the token signing helper answered the wrong batch")
            return tokens

        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)


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


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    first = _read_exactly(stdin, 48)
    if first is None:
        return
    make = raw_token_maker(str(uuid.UUID(bytes=first[32:])), fast_signer(first[:32]))
    while True:
        head = _read_exactly(stdin, _COUNT.size)
        if head is None:
            return
        (count,) = _COUNT.unpack(head)
        raw = _read_exactly(stdin, 16 * count)
        if raw is None:
            return
        blob = "".join([make(raw[i : i + 16]) for i in range(0, 16 * count, 16)]).encode("ascii")
        stdout.write(_ANSWER.pack(count, len(blob)) + blob)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
