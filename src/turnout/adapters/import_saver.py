"""``ports.BatchSaver``: how an import's saves overlap its reading.

``ThreadedSaver`` saves batch *k* in a thread of its own while the importing thread reads, cleans
and decides batch *k+1*: the database driver releases the GIL while SQLite writes pages or
PostgreSQL answers, so the two stages run side by side. ``prepare`` (``SqlImportRows.prepare``)
turns each batch's new participants into the store's rows in the importing thread before the batch
is queued, so that the saver, the stage every batch waits for, only adds the save itself.

``InlineSaver`` saves each batch as it is put (tests, and a plain alternative).

Both may hold the cyclic garbage collector off while the import runs (``pause_gc``): each batch
makes ~100,000 acyclic objects, freed by reference counting, and the collections they trigger
walk a growing heap again and again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator

from turnout.adapters.gc import gc_paused
from turnout.ports import ImportBatch

log = logging.getLogger(__name__)

Save = Callable[[ImportBatch], None]
Prepare = Callable[[ImportBatch], None]


def _held(pause_gc: bool) -> contextlib.AbstractContextManager[None]:
    return gc_paused() if pause_gc else contextlib.nullcontext()


class InlineSaver:
    """Each batch saved when it is put, in the caller's thread."""

    def __init__(self, *, pause_gc: bool = False) -> None:
        self.pause_gc = pause_gc

    @contextlib.contextmanager
    def run(self, save: Save) -> Iterator[_InlineLine]:
        with _held(self.pause_gc):
            yield _InlineLine(save)


class _InlineLine:
    def __init__(self, save: Save) -> None:
        self._save = save

    def put(self, batch: ImportBatch) -> None:
        self._save(batch)


class ThreadedSaver:
    """Saves in a thread of its own, in order; at most ``depth`` batches wait for it."""

    def __init__(self, *, prepare: Prepare | None = None, pause_gc: bool = True, depth: int = 2) -> None:
        self.prepare = prepare
        self.pause_gc = pause_gc
        self.depth = depth

    @contextlib.contextmanager
    def run(self, save: Save) -> Iterator[_ThreadLine]:
        with _held(self.pause_gc):
            line = _ThreadLine(save, self.prepare, self.depth)
            try:
                yield line
            except BaseException:
                line.stop()
                if line.failure is not None:
                    log.warning("an import save failed as well", exc_info=line.failure)
                raise
            line.stop()
            line.raise_failure()


class _ThreadLine:
    def __init__(self, save: Save, prepare: Prepare | None, depth: int) -> None:
        self._save = save
        self._prepare = prepare
        self._queue: queue.Queue[ImportBatch | None] = queue.Queue(maxsize=depth)
        self._failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="import-saver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._failure:
                continue  # drain, so that the importing thread never blocks on a full queue
            try:
                self._save(batch)
            except BaseException as exc:  # raised again in the importing thread
                self._failure.append(exc)

    def put(self, batch: ImportBatch) -> None:
        self.raise_failure()
        if self._prepare is not None:
            self._prepare(batch)
        self._queue.put(batch)

    @property
    def failure(self) -> BaseException | None:
        return self._failure[0] if self._failure else None

    def raise_failure(self) -> None:
        if self._failure:
            raise self._failure[0]

    def stop(self) -> None:
        """Wait for the saves put so far (after a failure, the rest are dropped)."""
        self._queue.put(None)
        self._thread.join()
