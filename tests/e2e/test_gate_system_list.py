"""Done-when of issue 14: a participant cancelled in Turnout is gone from the gate system's list
within seconds. The whole path runs for real: the API, the background workers (relay, feeds,
deliveries) in threads on the system clock, and a gate system (pytest-httpserver) that keeps its
list from the sync pages and the changes, verifying every signature. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from tests.conftest import EVENT_BODY
from tests.consent_support import consenting
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app
from turnout.entrypoints.workers import run_forever
from turnout.services.keys import create_key

SECRET = "whsec_" + base64.b64encode(b"gate-system-test-secret-32-bytes").decode()


class GateSystem:
    """Keeps the participant list as a gate system would: sync pages and changes, newest wins."""

    def __init__(self, server: HTTPServer) -> None:
        self.listed: dict[str, dict[str, object]] = {}
        self.lock = threading.Lock()
        server.expect_request("/gates").respond_with_handler(self.receive)
        self.url = server.url_for("/gates")

    def receive(self, request: Request) -> Response:
        message = Webhook(SECRET).verify(request.get_data(), dict(request.headers))
        data = message["data"]
        entries = []
        if message["type"] == "gate-management.sync":
            entries = [{**e, "sync": data["sync_id"]} for e in data["participants"]]
        if message["type"] == "participant.changed":
            entries = [data["participant"]]
        with self.lock:
            for entry in entries:
                held = self.listed.get(entry["id"])
                if held is None or str(held["updated_at"]) <= str(entry["updated_at"]):
                    self.listed[entry["id"]] = entry
        return Response(status=204)

    def admitted(self) -> set[str]:
        with self.lock:
            return {pid for pid, e in self.listed.items() if e["status"] == "registered"}


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Turnout]:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key",
        allow_private_webhooks=True,
        relay_poll_interval=0.05,
        _env_file=None,
    )
    turnout = bootstrap(settings)  # the system clock: the workers run for real
    stop = threading.Event()
    workers = threading.Thread(target=run_forever, args=(turnout, stop), daemon=True)
    workers.start()
    yield turnout
    stop.set()
    workers.join(timeout=15)
    turnout.close()


def wait_until(check: object, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def test_a_cancelled_participant_is_gone_from_the_gate_systems_list_within_seconds(
    live: Turnout, httpserver: HTTPServer
) -> None:
    gates = GateSystem(httpserver)
    with live.uow() as uow:
        key = create_key(uow, actor="test", name="admin", role=Role.ADMIN).key
        uow.commit()
    with TestClient(create_app(live), headers={"Authorization": f"Bearer {key}"}) as client:
        event_id = client.post("/api/v1/events", json=EVENT_BODY).json()["id"]
        put = client.put(
            f"/api/v1/events/{event_id}/integrations/gate-management",
            json={"url": gates.url, "secret": SECRET, "enabled": True},
        )
        assert put.status_code == 200, put.text
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"}).status_code == 200
        people = [
            client.post(
                f"/api/v1/events/{event_id}/participants",
                json=consenting(
                    {"name": f"참가자 {n}", "email": f"p{n}@example.kr", "phone": f"010-1234-56{n:02d}"}
                ),
            ).json()["id"]
            for n in range(3)
        ]
        wait_until(lambda: gates.admitted() == set(people), 20)
        cancelled = client.post(f"/api/v1/participants/{people[1]}/cancel", json={})
        assert cancelled.status_code == 200, cancelled.text
        # generous bounds: the suite runs in two processes on two cores, and the other may be busy
        took = wait_until(lambda: gates.admitted() == {people[0], people[2]}, 15)
        synced = client.post(f"/api/v1/events/{event_id}/sync/gate-management")  # a full list again
        assert synced.status_code == 202, synced.text
        wait_until(lambda: len(gates.listed) == 3 and all(e.get("sync") for e in gates.listed.values()), 15)
        assert gates.admitted() == {people[0], people[2]}
    assert took < 15
    assert json.dumps(gates.listed[people[1]]["status"]) == '"cancelled"'
