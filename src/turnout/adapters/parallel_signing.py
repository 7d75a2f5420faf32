"""Ticket signing in a helper process, so that large imports sign while the main process parses.

Ed25519 signing holds the GIL (~35 µs a token), so threads do not help; a second process does.
The helper is ``python -m turnout.adapters.parallel_signing`` talking over pipes (no
multiprocessing: nothing of the caller's ``__main__`` is re-imported):

    stdin:  <private key hex> <event id>\\n      then one line per batch: id,id,id\\n
    stdout: one line per batch: token,token,token\\n

It imports only ``cryptography`` and ``turnout.domain.tickets``.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

from turnout.domain.tickets import FORMAT_V1


class SigningHelper:
    """One helper process; ``submit(ids)`` returns a callable that waits for that batch's tokens."""

    def __init__(self, private_raw: bytes, event_id: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "turnout.adapters.parallel_signing"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1 << 16,
        )
        if self._process.stdin is None or self._process.stdout is None:
            raise RuntimeError("the token signing helper has no pipes")
        self._stdin = self._process.stdin
        self._stdout = self._process.stdout
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="token-signing-reader", daemon=True)
        self._reader.start()
        self._stdin.write(f"{private_raw.hex()} {event_id}\n")
        self._stdin.flush()

    def _read(self) -> None:
        for line in self._stdout:
            self._answers.put(line.rstrip("\n"))
        self._answers.put(None)

    def submit(self, ids: list[str]) -> Callable[[], list[str]]:
        if not ids:
            return lambda: []
        self._stdin.write(",".join(ids) + "\n")
        self._stdin.flush()
        expected = len(ids)

        def result() -> list[str]:
            line = self._answers.get(timeout=300)
            if line is None:
                raise RuntimeError("the token signing helper stopped")
            tokens = line.split(",")
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


def b32_unpadded(data: bytes) -> str:
    """RFC 4648 base32 without padding, ~3x faster than ``base64.b32encode`` (pure Python in 3.11)."""
    pad = -len(data) % 5
    number = int.from_bytes(data + b"\0" * pad, "big")
    bits = (len(data) + pad) * 8
    text = "".join([_PAIRS[(number >> shift) & 1023] for shift in range(bits - 10, -10, -10)])
    return text[: (len(data) * 8 + 4) // 5]


def token_maker(event_id: str, sign: Callable[[bytes], bytes]) -> Callable[[str], str]:
    """``participant_id -> token`` for version-1 tickets: the bytes ``domain.tickets.encode_token``
    makes (a test checks they are identical), with the per-event part computed once."""
    prefix = bytes([FORMAT_V1]) + uuid.UUID(event_id).bytes
    suffix = (1).to_bytes(2, "big")

    def make(participant_id: str) -> str:
        body = prefix + bytes.fromhex(participant_id.replace("-", "")) + suffix
        return b32_unpadded(body + sign(body))

    return make


def serve() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    first = sys.stdin.readline().split()
    if len(first) != 2:
        return
    make = token_maker(first[1], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(first[0])).sign)
    out = sys.stdout
    for line in sys.stdin:
        out.write(",".join([make(pid) for pid in line.strip().split(",")]) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
