"""Background workers (outbox relay, stream publisher and consumer, mail sender, imports, outbound
deliveries, the analytics feed), run by ``turnout worker`` or ``serve``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence

from turnout.adapters.db.engine import checkpointer_for
from turnout.bootstrap import Turnout, delivery_sender, mail_sender
from turnout.services.feeds import FEED_PREFIX
from turnout.services.pacing import RushWatch

log = logging.getLogger(__name__)

# Each entry takes (turnout, stop) and loops until ``stop`` is set. Later areas register theirs here.
WorkerLoop = Callable[[Turnout, threading.Event], None]


def repeat(
    step: Callable[[], int],
    stop: threading.Event,
    *,
    name: str,
    idle_seconds: float,
    backoff_seconds: float,
    after_failure: Callable[[], None] | None = None,
) -> None:
    """Run ``step`` until ``stop``; wait ``idle_seconds`` after a step that did nothing (returned 0).
    A step that raises is logged, ``after_failure`` runs, and the next try waits ``backoff_seconds``
    doubled for each failure in a row (at most 30 s)."""
    failures = 0
    while not stop.is_set():
        try:
            done = step()
            failures = 0
        except Exception:
            failures += 1
            log.exception("%s failed (%d in a row)", name, failures)
            if after_failure is not None:
                after_failure()
            stop.wait(min(30.0, backoff_seconds * 2**failures))
            continue
        if not done and idle_seconds:
            stop.wait(idle_seconds)


#: messages in one feeds relay transaction (a few milliseconds of the writer turn)
FEEDS_BATCH = 100


#: the longest pause of the feeds or the sender during a rush (a batch that waited long for the
#: write lock must not stall them for minutes: at least a batch every few seconds goes through)
LONGEST_PAUSE = 5.0

#: the sender's pause after a batch that was neither empty nor full
GATHER_SECONDS = 0.05

#: deliveries in one of the sender's batches during a rush (a short batch, then a long pause)
RUSH_BATCH = 50


def give_way(rush: RushWatch, stop: threading.Event, seconds: float) -> None:
    """Pause for ``seconds`` (at most ``LONGEST_PAUSE``) while the rush lasts: back to work as soon
    as it is over, or when ``stop`` is set."""
    deadline = time.monotonic() + min(seconds, LONGEST_PAUSE)
    while not stop.is_set() and rush.in_rush():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, rush.sample_seconds))


def is_feed(handler_name: str) -> bool:
    return handler_name.startswith(FEED_PREFIX)


def relay_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Outbox -> local handlers, and due retries. With ``--from-kafka`` the handlers are fed from the
    stream instead, and this loop only runs the retries. The integrations' feeds have their own
    loop (``feeds_relay_loop``)."""
    relay = turnout.relay(
        deliver_locally=not turnout.from_kafka, handler_filter=lambda name: not is_feed(name)
    )
    poll = turnout.settings.relay_poll_interval
    try:
        repeat(relay.run_once, stop, name="relay cycle", idle_seconds=poll, backoff_seconds=poll)
    finally:
        relay.close()


def feeds_relay_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Outbox -> the integrations' feeds (``services.feeds``: what each external system is owed).
    While the gates are in a rush (``Turnout.rush_watch``), after a batch that took t seconds it
    waits ``TURNOUT_INTEGRATIONS_YIELD`` x t: the feeds fall behind during the rush and catch up
    after it, rather than slow the scans."""
    relay = turnout.relay(
        deliver_locally=not turnout.from_kafka,
        handler_filter=is_feed,
        take_turn=True,
        batch_size=FEEDS_BATCH,  # short turns: a scan waits for at most one of them
    )
    poll = turnout.settings.relay_poll_interval
    pace = turnout.settings.integrations_yield
    rush = turnout.rush_watch()

    def step() -> int:
        started = time.perf_counter()
        done = relay.run_once()
        if done and pace and rush.in_rush():
            give_way(rush, stop, (time.perf_counter() - started) * pace)
        return done

    try:
        repeat(step, stop, name="feeds relay cycle", idle_seconds=poll, backoff_seconds=poll)
    finally:
        relay.close()


def publisher_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Outbox -> Kafka, when ``TURNOUT_BROKER_URL`` is set."""
    if not turnout.settings.broker_url:
        return
    relay = turnout.relay()
    poll = turnout.settings.relay_poll_interval
    try:
        repeat(
            relay.publish_once, stop, name="stream publisher cycle", idle_seconds=poll, backoff_seconds=poll
        )
    finally:
        relay.close()


