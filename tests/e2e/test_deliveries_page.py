"""The console's read-only delivery log ``/events/{event_id}/deliveries``: counts by system and
state, each delivery's attempts, filters and paging, Korean and English, no payload, escaped text,
and only for keys that manage the event. SQLite and PostgreSQL, over a real local receiver."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.fakes import FakeClock
from tests.fakes_webhooks import FakeSealer
from tests.integration.test_delivery_sender import SECRET, Receiver, run, sender
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.entrypoints.web import deliveries as delivery_pages
from turnout.ports import OutboundMessage
from turnout.services.keys import create_key

GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP
TOKEN = "TKN-payload-secret-4f9a"  # payloads hold tokens: never on the page
EVIL = "<script>alert('x')</script>"


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
                OutboundMessage(
                    event_id,
                    s.value,
                    "participant.changed",
                    {"token": TOKEN, "name": "김민지"},
                    ordering_key=None,
                )
                for s in systems
            ],
            now=clock.now(),
        )
        uow.commit()
    return ids


def page_url(event: dict[str, object]) -> str:
    return f"/events/{event['id']}/deliveries"


def shown(html: str) -> list[str]:
    """The delivery ids on the page, in order."""
    return re.findall(r'data-delivery="([^"]+)"', html)


@pytest.fixture
def sent(
    turnout: Turnout, clock: FakeClock, event: dict[str, object], httpserver: HTTPServer
) -> tuple[str, str]:
    """The gate system's delivery delivered (200); the attendee app's failed once with a 503 whose
    body carries a script tag (kept as the attempt's error)."""
    receiver = Receiver(httpserver)
    receiver.answer = lambda _r: Response(EVIL, 503) if len(receiver.requests) > 1 else Response("ok", 200)
    gate_id, app_id = enqueue(turnout, clock, str(event["id"]), receiver.url, [GATE, APP])
    run(sender(turnout, concurrency=1))
    return gate_id, app_id


def test_the_page_shows_counts_and_each_attempt_without_payloads(
    client: TestClient, event: dict[str, object], sent: tuple[str, str]
) -> None:
    gate_id, app_id = sent
    page = client.get(page_url(event) + "?lang=en")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Delivery log" in text
    assert str(event["name"]) in text
    assert shown(text) == [app_id, gate_id]
    # counts by system and state
    gate_row = re.search(r'<tr data-counts="gate-management">(.*?)</tr>', text, re.S)
    app_row = re.search(r'<tr data-counts="attendee-app">(.*?)</tr>', text, re.S)
    assert gate_row is not None
    assert app_row is not None
    assert re.search(r'data-status="delivered"><a [^>]*>1</a>', gate_row.group(1))
    assert re.search(r'data-status="pending"><a [^>]*>1</a>', app_row.group(1))
    assert 'data-total="gate-management">1<' in text
    assert 'data-total="alerts">0<' in text
    # each attempt: outcome, status code, latency, error
    gate_part = text.split(f'data-delivery="{gate_id}"')[1]
    assert re.search(
        r'data-attempt="1" data-outcome="delivered">.*?<td>200</td>\s*<td>\d+ ms</td>', gate_part, re.S
    )
    app_part = text.split(f'data-delivery="{app_id}"')[1].split(f'data-delivery="{gate_id}"')[0]
    assert re.search(
        r'data-attempt="1" data-outcome="failed">.*?<td>503</td>\s*<td>\d+ ms</td>', app_part, re.S
    )
    assert "Failed (retried)" in app_part
    assert "next attempt" in app_part
    # the receiver's answer is shown as text, never run as markup
    assert "&lt;script&gt;alert(" in app_part
    assert "<script>alert" not in text
    # no payload: no token, no name
    assert TOKEN not in text
    assert "김민지" not in text

    ko = client.get(page_url(event) + "?lang=ko")
    assert ko.status_code == 200
    assert "전송 기록" in ko.text
    assert "실패(재시도)" in ko.text
    assert "게이트 관리 시스템" in ko.text


def test_filters_by_system_and_state(
    client: TestClient, event: dict[str, object], sent: tuple[str, str]
) -> None:
    gate_id, app_id = sent
    url = page_url(event)
    assert shown(client.get(url, params={"system": "attendee-app"}).text) == [app_id]
    assert shown(client.get(url, params={"status": "delivered"}).text) == [gate_id]
    assert shown(client.get(url, params={"system": "gate-management", "status": "pending"}).text) == []
    none = client.get(url, params={"status": "dead", "lang": "en"})
    assert "No deliveries match." in none.text
    # the chosen filters stay selected; unknown values show everything
    chosen = client.get(url, params={"system": "attendee-app", "status": "pending"}).text
    assert '<option value="attendee-app" selected>' in chosen
    assert '<option value="pending" selected>' in chosen
    assert shown(client.get(url, params={"system": "crm", "status": "bogus", "before": "x"}).text) == [
        app_id,
        gate_id,
    ]
    # counts link to their filter
    assert "?system=attendee-app&amp;status=pending" in chosen


def test_pages_with_before(
    client: TestClient,
    turnout: Turnout,
    clock: FakeClock,
    event: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery_pages, "PAGE_SIZE", 2)
    ids = enqueue(
        turnout, clock, str(event["id"]), "https://93.184.215.14/hooks", [GATE, APP, GATE, APP, GATE]
    )
    newest = ids[::-1]
    first = client.get(page_url(event), params={"lang": "en"}).text
    assert shown(first) == newest[:2]
    assert "Not attempted yet." in first
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older is not None
    second = client.get(page_url(event) + older.group(1).replace("&amp;", "&")).text
    assert shown(second) == newest[2:4]
    assert 'rel="first"' in second
    last_link = re.search(r'<a href="([^"]+)" rel="next">', second)
    assert last_link is not None
    last = client.get(page_url(event) + last_link.group(1).replace("&amp;", "&")).text
    assert shown(last) == newest[4:]
    assert 'rel="next"' not in last
    # paging keeps the filter
    gates = client.get(page_url(event), params={"system": "gate-management"}).text
    assert shown(gates) == [ids[4], ids[2]]
    gate_older = re.search(r'<a href="([^"]+)" rel="next">', gates)
    assert gate_older is not None
    assert "system=gate-management" in gate_older.group(1)
    assert shown(client.get(page_url(event) + gate_older.group(1).replace("&amp;", "&")).text) == [ids[0]]


def test_only_a_key_that_manages_the_event_sees_its_log(
    app_client: TestClient, turnout: Turnout, event: dict[str, object], sent: tuple[str, str]
) -> None:
    other = app_client.post(
        "/api/v1/events",
        json={
            "name": "다른 행사",
            "starts_at": "2026-07-01T09:00:00+09:00",
            "ends_at": "2026-07-01T18:00:00+09:00",
        },
    ).json()
    with turnout.uow() as uow:
        other_key = create_key(uow, actor="t", name="other", role=Role.STAFF, event_id=other["id"]).key
        own_key = create_key(uow, actor="t", name="own", role=Role.STAFF, event_id=str(event["id"])).key
        uow.commit()
    assert app_client.get("/events/nope/deliveries").status_code == 404
    refused = app_client.get(page_url(event), headers={"Authorization": f"Bearer {other_key}"})
    assert refused.status_code == 403
    assert sent[0] not in refused.text
    allowed = app_client.get(page_url(event), headers={"Authorization": f"Bearer {own_key}"})
    assert allowed.status_code == 200
    assert shown(allowed.text) == [sent[1], sent[0]]
    app_client.headers.pop("Authorization", None)
    signed_out = app_client.get(page_url(event))
    assert signed_out.status_code == 401
    assert sent[0] not in signed_out.text


def test_linked_from_the_integrations_page(client: TestClient, event: dict[str, object]) -> None:
    page = client.get(f"/events/{event['id']}/integrations?lang=en").text
    assert f'href="/events/{event["id"]}/deliveries?lang=en"' in page
    assert f'href="/events/{event["id"]}/deliveries?system=attendee-app&amp;lang=en"' in page
