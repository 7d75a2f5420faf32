"""A live statistics stream (server-sent events) ends soon after its key is revoked."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from tests.attendance_support import live_event
from tests.e2e.test_auth_table import make_key
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.entrypoints.api.routes import attendance


def test_live_stream_ends_within_ten_seconds_when_its_key_is_revoked_by_default() -> None:
    # the stream checks the key every LIVE_KEY_CHECK_SECONDS; the authenticator may answer from its
    # cache for 5 s more
    assert attendance.LIVE_KEY_CHECK_SECONDS + 5.0 <= 10.0


def test_live_stream_ends_when_its_key_is_revoked(
    app_client: TestClient, turnout: Turnout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attendance, "LIVE_KEY_CHECK_SECONDS", 0.3, raising=False)
    monkeypatch.setattr(turnout.authenticator, "_ttl", 0.3)
    event_id = live_event(turnout)
    key = make_key(turnout, Role.STAFF, event_id)
    answers: list[str] = []

    def listen() -> None:
        response = app_client.get(
            f"/api/v1/events/{event_id}/stats/live", headers={"Authorization": f"Bearer {key}"}
        )
        answers.append(response.text)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1.0)
    assert listener.is_alive()  # the event is live: the stream stays open while the key is good
    key_id = key.split("_")[1]
    with turnout.uow() as uow:
        assert uow.api_keys.revoke(key_id, now=uow.clock.now())
        uow.commit()
    listener.join(timeout=5)
    assert not listener.is_alive(), "the stream went on after its key was revoked"
    assert "event: stats" in answers[0]
