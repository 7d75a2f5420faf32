"""Erasing a closed event's personal data (``POST /api/v1/events/{id}/privacy/erase``, ``turnout
privacy erase``): every personal value gone from every table, statistics and analytics unchanged,
refused before the event is closed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.attendance_support import add_participants, live_event
from tests.fakes import FakeClock
from turnout.adapters.db.schema import metadata
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.domain.events import EventStatus
from turnout.services.events import change_status
from turnout.services.keys import create_key
from turnout.services.statistics import analytics, snapshot

BIRTH_DATES = [
    date(2006, 6, 2),  # 19 on the first day: under_20
    date(2006, 6, 1),  # 20 exactly: 20s
    date(1997, 1, 15),
    date(1996, 6, 2),  # 29
    date(1990, 7, 1),
    date(1986, 6, 1),  # 40 exactly
    date(1980, 2, 29),
    date(1960, 12, 31),
]
REGIONS = ["서울", "부산", "서울", "경기", "서울", "부산", "서울", "경기"]


def set_status(client: TestClient, event_id: str, *statuses: str) -> None:
    for status in statuses:
        response = client.post(f"/api/v1/events/{event_id}/status", json={"status": status})
        assert response.status_code == 200, response.text


def people(count: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"홍길동{i}",
            "email": f"person{i}.secret@example.com",
            "phone": f"010-5555-{1000 + i:04d}",
            "birth_date": BIRTH_DATES[i % len(BIRTH_DATES)].isoformat(),
            "region": REGIONS[i % len(REGIONS)],
            "organization": f"비밀회사{i}",
            "gender": "female" if i % 2 else "male",
            "custom_fields": {"shirt": f"XL-secret-{i}"},
            "consents": {
                "required": True,
                "optional": True,
                "guardian": {
                    "name": f"보호자비밀{i}",
                    "contact": f"guardian{i}.secret@example.com",
                    "consent": True,
                }
                if i % 3 == 0
                else None,
            },
        }
        for i in range(count)
    ]


def figures(turnout: Turnout, event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with turnout.uow(readonly=True) as uow:
        stats = snapshot(uow, event_id=event_id)
        found = analytics(uow, event_id=event_id)
    found.pop("generated_at")
    stats.pop("generated_at", None)
    return stats, found


def every_row(turnout: Turnout) -> str:
    with turnout.engine.connect() as conn:
        return "\n".join(repr(conn.execute(sa.select(table)).all()) for table in metadata.sorted_tables)


def populated_closed_event(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], gate: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    event_id = str(event["id"])
    set_status(client, event_id, "open", "live")
    registered = []
    for person in people(24):
        response = client.post(f"/api/v1/events/{event_id}/participants", json=person)
        assert response.status_code == 201, response.text
        registered.append(response.json())
    attendance = f"/api/v1/events/{event_id}/attendance"
    device = {"model": "Galaxy", "owner": "person0.secret@example.com"}
    for i, person in enumerate(registered[:16]):
        scan = {
            "token": person["token"],
            "gate_id": gate["id"],
            "device": device,
            "metadata": {"note": f"홍길동{i}"},
        }
        assert client.post(attendance, json=scan).json()["result"] == "admitted"
    clock.advance(hours=2)
    for person in registered[:7]:
        scan = {"token": person["token"], "gate_id": gate["id"], "direction": "out"}
        assert client.post(attendance, json=scan).json()["result"] == "exited"
    assert client.post(f"/api/v1/participants/{registered[20]['id']}/cancel").status_code == 200
    turnout.relay().drain()
    set_status(client, event_id, "closed")
    turnout.relay().drain()
    return event_id, registered


def test_erase_keeps_statistics_and_analytics_and_removes_every_personal_value_when_event_is_closed(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    event_id, registered = populated_closed_event(client, turnout, clock, event, gate)
    before = figures(turnout, event_id)
    assert before[0]["checked_in"] == 16  # not vacuous
    dump = every_row(turnout)
    assert "person3.secret@example.com" in dump
    assert registered[3]["token"] in dump

    response = client.post(f"/api/v1/events/{event_id}/privacy/erase")
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["participants"] == 24
    assert response.json()["counts"]["participant_consents"] == 24

    assert figures(turnout, event_id) == before
    dump = every_row(turnout)
    for i, person in enumerate(registered):
        for secret in (
            person["email"],
            person["phone"],
            person["name"],
            person["token"],
            f"비밀회사{i}",
            f"XL-secret-{i}",
            f"010-5555-{1000 + i:04d}",
            f"보호자비밀{i}",
            f"guardian{i}.secret@example.com",
        ):
            assert secret not in dump, secret
    assert "example.com" not in dump
    for born in BIRTH_DATES[2:]:  # the exact birth dates (but those that are their band's stand-in)
        assert repr(born) not in dump or born in (date(2006, 6, 1), date(1986, 6, 1))
    listed = client.get(f"/api/v1/events/{event_id}/participants").json()["items"]
    assert {p["name"] for p in listed} == {""}
    assert all(p["token"] is None for p in listed)
    # the consent records stay (the proof of lawful processing); a guardian's consent without them
    assert all(p["consent"]["required"] and p["consent"]["channel"] == "staff" for p in listed)
    guardians = [p["consent"]["guardian"] for p in listed if p["consent"]["guardian"]]
    assert len(guardians) == 8
    assert guardians[0] == {"name": None, "contact": None, "consented": True}


def test_erase_is_refused_with_event_not_closed_when_the_event_is_live(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    set_status(client, event_id, "open", "live")
    person = people(1)[0]
    assert client.post(f"/api/v1/events/{event_id}/participants", json=person).status_code == 201
    response = client.post(f"/api/v1/events/{event_id}/privacy/erase", headers={"Accept-Language": "ko"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_not_closed"
    assert "종료된" in response.json()["error"]["message"]
    assert person["email"] in every_row(turnout)


def test_erase_is_refused_to_a_staff_key(
    app_client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    with turnout.uow() as uow:
        staff = create_key(uow, actor="test", name="staff", role=Role.STAFF, event_id=str(event["id"])).key
        uow.commit()
    response = app_client.post(
        f"/api/v1/events/{event['id']}/privacy/erase", headers={"Authorization": f"Bearer {staff}"}
    )
    assert response.status_code == 403


def test_cli_erases_a_closed_event_with_json_and_refuses_a_live_one_with_exit_1(
    turnout: Turnout, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turnout.entrypoints.cli import app

    for name, value in {
        "TURNOUT_DATABASE_URL": settings.database_url,
        "TURNOUT_SECRET_KEY": "test-secret-key",
        "TURNOUT_VAR_DIR": str(settings.var_dir),
        "TURNOUT_BROKER_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    event_id = live_event(turnout)
    add_participants(turnout, event_id, 3, birth_date=date(1990, 7, 1))
    runner = CliRunner()

    refused = runner.invoke(app, ["privacy", "erase", event_id, "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.stderr)["error"]["code"] == "event_not_closed"
    assert "@example.com" in every_row(turnout)

    with turnout.uow() as uow:
        change_status(uow, event_id=event_id, status=EventStatus.CLOSED, actor="test")
        uow.commit()
    done = runner.invoke(app, ["privacy", "erase", event_id, "--json"])
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert (answer["event_id"], answer["counts"]["participants"]) == (event_id, 3)
    assert "@example.com" not in every_row(turnout)
    assert "datetime.date(1990, 7, 1)" not in every_row(turnout)

    assert runner.invoke(app, ["privacy", "erase"]).exit_code == 2
    unknown = runner.invoke(app, ["privacy", "erase", "no-such-event", "--json"])
    assert unknown.exit_code == 1
    assert json.loads(unknown.stderr)["error"]["code"] == "event_not_found"
