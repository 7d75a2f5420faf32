"""Message bus throughput.

1. outbox -> local handlers on SQLite: MESSAGES ``attendance.recorded`` facts are committed to the
   outbox, then ``turnout.relay().drain()`` hands each to the handlers subscribed to that type: the default
   ones (live statistics signal, ...) plus two that write to the database (an audit row per message,
   and a per-gate counter upsert-like update), each in its savepoint, with the cursor commit.
2. outbox -> Kafka: the same messages published by the relay to librdkafka's mock cluster (three
   brokers, idempotent producer, acks=all), cursor commits included.

Targets (issue 3): >= 10,000 messages/s for each.

    .venv/bin/python bench/bench_outbox.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()

    import sqlalchemy as sa
    from tests.kafka_support import start_mock_cluster

    from turnout.adapters.db import tables as t
    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.config import Settings
    from turnout.messages.base import Envelope
    from turnout.messages.facts import AttendanceRecorded

    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(url)
    cluster = start_mock_cluster()
    settings = Settings(
        database_url=url,
        var_dir=workdir / "var",
        secret_key="bench",
        broker_url="",
        _env_file=None,  # type: ignore[call-arg]
    )
    turnout = bootstrap(settings)

    # Handlers as one would write hot ones: statements built once, parameters per message.
    insert_audit = t.audit_log.insert()
    touch_event = (
        sa.update(t.events)
        .where(t.events.c.id == sa.bindparam("event"))
        .values(updated_at=sa.bindparam("at", type_=t.events.c.updated_at.type))
    )

    def audit(envelope: Envelope, uow: object) -> None:
        uow.conn.execute(  # type: ignore[attr-defined]
            insert_audit,
            {
                "at": envelope.occurred_at,
                "actor": "bench",
                "action": "seen",
                "event_id": envelope.key,
                "subject_type": "message",
                "subject_id": envelope.id,
                "data": {},
            },
        )

    def count_by_gate(envelope: Envelope, uow: object) -> None:
        uow.conn.execute(touch_event, {"event": envelope.key, "at": envelope.occurred_at})  # type: ignore[attr-defined]

    class Batched:
        """The same handler, also able to take a run of messages at once (``handle_many``)."""

        def __init__(self, one: Any, params: Any, statement: Any) -> None:
            self.one, self.params, self.statement = one, params, statement

        def __call__(self, envelope: Envelope, uow: Any) -> None:
            self.one(envelope, uow)

        def handle_many(self, envelopes: list[Envelope], uow: Any) -> None:
            uow.conn.execute(self.statement, [self.params(e) for e in envelopes])

    def audit_params(envelope: Envelope) -> dict[str, Any]:
        return {
            "at": envelope.occurred_at,
            "actor": "bench",
            "action": "seen",
            "event_id": envelope.key,
            "subject_type": "message",
            "subject_id": envelope.id,
            "data": {},
        }

    def touch_params(envelope: Envelope) -> dict[str, Any]:
        return {"event": envelope.key, "at": envelope.occurred_at}

    def run_local(batched: bool, noop: bool = False) -> tuple[float, int, list[str]]:
        turnout = bootstrap(settings)
        if noop:
            turnout.handlers.subscribe([AttendanceRecorded.TYPE], lambda e, uow: None, name="bench.noop1")
            turnout.handlers.subscribe([AttendanceRecorded.TYPE], lambda e, uow: None, name="bench.noop2")
        elif batched:
            turnout.handlers.subscribe(
                [AttendanceRecorded.TYPE], Batched(audit, audit_params, insert_audit), name="bench.audit"
            )
            turnout.handlers.subscribe(
                [AttendanceRecorded.TYPE],
                Batched(count_by_gate, touch_params, touch_event),
                name="bench.count_by_gate",
            )
        else:
            turnout.handlers.subscribe([AttendanceRecorded.TYPE], audit, name="bench.audit")
            turnout.handlers.subscribe([AttendanceRecorded.TYPE], count_by_gate, name="bench.count_by_gate")
        handlers = [s.name for s in turnout.handlers.handlers_for(AttendanceRecorded.TYPE)]
        with turnout.engine.begin() as conn:  # start from the beginning of the outbox again
            conn.execute(sa.text("DELETE FROM relay_cursors"))
        relay = turnout.relay(batch_size=2000)
        started = time.perf_counter()
        deliveries = relay.drain(publish=False)
        elapsed = time.perf_counter() - started
        turnout.close()
        assert deliveries == args.messages * len(handlers), (deliveries, handlers)
        return elapsed, deliveries, handlers

    with turnout.uow() as uow:
        for start in range(0, args.messages, 5000):
            uow.emit_envelopes(
                [
                    Envelope.wrap(
                        AttendanceRecorded(
                            event_id=f"event-{i % 10}",
                            attendance_id=f"a{i}",
                            participant_id=f"p{i}",
                            gate_id=f"g{i % 4}",
                            method="qr",
                            direction="in",
                            result="admitted",
                            occurred_at="2026-06-01T09:00:00+09:00",
                        ),
                        uow.clock.now(),
                    )
                    for i in range(start, min(args.messages, start + 5000))
                ]
            )
        uow.commit()

    local, deliveries, handlers = run_local(batched=False)
    local_many, _, _ = run_local(batched=True)
    local_noop, _, _ = run_local(batched=False, noop=True)

    streaming = bootstrap(settings.model_copy(update={"broker_url": cluster.url}))
    publisher_relay = streaming.relay(deliver_locally=False)
    started = time.perf_counter()
    while publisher_relay.publish_once():
        pass
    published = time.perf_counter() - started
    with streaming.engine.connect() as conn:
        position = conn.execute(
            sa.text("SELECT position FROM relay_cursors WHERE consumer = 'kafka'")
        ).scalar()
    assert position == args.messages, position
    publisher_relay.close()

    print(f"messages: {args.messages}; local handlers per message: {len(handlers)} ({', '.join(handlers)})")
    print(
        f"outbox -> local handlers (SQLite): {args.messages / local:,.0f} messages/s "
        f"({deliveries / local:,.0f} handler deliveries/s)  target >= 10,000 messages/s"
    )
    print(
        f"outbox -> local handlers (SQLite), handlers with handle_many (executemany): "
        f"{args.messages / local_many:,.0f} messages/s"
    )
    print(
        f"relay alone (two handlers that do nothing, plus the defaults): "
        f"{args.messages / local_noop:,.0f} messages/s"
    )
    print(
        f"outbox -> Kafka (mock cluster):    {args.messages / published:,.0f} messages/s  target >= 10,000/s"
    )
    turnout.close()
    streaming.close()
    cluster.close()


if __name__ == "__main__":
    main()