def stream_consumer_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Kafka -> local handlers (``turnout worker --from-kafka`` only). A failed cycle leaves the
    consumer group, so the next starts again from the last committed offsets: what was read is read
    again."""
    if not turnout.from_kafka:
        return
    consumer = turnout.stream_consumer()
    try:
        repeat(
            consumer.consume_once,  # waits up to its poll timeout for records
            stop,
            name="stream consumer cycle",
            idle_seconds=0,
            backoff_seconds=0.5,
            after_failure=consumer.close,
        )
    finally:
        consumer.close()


def mail_sender_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float = 0.5) -> None:
    """Email jobs -> the Mailer (SMTP or the drop folder): one batch after another on one asyncio
    loop in this thread, a pause when nothing was due, until ``stop`` is set."""
    sender = mail_sender(turnout)
    loop = asyncio.new_event_loop()
    try:
        while not stop.is_set():
            try:
                handled = loop.run_until_complete(sender.send_batch())
            except Exception:
                log.exception("mail sender batch failed")
                handled = 0
            if not handled:
                stop.wait(poll_seconds)
    finally:
        try:
            loop.run_until_complete(sender.mailer.close())
        finally:
            loop.close()


def imports_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Queued participant imports (API uploads), one job at a time; a restarted worker resumes an
    interrupted one once its lease has ended (``Importer.run_next_import`` claims queued jobs and
    running jobs under an ended lease)."""
    while not stop.is_set():
        try:
            ran = turnout.importer.run_next_import()
        except Exception:  # keep the loop alive; the job is retried after its lease
            log.exception("imports loop")
            ran = False
        if not ran:
            stop.wait(1.0)


def analytics_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float = 10.0) -> None:
    """Every ``poll_seconds``: an ``analytics.snapshot`` for each live event whose analytics platform
    has had none for ``TURNOUT_ANALYTICS_INTERVAL_SECONDS`` (``services.feeds.send_due_analytics``)."""
    from turnout.services.feeds import send_due_analytics

    interval = turnout.settings.analytics_interval_seconds

    def step() -> int:
        with turnout.uow() as uow:
            send_due_analytics(uow, interval_seconds=interval)
            uow.commit()
        return 0  # wait ``poll_seconds`` either way: the next are due an interval later

    repeat(step, stop, name="analytics feed", idle_seconds=poll_seconds, backoff_seconds=poll_seconds)


def sagas_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float = 0.1) -> None:
    """Advance the sagas due to be looked at (``services.sagas.advance_due_sagas``): those whose
    awaited delivery finished, whose wait or retry is up, or whose worker stopped (its lease ended:
    a saga a killed worker left is taken over and goes on from its record)."""
    from turnout.services.sagas import advance_due_sagas

    policy = turnout.saga_policy()
    worker = f"sagas-{socket.gethostname()}-{os.getpid()}"

    def step() -> int:
        return advance_due_sagas(turnout.turn_taking_uow, turnout.sagas, policy=policy, worker=worker)

    repeat(step, stop, name="sagas", idle_seconds=poll_seconds, backoff_seconds=1.0)


def alert_mail_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float = 5.0) -> None:
    """Email each new operator alert to ``TURNOUT_ALERT_EMAIL`` (``services.alerts.email_due_alerts``);
    nothing to do when it is not set."""
    from turnout.services.alerts import email_due_alerts

    to = turnout.settings.alert_email
    if not to:
        return

    async def send() -> int:
        try:
            return await email_due_alerts(
                turnout.uow, turnout.mailer, to=to, mail_from=turnout.settings.mail_from
            )
        finally:
            await turnout.mailer.close()  # this loop's connections (each step has its own event loop)

    repeat(
        lambda: asyncio.run(send()), stop, name="alert mail", idle_seconds=poll_seconds, backoff_seconds=5.0
    )


def crowd_safety_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float | None = None) -> None:
    """Every few seconds: each live event's people inside against its capacity and each gate area's
    against the gate's (``services.crowd.CrowdWatch``): a ``crowd_amber`` / ``crowd_red`` alert
    once per upward crossing. Reads only, unless an area's alarm state changes; skipped while no
    scan was recorded (a full look at least every minute)."""
    from turnout.adapters.db.gate_traffic import SqlGateTraffic
    from turnout.services.crowd import WATCH_SECONDS, CrowdWatch

    watch = CrowdWatch(
        turnout.turn_taking_uow, read_factory=turnout.uow, traffic=SqlGateTraffic(turnout.engine)
    )

    def step() -> int:
        watch.round()
        return 0  # look again ``poll_seconds`` later either way

    wait = WATCH_SECONDS if poll_seconds is None else poll_seconds
    repeat(step, stop, name="crowd safety", idle_seconds=wait, backoff_seconds=wait)


