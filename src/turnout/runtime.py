"""Process-wide interpreter settings held for a while by whoever needs them (threads may overlap).

Each is reference counted: the first holder applies the setting, the last one out restores what
was there before, however the holders' spans interleave across threads.
"""

from __future__ import annotations

import contextlib
import gc
import sys
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


def _shorten_switches() -> float:
    before = sys.getswitchinterval()
    sys.setswitchinterval(SHORT_SWITCH_INTERVAL)
    return before


#: the GIL switch interval while ``short_switches()`` is held (CPython's default is 5 ms)
SHORT_SWITCH_INTERVAL = 0.0002

#: The cyclic garbage collector held off (a bulk upload's batches, an import's pipeline). Such work
#: makes tens of thousands of acyclic objects (freed by reference counting), many kept to its end;
#: the collections they trigger walked a growing heap again and again.
gc_paused = _Held(_pause_gc, _resume_gc)

#: A short GIL switch interval while two threads of one job hand work to each other: a thread that
#: gives the GIL up around a C call (SQLite) and asks for it back waits out the interval whenever
#: the other one runs Python, 5 ms by default; 0.2 ms keeps that wait small.
short_switches = _Held(_shorten_switches, sys.setswitchinterval)
