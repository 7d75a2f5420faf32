"""The console's dashboard (issue 18 item 7): tiles, chart containers and their tables, the projector
view, crowd safety's gauges and alerts, and a gate's area capacity in the gate API."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.attendance_support import add_participants, live_event
from tests.console_support import sign_in
from tests.e2e.test_auth_table import make_key
from tests.e2e.test_cli import as_json, run, workdir  # noqa: F401  (``workdir`` is a fixture)
from tests.e2e.test_scanner_page import browser, keep_screenshot, served  # noqa: F401  (fixtures)
from tests.fakes_webhooks import FakeSealer
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.entrypoints.web.assets import asset_url
from turnout.entrypoints.workers import LOOPS
from turnout.services.checkin import ScanInput
from turnout.services.crowd import watch_crowds
from turnout.services.gates import create_gate
from turnout.services.keys import create_key

CHARTS = ("arrivals", "inside", "by_gate", "by_method", "denied")
SECRET = "whsec_" + base64.b64encode(b"crowd-safety-alerts-secret-32-xx").decode()
ALERTS = IntegrationSystem.ALERTS


def go_live(client: TestClient, event_id: str) -> None:
    for status in ("open", "live"):
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": status}).status_code == 200


def make_gate(client: TestClient, event_id: str, name: str, capacity: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "direction": "both"}
    if capacity is not None:
        body["capacity"] = capacity
    answer = client.post(f"/api/v1/events/{event_id}/gates", json=body)
    assert answer.status_code == 201, answer.text
    gate: dict[str, Any] = answer.json()
    return gate


def test_a_gate_keeps_its_area_capacity_when_created_and_listed(
    client: TestClient, event: dict[str, Any]
) -> None:
    hall = make_gate(client, event["id"], "B홀", capacity=120)
    plain = make_gate(client, event["id"], "정문")
    assert (hall["capacity"], plain["capacity"]) == (120, None)
    listed = {
        g["id"]: g["capacity"] for g in client.get(f"/api/v1/events/{event['id']}/gates").json()["items"]
    }
    assert listed == {hall["id"]: 120, plain["id"]: None}
    refused = client.post(f"/api/v1/events/{event['id']}/gates", json={"name": "C홀", "capacity": -1})
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["capacity"]


def test_dashboard_shows_tiles_gauge_and_every_chart_in_korean_and_english(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = event["id"]
    go_live(client, event_id)
    gate = make_gate(client, event_id, "정문")
    people = add_participants(turnout, event_id, 3)
    turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate["id"], token=people[0][1]))
    turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate["id"], token=people[0][1]))  # again
    turnout.statistics.get(event_id=event_id)  # as an open live stream keeps it
    korean = client.get(f"/events/{event_id}/dashboard?lang=ko")
    assert korean.status_code == 200
    html = korean.text
    for name in CHARTS:
        assert f'data-chart="{name}"' in html
        assert f'data-table="{name}"' in html
    assert asset_url("uplot", "uPlot.iife.min.js") in html
    assert asset_url("uplot", "uPlot.min.css") in html
    assert re.search(r'data-key="checked_in"[^>]*>1<', html)
    assert re.search(r'data-key="registered"[^>]*>3<', html)
    assert "혼잡도" in html
    assert "행사장 전체" in html
    assert "정원 500명" in html
    assert "5분 단위 입장" in html
    assert "사유별 입장 불가" in html
    assert "이미 입장한 참가자입니다." in html  # the denial's reason, in the table under its chart
    assert 'class="event-nav"' in html  # the console's menu
    english = client.get(f"/events/{event_id}/dashboard?lang=en").text
    assert "Crowd safety" in english
    assert "Whole venue" in english
    assert "Refusals by reason" in english
    assert "1 of 500 (0.2 %)" in english
    assert "level-ok" in english
    assert "Normal" in english


def test_dashboard_answers_with_placeholders_without_reading_the_statistics_when_none_are_at_hand(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    page = client.get(f"/events/{event['id']}/dashboard?lang=ko")
    assert page.status_code == 200
    assert re.search(r'data-key="registered"[^>]*>–<', page.text)
    assert "연결 중…" in page.text
    assert turnout.statistics.peek(event_id=event["id"]) is None  # the page read nothing


def test_projector_view_has_large_figures_and_no_menus_either_way_asked(
    client: TestClient, event: dict[str, Any]
) -> None:
    for path in (
        f"/events/{event['id']}/dashboard/projector",
        f"/events/{event['id']}/dashboard?view=projector",
    ):
        page = client.get(path + ("&" if "?" in path else "?") + "lang=ko")
        assert page.status_code == 200, path
        assert '<body class="projector">' in page.text
        assert "event-nav" not in page.text
        assert 'data-key="inside"' in page.text
        assert 'data-chart="arrivals"' in page.text
        assert 'data-chart="inside"' in page.text
        assert "대시보드로 돌아가기" in page.text


def test_dashboard_is_refused_as_a_page_without_a_key_outside_its_scope_or_for_no_event(
    app_client: TestClient, turnout: Turnout, admin_key: str, event: dict[str, Any]
) -> None:
    other = app_client.post(
        "/api/v1/events",
        json={**{k: event[k] for k in ("starts_at", "ends_at")}, "name": "other"},
        headers={"Authorization": f"Bearer {admin_key}"},
    ).json()
    app_client.headers.pop("Authorization", None)
    for path in (f"/events/{event['id']}/dashboard", f"/events/{event['id']}/dashboard/projector"):
        assert app_client.get(path).status_code == 401
    with turnout.uow() as uow:
        staff = create_key(uow, actor="t", name="s", role=Role.STAFF, event_id=other["id"])
        uow.commit()
    outside = app_client.get(
        f"/events/{event['id']}/dashboard/projector?lang=en", headers={"Authorization": f"Bearer {staff.key}"}
    )
    assert outside.status_code == 403
    assert "text/html" in outside.headers["content-type"]
    sign_in(app_client, admin_key)
    missing = app_client.get("/events/nope/dashboard?lang=ko")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]


def test_a_crowded_gate_area_turns_amber_and_raises_one_alert_on_the_alert_path(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = event["id"]
    go_live(client, event_id)
    with turnout.uow() as uow:  # the alerts integration (set up directly: no DNS in tests)
        now = turnout.clock.now()
        uow.integrations.put(
            Integration(
                event_id,
                ALERTS,
                "https://alerts.example.com/t",
                FakeSealer().seal(SECRET),
                True,
                None,
                now,
                now,
            )
        )
        uow.commit()
    hall = make_gate(client, event_id, "B홀", capacity=5)
    people = add_participants(turnout, event_id, 5)
    for _, token in people[:4]:
        assert (
            turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=hall["id"], token=token)).result
            == "admitted"
        )
    assert (watch_crowds(turnout.uow), watch_crowds(turnout.uow)) == (1, 0)  # 4 of 5: 80 %, once
    (alert,) = client.get("/api/v1/alerts", params={"state": "open", "event_id": event_id}).json()["items"]
    assert (alert["code"], alert["details"]["inside"], alert["details"]["capacity"]) == ("crowd_amber", 4, 5)
    assert "alert.raised" in client.get(f"/api/v1/events/{event_id}/deliveries").text
    turnout.statistics.changed(event_id)
    turnout.statistics.get(event_id=event_id)
    page = client.get(f"/events/{event_id}/dashboard?lang=ko").text
    assert 'data-code="crowd_amber"' in page
    assert "혼잡 주의 (정원의 80 %)" in page
    assert "B홀 구역: 4명 / 정원 5명 (80.0 %)" in page
    assert "level-amber" in page
    assert "주의 (80 % 이상)" in page  # the colour, and the words
    english = client.get(f"/events/{event_id}/dashboard?lang=en").text
    assert "Crowd amber (80 % of capacity)" in english
    assert "B홀 area: 4 of 5 (80.0 %)" in english


def test_the_worker_runs_the_crowd_safety_loop() -> None:
    assert "crowd-safety" in dict(LOOPS)


# --- in a real browser (Debian's chromium through Playwright) ------------------------------------------

AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"


def serious_violations(page: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """axe-core's serious and critical findings on ``page`` (rule, impact, the elements)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        (v["id"], v["impact"], [(n["target"][0], n["failureSummary"]) for n in v["nodes"]][:5])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_phone_dashboard_draws_charts_fits_390px_and_turns_a_gauge_amber_live(
    turnout: Turnout,
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    event_id = live_event(turnout)
    with turnout.uow() as uow:
        hall = create_gate(uow, actor="t", event_id=event_id, name="B홀", capacity=5).id
        uow.commit()
    people = add_participants(turnout, event_id, 5)
    for _, token in people[:3]:
        turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=hall, token=token))
    turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=hall, token=people[0][1]))  # refused
    key = make_key(turnout, Role.STAFF, event_id)
    from playwright.sync_api import expect

    # ``bypass_csp``: axe-core is injected as the test's own script (the CSP is tested elsewhere)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="ko-KR", bypass_csp=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda answer: errors.append(answer.url) if answer.status >= 400 else None)
    page.goto(f"{served}/?lang=ko")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.goto(f"{served}/events/{event_id}/dashboard?lang=ko")
    expect(page.locator("#status")).to_contain_text(" 갱신", timeout=10_000)
    assert page.text_content("[data-key=checked_in]") == "3"
    for name in CHARTS:
        expect(page.locator(f"[data-chart={name}] canvas").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    gauge = page.locator(f".gauge[data-area='{hall}']")
    expect(gauge).to_have_class(re.compile(r"\blevel-ok\b"))
    turnout.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=hall, token=people[3][1]))
    expect(gauge).to_have_class(re.compile(r"\blevel-amber\b"), timeout=10_000)  # live, no reload
    expect(gauge).to_contain_text("주의 (80 % 이상)")
    expect(gauge).to_contain_text("4명 / 정원 5명 (80.0 %)")
    keep_screenshot(page, "dashboard-phone-ko.png")
    assert serious_violations(page) == []

    projector = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ko-KR", bypass_csp=True)
    wide = projector.new_page()
    wide.on("pageerror", lambda error: errors.append(str(error)))
    wide.goto(f"{served}/?lang=ko")
    wide.fill("#key", key)
    wide.click("button[type=submit]")
    wide.goto(f"{served}/events/{event_id}/dashboard/projector?lang=ko")
    expect(wide.locator("[data-key=inside]")).to_have_text("4", timeout=10_000)
    expect(wide.locator("[data-chart=arrivals] canvas").first).to_be_visible()
    assert wide.locator(".event-nav").count() == 0
    keep_screenshot(wide, "dashboard-projector-ko.png")
    assert serious_violations(wide) == []
    assert errors == []


def test_the_cli_creates_a_gate_with_an_area_capacity(workdir: Path) -> None:  # noqa: F811
    event = as_json(
        run(
            workdir,
            "events",
            "create",
            "--name",
            "행사",
            "--starts",
            "2026-07-01T10:00",
            "--ends",
            "2026-07-01T22:00",
            "--json",
        )
    )
    gate = as_json(
        run(workdir, "gates", "create", event["id"], "--name", "B홀", "--capacity", "300", "--json")
    )
    assert gate["capacity"] == 300
    refused = run(workdir, "gates", "create", event["id"], "--name", "C홀", "--capacity", "-1", check=False)
    assert refused.returncode == 2
