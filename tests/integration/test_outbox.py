"""The outbox relay: delivery to local handlers, isolation, retries, exactly-once, two relays."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.fakes import FakeClock
from tests.messaging_support import PROBE, ProbeHappened, effects, emit, record_effect, subscribe_effect
from turnout.adapters.db.tables_messaging import message_deliveries, relay_cursors
from turnout.adapters.deliveries import backoff_seconds
from turnout.adapters.outbox import Relay
from turnout.bootstrap import Turnout, bootstrap
from turnout.messages.base import Envelope
from turnout.ports import UnitOfWork


def deliveries(turnout: Turnout) -> list[sa.Row[tuple[object, ...]]]:
    with turnout.engine.connect() as conn:
        return list(conn.execute(sa.select(message_deliveries).order_by(message_deliveries.c.message_id)))


def test_drain_delivers_every_message_to_every_handler_once_when_pending(turnout: Turnout) -> None:
    subscribe_effect(turnout, "a")
    subscribe_effect(turnout, "b")
    ids = emit(turnout, 25)
    relay = turnout.relay(batch_size=10)
    delivered = relay.drain()
    assert delivered >= 50
    got = effects(turnout)
    assert {(i, h) for i in ids for h in ("a", "b")} <= set(got)
    assert all(count == 1 for count in got.values())
    assert relay.drain() == 0
    assert effects(turnout) == got


def test_failing_handler_does_not_affect_others_when_one_raises(turnout: Turnout, clock: FakeClock) -> None:
    subscribe_effect(turnout, "good")
    down = [True]

    def flaky(envelope: Envelope, uow: UnitOfWork) -> None:
        record_effect("flaky", envelope, uow)  # this effect must be rolled back with the savepoint
        if down[0]:
            raise RuntimeError("downstream is down")

    turnout.handlers.subscribe([PROBE], flaky, name="flaky")
    ids = emit(turnout, 3)
    turnout.relay(rng=random.Random(1)).drain()
    got = effects(turnout)
    assert all(got[(i, "good")] == 1 for i in ids)
    assert not any(got[(i, "flaky")] for i in ids)
    rows = deliveries(turnout)
    assert [(r.status, r.attempts, r.handler) for r in rows] == [("pending", 1, "flaky")] * 3
    assert all("downstream is down" in r.last_error for r in rows)
    assert all(r.next_attempt_at > clock.now() for r in rows)

    down[0] = False
    clock.advance(hours=1)
    turnout.relay().drain()
    got = effects(turnout)
    assert all(got[(i, "flaky")] == 1 and got[(i, "good")] == 1 for i in ids)
    assert {r.status for r in deliveries(turnout)} == {"done"}


def test_delivery_is_dead_lettered_when_attempts_run_out(turnout: Turnout, clock: FakeClock) -> None:
    def broken(envelope: Envelope, uow: UnitOfWork) -> None:
        raise ValueError("bad data")

    turnout.handlers.subscribe([PROBE], broken, name="broken")
    subscribe_effect(turnout, "good")
    (message_id,) = emit(turnout, 1)
    relay = turnout.relay()
    for _ in range(turnout.settings.handler_max_attempts + 2):
        relay.drain()
        clock.advance(days=1)
    (row,) = deliveries(turnout)
    assert (row.message_id, row.status, row.attempts) == (
        message_id,
        "dead",
        turnout.settings.handler_max_attempts,
    )
    assert "ValueError: bad data" in row.last_error
    assert effects(turnout)[(message_id, "good")] == 1


def test_backoff_grows_exponentially_with_jitter_when_attempts_repeat() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, base=1.0, cap=1000.0, rng=rng) for n in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        full = 2 ** (attempt - 1)
        assert full / 2 <= delay <= full
    assert len({round(d / 2 ** (i), 3) for i, d in enumerate(delays)}) > 1  # jittered
    assert backoff_seconds(30, base=1.0, cap=60.0, rng=rng) <= 60.0


def test_batch_rolls_back_whole_when_relay_dies_mid_batch(turnout: Turnout) -> None:
    """A crash (here: an exception escaping the relay's transaction) leaves neither effects nor
    cursor movement; the next relay does the batch again, exactly once."""
    subscribe_effect(turnout, "a")
    ids = emit(turnout, 5)

    class Crash(BaseException):
        pass

    def crash(envelope: Envelope, uow: UnitOfWork) -> None:
        raise Crash

    turnout.handlers.subscribe([PROBE], crash, name="z-crash")
    with pytest.raises(Crash):
        turnout.relay().drain()
    assert effects(turnout) == Counter()
    with turnout.engine.connect() as conn:
        assert set(conn.execute(sa.select(relay_cursors.c.position)).scalars()) == {0}

    fresh = bootstrap(turnout.settings, clock=turnout.clock)
    subscribe_effect(fresh, "a")
    subscribe_effect(fresh, "z-crash")
    fresh.relay().drain()
    fresh.close()
    assert effects(turnout) == Counter({(i, h): 1 for i in ids for h in ("a", "z-crash")})


def test_handler_can_emit_follow_up_messages_when_delivering(turnout: Turnout) -> None:
    seen: list[int] = []

    def follow_up(envelope: Envelope, uow: UnitOfWork) -> None:
        if envelope.data["n"] == 0:
            uow.emit(ProbeHappened(event_id="e1", n=1))

    turnout.handlers.subscribe([PROBE], follow_up, name="follow_up")
    turnout.handlers.subscribe([PROBE], lambda e, uow: seen.append(e.data["n"]), name="watch")
    emit(turnout, 1)
    turnout.relay().drain()
    assert seen == [0, 1]


@pytest.mark.postgres
def test_two_relays_never_hand_a_message_to_a_handler_twice_when_concurrent(
    turnout: Turnout, database_url: str
) -> None:
    if turnout.dialect != "postgresql":
        pytest.skip("concurrent relays are a PostgreSQL matter (SQLite has one writer)")
    ids = emit(turnout, 600)
    relays: list[Relay] = []
    wirings: list[Turnout] = []
    for _ in range(2):
        wired = bootstrap(turnout.settings, clock=turnout.clock)
        subscribe_effect(wired, "a")
        subscribe_effect(wired, "b")
        wirings.append(wired)
        relays.append(wired.relay(batch_size=50))
    writer_done = threading.Event()

    def write_more() -> None:
        for _ in range(20):
            ids.extend(emit(turnout, 10))
        writer_done.set()

    def drain(relay: Relay) -> None:
        while not writer_done.is_set():
            relay.drain()
        relay.drain()

    threads = [threading.Thread(target=write_more)] + [
        threading.Thread(target=drain, args=(r,)) for r in relays
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    relays[0].drain()
    for wired in wirings:
        wired.close()
    got = effects(turnout)
    assert set(got) == {(i, h) for i in ids for h in ("a", "b")}
    assert max(got.values()) == 1


def test_batch_handler_falls_back_to_one_by_one_when_a_run_fails(turnout: Turnout) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.runs: list[int] = []

        def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
            if envelope.data["n"] == 2:
                raise ValueError("poison")
            record_effect("batch", envelope, uow)

        def handle_many(self, envelopes: list[Envelope], uow: UnitOfWork) -> None:
            self.runs.append(len(envelopes))
            for envelope in envelopes:
                self(envelope, uow)

    recorder = Recorder()
    turnout.handlers.subscribe([PROBE], recorder, name="batch")
    ids = emit(turnout, 5)
    turnout.relay().drain()
    assert recorder.runs == [5]
    got = effects(turnout)
    assert [got[(i, "batch")] for i in ids] == [1, 1, 0, 1, 1]
    (row,) = deliveries(turnout)
    assert (row.message_id, row.status) == (ids[2], "pending")


@pytest.mark.postgres
def test_cursor_never_passes_a_message_committed_late_when_sequence_commits_out_of_order(
    turnout: Turnout, database_url: str
) -> None:
    """PostgreSQL: a transaction that took an earlier seq commits after a later one."""
    if turnout.dialect != "postgresql":
        pytest.skip("SQLite has one writer: seqs commit in order")
    subscribe_effect(turnout, "a")
    slow = turnout.uow()
    slow.__enter__()
    try:
        (early,) = [slow.emit(ProbeHappened(event_id="e1", n=0)).id]  # seq 1, not committed yet
        (late,) = emit(turnout, 1)  # seq 2, committed
        turnout.relay().drain()  # waits for the slow writer (lock timeout), passes nothing
        assert effects(turnout) == Counter()
        slow.commit()
    finally:
        slow.__exit__(None, None, None)
    turnout.relay().drain()
    assert effects(turnout) == Counter({(early, "a"): 1, (late, "a"): 1})
