"""The machine's ceiling now: ``GET /health`` on ``turnout serve --workers 2 --no-background``
(an empty SQLite database), wrk at concurrency 32 for a few seconds. The benchmarks print their
figures beside it (the shared machines' speed drifts: the targets were set at about 11,000 req/s,
and a figure from a slower run is judged against the target scaled by ceiling / 11,000)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the /health ceiling on the day the targets were set
REFERENCE = 11_000.0


def measure_ceiling(duration: float = 3.0) -> float | None:
    """Requests a second, or None without wrk."""
    from bench_checkin import WRK, drive_wrk, free_port, wait_for  # (bench_checkin imports its caller)

    if not os.path.exists(WRK):
        return None
    workdir = Path(tempfile.mkdtemp(prefix="turnout-ceiling-"))
    port = free_port()
    env = {
        **os.environ,
        "TURNOUT_DATABASE_URL": f"sqlite:///{workdir / 'ceiling.sqlite3'}",
        "TURNOUT_VAR_DIR": str(workdir / "var"),
        "TURNOUT_SECRET_KEY": "bench-secret-key",
        "TURNOUT_BROKER_URL": "",
    }
    turnout_bin = str(Path(sys.executable).parent / "turnout")
    subprocess.run([turnout_bin, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [turnout_bin, "serve", "--port", str(port), "--workers", "2", "--no-background"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        time.sleep(1.0)
        common = {"method": "GET", "path": "/health", "bodies": [], "auth": "", "concurrency": 32}
        drive_wrk(port, workdir, **common, duration=1)  # warm-up
        return drive_wrk(port, workdir, **common, duration=duration)["per_second"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def scaled(target: float, ceiling: float | None) -> float:
    """``target`` scaled to a slower run's ceiling (never above the target itself)."""
    if ceiling is None:
        return target
    return target * min(1.0, ceiling / REFERENCE)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    figure = measure_ceiling()
    print(
        "ceiling           wrk not found"
        if figure is None
        else f"ceiling           {figure:,.0f} req/s (/health, c=32)"
    )
