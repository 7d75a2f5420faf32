"""The check-in API end to end: scan, manual check-in, bulk, statistics, live stream, analytics."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.attendance_support import add_gate, add_participants
from tests.consent_support import consenting
from tests.e2e.test_auth_table import make_key
from turnout.bootstrap import Turnout
from turnout.domain.access import Role


def go_live(client: TestClient, event_id: str) -> None:
    for status in ("open", "live"):
        assert client.post(f"/api/v1/events/{event_id}/status", json={"status": status}).status_code == 200


def register(client: TestClient, event_id: str, name: str, email: str, phone: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/events/{event_id}/participants",
        json=consenting(
            {"name": name, "email": email, "phone": phone, "birth_date": "1990-03-04", "region": "서울"}
        ),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_gate_key_scan_admits_then_denies_in_the_requested_language(
    client: TestClient, app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    person = register(client, event["id"], "김철수", "kim@example.com", "010-1234-5678")
    token = client.get(f"/api/v1/participants/{person['id']}").json()["token"]
    gate_key = make_key(turnout, Role.GATE, event["id"], gate["id"])
    headers = {"Authorization": f"Bearer {gate_key}"}
    url = f"/api/v1/events/{event['id']}/attendance"

    first = app_client.post(url, json={"token": token}, headers=headers)
    again = app_client.post(url, json={"token": token}, headers={**headers, "Accept-Language": "ko"})

    assert first.status_code == 200, first.text
    assert first.json()["result"] == "admitted"
    assert first.json()["participant"] == {"id": person["id"], "name": "김철수", "check_in_status": "inside"}
    assert first.json()["attendance_id"]
    assert again.json()["result"] == "denied"
    assert again.json()["code"] == "already_admitted"
    assert again.json()["message"] == "이미 입장한 참가자입니다."


def test_gate_key_is_refused_when_scanning_at_another_gate(
    client: TestClient, app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    other_gate = add_gate(turnout, event["id"], name="후문")
    [(_, token)] = add_participants(turnout, event["id"], 1)
    gate_key = make_key(turnout, Role.GATE, event["id"], gate["id"])
    response = app_client.post(
        f"/api/v1/events/{event['id']}/attendance",
        json={"token": token, "gate_id": other_gate},
        headers={"Authorization": f"Bearer {gate_key}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_manual_check_in_records_staff_key_when_found_by_phone_digits(
    client: TestClient, app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    register(client, event["id"], "이영희", "lee@example.com", "010-2222-9876")
    staff_key = make_key(turnout, Role.STAFF, event["id"])
    headers = {"Authorization": f"Bearer {staff_key}"}
    found = app_client.get(
        f"/api/v1/events/{event['id']}/participants", params={"q": "9876"}, headers=headers
    )
    [person] = found.json()["items"]

    response = app_client.post(
        f"/api/v1/events/{event['id']}/attendance",
        json={"participant_id": person["id"], "gate_id": gate["id"], "method": "manual"},
        headers=headers,
    )

    assert response.json()["result"] == "admitted"
    from turnout.adapters.db.tables_attendance import scans

    with turnout.uow(readonly=True) as uow:
        row = uow.conn.execute(scans.select()).one()
    assert (row.method, row.actor) == ("manual", f"key:{staff_key.split('_')[1]}")


def test_scan_is_refused_with_field_errors_when_it_names_nobody(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    response = client.post(f"/api/v1/events/{event['id']}/attendance", json={"gate_id": gate["id"]})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["code"] == "token_or_participant_required"
    response = client.post(
        f"/api/v1/events/{event['id']}/attendance", json={"token": "x", "gate_id": "nope", "method": "laser"}
    )
    assert response.status_code == 422


def test_unknown_gate_answers_not_found(client: TestClient, event: dict[str, Any]) -> None:
    response = client.post(f"/api/v1/events/{event['id']}/attendance", json={"token": "x", "gate_id": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "gate_not_found"


def test_scan_stores_location_device_and_metadata_when_given(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    [(_, token)] = add_participants(turnout, event["id"], 1)
    body = {
        "token": token,
        "gate_id": gate["id"],
        "timestamp": "2026-06-01T10:00:00",
        "nonce": "dev1-0001",
        "location": {"lat": 37.51, "lng": 127.06, "accuracy": 5},
        "device": {"id": "dev1", "platform": "android", "version": "1.2"},
        "metadata": {"lane": 3},
    }
    first = client.post(f"/api/v1/events/{event['id']}/attendance", json=body).json()
    second = client.post(f"/api/v1/events/{event['id']}/attendance", json=body).json()
    assert first == second
    from turnout.adapters.db.tables_attendance import scans

    with turnout.uow(readonly=True) as uow:
        row = uow.conn.execute(scans.select()).one()
    assert row.location == {"lat": 37.51, "lng": 127.06, "accuracy": 5}
    assert row.device == {"id": "dev1", "platform": "android", "version": "1.2"}
    assert row.metadata == {"lane": 3}
    assert row.occurred_at.isoformat() == "2026-06-01T01:00:00+00:00"


def test_bulk_upload_answers_summary_with_indexed_errors(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    people = add_participants(turnout, event["id"], 3)
    records = [
        {"token": token, "gate_id": gate["id"], "timestamp": f"2026-06-01T10:0{i}:00+09:00", "nonce": f"r{i}"}
        for i, (_, token) in enumerate(people)
    ]
    records.append({"token": "broken", "gate_id": gate["id"], "timestamp": "2026-06-01T10:05:00+09:00"})
    response = client.post(
        f"/api/v1/events/{event['id']}/attendance/bulk",
        json={"records": records},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "total_processed": 4,
        "successful": 3,
        "failed": 1,
        "errors": [{"index": 3, "code": "malformed_token", "message": "The ticket code cannot be read."}],
    }


def test_bulk_upload_is_refused_when_it_has_more_than_ten_thousand_records(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    records = [{"token": "x", "gate_id": gate["id"]}] * 10_001
    response = client.post(f"/api/v1/events/{event['id']}/attendance/bulk", json={"records": records})
    assert response.status_code == 422


def test_stats_and_live_stream_show_the_same_snapshot(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    people = add_participants(turnout, event["id"], 4)
    for _, token in people[:3]:
        client.post(f"/api/v1/events/{event['id']}/attendance", json={"token": token, "gate_id": gate["id"]})
    stats = client.get(f"/api/v1/events/{event['id']}/stats").json()
    for key in ("registered", "cancelled", "checked_in", "inside", "scans", "denied", "by_gate", "by_method"):
        assert key in stats
    assert (stats["registered"], stats["checked_in"], stats["inside"]) == (4, 3, 3)
    assert stats["attendance_rate"] == 0.75
    assert "emails" in stats
    assert "arrivals" in stats

    with client.stream("GET", f"/api/v1/events/{event['id']}/stats/live", params={"max_messages": 1}) as live:
        assert live.headers["content-type"].startswith("text/event-stream")
        text = "".join(live.iter_text())
    data_line = next(line for line in text.splitlines() if line.startswith("data: "))
    streamed = json.loads(data_line.removeprefix("data: "))
    assert streamed["checked_in"] == 3
    assert streamed["inside"] == 3


def test_analytics_carry_no_personal_data(
    client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    person = register(client, event["id"], "박민수", "park@example.com", "010-3333-4444")
    token = client.get(f"/api/v1/participants/{person['id']}").json()["token"]
    client.post(f"/api/v1/events/{event['id']}/attendance", json={"token": token, "gate_id": gate["id"]})
    response = client.get(f"/api/v1/events/{event['id']}/analytics")
    assert response.status_code == 200
    body = response.json()
    assert body["total_participants"] == 1
    assert body["attendance_rate"] is None  # 1.0 would say that the one registrant came
    # one person is a group below k = 5: no region, age group or method is named
    assert body["demographic_insights"] == {"age_groups": {}, "regions": {}}
    assert body["anonymized_metrics"]["popular_check_in_methods"] == {}
    text = response.text
    for secret in ("박민수", "park@example.com", "3333", person["id"], token):
        assert secret not in text


def test_scan_answers_and_errors_are_the_routes_own_when_the_fast_path_serves_or_declines(
    client: TestClient, app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    go_live(client, event["id"])
    [(first_id, first), (second_id, second), (_, third)] = add_participants(turnout, event["id"], 3)
    gate_key = make_key(turnout, Role.GATE, event["id"], gate["id"])
    headers = {"Authorization": f"Bearer {gate_key}"}
    url = f"/api/v1/events/{event['id']}/attendance"
    counted_before = scans_counted(app_client)

    cold = app_client.post(url, json={"token": first}, headers=headers)  # route: gate not cached yet
    fast = app_client.post(url, json={"token": second}, headers=headers)  # fast path
    routed = app_client.post(f"{url}?lang=ko", json={"token": first}, headers=headers)  # route
    fast_again = app_client.post(url, json={"token": second}, headers={**headers, "Accept-Language": "ko"})
    bad_body = app_client.post(url, json={"token": third, "direction": "sideways"}, headers=headers)
    bad_key = app_client.post(url, json={"token": third}, headers={"Authorization": "Bearer nope"})
    text_body = app_client.post(
        url, content=json.dumps({"token": third}), headers={**headers, "Content-Type": "text/plain"}
    )

    assert [cold.json()["result"], fast.json()["result"]] == ["admitted", "admitted"]
    assert fast.json()["participant"]["id"] == second_id
    assert cold.json()["participant"]["id"] == first_id
    assert set(fast.json()) == set(cold.json())
    assert fast.headers["content-type"] == cold.headers["content-type"] == "application/json"
    assert (routed.json()["code"], routed.json()["message"]) == (
        "already_admitted",
        "이미 입장한 참가자입니다.",
    )
    assert (fast_again.json()["code"], fast_again.json()["message"]) == (
        "already_admitted",
        "이미 입장한 참가자입니다.",
    )
    assert bad_body.status_code == 422
    assert bad_body.json()["error"]["details"][0]["field"] == "direction"
    assert bad_key.status_code == 401
    assert (text_body.status_code, text_body.json()["error"]["code"]) == (400, "invalid_json")
    assert scans_counted(app_client) == counted_before + 4


def scans_counted(app_client: TestClient) -> float:
    label = (
        'turnout_http_requests_total{method="POST",route="/api/v1/events/{event_id}/attendance",status="200"}'
    )
    for line in app_client.get("/metrics").text.splitlines():
        if line.startswith(label):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_fast_path_reads_repeated_headers_and_the_content_type_as_the_route_does(
    client: TestClient, app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    """What the route would refuse or say otherwise, the fast path does not answer its own way: a
    header given twice is read as its first value (Starlette's ``headers.get``), and only a body
    typed ``application/json`` is JSON (a type that merely starts so, ``application/jsonl``, is not)."""
    go_live(client, event["id"])
    [(_, first), (_, second)] = add_participants(turnout, event["id"], 2)
    gate_key = f"Bearer {make_key(turnout, Role.GATE, event['id'], gate['id'])}"
    url = f"/api/v1/events/{event['id']}/attendance"
    body = json.dumps({"token": second})
    as_json = ("Content-Type", "application/json")

    warm = app_client.post(url, json={"token": first}, headers={"Authorization": gate_key})  # gate cached
    bad_key_first = app_client.post(
        url, content=body, headers=[("Authorization", "Bearer nope"), ("Authorization", gate_key), as_json]
    )
    text_first = app_client.post(
        url, content=body, headers=[("Authorization", gate_key), ("Content-Type", "text/plain"), as_json]
    )
    json_lines = app_client.post(
        url, content=body, headers=[("Authorization", gate_key), ("Content-Type", "application/jsonl")]
    )
    english_first = app_client.post(
        url,
        content=json.dumps({"token": first}),
        headers=[("Authorization", gate_key), as_json, ("Accept-Language", "en"), ("Accept-Language", "ko")],
    )

    assert warm.json()["result"] == "admitted"
    assert bad_key_first.status_code == 401
    assert (text_first.status_code, text_first.json()["error"]["code"]) == (400, "invalid_json")
    assert (json_lines.status_code, json_lines.json()["error"]["code"]) == (400, "invalid_json")
    assert (english_first.json()["code"], english_first.json()["message"]) == (
        "already_admitted",
        "Already admitted.",
    )
    with turnout.uow(readonly=True) as uow:  # one admission: the second participant was never let in
        assert len(uow.statistics.scan_moments(event["id"])) == 1
