"""Background workers (outbox relay, mail sender, webhook sender), run by ``turnout worker`` or ``serve``."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from turnout.bootstrap import Turnout

log = logging.getLogger(__name__)

# Each entry takes (turnout, stop) and loops until ``stop`` is set. Later areas register theirs here.
WorkerLoop = Callable[[Turnout, threading.Event], None]
LOOPS: list[tuple[str, WorkerLoop]] = []


def run_forever(turnout: Turnout, stop: threading.Event | None = None) -> None:
    """Run every registered loop in its own thread until SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("worker stopping on signal %s", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    threads = [
        threading.Thread(target=loop, args=(turnout, stop), name=name, daemon=True) for name, loop in LOOPS
    ]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)
