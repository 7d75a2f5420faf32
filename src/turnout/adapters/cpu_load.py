"""How busy the machine's CPUs are with other work than this process's (Linux ``/proc``): the
integrations give way while the gates keep the machine busy, but their own catching up (this
process) never counts as a reason to slow down."""

from __future__ import annotations

from pathlib import Path

STAT = Path("/proc/stat")
SELF_STAT = Path("/proc/self/stat")


class CpuLoad:
    """``busy()``: the share of all CPUs' time spent busy since the previous call by other
    processes than this one (0.0 where unknown). ``ports.MachineLoad``."""

    def __init__(self, stat: Path = STAT, own: Path | None = SELF_STAT) -> None:
        self.stat = stat
        self.own = own
        self._last = self._read()

    def _read(self) -> tuple[int, int, int] | None:
        """(all CPU time, idle time, this process's CPU time), in clock ticks."""
        try:
            with self.stat.open() as lines:
                fields = [int(v) for v in lines.readline().split()[1:]]
            own = 0
            if self.own is not None:
                # after the command name (which may hold spaces): utime and stime are the 12th
                # and 13th fields
                after_name = self.own.read_text().rsplit(")", 1)[1].split()
                own = int(after_name[11]) + int(after_name[12])
        except (OSError, ValueError, IndexError):
            return None
        if len(fields) < 4:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle, own

    def busy(self) -> float:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return 0.0
        total, idle, own = now[0] - last[0], now[1] - last[1], now[2] - last[2]
        return max(0.0, min(1.0, (total - idle - own) / total))
