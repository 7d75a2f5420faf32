"""How busy the machine's CPUs are (Linux ``/proc/stat``): the delivery sender gives way while they
are (gate scans are answered from the CPU: a rush of repeats writes nothing the feeds would see)."""

from __future__ import annotations

from pathlib import Path

STAT = Path("/proc/stat")


class CpuLoad:
    """``busy()``: the share of CPU time spent busy since the previous call (0.0 where unknown)."""

    def __init__(self, stat: Path = STAT) -> None:
        self.stat = stat
        self._last = self._read()

    def _read(self) -> tuple[int, int] | None:
        try:
            with self.stat.open() as lines:
                fields = [int(v) for v in lines.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 4:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    def busy(self) -> float:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return 0.0
        total, idle = now[0] - last[0], now[1] - last[1]
        return max(0.0, min(1.0, 1.0 - idle / total))
