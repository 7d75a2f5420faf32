"""``PATCH /api/v1/events/{event_id}``: the fields given replace the event's, by the create rules."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.services.keys import create_key


def test_patch_replaces_the_given_fields_and_keeps_the_others_when_valid(
    client: TestClient, event: dict[str, Any]
) -> None:
    answer = client.patch(
        f"/api/v1/events/{event['id']}",
        json={
            "name": "새 이름",
            "timezone": "Asia/Tokyo",
            "starts_at": "2026-06-01T08:00:00",
            "capacity": None,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["name"], body["timezone"], body["capacity"]) == ("새 이름", "Asia/Tokyo", None)
    assert body["starts_at"] == "2026-06-01T08:00:00+09:00"  # read in the new zone
    assert body["ends_at"] == "2026-06-01T18:00:00+09:00"  # kept: the same instant, shown in Tokyo
    assert (body["venue"], body["min_age"], body["status"]) == (event["venue"], event["min_age"], "draft")
    assert client.get(f"/api/v1/events/{event['id']}").json() == body


def test_patch_is_refused_with_field_codes_when_the_rules_are_broken(
    client: TestClient, event: dict[str, Any]
) -> None:
    path = f"/api/v1/events/{event['id']}"
    shape = client.patch(path, json={"name": None, "timezone": "Mars/Olympus", "capacity": -1, "extra": 1})
    assert shape.status_code == 422
    codes = {d["field"]: d["code"] for d in shape.json()["error"]["details"]}
    assert codes == {
        "name": "missing_field",
        "timezone": "invalid_timezone",
        "capacity": "too_small",
        "extra": "unknown_field",
    }
    rules = client.patch(
        path, json={"ends_at": "2026-06-01T08:00:00+09:00"}, headers={"Accept-Language": "ko"}
    )
    assert rules.status_code == 422
    assert rules.json()["error"]["details"][0]["code"] == "ends_before_start"
    assert client.get(path).json()["ends_at"] == event["ends_at"]


def test_patch_is_refused_when_the_event_is_archived_or_outside_the_keys_scope(
    client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    path = f"/api/v1/events/{event['id']}"
    other = client.post(
        "/api/v1/events", json={**{k: event[k] for k in ("starts_at", "ends_at")}, "name": "다른"}
    )
    with turnout.uow() as uow:
        staff = create_key(uow, actor="t", name="s", role=Role.STAFF, event_id=other.json()["id"]).key
        uow.commit()
    assert (
        client.patch(path, json={"name": "x"}, headers={"Authorization": f"Bearer {staff}"}).status_code
        == 403
    )
    assert client.patch("/api/v1/events/no-such-event", json={"name": "x"}).status_code == 404
    client.post(f"{path}/status", json={"status": "cancelled"})
    client.post(f"{path}/status", json={"status": "archived"})
    refused = client.patch(path, json={"name": "x"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "event_read_only"
