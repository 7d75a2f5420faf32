"""Background workers (outbox relay, mail sender, webhook sender), run by ``turnout worker`` or ``serve``."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from turnout.adapters.db.engine import checkpointer_for
from turnout.bootstrap import Turnout

log = logging.getLogger(__name__)

# Each entry takes (turnout, stop) and loops until ``stop`` is set. Later areas register theirs here.
WorkerLoop = Callable[[Turnout, threading.Event], None]


def relay_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Outbox -> local handlers, and due retries. With ``--from-kafka`` the handlers are fed from the
    stream instead, and this loop only runs the retries."""
    from turnout.adapters.outbox import Relay

    Relay(turnout, deliver_locally=not turnout.extras.get("from_kafka")).run(stop, publish=False)


def publisher_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Outbox -> Kafka, when ``TURNOUT_BROKER_URL`` is set."""
    from turnout.adapters.outbox import Relay

    if turnout.settings.broker_url:
        Relay(turnout).run(stop, publish=True)


def stream_consumer_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Kafka -> local handlers (``turnout worker --from-kafka`` only)."""
    if turnout.extras.get("from_kafka"):
        from turnout.adapters.kafka import StreamConsumer

        StreamConsumer(turnout).run(stop)


def mail_sender_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Email jobs -> the Mailer (SMTP or the drop folder)."""
    from turnout.services.mailing import run_mail_sender

    run_mail_sender(turnout, stop)


def imports_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Queued participant imports (API uploads), one job at a time; a restarted worker resumes an
    interrupted one (its lease ends, or its process is gone)."""
    while not stop.is_set():
        try:
            ran = turnout.importer.run_next_import()
        except Exception:  # keep the loop alive; the job is retried after its lease
            log.exception("imports loop")
            ran = False
        if not ran:
            stop.wait(1.0)


LOOPS: list[tuple[str, WorkerLoop]] = [
    ("imports", imports_loop),
    ("mail-sender", mail_sender_loop),
    ("outbox-relay", relay_loop),
    ("outbox-publisher", publisher_loop),
    ("stream-consumer", stream_consumer_loop),
]


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
    checkpointer = checkpointer_for(turnout.settings.database_url)
    if checkpointer is not None:
        checkpointer.start()  # the relay's and the mailer's commits do not checkpoint the WAL themselves
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)
    if checkpointer is not None:
        checkpointer.stop()
