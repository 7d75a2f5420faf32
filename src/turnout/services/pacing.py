"""The gates come first: when a rush is on, the background work that can wait (the integrations'
feeds and deliveries) gives way, and catches up once it is over.

A rush is either of:
* **gate traffic**: the database recorded at least ``scans_per_second`` scans a second (admissions,
  repeats and refusals alike: a crowd of repeats writes no facts, but it still loads the machine);
* **a busy machine**: its CPUs were at least ``busy_cpu`` busy (whatever keeps them busy).

It lasts ``hold_seconds`` after the last reading that showed it, so a pause between two waves does
not let the deliveries burst into the second one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from turnout.ports import GateTraffic, MachineLoad


class RushWatch:
    """``in_rush()``: whether a rush is on. Readings are taken at most every ``sample_seconds``
    (between them the last answer stands), so the threads that ask it often share them."""

    def __init__(
        self,
        traffic: GateTraffic,
        load: MachineLoad | None = None,
        *,
        scans_per_second: float,
        busy_cpu: float = 0.8,
        hold_seconds: float = 2.0,
        sample_seconds: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.traffic = traffic
        self.load = load
        self.scans_per_second = scans_per_second
        self.busy_cpu = busy_cpu
        self.hold_seconds = hold_seconds
        self.sample_seconds = sample_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last_at: float | None = None
        self._last_count: int | None = None
        self._seen_at = -1e18  # when a reading last showed a rush
        #: the last readings (for logs and tests): scans a second, busy share
        self.scan_rate = 0.0
        self.cpu_busy = 0.0

    def in_rush(self) -> bool:
        with self._lock:
            now = self._monotonic()
            if self._last_at is None or now - self._last_at >= self.sample_seconds:
                self._read(now)
            return now - self._seen_at < self.hold_seconds

    def _read(self, now: float) -> None:
        count = self.traffic.scans_recorded()
        rush = False
        if count is not None and self._last_count is not None and self._last_at is not None:
            self.scan_rate = max(0, count - self._last_count) / max(now - self._last_at, 1e-6)
            rush = self.scans_per_second > 0 and self.scan_rate >= self.scans_per_second
        if self.load is not None:
            self.cpu_busy = self.load.busy()
            rush = rush or (0 < self.busy_cpu <= self.cpu_busy)
        self._last_at, self._last_count = now, count
        if rush:
            self._seen_at = now
