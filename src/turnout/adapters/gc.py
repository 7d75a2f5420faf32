"""Process-wide interpreter settings held for a while by whoever needs them (threads may overlap).

Each is reference counted: the first holder applies the setting, the last one out restores what
was there before, however the holders' spans interleave across threads.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any


class _Held:
    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        self._apply = apply
        self._restore = restore
        self._lock = threading.Lock()
        self._holders = 0
        self._before: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._before = self._apply()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._restore(self._before)


def _pause_gc() -> bool:
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def _resume_gc(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


#: The cyclic garbage collector held off while an import runs (``adapters.import_cleaning``). Its
#: batches make hundreds of thousands of acyclic objects (freed by reference counting), many kept to
#: its end; the collections they trigger walked a growing heap again and again.
gc_paused = _Held(_pause_gc, _resume_gc)
