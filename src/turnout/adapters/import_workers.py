"""Import workers: clean a file's rows and sign their ticket tokens in helper processes.

Why processes: cleaning (~16 µs a row) and Ed25519 signing (~19 µs a token) are Python or hold the
GIL, and the importing process is already busy reading the file and saving batches (the database
driver's work). The workers take cleaning and signing to the other core; the importing process
keeps reading, within-file dedup, database dedup, inserts and the job's bookkeeping (the 100,000-row
bench import: ~18,000 rows/s with the workers, ~14,500 without).

The same ``domain.imports.RowCleaning`` runs in-process for small files (and when processes are
not available, see :class:`LocalCleaning`), so the results are the same either way. A worker is
``python -m turnout.adapters.import_workers``, a helper process over pipes (``adapters.child``).
Messages are length-prefixed pickles:

    ->  setup: (RowCleaning, event id, 32-byte Ed25519 private key or None)
    ->  batch: (sequence number, [(row, cells), ...], participant ids: 16 bytes a row, or b"")
    <-  ("ok", sequence number, [cleaned tuple or [FieldError, ...] per row], tokens)
    <-  ("error", sequence number, traceback text)

A cleaned tuple is ``ParticipantInput``'s fields in order (``packed``); the importing process
makes them ``ParticipantInput`` again on the thread that reads the answers (``unpacked``).

``tokens`` is one ASCII blob, ``TOKEN_LENGTH`` characters for each row that cleaned, in order.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import sys
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import IO, Any

from turnout.adapters.child import Child, ChildStopped, start_pump, write_frame
from turnout.adapters.parallel_signing import b32_unpadded
from turnout.domain.consent import ConsentGiven
from turnout.domain.errors import FieldError
from turnout.domain.imports import Outcome, RowCleaning
from turnout.domain.participants import ParticipantInput
from turnout.domain.tickets import FORMAT_V1, TOKEN_BYTES, TOKEN_LENGTH

#: a cleaned row as it travels: ``ParticipantInput``'s fields in their order
Cleaned = tuple[
    str,
    str,
    str | None,
    date | None,
    str | None,
    str | None,
    str | None,
    str | None,
    dict[str, Any],
    ConsentGiven | None,
]
Answer = tuple[list[Outcome], list[str]]

_SIGNATURE = 64  # bytes of an Ed25519 signature


def packed(outcomes: list[Outcome]) -> list[Cleaned | list[FieldError]]:
    """Outcomes as they travel (a tuple pickles several times faster than a dataclass)."""
    return [
        (
            o.name,
            o.email,
            o.phone,
            o.birth_date,
            o.region,
            o.organization,
            o.gender,
            o.locale,
            o.custom_fields,
            o.consent,  # a few shared instances (``RowCleaning``): pickled once each
        )
        if type(o) is ParticipantInput
        else o  # type: ignore[misc]
        for o in outcomes
    ]


def unpacked(outcomes: list[Cleaned | list[FieldError]]) -> list[Outcome]:
    return [ParticipantInput(*o) if type(o) is tuple else o for o in outcomes]  # type: ignore[misc]


# --- tokens -----------------------------------------------------------------------------------------


class TokenSigner:
    """Version-1 ticket tokens of one event for many participant ids at once (the bytes that
    ``domain.tickets.encode_token`` makes: a test checks them). The first 15 bytes of every token
    (the format and most of the event id) are the same: their 24 base32 characters are made once."""

    def __init__(self, event_id: str, private_raw: bytes) -> None:
        from turnout.adapters.parallel_signing import fast_signer

        self._sign_all = _sodium_signer(private_raw) or _one_by_one(fast_signer(private_raw))
        self._head = bytes([FORMAT_V1]) + uuid.UUID(event_id).bytes
        self._version = (1).to_bytes(2, "big")
        self._constant = b32_unpadded(self._head[:_CONSTANT])

    def tokens(self, participant_ids: Sequence[bytes]) -> bytes:
        """One ASCII blob: ``TOKEN_LENGTH`` characters for each 16-byte participant id, in order."""
        head, version, constant = self._head, self._version, self._constant
        signed = self._sign_all([head + pid + version for pid in participant_ids])
        return "".join([constant + b32_unpadded(record[_CONSTANT:]) for record in signed]).encode("ascii")


_CONSTANT = 15  # bytes at the start of every token of an event: three whole base32 groups


def _one_by_one(sign: Callable[[bytes], bytes]) -> Callable[[list[bytes]], list[bytes]]:
    return lambda bodies: [body + sign(body) for body in bodies]


def _sodium_signer(private_raw: bytes) -> Callable[[list[bytes]], list[bytes]] | None:
    """``bodies -> [body + signature, ...]`` straight through libsodium's ``crypto_sign`` into one
    buffer: ~17.5 µs a token against ~19-22 µs through ``nacl.bindings.crypto_sign`` (which
    allocates and copies per call). ``crypto_sign`` writes ``signature || body``; each record is
    turned round to the token's ``body || signature``. None without PyNaCl's libsodium."""
    try:
        from nacl._sodium import ffi, lib  # type: ignore[import-not-found]
        from nacl.bindings import crypto_sign_seed_keypair
    except ImportError:  # pragma: no cover - PyNaCl is a dependency
        return None
    _public, secret = crypto_sign_seed_keypair(private_raw)
    body_size = TOKEN_BYTES - _SIGNATURE
    sign, null = lib.crypto_sign, ffi.NULL

    def sign_all(bodies: list[bytes]) -> list[bytes]:
        count = len(bodies)
        if count == 0:
            return []
        out = ffi.new("unsigned char[]", TOKEN_BYTES * count)
        for index, body in enumerate(bodies):
            if len(body) != body_size or sign(out + TOKEN_BYTES * index, null, body, body_size, secret):
                raise ValueError("libsodium refused to sign a ticket")
        raw = bytes(ffi.buffer(out))
        return [
            raw[at + _SIGNATURE : at + TOKEN_BYTES] + raw[at : at + _SIGNATURE]
            for at in range(0, len(raw), TOKEN_BYTES)
        ]

    return sign_all


def split_tokens(blob: bytes) -> list[str]:
    text = blob.decode("ascii")
    return [text[i : i + TOKEN_LENGTH] for i in range(0, len(text), TOKEN_LENGTH)]


# --- in this process --------------------------------------------------------------------------------


class LocalCleaning:
    """Cleaning and signing in this process (small files; no helper processes): the same results."""

    def __init__(self, cleaning: RowCleaning, make_token: Callable[[str], str] | None) -> None:
        self.cleaning = cleaning
        self.make_token = make_token
        self.depth = 1
        self.ready = True

    def submit(self, rows: Sequence[tuple[int, list[Any]]], ids: Sequence[str]) -> Callable[[], Answer]:
        outcomes = self.cleaning.clean(rows)
        tokens: list[str] = []
        if ids and self.make_token is not None:
            make = self.make_token
            tokens = [make(pid) for pid, o in zip(ids, outcomes, strict=True) if type(o) is ParticipantInput]
        return lambda: (outcomes, tokens)

    def close(self) -> None:
        pass


# --- helper processes -------------------------------------------------------------------------------


class WorkerStopped(ChildStopped):
    """A worker process ended or answered out of turn (its stderr says why)."""


def _decode(frame: bytes) -> tuple[Any, ...]:
    """Answers are unpickled on the reader thread, while the importing thread reads the file and
    saves batches."""
    answer: tuple[Any, ...] = pickle.loads(frame)  # noqa: S301 - our own child process's answer
    if answer[0] == "ok":
        answer = (answer[0], answer[1], unpacked(answer[2]), split_tokens(answer[3]))
    return answer


def _worker(nice: int) -> Child:
    return Child("turnout.adapters.import_workers", str(nice), decode=_decode, name="import worker")


class ImportWorkers:
    """``count`` worker processes taking batches in turn; answers come back in submission order.

    The processes start at once (their imports overlap the caller's own start-up work); ``start``
    tells them the file's cleaning and the event's key. ``close`` ends them (stdin closed, then
    killed if they do not finish within 10 s); call it in a ``finally``.
    """

    def __init__(self, count: int = 2, *, nice: int = 0) -> None:
        self._workers: list[Child] = []
        try:
            for _ in range(count):
                self._workers.append(_worker(nice))
        except BaseException:
            self.close()
            raise
        self.depth = count + 1  # one batch at each worker, one waiting: bounded memory
        self._sent = 0

    @property
    def ready(self) -> bool:
        """True once every worker has started (until then the caller may clean batches itself)."""
        return all(w.ready.is_set() and not w.ended.is_set() for w in self._workers)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def start(self, cleaning: RowCleaning, event_id: str, private_raw: bytes | None) -> None:
        setup = pickle.dumps((cleaning, event_id, private_raw), protocol=pickle.HIGHEST_PROTOCOL)
        for worker in self._workers:
            self._send(worker, setup)

    def submit(self, rows: Sequence[tuple[int, list[Any]]], ids: Sequence[str]) -> Callable[[], Answer]:
        sequence = self._sent
        worker = self._workers[sequence % len(self._workers)]
        raw_ids = bytes.fromhex("".join(ids).replace("-", "")) if ids else b""
        if len(raw_ids) != 16 * len(ids):
            raise ValueError("participant ids must be UUIDs")
        self._send(worker, pickle.dumps((sequence, rows, raw_ids), protocol=pickle.HIGHEST_PROTOCOL))
        self._sent += 1

        def result() -> Answer:
            answer = worker.answers.get()
            if answer is None:
                worker.answers.put(None)  # every later wait sees the end too
                raise WorkerStopped("an import worker stopped")
            if answer[0] != "ok":
                raise WorkerStopped(f"an import worker failed:\n{answer[2]}")
            if answer[1] != sequence:
                raise WorkerStopped("an import worker answered out of turn")
            outcomes: list[Outcome] = answer[2]
            tokens: list[str] = answer[3]
            return outcomes, tokens

        return result

    @staticmethod
    def _send(worker: Child, payload: bytes) -> None:
        try:
            worker.send(payload)
        except ChildStopped as exc:
            raise WorkerStopped(str(exc)) from exc

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.stdin.close()
        for worker in self._workers:
            worker.close()
        self._workers = []


# --- the worker process -----------------------------------------------------------------------------


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    inbox = start_pump(stdin, stdout)
    setup = inbox.get()
    if setup is None:
        return
    cleaning, event_id, private_raw = pickle.loads(setup)  # noqa: S301 - from our parent
    signer = TokenSigner(event_id, private_raw) if private_raw else None
    gc.freeze()  # the modules loaded so far are never garbage: collections need not walk them
    while True:
        request = inbox.get()
        if request is None:
            return
        # a batch makes ~100,000 acyclic objects (freed by reference counting); collections they
        # would trigger cost ~30% of the batch: the collector runs between batches instead
        gc.disable()
        try:
            answer = _answer(cleaning, signer, request)
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            del answer
        finally:
            gc.enable()
        write_frame(stdout, payload)


def _answer(cleaning: RowCleaning, signer: TokenSigner | None, request: bytes) -> tuple[Any, ...]:
    sequence, rows, raw_ids = pickle.loads(request)  # noqa: S301 - from the process that started us
    try:
        outcomes = cleaning.clean(rows)
        tokens = b""
        if raw_ids and signer is not None:
            valid = [
                raw_ids[16 * i : 16 * i + 16] for i, o in enumerate(outcomes) if type(o) is ParticipantInput
            ]
            tokens = signer.tokens(valid)
        return ("ok", sequence, packed(outcomes), tokens)
    except Exception:
        return ("error", sequence, traceback.format_exc())


def main(argv: Sequence[str]) -> None:
    import os

    nice = int(argv[1]) if len(argv) > 1 else 0
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    # the signer's library loads while the importing process gets its first batch ready
    import nacl.bindings  # noqa: F401

    with contextlib.suppress(BrokenPipeError):  # the importing process is gone
        serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main(sys.argv)
