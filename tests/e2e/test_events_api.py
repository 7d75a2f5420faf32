"""Events, lifecycle and gates through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY


def test_create_event_returns_it_in_its_timezone(client: TestClient) -> None:
    defaults = {k: v for k, v in EVENT_BODY.items() if k != "min_age"}
    response = client.post("/api/v1/events", json={**defaults, "starts_at": "2026-06-01T09:00:00"})
    assert response.status_code == 201
    body = response.json()
    assert body["starts_at"] == "2026-06-01T09:00:00+09:00"
    assert body["status"] == "draft"
    assert body["min_age"] == 14  # under 14 needs a legal guardian's consent
    assert body["locale"] == "ko"
    fetched = client.get(f"/api/v1/events/{body['id']}")
    assert fetched.json() == body


def test_lifecycle_walks_forward_and_refuses_skips_with_409(
    client: TestClient, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/status"
    skipped = client.post(url, json={"status": "live"}, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert skipped.status_code == 409
    error = skipped.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"] == (
        "행사 상태를 ‘준비 중’에서 ‘진행 중’ 상태로 바꿀 수 없습니다. "
        "지금 바꿀 수 있는 상태: 취소됨, 신청 접수 중."
    )
    allowed = ["cancelled", "open"]
    assert error["params"] == {"current": "draft", "target": "live", "allowed": allowed}
    assert "바꿀 수 없습니다" in error["message"]
    for status in ("open", "live", "closed", "archived"):
        response = client.post(url, json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert client.post(url, json={"status": "cancelled"}).status_code == 409


def test_list_events_pages_with_cursor(client: TestClient) -> None:
    ids = [client.post("/api/v1/events", json={**EVENT_BODY, "name": f"e{i}"}).json()["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/events", params=params).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_limit_above_maximum_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/events", params={"limit": 1001})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "limit"


def test_gates_are_created_and_listed(client: TestClient, event: dict[str, Any]) -> None:
    url = f"/api/v1/events/{event['id']}/gates"
    created = client.post(
        url,
        json={
            "name": "동문",
            "direction": "in",
            "methods": ["qr", "manual"],
            "opens_at": "2026-06-01T08:00:00",
            "closes_at": "2026-06-01T12:00:00+09:00",
            "location": "1층",
        },
    )
    assert created.status_code == 201, created.text
    gate = created.json()
    assert gate["methods"] == ["qr", "manual"]
    assert gate["opens_at"] == "2026-06-01T08:00:00+09:00"  # naive: read in the event's timezone
    listed = client.get(url).json()
    assert listed["items"] == [gate]


def test_unknown_event_is_404_with_code(client: TestClient) -> None:
    response = client.get("/api/v1/events/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "event_not_found"


@pytest.mark.parametrize(
    ("patch", "field", "code"),
    [
        ({"ends_at": "2026-05-31T09:00:00+09:00"}, "ends_at", "ends_before_start"),
        ({"capacity": -1}, "capacity", "too_small"),
        ({"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
        ({"starts_at": "yesterday"}, "starts_at", "invalid_datetime"),
        ({"capacity": "many"}, "capacity", "invalid_type"),
        ({"colour": "red"}, "colour", "unknown_field"),
        ({"name": ""}, "name", "too_short"),
        ({"locale": "fr"}, "locale", "invalid_value"),
    ],
)
def test_bad_event_input_is_422_with_field_entry(
    client: TestClient, patch: dict[str, Any], field: str, code: str
) -> None:
    response = client.post("/api/v1/events", json={**EVENT_BODY, **patch})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {"field": field, "code": code} in [
        {"field": d["field"], "code": d["code"]} for d in error["details"]
    ]


def test_several_bad_fields_give_one_entry_each(client: TestClient) -> None:
    response = client.post("/api/v1/events", json={"starts_at": "x", "capacity": -5, "extra": 1})
    fields = sorted(d["field"] for d in response.json()["error"]["details"])
    assert fields == ["capacity", "ends_at", "extra", "name", "starts_at"]


def test_malformed_json_is_400_invalid_json_not_500(client: TestClient) -> None:
    response = client.post(
        "/api/v1/events", content=b'{"name": "x", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_error_messages_follow_accept_language(client: TestClient) -> None:
    en = client.get("/api/v1/events/nope", headers={"Accept-Language": "en"}).json()["error"]["message"]
    ko = client.get("/api/v1/events/nope", headers={"Accept-Language": "ko"}).json()["error"]["message"]
    assert en == "Event not found."
    assert ko == "행사를 찾을 수 없습니다."


def test_bad_gate_input_is_422(client: TestClient, event: dict[str, Any]) -> None:
    url = f"/api/v1/events/{event['id']}/gates"
    response = client.post(url, json={"name": "x", "methods": [], "direction": "sideways"})
    assert response.status_code == 422
    assert sorted(d["field"] for d in response.json()["error"]["details"]) == ["direction", "methods"]
    window = client.post(
        url,
        json={"name": "x", "opens_at": "2026-06-01T12:00:00+09:00", "closes_at": "2026-06-01T08:00:00+09:00"},
    )
    assert window.status_code == 422
    assert window.json()["error"]["details"][0]["code"] == "ends_before_start"


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/health/ready").json()["database"] in {"sqlite", "postgresql"}
    client.get("/api/v1/events")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'turnout_http_requests_total{method="GET",route="/api/v1/events",status="200"}' in metrics.text


def test_openapi_and_docs_are_served(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert "/api/v1/events/{event_id}/status" in spec["paths"]
    assert app_client.get("/docs").status_code == 200
