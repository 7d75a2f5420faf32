"""Hardening of request input (issue 16): body size limits before the body is read and before the
key is checked, bodies that are not JSON or not UTF-8, integer ranges, text without control
characters or lone surrogates, bounded scan metadata, and an OpenAPI schema that states the limits."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import anyio
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from turnout.bootstrap import Turnout
from turnout.entrypoints.api.app import create_app

MB = 1024 * 1024
EVENT = {
    "name": "한계 시험",
    "starts_at": "2026-06-01T09:00:00+09:00",
    "ends_at": "2026-06-01T18:00:00+09:00",
}
JSON = {"Content-Type": "application/json"}


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, dict[str, Any]] = response.json()
    return body["error"]


def fields_of(response: Any) -> dict[str, str]:
    return {d["field"]: d["code"] for d in error_of(response)["details"]}


def call_asgi(
    turnout: Turnout, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """The app called as a server would: the body in ``chunks``. Answers the status, the JSON
    answer and how many of the chunks the app asked for."""
    app = create_app(turnout)
    asked = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        nonlocal asked
        if asked >= len(chunks):
            await anyio.sleep_forever()
        asked += 1
        return {"type": "http.request", "body": chunks[asked - 1], "more_body": asked < len(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        with anyio.fail_after(10):
            await app(scope, receive, send)

    anyio.run(run)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), asked


# --- body size -------------------------------------------------------------------------------------


def test_oversized_content_length_is_413_when_no_key_is_given(app_client: TestClient) -> None:
    response = app_client.post("/api/v1/events", content=b" " * (MB + 1), headers=JSON)
    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "payload_too_large"


def test_oversized_content_length_is_413_before_the_body_is_read_when_declared(
    turnout: Turnout,
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(5 * MB).encode())]
    status, body, asked = call_asgi(turnout, "POST", "/api/v1/events", headers, [b"{}"])
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert asked == 0  # refused on the header alone


def test_oversized_content_length_is_413_on_a_route_without_a_body(turnout: Turnout) -> None:
    headers = [(b"content-length", str(5 * MB).encode())]
    status, body, asked = call_asgi(turnout, "POST", "/api/v1/participants/nobody/cancel", headers, [b""])
    assert (status, body["error"]["code"], asked) == (413, "payload_too_large", 0)


def test_streamed_body_is_cut_off_with_413_when_it_passes_the_limit(turnout: Turnout) -> None:
    chunks = [b" " * (256 * 1024)] * 40  # 10 MB announced by no header: chunked
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    status, body, asked = call_asgi(turnout, "POST", "/api/v1/events", headers, chunks)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert asked == 5  # stopped at the chunk that passed 1 MB, the rest never read


def test_chunked_body_over_the_limit_is_413_through_the_client(app_client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * (256 * 1024)

    response = app_client.post("/api/v1/events", content=body(), headers=JSON)
    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "payload_too_large"


def test_bulk_attendance_takes_bodies_over_1_mb_up_to_10_mb(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/attendance/bulk"
    record = {"token": "x" * 380, "gate_id": gate["id"], "nonce": "n"}
    records = [{**record, "nonce": f"n{i}"} for i in range(3000)]
    body = json.dumps({"records": records}).encode()
    assert 1 * MB < len(body) < 10 * MB
    response = client.post(url, content=body, headers=JSON)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["total_processed"] == 3000

    too_big = client.post(url, content=b" " * (10 * MB + 1), headers=JSON)
    assert too_big.status_code == 413
    assert error_of(too_big)["code"] == "payload_too_large"
    elsewhere = client.post("/api/v1/events", content=body, headers=JSON)
    assert elsewhere.status_code == 413


def test_import_upload_limit_follows_max_upload_mb_before_the_key_is_checked(
    app_client: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    turnout.settings.max_upload_mb = 2
    del app_client.headers["Authorization"]  # the ``event`` fixture signed the client in
    url = f"/api/v1/events/{event['id']}/imports"
    big = app_client.post(url, files={"file": ("people.csv", b"x" * (4 * MB), "text/csv")})
    assert big.status_code == 413, big.text
    assert error_of(big)["code"] == "payload_too_large"
    small = app_client.post(url, files={"file": ("people.csv", b"x" * (MB + MB // 2), "text/csv")})
    assert small.status_code == 401, (
        small.text
    )  # over the JSON limit, under the upload one: on to the key check


# --- bodies that are not JSON / not UTF-8 ----------------------------------------------------------


def test_bulk_body_that_is_not_utf8_is_400_invalid_json(client: TestClient, event: dict[str, Any]) -> None:
    url = f"/api/v1/events/{event['id']}/attendance/bulk"
    response = client.post(url, content=b'{"records": ["\xff"]}', headers=JSON)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_json"


def test_body_that_is_not_utf8_is_400_invalid_json(client: TestClient, event: dict[str, Any]) -> None:
    for url in ("/api/v1/events", f"/api/v1/events/{event['id']}/attendance"):
        response = client.post(url, content=b'{"name": "\xff\xfe"}', headers=JSON)
        assert response.status_code == 400, (url, response.text)
        assert error_of(response)["code"] == "invalid_json"


def test_malformed_or_too_deep_json_is_400_invalid_json(client: TestClient, event: dict[str, Any]) -> None:
    bulk = f"/api/v1/events/{event['id']}/attendance/bulk"
    for url, body in [
        ("/api/v1/events", b'{"name": '),
        ("/api/v1/events", b"[" * 100_000),
        ("/api/v1/events", b'{"name": NaN}'),
        (bulk, b'{"records": '),
        (bulk, b'{"records": ' + b"[" * 100_000),
    ]:
        response = client.post(url, content=body, headers=JSON)
        assert response.status_code == 400, (url, body[:20], response.text)
        assert error_of(response)["code"] == "invalid_json"


def test_body_of_another_type_on_a_json_route_is_400_invalid_json(client: TestClient) -> None:
    response = client.post("/api/v1/events", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_json"


# --- integers and text ----------------------------------------------------------------------------


def test_huge_capacity_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/events", json={**EVENT, "capacity": 576304830902741809980506112})
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"capacity": "too_large"}


def test_lone_surrogate_in_text_is_422_naming_the_field(client: TestClient) -> None:
    body = json.dumps({**EVENT, "venue": "코엑스 \ud800"}).encode()  # ensure_ascii: "\\ud800"
    response = client.post("/api/v1/events", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"venue": "invalid_characters"}


def test_control_characters_in_text_are_422_naming_the_field(
    client: TestClient, event: dict[str, Any]
) -> None:
    for field, value in [("name", "a\x00b"), ("venue", "a\x1bb"), ("name", "a\u0085b")]:
        response = client.post("/api/v1/events", json={**EVENT, field: value})
        assert response.status_code == 422, (field, value, response.text)
        assert fields_of(response) == {field: "invalid_characters"}
    person = {"name": "김\x07", "email": "a@example.com", "custom_fields": {"k\x00": "v"}}
    response = client.post(f"/api/v1/events/{event['id']}/participants", json=person)
    assert response.status_code == 422, response.text
    codes = fields_of(response)
    assert codes["name"] == "invalid_characters"
    assert "invalid_characters" in {
        code for field, code in codes.items() if field.startswith("custom_fields")
    }


def test_text_with_tabs_and_emoji_is_still_accepted(client: TestClient) -> None:
    response = client.post("/api/v1/events", json={**EVENT, "name": "행사 🎉", "venue": "홀 A"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "행사 🎉"


# --- scan metadata, location, device ---------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


def test_scan_metadata_too_deep_or_too_large_is_422(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/attendance"
    scan = {"token": "t", "gate_id": gate["id"]}
    cases = [
        ({"metadata": nested(20)}, "metadata", "too_deep"),
        ({"metadata": {"blob": "x" * 20_000}}, "metadata", "too_large"),
        ({"metadata": {f"k{i}": i for i in range(500)}}, "metadata", "too_long"),
        ({"metadata": {"note": "a\x00"}}, "metadata", "invalid_characters"),
        ({"location": {"lat": 1, "extra": nested(20)}}, "location", "too_deep"),
        ({"device": {"id": "d", "blob": "x" * 20_000}}, "device", "too_large"),
    ]
    for extra, field, code in cases:
        response = client.post(url, json={**scan, **extra})
        assert response.status_code == 422, (extra, response.text[:300])
        assert fields_of(response) == {field: code}, extra


def test_bulk_record_metadata_too_deep_is_422_naming_the_record(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/attendance/bulk"
    records = [
        {"token": "t", "gate_id": gate["id"]},
        {"token": "t", "gate_id": gate["id"], "metadata": nested(20)},
    ]
    response = client.post(url, json={"records": records})
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"records.1.metadata": "too_deep"}


def test_scan_with_modest_metadata_is_still_taken(
    client: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['id']}/attendance"
    scan = {
        "token": "t",
        "gate_id": gate["id"],
        "metadata": {"app": {"build": "1.2.3", "flags": [1, 2, {"a": None}]}, "note": "줄\n바꿈"},
        "location": {"lat": 37.5, "lng": 127.0, "floor": "B1"},
        "device": {"id": "d-1", "model": "X"},
    }
    response = client.post(url, json=scan)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "denied"  # a made-up token, but a scan answered


# --- the OpenAPI schema states the limits ----------------------------------------------------------


def test_openapi_schema_declares_the_limits(app_client: TestClient) -> None:
    schemas = app_client.get("/openapi.json").json()["components"]["schemas"]
    event = schemas["EventCreate"]["properties"]
    capacity = next(s for s in event["capacity"]["anyOf"] if s.get("type") == "integer")
    assert capacity["maximum"] <= 2**31 - 1
    assert capacity["minimum"] == 0
    venue = next(s for s in event["venue"]["anyOf"] if s.get("type") == "string")
    assert venue["maxLength"] == 300
    assert "pattern" in venue
    assert "pattern" in event["name"]
    scan = schemas["AttendanceCreate"]["properties"]
    assert scan["metadata"]["maxProperties"] > 0
    assert "depth" in scan["metadata"]["description"]
    assert "pattern" in schemas["GateCreate"]["properties"]["name"]
    person = schemas["ParticipantCreate"]["properties"]
    assert "pattern" in person["email"]
    assert person["custom_fields"]["propertyNames"]["maxLength"] > 0


# --- a property: whatever JSON comes, the answer is a coded refusal or a success, never a 500 ----------

any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=40)  # surrogates, controls too
big_integers = st.integers(min_value=-(2**80), max_value=2**80)
json_values = st.recursive(
    st.none() | st.booleans() | big_integers | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
event_fields = st.fixed_dictionaries(
    {
        "name": st.just("행사") | any_text,
        "starts_at": st.just(EVENT["starts_at"]),
        "ends_at": st.just(EVENT["ends_at"]),
    },
    optional={"venue": any_text | json_values, "capacity": big_integers | json_values},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=event_fields)
@example(body={**EVENT, "capacity": 2**70})
@example(body={**EVENT, "venue": "\udc00", "capacity": 2**31})
@example(body={**EVENT, "name": "\x00"})
def test_any_json_event_body_is_answered_with_a_code_never_a_500(
    client: TestClient, body: dict[str, Any]
) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as escapes
    response = client.post("/api/v1/events", content=raw, headers=JSON)
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code != 201:
        assert error_of(response)["code"] in ("validation_failed", "invalid_json")


# --- path and query ---------------------------------------------------------------------------------


def test_control_characters_in_path_or_query_are_422_naming_them(
    client: TestClient, event: dict[str, Any]
) -> None:
    for path in ("/api/v1/events/%00", "/api/v1/participants/a%00b", "/api/v1/imports/%1b"):
        response = client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert fields_of(response) == {"path": "invalid_characters"}
    response = client.get(f"/api/v1/events/{event['id']}/participants", params={"q": "김\x00"})
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"q": "invalid_characters"}
    assert (
        client.get(f"/api/v1/events/{event['id']}/participants", params={"q": "김 철수"}).status_code == 200
    )


def test_integer_query_parameters_out_of_range_are_422(client: TestClient, event: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/events/{event['id']}/deliveries", params={"before": 2**70})
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"before": "too_large"}
