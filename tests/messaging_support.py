"""Helpers for the message bus tests: a probe fact nobody else subscribes to, and a handler whose
effect is one row per (message id, handler) so that "exactly once" can be counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.bootstrap import Turnout
from turnout.messages.base import Envelope, Fact
from turnout.ports import UnitOfWork

PROBE = "probe.happened"


@dataclass(frozen=True)
class ProbeHappened(Fact):
    TYPE = "probe.happened"

    n: int = 0


def record_effect(name: str, envelope: Envelope, uow: UnitOfWork) -> None:
    """The effect: an entry (message id, handler) in the audit log, written in the handler's
    transaction."""
    uow.audit.record(actor="test", action=f"effect:{name}", subject_type="message", subject_id=envelope.id)


class BatchEffect:
    """The same effect from a batch-capable handler (``handle_many``: a run of messages at once)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, envelope: Envelope, uow: UnitOfWork) -> None:
        record_effect(self.name, envelope, uow)

    def handle_many(self, envelopes: list[Envelope], uow: UnitOfWork) -> None:
        for envelope in envelopes:
            record_effect(self.name, envelope, uow)


def effects(turnout: Turnout) -> Counter[tuple[str, str]]:
    """(message id, handler) -> how many times its effect was made."""
    with turnout.engine.connect().execution_options(turnout_readonly=True) as conn:
        rows = conn.execute(
            sa.select(t.audit_log.c.subject_id, t.audit_log.c.action).where(
                t.audit_log.c.action.like("effect:%")
            )
        ).all()
    return Counter((r.subject_id, r.action.removeprefix("effect:")) for r in rows)


def subscribe_effect(turnout: Turnout, name: str, types: tuple[str, ...] = (PROBE,)) -> None:
    def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        record_effect(name, envelope, uow)

    turnout.handlers.subscribe(types, handle, name=name)


def subscribe_probe_effects(turnout: Turnout) -> None:
    """For ``TURNOUT_EXTRA_HANDLERS=tests.messaging_support:subscribe_probe_effects``."""
    subscribe_effect(turnout, "probe-a")  # one call per message
    turnout.handlers.subscribe([PROBE], BatchEffect("probe-b"), name="probe-b")  # runs of messages


def emit(turnout: Turnout, n: int, event_id: str = "e1") -> list[str]:
    """Commit ``n`` probe messages; returns their ids."""
    with turnout.uow() as uow:
        ids = [uow.emit(ProbeHappened(event_id=event_id, n=i)).id for i in range(n)]
        uow.commit()
    return ids


def subscribe_slow_probe_effects(turnout: Turnout) -> None:
    """As ``subscribe_probe_effects``, with ``probe-a`` taking about 1 ms per message, so that
    10,000 messages take about ten seconds to drain and a crash test can kill the worker half-way
    even on a loaded machine."""
    import time

    def slow(envelope: Envelope, uow: UnitOfWork) -> None:
        time.sleep(0.001)
        record_effect("probe-a", envelope, uow)

    turnout.handlers.subscribe([PROBE], slow, name="probe-a")
    turnout.handlers.subscribe([PROBE], BatchEffect("probe-b"), name="probe-b")
