"""Hardening of request input (issue 16): body size limits before the body is read and before the
key is checked; bodies that are not JSON or not UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi.testclient import TestClient

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
    body: dict[str, Any] = response.json()
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
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if asked >= len(chunks):
            await anyio.sleep_forever()
        asked += 1
        return {"type": "http.request", "body": chunks[asked - 1], "more_body": asked < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
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
