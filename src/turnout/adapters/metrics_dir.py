"""The directory where the processes of one deployment keep their Prometheus counters.

Imported before ``prometheus_client`` (which picks its mode from ``PROMETHEUS_MULTIPROC_DIR`` when it is
first imported), so this module must not import it, directly or through :mod:`turnout.adapters.metrics`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from turnout.config import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"
# counter_123.db, histogram_123.db, gauge_livesum_123.db, summary_123.db
_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(\d+)\.db$")


def metrics_dir(settings: Settings) -> Path:
    """``TURNOUT_METRICS_DIR``, else ``PROMETHEUS_MULTIPROC_DIR``, else ``<var>/metrics``."""
    if settings.metrics_dir:
        return Path(settings.metrics_dir)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return settings.var_dir / "metrics"


def prepare(settings: Settings, *, clean: bool) -> Path:
    """Create the directory, empty it of counter files (``clean``: every one, a new deployment starts
    from 0; otherwise only those of processes no longer running), and set ``PROMETHEUS_MULTIPROC_DIR``
    for this process and every child it starts. Call before anything imports ``prometheus_client``."""
    path = metrics_dir(settings).resolve()
    path.mkdir(parents=True, exist_ok=True)
    if clean:
        for file in path.glob("*.db"):
            file.unlink(missing_ok=True)
    else:
        sweep_dead(path)
    os.environ[ENV] = str(path)
    return path


def sweep_dead(path: Path, *, leaving: int | None = None) -> None:
    """Drop the files of processes that no longer run (a restarted worker starts its counters anew),
    and those of ``leaving`` (a process about to exit)."""
    for file in path.glob("*.db"):
        match = _FILE.match(file.name)
        if match and (int(match.group(1)) == leaving or not _alive(int(match.group(1)))):
            file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
