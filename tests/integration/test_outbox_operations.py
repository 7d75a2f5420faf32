"""Default handlers, operations (stats, dead letters, replay), the CLI and /metrics."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.fakes import FakeClock
from tests.messaging_support import PROBE, emit, subscribe_effect
from turnout.adapters.db import tables as t
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.domain.events import EventStatus
from turnout.messages.base import Envelope
from turnout.ports import UnitOfWork
from turnout.services.events import change_status, create_event
from turnout.services.messaging import (
    EVENT_SCOPE,
    MessageNotFound,
    cache_version,
    dead_letters,
    message_stats,
    replay,
)


def kill_probe_handler(turnout: Turnout) -> None:
    def broken(envelope: Envelope, uow: UnitOfWork) -> None:
        raise ValueError("cannot handle this")

    turnout.handlers.subscribe([PROBE], broken, name="broken")


def make_dead(turnout: Turnout, clock: FakeClock, n: int) -> list[str]:
    ids = emit(turnout, n)
    relay = turnout.relay()
    for _ in range(turnout.settings.handler_max_attempts + 1):
        relay.drain()
        clock.advance(days=1)
    return ids


def test_status_change_is_audited_and_caches_invalidated_when_relayed(
    turnout: Turnout, clock: FakeClock
) -> None:
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="t", name="행사", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="t")
        uow.commit()
    clock.advance(seconds=3)
    turnout.relay().drain()
    with turnout.uow() as uow:
        change_status(uow, event_id=event.id, status=EventStatus.LIVE, actor="t")
        uow.commit()
    turnout.relay().drain()
    with turnout.uow(readonly=True) as uow:
        entries = uow.conn.execute(
            sa.select(t.audit_log.c.data)
            .where(t.audit_log.c.action == "event.status.propagated", t.audit_log.c.event_id == event.id)
            .order_by(t.audit_log.c.id)
        ).scalars()
        propagated = [(d["previous"], d["status"], d["delay_seconds"]) for d in entries]
        assert cache_version(uow, scope=EVENT_SCOPE, key=event.id) == 2
    assert propagated == [("draft", "open", 3.0), ("open", "live", 0.0)]


def test_stats_show_progress_pending_and_dead_when_asked(turnout: Turnout, clock: FakeClock) -> None:
    subscribe_effect(turnout, "good")
    kill_probe_handler(turnout)
    make_dead(turnout, clock, 2)
    emit(turnout, 3)  # not relayed yet
    with turnout.uow(readonly=True) as uow:
        stats = message_stats(uow, consumers=turnout.bus_consumers())
    rows = {r["consumer"]: r for r in stats["consumers"]}
    assert rows["good"]["handled"] == 2
    assert rows["good"]["behind"] == 3
    assert (rows["broken"]["dead"], rows["broken"]["pending"]) == (2, 0)
    assert stats["dead"] == 2
    assert stats["lag"] == 3


def test_replay_gives_dead_deliveries_fresh_attempts_when_asked(turnout: Turnout, clock: FakeClock) -> None:
    kill_probe_handler(turnout)
    ids = make_dead(turnout, clock, 3)
    with turnout.uow(readonly=True) as uow:
        dead = dead_letters(uow, message_type=PROBE)
        assert {d["message_id"] for d in dead} == set(ids)
        assert dead[0]["error"] == "ValueError: cannot handle this"
        assert dead_letters(uow, message_type="other.type") == []
    with turnout.uow() as uow:
        assert replay(uow, message_id=ids[0]) == 1
        uow.commit()
    healed: list[str] = []
    turnout.handlers._by_type[PROBE] = [
        s if s.name != "broken" else type(s)("broken", lambda e, uow: healed.append(e.id))
        for s in turnout.handlers.handlers_for(PROBE)
    ]
    turnout.relay().drain()
    assert healed == [ids[0]]
    with turnout.uow(readonly=True) as uow:
        assert {d["message_id"] for d in dead_letters(uow)} == set(ids[1:])


def test_replay_refuses_when_message_is_unknown(turnout: Turnout) -> None:
    with turnout.uow() as uow, pytest.raises(MessageNotFound):
        replay(uow, message_id="no-such-message")


def test_cli_prints_stats_dead_and_replays_when_run(
    turnout: Turnout, clock: FakeClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turnout.entrypoints.cli import app

    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    with turnout.uow() as uow:
        create_event(
            uow, actor="t", name="x", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    runner = CliRunner()
    result = runner.invoke(app, ["messages", "stats", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outbox_messages"] == 1
    result = runner.invoke(app, ["messages", "dead", "--json", "--since", "24h"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"items": []}
    result = runner.invoke(app, ["messages", "replay", "--json", "--type", PROBE])
    assert (result.exit_code, json.loads(result.stdout)) == (0, {"replayed": 0})
    result = runner.invoke(app, ["messages", "replay", "--json", "--id", "nope"])
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "message_not_found"
    assert runner.invoke(app, ["messages", "dead", "--since", "yesterday"]).exit_code == 2


def test_metrics_show_outbox_lag_and_delivery_counters_when_scraped(
    turnout: Turnout, app_client: TestClient
) -> None:
    subscribe_effect(turnout, "metrics-probe")
    emit(turnout, 4)
    body = app_client.get("/metrics").text
    assert "turnout_outbox_lag_messages 4.0" in body
    turnout.relay().drain()
    import time

    time.sleep(1.1)  # the lag reading is cached for a second
    body = app_client.get("/metrics").text
    assert "turnout_outbox_lag_messages 0.0" in body
    assert 'turnout_messages_delivered_total{handler="metrics-probe"}' in body
    assert 'turnout_bus_handled_total{consumer="metrics-probe"} 4.0' in body
