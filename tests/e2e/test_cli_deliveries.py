"""``turnout deliveries list|retry`` over a real local receiver: filters, paging, ``--json`` equal to
the API's objects, exit 0 / 1 (refusal, reason on stderr) / 2 (bad usage). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result
from werkzeug import Response

from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeSealer
from tests.integration.test_delivery_sender import SECRET, Receiver, run, sender
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.entrypoints import cli_deliveries
from turnout.entrypoints.cli import app
from turnout.ports import OutboundMessage

GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP


@pytest.fixture(autouse=True)
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
        "LANG": "C.UTF-8",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("LC_ALL", "LC_MESSAGES", "TURNOUT_LANG"):
        monkeypatch.delenv(name, raising=False)


def enqueue(
    turnout: Turnout, clock: FakeClock, event_id: str, url: str, systems: list[IntegrationSystem]
) -> list[str]:
    with turnout.uow() as uow:
        for system in set(systems):
            uow.integrations.put(
                Integration(
                    event_id, system, url, FakeSealer().seal(SECRET), True, None, clock.now(), clock.now()
                )
            )
        ids = uow.outbound.enqueue(
            [
                OutboundMessage(event_id, s.value, "event.status.changed", {"status": "live", "token": "T-1"})
                for s in systems
            ],
            now=clock.now(),
        )
        uow.commit()
    return ids


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["deliveries", *args])


@pytest.fixture
def sent(
    turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> tuple[str, str, str]:
    """Two deliveries sent once: the gate system's delivered (200), the attendee app's pending after
    a 503 ``busy``."""
    receiver = Receiver(httpserver)
    receiver.answer = lambda _r: Response("busy", 503) if len(receiver.requests) > 1 else Response("ok", 200)
    event_id = str(event["id"])
    gate_id, app_id = enqueue(turnout, clock, event_id, receiver.url, [GATE, APP])
    run(sender(turnout, concurrency=1))
    return event_id, gate_id, app_id


def test_list_as_json_is_what_the_api_answers(client: TestClient, sent: tuple[str, str, str]) -> None:
    event_id, gate_id, app_id = sent
    listed = CliRunner().invoke(app, ["deliveries", "list", event_id, "--json"])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.stdout)
    assert body == client.get(f"/api/v1/events/{event_id}/deliveries").json()
    assert [d["id"] for d in body["items"]] == [app_id, gate_id]
    assert body["counts"] == {"gate-management": {"delivered": 1}, "attendee-app": {"pending": 1}}
    assert body["next_cursor"] is None
    app_item, gate_item = body["items"]
    assert (gate_item["status"], gate_item["attempt_log"][0]["status_code"]) == ("delivered", 200)
    assert isinstance(gate_item["attempt_log"][0]["latency_ms"], int)
    assert (app_item["status"], app_item["last_status_code"], app_item["last_error"]) == (
        "pending",
        503,
        "HTTP 503: busy",
    )
    assert "T-1" not in listed.stdout  # the list never carries payloads


def test_list_filters_and_pages(sent: tuple[str, str, str]) -> None:
    event_id, gate_id, app_id = sent
    runner = CliRunner()

    def ids(*options: str) -> list[str]:
        result = runner.invoke(app, ["deliveries", "list", event_id, "--json", *options])
        assert result.exit_code == 0, result.output
        return [d["id"] for d in json.loads(result.stdout)["items"]]

    assert ids("--system", "attendee-app") == [app_id]
    assert ids("--status", "delivered") == [gate_id]
    assert ids("--system", "gate-management", "--status", "pending") == []
    assert ids("--status", "dead") == []
    first = runner.invoke(app, ["deliveries", "list", event_id, "--json", "--limit", "1"])
    page = json.loads(first.stdout)
    assert [d["id"] for d in page["items"]] == [app_id]
    assert isinstance(page["next_cursor"], int)
    assert ids("--limit", "1", "--before", str(page["next_cursor"])) == [gate_id]


def test_list_as_a_table(sent: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # the console is made at import: its width is whatever the terminal (or none) was then
    monkeypatch.setattr(cli_deliveries.out, "width", 250)
    event_id, _gate_id, _app_id = sent
    table = CliRunner().invoke(app, ["deliveries", "list", event_id], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert any("attendee-app" in line and "pending" in line and "HTTP 503: busy" in line for line in lines)
    assert any("gate-management" in line and "delivered" in line and "200" in line for line in lines)
    assert "T-1" not in table.stdout
    paged = CliRunner().invoke(app, ["deliveries", "list", event_id, "--limit", "1"], env={"COLUMNS": "250"})
    assert "--before " in paged.stdout
    empty = CliRunner().invoke(app, ["deliveries", "list", event_id, "--status", "dead"])
    assert (empty.exit_code, empty.stdout.strip()) == (0, "No deliveries match.")
    korean = CliRunner().invoke(
        app, ["deliveries", "list", event_id, "--status", "dead"], env={"LANG": "ko_KR.UTF-8"}
    )
    assert korean.stdout.strip() == "조건에 맞는 전송이 없습니다."


def test_retry_sends_a_finished_delivery_again_with_the_same_id(
    turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    (delivery_id,) = enqueue(turnout, clock, str(event["id"]), receiver.url, [GATE])
    busy = invoke("retry", delivery_id, "--json")
    assert busy.exit_code == 1
    error = json.loads(busy.stderr)["error"]
    assert (error["code"], delivery_id in error["message"]) == ("delivery_not_finished", True)

    run(sender(turnout))
    again = invoke("retry", delivery_id, "--json")
    assert again.exit_code == 0, again.output
    body = json.loads(again.stdout)
    assert (body["id"], body["status"], body["attempts"]) == (delivery_id, "pending", 1)
    assert body["payload"] is None  # the API's answer has it; a terminal never shows a token
    assert "T-1" not in again.stdout
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # the command ran on the real clock: due now
    run(sender(turnout))
    assert [h["webhook-id"] for h, _ in receiver.requests] == [delivery_id, delivery_id]
    with turnout.uow(readonly=True) as uow:
        found = uow.outbound.get(delivery_id)
        audit = uow.audit.for_subject("delivery", delivery_id)
    assert found is not None
    assert (found.status, found.attempts) == ("delivered", 2)
    assert ("delivery.retry", "cli") in [(a["action"], a["actor"]) for a in audit]

    plain = invoke("retry", delivery_id)
    assert plain.exit_code == 0
    assert "will be sent again" in plain.stdout
    assert delivery_id in plain.stdout


def test_refusals_exit_1_with_the_reason_on_stderr(event: dict[str, object]) -> None:
    event_id = str(event["id"])
    missing = invoke("retry", "no-such-delivery", "--json")
    assert missing.exit_code == 1
    assert json.loads(missing.stderr)["error"]["code"] == "delivery_not_found"
    assert missing.stdout == ""

    korean = CliRunner().invoke(app, ["deliveries", "retry", "no-such-delivery"], env={"LANG": "ko_KR.UTF-8"})
    assert korean.exit_code == 1
    assert "delivery_not_found" in korean.stderr
    assert "찾을 수 없습니다" in korean.stderr

    no_event = invoke("list", "no-such-event")
    assert no_event.exit_code == 1
    assert "event_not_found" in no_event.stderr

    unknown_system = invoke("list", event_id, "--system", "crm", "--json")
    assert unknown_system.exit_code == 1
    code = json.loads(unknown_system.stderr)["error"]["code"]
    assert code == "integration_system_not_found"


def test_bad_usage_exits_2(event: dict[str, object]) -> None:
    event_id = str(event["id"])
    for args in (
        ["list"],
        ["retry"],
        ["list", event_id, "--status", "failed"],
        ["list", event_id, "--limit", "0"],
        ["list", event_id, "--limit", "501"],
        ["list", event_id, "--before", "0"],
        ["list", event_id, "--before", "x"],
        ["frobnicate"],
    ):
        assert invoke(*args).exit_code == 2, args
