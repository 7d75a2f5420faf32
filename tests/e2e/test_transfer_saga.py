"""Ticket transfer as a saga, end to end through the API, the delivery sender and the saga worker,
against real receivers (pytest-httpserver) for the gate system, the attendee app and the alerts, on
SQLite and PostgreSQL: completion, a refusal undone in reverse, a deadline passed, a compensation
that fails and raises an alert, scans while the transfer runs."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from tests.consent_support import consenting
from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeAddressGuard
from tests.smtp_support import SmtpServer, smtp_server_fixture  # noqa: F401  (fixture)
from turnout.adapters.mail import SmtpMailer
from turnout.bootstrap import Turnout, delivery_sender, mail_sender
from turnout.config import Settings
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.entrypoints.cli import app
from turnout.services.alerts import email_due_alerts
from turnout.services.sagas import advance_due_sagas

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP
ALERTS = IntegrationSystem.ALERTS
ANALYTICS = IntegrationSystem.ANALYTICS_PLATFORM
TRANSFERS = 200
NEW_HOLDER = consenting({"name": "이바다", "email": "sea@example.com", "phone": "010-2222-3333"})


class Receivers:
    """One endpoint per system; ``answers[system]`` decides each answer from the message's type."""

    def __init__(
        self, server: HTTPServer, systems: tuple[IntegrationSystem, ...] = (GATE, APP, ALERTS)
    ) -> None:
        self.got: list[tuple[str, str, dict[str, Any]]] = []  # (system, type, data)
        self.answers: dict[str, Callable[[str], int]] = {}
        self.last: dict[str, Any] = {}  # the data of the request being answered
        for system in systems:
            server.expect_request(f"/{system.value}").respond_with_handler(self._handler(system.value))
        self.server = server

    def _handler(self, system: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            body = json.loads(request.get_data())
            self.got.append((system, body["type"], body["data"]))
            self.last = body["data"]
            answer = self.answers.get(system)
            code = answer(body["type"]) if answer is not None else 200
            return Response("{}", code)

        return handle

    def types(self, system: IntegrationSystem) -> list[str]:
        """The transfer messages ``system`` got (the feeds' and syncs' aside)."""
        return [t for s, t, _ in self.got if s == system.value and t.startswith("ticket.")]


@pytest.fixture
def receivers(httpserver: HTTPServer) -> Receivers:
    return Receivers(httpserver)


def connect(turnout: Turnout, event_id: str, server: HTTPServer, *systems: IntegrationSystem) -> None:
    """Enable ``systems`` for the event, each at ``/<system>`` on ``server``."""
    with turnout.uow() as uow:
        now = uow.clock.now()
        for system in systems:
            url = server.url_for(f"/{system.value}")
            uow.integrations.put(
                Integration(event_id, system, url, turnout.sealer.seal(SECRET), True, None, now, now)
            )
        uow.commit()


def go_live(client: TestClient, event_id: str) -> None:
    for status in ("open", "live"):
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": status}).status_code == 200


def register(client: TestClient, event_id: str) -> dict[str, Any]:
    client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})  # 409 when it is already
    response = client.post(
        f"/api/v1/events/{event_id}/participants",
        json=consenting({"name": "김하늘", "email": "sky@example.com"}),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = client.get(f"/api/v1/participants/{response.json()['id']}").json()
    return body


def scan(client: TestClient, event_id: str, gate_id: str, token: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/events/{event_id}/attendance", json={"token": token, "gate_id": gate_id})
    body: dict[str, Any] = response.json()
    return body


def work(turnout: Turnout, clock: FakeClock, *, rounds: int = 12, step_seconds: float = 0.0) -> None:
    """The worker's delivery sender and saga loop, a few rounds (the clock moved on between them)."""
    policy = turnout.saga_policy()

    async def send() -> None:
        sender = delivery_sender(turnout, guard=FakeAddressGuard())
        try:
            await sender.send_batch()
        finally:
            await sender.close()

    relay = turnout.relay()
    for _ in range(rounds):
        relay.run_once()  # the feeds and the ticket emails
        asyncio.run(send())
        advance_due_sagas(turnout.uow, turnout.sagas, policy=policy, worker="test")
        if step_seconds:
            clock.advance(seconds=step_seconds)


def send_mail(turnout: Turnout, smtp_server: SmtpServer) -> dict[str, list[EmailMessage]]:
    """The email sender once, through a real SMTP server: what each address got."""
    sender = mail_sender(turnout, mailer=SmtpMailer(smtp_server.url))

    async def go() -> None:
        try:
            await sender.send_batch()
        finally:
            await sender.mailer.close()

    asyncio.run(go())
    got: dict[str, list[EmailMessage]] = {}
    for message in smtp_server.messages:
        got.setdefault(str(message["To"].addresses[0].addr_spec), []).append(message)
    return got


def has_qr(message: EmailMessage) -> bool:
    return any(part.get_content_type() == "image/png" for part in message.walk())


def saga_of(client: TestClient, saga_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/sagas/{saga_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def start_transfer(client: TestClient, participant_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/participants/{participant_id}/transfer", json=NEW_HOLDER)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_transfer_completes_once_the_gate_system_accepts_and_scans_meanwhile_get_a_clear_code(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    gate: dict[str, Any],
    receivers: Receivers,
    smtp_server: SmtpServer,
) -> None:
    event_id = event["id"]
    connect(turnout, event_id, receivers.server, GATE, APP)
    go_live(client, event_id)
    old = register(client, event_id)
    saga = start_transfer(client, old["id"])
    assert saga["kind"] == "transfer"
    assert [s["state"] for s in saga["steps"]] == ["done", "waiting", "pending", "pending"]
    new_id = saga["data"]["new_participant_id"]
    new = client.get(f"/api/v1/participants/{new_id}").json()
    assert (new["status"], new["name"]) == ("pending_transfer", "이바다")
    # while it runs: neither ticket admits; both say why
    assert scan(client, event_id, gate["id"], old["token"])["code"] == "transfer_in_progress"
    assert scan(client, event_id, gate["id"], new["token"])["code"] == "transfer_in_progress"
    again = client.post(
        f"/api/v1/participants/{old['id']}/transfer", json=NEW_HOLDER | {"email": "x@example.com"}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "transfer_in_progress")

    work(turnout, clock)

    done = saga_of(client, saga["id"])
    assert done["state"] == "completed", done
    assert [s["state"] for s in done["steps"]] == ["done", "done", "done", "done"]
    ((_, _, told),) = [g for g in receivers.got if g[0] == GATE.value and g[1] == "ticket.transferred"]
    assert told["drop"] == {"participant_id": old["id"], "token": old["token"]}
    assert told["accept"]["participant_id"] == new_id
    assert told["accept"]["token"] == new["token"]
    # the saga told each system itself: the feeds add nothing about the new holder
    # the saga told each system itself: the feeds add no message about the new holder; a sync page
    # made while the transfer ran (the event went live) shows the gate what it was told: the new
    # ticket valid, the old one dropped
    about_new = [
        (system, kind)
        for system, kind, data in receivers.got
        if kind not in ("ticket.transferred", "gate-management.sync") and new_id in json.dumps(data)
    ]
    assert about_new == []
    pages = [data for system, kind, data in receivers.got if kind == "gate-management.sync"]
    assert pages  # (when the event opened, and when it went live)
    for page in pages:
        statuses = {p["id"]: p["status"] for p in page["participants"]}
        assert statuses == {old["id"]: "transferred", new_id: "registered"}
    assert receivers.types(APP).count("ticket.transferred") == 1
    with turnout.uow(readonly=True) as uow:
        emailed = [job.participant_id for job in uow.mail.list_for_event(event_id, limit=10)]
    assert emailed.count(new_id) == 1  # the new holder's ticket
    assert client.get(f"/api/v1/participants/{old['id']}").json()["status"] == "transferred"
    assert client.get(f"/api/v1/participants/{new_id}").json()["status"] == "registered"
    assert scan(client, event_id, gate["id"], old["token"])["code"] == "ticket_transferred"
    assert scan(client, event_id, gate["id"], new["token"])["result"] == "admitted"
    # both people are emailed: the new holder their ticket, the old holder a notice (no ticket in it)
    mails = send_mail(turnout, smtp_server)
    (notice,) = [m for m in mails["sky@example.com"] if not has_qr(m)]
    assert notice["Subject"].endswith("입장권이 양도되었습니다")
    assert "양도되었습니다" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (ticket,) = mails["sea@example.com"]
    assert has_qr(ticket)
    metrics = client.get("/metrics").text
    assert 'turnout_sagas_finished_total{kind="transfer",outcome="completed"} 1.0' in metrics
    assert "turnout_alerts_open 0.0" in metrics
    listed = client.get(f"/api/v1/events/{event_id}/sagas").json()["items"]
    assert [s["id"] for s in listed] == [saga["id"]]
    assert "new_holder" not in listed[0]["data"]  # no personal data in the saga's view


def test_a_refusal_by_the_gate_system_undoes_the_transfer_in_reverse_and_the_old_ticket_stays_valid(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    gate: dict[str, Any],
    receivers: Receivers,
) -> None:
    event_id = event["id"]
    connect(turnout, event_id, receivers.server, GATE, APP)
    receivers.answers[GATE.value] = lambda kind: 422 if kind == "ticket.transferred" else 200
    go_live(client, event_id)
    old = register(client, event_id)
    saga = start_transfer(client, old["id"])
    new_id = saga["data"]["new_participant_id"]

    work(turnout, clock)

    undone = saga_of(client, saga["id"])
    assert undone["state"] == "compensated", undone
    # the gate step is undone too: the gate system is told to keep the old token
    assert [s["state"] for s in undone["steps"]] == ["undone", "undone", "pending", "pending"]
    assert undone["steps"][1]["error"] == "refused (422)"
    assert receivers.types(GATE) == ["ticket.transferred", "ticket.transfer.reverted"]
    assert receivers.types(APP) == []  # never reached
    assert client.get(f"/api/v1/participants/{new_id}").status_code == 404  # the new holder is removed
    assert client.get(f"/api/v1/participants/{old['id']}").json()["status"] == "registered"
    assert scan(client, event_id, gate["id"], old["token"])["result"] == "admitted"
    used = client.post(f"/api/v1/participants/{old['id']}/transfer", json=NEW_HOLDER)
    assert (used.status_code, used.json()["error"]["code"]) == (409, "ticket_used")  # admitted since


def test_a_gate_system_unreachable_past_the_deadline_undoes_the_transfer(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    receivers: Receivers,
) -> None:
    event_id = event["id"]
    connect(turnout, event_id, receivers.server, GATE)
    receivers.answers[GATE.value] = lambda kind: 503 if kind == "ticket.transferred" else 200
    old = register(client, event_id)
    saga = start_transfer(client, old["id"])

    work(turnout, clock, rounds=30, step_seconds=60)  # 30 minutes; the deadline is 10

    undone = saga_of(client, saga["id"])
    assert undone["state"] == "compensated", undone
    assert undone["steps"][1]["state"] == "undone"
    assert undone["steps"][1]["error"].startswith("retries ended")  # its window was the deadline
    assert receivers.types(GATE)[-1] == "ticket.transfer.reverted"
    assert client.get(f"/api/v1/participants/{old['id']}").json()["status"] == "registered"


def test_a_compensation_that_keeps_failing_raises_an_alert_stored_delivered_emailed_and_listed(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    receivers: Receivers,
    smtp_server: SmtpServer,
) -> None:
    event_id = event["id"]
    connect(turnout, event_id, receivers.server, GATE, ALERTS)
    receivers.answers[GATE.value] = lambda kind: 422 if kind == "ticket.transferred" else 500
    old = register(client, event_id)
    saga = start_transfer(client, old["id"])

    work(turnout, clock, rounds=60, step_seconds=120)  # each undo's delivery gives up after 10 min

    failed = saga_of(client, saga["id"])
    assert failed["state"] == "failed", failed
    assert [s["state"] for s in failed["steps"][:2]] == ["undone", "undo_failed"]
    assert failed["steps"][1]["attempts"] == turnout.settings.saga_undo_attempts
    alerts = client.get("/api/v1/alerts", params={"state": "open", "event_id": event_id}).json()["items"]
    (alert,) = alerts
    assert (alert["code"], alert["saga_id"], alert["details"]["step"]) == (
        "compensation_failed",
        saga["id"],
        "gate_system",
    )
    ((_, _, delivered),) = [g for g in receivers.got if g[:2] == (ALERTS.value, "alert.raised")]
    assert delivered["alert_id"] == alert["id"]
    page = client.get(f"/events/{event_id}/dashboard", headers={"Accept-Language": "ko"})
    assert page.status_code == 200
    assert "확인이 필요한 알림 (1)" in page.text
    assert saga["id"] in page.text
    # emailed to TURNOUT_ALERT_EMAIL through a real SMTP server: refused once, then sent
    smtp_server.handler.refuse_all = "451 try later"
    mailer = SmtpMailer(smtp_server.url)

    async def email_once() -> int:
        try:
            return await email_due_alerts(
                turnout.uow, mailer, to="ops@example.com", mail_from="Turnout <t@example.com>"
            )
        finally:
            await mailer.close()

    assert asyncio.run(email_once()) == 1
    assert asyncio.run(email_once()) == 0  # not before its backoff
    smtp_server.handler.refuse_all = None
    clock.advance(seconds=31)
    assert asyncio.run(email_once()) == 1
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "[Turnout] 확인이 필요한 알림 / Alert: compensation_failed"
    assert saga["id"] in mail.get_content()
    assert asyncio.run(email_once()) == 0  # sent once
    with turnout.uow(readonly=True) as uow:
        emailed = [row["action"] for row in uow.audit.for_subject("alert", alert["id"])]
    assert emailed.count("alert.email_failed") == 1
    assert emailed.count("alert.emailed") == 1
    acked = client.post(f"/api/v1/alerts/{alert['id']}/ack")
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    assert client.post(f"/api/v1/alerts/{alert['id']}/ack").json()["error"]["code"] == "alert_acknowledged"
    assert client.get("/api/v1/alerts", params={"state": "open"}).json()["items"] == []
    assert (
        "확인이 필요한 알림"
        not in client.get(f"/events/{event_id}/dashboard", headers={"Accept-Language": "ko"}).text
    )


def test_a_transfer_is_refused_with_the_registration_codes(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    old = register(client, event["id"])
    bad = client.post(
        f"/api/v1/participants/{old['id']}/transfer",
        json=consenting({"name": "이바다", "email": "not-an-email"}),
    )
    assert bad.status_code == 422
    assert {d["field"]: d["code"] for d in bad.json()["error"]["details"]} == {"email": "invalid_email"}
    same = client.post(
        f"/api/v1/participants/{old['id']}/transfer",
        json=consenting({"name": "김하늘", "email": "sky@example.com"}),
    )
    assert (same.status_code, same.json()["error"]["code"]) == (409, "already_registered")
    missing = client.post("/api/v1/participants/nobody/transfer", json=NEW_HOLDER)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "participant_not_found")
    with turnout.uow(readonly=True) as uow:
        assert uow.sagas.find(event_id=event["id"]) == []


def test_without_a_gate_system_or_attendee_app_the_transfer_completes_in_the_request(
    client: TestClient, event: dict[str, Any]
) -> None:
    old = register(client, event["id"])
    saga = start_transfer(client, old["id"])
    assert saga["state"] == "completed"
    assert [s["state"] for s in saga["steps"]] == ["done", "skipped", "skipped", "done"]
    assert client.get(f"/api/v1/participants/{old['id']}").json()["status"] == "transferred"
    new = client.get(f"/api/v1/participants/{saga['data']['new_participant_id']}").json()
    assert (new["status"], new["email"]) == ("registered", "sea@example.com")


def test_the_cli_lists_shows_and_retries_sagas_as_the_api_shows_them(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    receivers: Receivers,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    connect(turnout, event["id"], receivers.server, GATE)
    old = register(client, event["id"])
    saga = start_transfer(client, old["id"])
    runner = CliRunner()
    listed = runner.invoke(app, ["sagas", "list", event["id"], "--json"])
    assert listed.exit_code == 0, listed.output
    assert (
        json.loads(listed.output)["items"]
        == client.get(f"/api/v1/events/{event['id']}/sagas").json()["items"]
    )
    shown = runner.invoke(app, ["sagas", "show", saga["id"]])
    assert shown.exit_code == 0, shown.output
    assert "gate_system" in shown.output
    assert "waiting" in shown.output
    retried = runner.invoke(app, ["sagas", "retry", saga["id"], "--json"])
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output)["state"] == "running"
    missing = runner.invoke(app, ["sagas", "show", "nope"])
    assert missing.exit_code == 1
    work(turnout, clock)
    finished = runner.invoke(app, ["sagas", "retry", saga["id"]])
    assert finished.exit_code == 1  # a completed saga is not retried


class GateList:
    """A gate system that keeps its list of valid tokens from what it is told, and fails
    ``failure_rate`` of all requests (seeded) with a 500 before looking at them."""

    def __init__(self, server: HTTPServer, failure_rate: float) -> None:
        self.valid: set[str] = set()
        self.rng = random.Random(15)
        self.failure_rate = failure_rate
        for system in (GATE, APP):
            server.expect_request(f"/{system.value}").respond_with_handler(self._handle)
        self.server = server

    def _handle(self, request: Request) -> Response:
        if self.rng.random() < self.failure_rate:
            return Response("flaky", 500)
        body = json.loads(request.get_data())
        data = body["data"]
        if body["type"] == "ticket.transferred" and "accept" in data:
            self.valid.discard(data["drop"]["token"])
            self.valid.add(data["accept"]["token"])
        elif body["type"] == "ticket.transfer.reverted":
            self.valid.discard(data["drop"]["token"])
            self.valid.add(data["keep"]["token"])
        return Response("{}", 200)


def test_many_transfers_at_once_against_flaky_receivers_end_completed_or_undone_and_the_gate_list_matches(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    event_id = event["id"]
    gate_list = GateList(httpserver, failure_rate=0.3)
    connect(turnout, event_id, httpserver, GATE, APP)
    client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"})
    people = []
    for n in range(TRANSFERS):
        made = client.post(
            f"/api/v1/events/{event_id}/participants",
            json=consenting({"name": f"참가자{n}", "email": f"p{n}@example.com"}),
        )
        assert made.status_code == 201, made.text
        people.append(made.json()["id"])
    with turnout.uow(readonly=True) as uow:
        gate_list.valid = {p.token for p in uow.participants.search(event_id=event_id, limit=1000) if p.token}
    sagas = []
    for n, pid in enumerate(people):
        started = client.post(
            f"/api/v1/participants/{pid}/transfer",
            json=consenting({"name": f"양수인{n}", "email": f"new{n}@example.com"}),
        )
        assert started.status_code == 202, started.text
        sagas.append(started.json()["id"])

    for _ in range(300):
        work(turnout, clock, rounds=1, step_seconds=20)
        with turnout.uow(readonly=True) as uow:
            if not uow.sagas.find(event_id=event_id, states=("running", "compensating"), limit=1):
                break

    with turnout.uow(readonly=True) as uow:
        states = Counter(s.state.value for s in uow.sagas.find(event_id=event_id, limit=1000))
        valid_in_turnout = {
            p.token
            for p in uow.participants.search(event_id=event_id, limit=1000)
            if p.status.value == "registered"
        }
    assert sum(states.values()) == TRANSFERS
    assert set(states) <= {"completed", "compensated"}, states
    assert states["completed"] > 0
    assert gate_list.valid == valid_in_turnout  # no ticket valid twice, none lost


def test_a_cancellation_is_a_saga_that_tells_each_system_once_and_retries_until_they_accept(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    receivers: Receivers,
    smtp_server: SmtpServer,
) -> None:
    event_id = event["id"]
    connect(turnout, event_id, receivers.server, GATE, APP)
    failures = {"left": 2}

    def flaky(kind: str) -> int:
        if receivers.last.get("change") == "participant.cancelled" and failures["left"]:
            failures["left"] -= 1
            return 503
        return 200

    person = register(client, event_id)
    work(turnout, clock, rounds=3, step_seconds=60)  # the registration's own feed messages
    receivers.got.clear()
    receivers.answers[GATE.value] = flaky
    cancelled = client.post(f"/api/v1/participants/{person['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    (saga,) = client.get(f"/api/v1/events/{event_id}/sagas", params={"state": "running"}).json()["items"]
    assert (saga["kind"], [s["state"] for s in saga["steps"]]) == (
        "cancellation",
        ["done", "waiting", "pending", "pending"],
    )

    work(turnout, clock, rounds=10, step_seconds=60)

    done = saga_of(client, saga["id"])
    assert done["state"] == "completed", done
    about_cancel = [
        (system, data.get("saga_id"))
        for system, _kind, data in receivers.got
        if data.get("change") == "participant.cancelled"
    ]
    # two 503s, then accepted: the saga's one message to the gate system, sent three times, and one
    # to the attendee app; the feeds sent none of their own for the cancellation
    assert sorted(about_cancel) == sorted([(GATE.value, saga["id"])] * 3 + [(APP.value, saga["id"])])
    assert done["steps"][-1]["name"] == "email"
    mails = send_mail(turnout, smtp_server)["sky@example.com"]
    # the ticket email queued at registration is not sent to a cancelled participant; the notice is
    (notice,) = mails
    assert notice["Subject"].endswith("참가 신청이 취소되었습니다")
    assert not has_qr(notice)
    again = client.post(f"/api/v1/participants/{person['id']}/cancel")
    assert again.status_code == 200  # cancelling again changes nothing
    assert len(client.get(f"/api/v1/events/{event_id}/sagas").json()["items"]) == 1


def test_closing_a_live_event_is_a_saga_scans_stop_at_once_then_final_analytics_and_each_system_is_told(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, Any],
    gate: dict[str, Any],
    httpserver: HTTPServer,
) -> None:
    event_id = event["id"]
    receivers = Receivers(httpserver, systems=(GATE, APP, ANALYTICS))
    connect(turnout, event_id, receivers.server, GATE, APP, ANALYTICS)
    go_live(client, event_id)
    person = register(client, event_id)
    assert scan(client, event_id, gate["id"], person["token"])["result"] == "admitted"
    work(turnout, clock, rounds=3, step_seconds=60)
    receivers.got.clear()
    fails = {"left": 1}

    def once_unavailable(kind: str) -> int:
        if kind == "analytics.snapshot" and fails["left"]:
            fails["left"] -= 1
            return 503
        return 200

    receivers.answers[ANALYTICS.value] = once_unavailable

    closed = client.post(f"/api/v1/events/{event_id}/status", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert scan(client, event_id, gate["id"], person["token"])["code"] == "event_not_live"  # at once
    (saga,) = client.get(f"/api/v1/events/{event_id}/sagas", params={"state": "running"}).json()["items"]
    assert saga["kind"] == "close_event"
    assert [s["name"] for s in saga["steps"]] == [
        "stop_scans",
        "final_analytics",
        "notify_gate_management",
        "notify_attendee_app",
        "notify_analytics_platform",
        "notify_alerts",
    ]

    work(turnout, clock, rounds=12, step_seconds=60)

    done = saga_of(client, saga["id"])
    assert done["state"] == "completed", done
    assert [s["state"] for s in done["steps"]] == ["done"] * 5 + ["skipped"]  # no alerts integration
    snapshots = [d for s, k, d in receivers.got if k == "analytics.snapshot"]
    assert len(snapshots) == 2  # a 503, then the same snapshot again
    assert snapshots[-1]["total_participants"] == 1
    told = sorted(s for s, k, d in receivers.got if k == "event.status.changed" and d["status"] == "closed")
    assert told == sorted([GATE.value, APP.value, ANALYTICS.value])  # once each: the feed left it to the saga
    again = client.post(f"/api/v1/events/{event_id}/status", json={"status": "closed"})
    assert again.status_code == 409


def test_the_saga_and_alert_endpoints_answer_bad_input_with_coded_errors(
    client: TestClient, event: dict[str, Any]
) -> None:
    def error(response: Any) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert error(client.get("/api/v1/sagas/no-such-saga")) == (404, "saga_not_found")
    assert error(client.post("/api/v1/sagas/no-such-saga/retry")) == (404, "saga_not_found")
    assert error(client.post("/api/v1/alerts/no-such-alert/ack")) == (404, "alert_not_found")
    assert error(client.get("/api/v1/alerts", params={"state": "closed"})) == (422, "validation_failed")
    assert error(client.get(f"/api/v1/events/{event['id']}/sagas", params={"state": "done"})) == (
        422,
        "validation_failed",
    )
    assert error(client.get(f"/api/v1/events/{event['id']}/sagas", params={"limit": 0})) == (
        422,
        "validation_failed",
    )
    person = register(client, event["id"])
    no_name = client.post(f"/api/v1/participants/{person['id']}/transfer", json={"email": "a@example.com"})
    assert error(no_name) == (422, "validation_failed")
    assert {d["field"] for d in no_name.json()["error"]["details"]} == {"name"}
    extra = client.post(
        f"/api/v1/participants/{person['id']}/transfer", json={**NEW_HOLDER, "token": "steal-me"}
    )
    assert error(extra) == (422, "validation_failed")
    not_json = client.post(
        f"/api/v1/participants/{person['id']}/transfer",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert error(not_json) == (400, "invalid_json")
    # nothing was started, and the participant is as they were
    assert client.get(f"/api/v1/events/{event['id']}/sagas").json()["items"] == []
    assert client.get(f"/api/v1/participants/{person['id']}").json()["status"] == "registered"
