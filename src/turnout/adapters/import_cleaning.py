"""``ports.RowCleaner``: where an import's rows are cleaned and their ticket tokens signed.

``ParallelRowCleaner`` hands the batches of a large file (``min_bytes`` and more) to import worker
processes (``adapters.import_workers``), a few batches ahead of the one being decided, so that
cleaning and Ed25519 signing run on another core while the importing process reads and saves.
Small files, and every batch the workers cannot answer, are cleaned in this process
(``LocalCleaning``: the same ``RowCleaning``, the same tokens, so the same results).

- The workers start when the import starts (``start``), so that their start-up (~0.3 s of module
  loading) overlaps the import's own (reading the event, opening the file, planning columns).
- Until they say they are ready, small batches (``WARM_UP_BATCH`` rows) are cleaned here and
  handed on at once: saving starts at once instead of waiting for the first answer.
- Should a worker not start, or die, the batches not yet answered are cleaned here.
- While a run lasts, the cyclic garbage collector is held off (``adapters.gc``): a batch makes
  ~100,000 acyclic objects, freed by reference counting, and the collections they trigger walked a
  growing heap again and again (the 100,000-row bench import: 4.9 s with them, 3.6 s without).

Tokens in this process: libsodium through ``parallel_signing.fast_signer`` (~1.5x faster than
OpenSSL; Ed25519 is deterministic, so the bytes are the same).
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self

from turnout.adapters.gc import gc_paused
from turnout.adapters.import_workers import Answer, ImportWorkers, LocalCleaning, WorkerStopped
from turnout.adapters.parallel_signing import fast_signer, token_maker
from turnout.domain.imports import RowCleaning
from turnout.ports import RowsT, SigningKey

log = logging.getLogger(__name__)

#: files at least this large are cleaned and signed in worker processes
PARALLEL_MIN_BYTES = 512 * 1024
#: rows a batch cleaned in this process while the workers start
WARM_UP_BATCH = 1000
#: worker processes for a large file (the importing process keeps reading and saving)
WORKERS = 2


class _Engine(Protocol):
    """``LocalCleaning`` or ``ImportWorkers``."""

    depth: int

    @property
    def ready(self) -> bool: ...

    def submit(self, rows: Sequence[tuple[int, list[Any]]], ids: Sequence[str]) -> Callable[[], Answer]: ...

    def close(self) -> None: ...


class ParallelRowCleaner:
    """Worker processes for files of ``min_bytes`` and more (``workers=0``: never); ``pause_gc``:
    the cyclic garbage collector held off while a run lasts."""

    def __init__(
        self,
        *,
        workers: int = WORKERS,
        min_bytes: int = PARALLEL_MIN_BYTES,
        pause_gc: bool = True,
        start_workers: Callable[..., ImportWorkers] = ImportWorkers,
    ) -> None:
        self.workers = workers
        self.min_bytes = min_bytes
        self.pause_gc = pause_gc
        self.start_workers = start_workers

    def start(self, *, file_size: int) -> CleaningRun:
        if self.workers <= 0 or file_size < self.min_bytes:
            return CleaningRun(None, pause_gc=self.pause_gc)
        try:
            return CleaningRun(self.start_workers(self.workers), pause_gc=self.pause_gc)
        except OSError as exc:  # pragma: no cover - no processes allowed here
            log.warning("import workers unavailable, cleaning in this process: %s", exc)
            return CleaningRun(None, pause_gc=self.pause_gc)


class CleaningRun:
    """``ports.CleaningRun``: one import's cleaning, with its worker processes if it has any."""

    def __init__(self, workers: ImportWorkers | None, *, pause_gc: bool = False) -> None:
        self._workers = workers
        self._signed = False
        self._held = contextlib.ExitStack()
        self._pause_gc = pause_gc

    def __enter__(self) -> Self:
        if self._pause_gc:
            self._held.enter_context(gc_paused())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            self._held.close()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def clean(
        self,
        read: Callable[[int], RowsT | None],
        *,
        cleaning: RowCleaning,
        batch_size: int,
        event_id: str,
        key: SigningKey | None,
    ) -> Iterator[RowsT]:
        if key is None:  # a pass that saves nothing (``on_duplicate=fail``'s check): no tokens
            return _batches(read, batch_size, LocalCleaning(cleaning, None), fallback=None)
        if self._signed:
            raise RuntimeError("a cleaning run signs once")
        self._signed = True
        private = key.private_bytes()
        local = LocalCleaning(cleaning, token_maker(event_id, fast_signer(private)))
        workers = self._workers
        if workers is not None:
            try:
                workers.start(cleaning, event_id, private)
            except WorkerStopped as exc:  # a worker could not start (its stderr says why)
                log.warning("import workers unavailable, cleaning in this process: %s", exc)
                self.close()
            else:
                return _batches(read, batch_size, workers, fallback=local)
        return _batches(read, batch_size, local, fallback=None)


@dataclass(slots=True)
class _Pending:
    batch: Any  # the caller's ``RowsToClean``
    rows: list[tuple[int, list[Any]]]
    answer: Callable[[], Answer]


def _batches(
    read: Callable[[int], RowsT | None], size: int, engine: _Engine, *, fallback: _Engine | None
) -> Iterator[RowsT]:
    """The batches ``read`` makes, in order, up to ``engine.depth`` of them being cleaned at once."""
    pending: collections.deque[_Pending] = collections.deque()
    exhausted = False
    while True:
        while not exhausted and len(pending) < engine.depth:
            warming = fallback is not None and not engine.ready
            if warming and pending:
                break  # hand the batch cleaned here on first
            batch = read(min(size, WARM_UP_BATCH) if warming else size)
            if batch is None:
                exhausted = True
                break
            rows = [(record.row, record.cells) for record in batch.rows]
            ids = batch.participant_ids
            try:
                answer = (fallback if warming and fallback is not None else engine).submit(rows, ids)
            except WorkerStopped as exc:
                if fallback is None:
                    raise
                engine, fallback = _fall_back(engine, fallback, pending, exc), None
                answer = engine.submit(rows, ids)
            pending.append(_Pending(batch, rows, answer))
        if not pending:
            return
        try:
            outcomes, tokens = pending[0].answer()
        except WorkerStopped as exc:
            if fallback is None:
                raise
            engine, fallback = _fall_back(engine, fallback, pending, exc), None
            continue
        done = pending.popleft().batch
        done.outcomes = outcomes
        done.tokens = tokens
        yield done


def _fall_back(
    engine: _Engine, fallback: _Engine, pending: collections.deque[_Pending], exc: Exception
) -> _Engine:
    """The workers stopped: end them, and clean the batches they had not answered with ``fallback``."""
    log.warning("import workers stopped, cleaning in this process: %s", exc)
    engine.close()
    for item in pending:
        item.answer = fallback.submit(item.rows, item.batch.participant_ids)
    return fallback