def deliveries_loop(turnout: Turnout, stop: threading.Event, *, poll_seconds: float = 0.25) -> None:
    """Outbound deliveries -> the external systems: one batch after another on one asyncio loop in
    this thread (``services.deliveries.DeliverySender``), at a lower CPU priority; a pause of
    ``poll_seconds`` after a batch that was not full. While the gates are in a rush
    (``Turnout.rush_watch``), a pause of ``TURNOUT_DELIVERY_YIELD_IN_RUSH`` times as long as the
    batch took after each batch: deliveries fall behind during the rush and catch up after it."""
    niceness = turnout.settings.delivery_niceness
    pace = turnout.settings.delivery_yield_in_rush
    rush = turnout.rush_watch()
    lower_priority(niceness)
    sender = delivery_sender(turnout)
    loop = asyncio.new_event_loop()
    # its database steps (claim, record) run in the default executor's threads at the normal
    # priority: a transaction that holds SQLite's write lock must not wait for the CPU
    failures = 0
    try:
        while not stop.is_set():
            try:
                in_rush = bool(pace) and rush.in_rush()
                started = time.perf_counter()
                handled = loop.run_until_complete(
                    sender.send_batch(overlap=not in_rush, limit=RUSH_BATCH if in_rush else None)
                )
                failures = 0
                if handled and in_rush:
                    # paced by the batch's whole time (database, signing, HTTP): a rush keeps
                    # nearly all the CPU and the write lock for the gates
                    give_way(rush, stop, (time.perf_counter() - started) * pace)
                    continue
            except Exception:
                failures += 1
                log.exception("delivery batch failed (%d in a row)", failures)
                stop.wait(min(30.0, poll_seconds * 2**failures))
                continue
            if handled < sender.policy.batch_size:
                loop.run_until_complete(sender.flush())
                # caught up: let the next deliveries gather for a moment, so a steady trickle
                # (a delivery per gate scan) goes in a few larger transactions, not many small ones;
                # a shorter moment after a batch that held some (the next page of a sync waits for
                # the one before to be recorded)
                stop.wait(poll_seconds if not handled else GATHER_SECONDS)
    finally:
        try:
            loop.run_until_complete(sender.close())
        finally:
            loop.close()


def retention_loop(turnout: Turnout, stop: threading.Event) -> None:
    """Every ``TURNOUT_RETENTION_INTERVAL_SECONDS``: delete finished records older than
    ``TURNOUT_RETENTION_DAYS`` (``services.privacy.prune_expired``), a bounded batch per writer
    turn until none is left."""
    from turnout.services.privacy import prune_expired

    days = turnout.settings.retention_days

    def step() -> int:
        with turnout.turn_taking_uow() as uow:
            counts = prune_expired(uow, retention_days=days)
            uow.commit()
        return sum(counts.values())  # a full batch: go on at once; none left: wait the interval

    repeat(
        step,
        stop,
        name="retention",
        idle_seconds=turnout.settings.retention_interval_seconds,
        backoff_seconds=60.0,
    )


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads one by one): gate scans
    and registrations come first, outbound deliveries catch up when the CPU is free."""
    if niceness <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (OSError, AttributeError):  # not Linux, or not allowed: run at the normal priority
        log.debug("could not lower the deliveries thread's priority")


LOOPS: list[tuple[str, WorkerLoop]] = [
    ("imports", imports_loop),
    ("mail-sender", mail_sender_loop),
    ("outbox-relay", relay_loop),
    ("feeds-relay", feeds_relay_loop),
    ("outbox-publisher", publisher_loop),
    ("stream-consumer", stream_consumer_loop),
    ("analytics-feed", analytics_loop),
    ("deliveries", deliveries_loop),
    ("sagas", sagas_loop),
    ("alert-mail", alert_mail_loop),
    ("crowd-safety", crowd_safety_loop),
    ("retention", retention_loop),
]


def select_loops(*, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[tuple[str, WorkerLoop]]:
    """The loops named in ``only`` (all when empty) less those in ``skip``; ``ValueError`` for a
    name that is not a loop's, or when nothing is left."""
    names = [name for name, _loop in LOOPS]
    unknown = [name for name in (*only, *skip) if name not in names]
    if unknown:
        raise ValueError(f"no such worker loop: {', '.join(unknown)} (the loops: {', '.join(names)})")
    chosen = [(name, loop) for name, loop in LOOPS if (not only or name in only) and name not in skip]
    if not chosen:
        raise ValueError("no worker loop is left to run")
    return chosen


def run_forever(
    turnout: Turnout,
    stop: threading.Event | None = None,
    *,
    loops: Sequence[tuple[str, WorkerLoop]] | None = None,
) -> None:
    """Run the loops (every registered one unless ``loops``) each in its own thread until
    SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("worker stopping on signal %s", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    threads = [
        threading.Thread(target=loop, args=(turnout, stop), name=name, daemon=True)
        for name, loop in (LOOPS if loops is None else loops)
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
