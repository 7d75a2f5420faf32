"""Participants over HTTP: staff registration, public self-registration, list/search, one participant."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.consent_support import ALL, consenting

PERSON = {
    "name": "김민준",
    "email": "MinJun.Kim@Example.com ",
    "phone": "010-1234-5678",
    "birth_date": "1990.03.15",
    "region": "서울",
    "organization": "한빛소프트",
    "custom_fields": {"t-shirt": "L"},
    "consents": ALL,
}


def open_event(client: TestClient, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = client.post("/api/v1/events", json={**EVENT_BODY, **overrides}).json()
    response = client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"})
    assert response.status_code == 200, response.text
    return event


@pytest.fixture
def open_event_id(client: TestClient) -> str:
    return str(open_event(client)["id"])


def test_staff_registration_saves_clean_fields_and_token_when_valid(
    client: TestClient, open_event_id: str
) -> None:
    response = client.post(f"/api/v1/events/{open_event_id}/participants", json=PERSON)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "minjun.kim@example.com"
    assert body["phone"] == "+821012345678"
    assert body["birth_date"] == "1990-03-15"
    assert body["status"] == "registered"
    assert body["check_in_status"] == "not_checked_in"
    assert body["source"] == "api"
    assert len(body["token"]) == 159
    assert body["custom_fields"] == {"t-shirt": "L"}
    again = client.get(f"/api/v1/participants/{body['id']}")
    assert again.status_code == 200
    assert again.json() == body


def test_registration_answers_422_with_every_field_error_when_invalid(
    client: TestClient, open_event_id: str
) -> None:
    body = consenting({"name": "김", "email": "not-an-email", "phone": "12", "birth_date": "1990-13-40"})
    response = client.post(
        f"/api/v1/events/{open_event_id}/participants", json=body, headers={"Accept-Language": "ko"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    codes = {d["field"]: d["code"] for d in error["details"]}
    assert codes == {
        "name": "name_too_short",
        "email": "invalid_email",
        "phone": "invalid_phone",
        "birth_date": "invalid_birth_date",
    }
    assert all(d["message"] for d in error["details"])
    assert client.get(f"/api/v1/events/{open_event_id}/participants").json()["items"] == []


def test_registration_is_refused_when_under_min_age(client: TestClient) -> None:
    event = open_event(client, min_age=19)
    response = client.post(
        f"/api/v1/events/{event['id']}/participants",
        json={**PERSON, "birth_date": "2007-06-02"},  # 18 on 2026-06-01
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["code"] == "under_min_age"
    ok = client.post(
        f"/api/v1/events/{event['id']}/participants", json={**PERSON, "birth_date": "2007-06-01"}
    )
    assert ok.status_code == 201, ok.text


def test_registration_is_refused_with_409_when_event_not_open(client: TestClient) -> None:
    draft = client.post("/api/v1/events", json=EVENT_BODY).json()
    response = client.post(f"/api/v1/events/{draft['id']}/registrations", json=PERSON)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "registration_closed"


def test_registration_is_refused_with_409_when_event_full(client: TestClient) -> None:
    event = open_event(client, capacity=1)
    first = client.post(f"/api/v1/events/{event['id']}/registrations", json=PERSON)
    assert first.status_code == 201, first.text
    second = client.post(
        f"/api/v1/events/{event['id']}/registrations", json={**PERSON, "email": "other@example.com"}
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "event_full"


def test_registration_is_refused_when_email_already_registered(
    client: TestClient, open_event_id: str
) -> None:
    assert client.post(f"/api/v1/events/{open_event_id}/participants", json=PERSON).status_code == 201
    again = client.post(
        f"/api/v1/events/{open_event_id}/participants", json={**PERSON, "email": "MINJUN.KIM@example.com"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_registered"


def test_idempotency_key_makes_double_submit_create_one_participant(
    client: TestClient, open_event_id: str
) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    url = f"/api/v1/events/{open_event_id}/registrations"
    first = client.post(url, json=PERSON, headers=headers)
    second = client.post(url, json=PERSON, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    items = client.get(f"/api/v1/events/{open_event_id}/participants").json()["items"]
    assert len(items) == 1
    other = client.post(url, json={**PERSON, "name": "이서연"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_staff_idempotency_key_replays_same_answer(client: TestClient, open_event_id: str) -> None:
    url = f"/api/v1/events/{open_event_id}/participants"
    first = client.post(url, json=PERSON, headers={"Idempotency-Key": "k1"})
    second = client.post(url, json=PERSON, headers={"Idempotency-Key": "k1"})
    assert first.json()["id"] == second.json()["id"]


def test_public_registration_is_rate_limited_per_client(client: TestClient, open_event_id: str) -> None:
    client.app.state.turnout.settings.registration_rate_limit = 3  # type: ignore[attr-defined]
    url = f"/api/v1/events/{open_event_id}/registrations"
    answers = [client.post(url, json={**PERSON, "email": f"p{i}@example.com"}).status_code for i in range(5)]
    assert answers[:3] == [201, 201, 201]
    assert answers[3:] == [429, 429]
    limited = client.post(url, json={**PERSON, "email": "late@example.com"})
    assert limited.json()["error"]["code"] == "rate_limited"


def test_public_registration_needs_no_key_and_hides_token(
    app_client: TestClient, client: TestClient, open_event_id: str
) -> None:
    headers = {"Authorization": ""}
    response = app_client.post(f"/api/v1/events/{open_event_id}/registrations", json=PERSON, headers=headers)
    assert response.status_code == 201, response.text
    assert "token" not in response.json()


def test_unknown_fields_are_refused(client: TestClient, open_event_id: str) -> None:
    response = client.post(f"/api/v1/events/{open_event_id}/participants", json={**PERSON, "shoe": 42})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["code"] == "unknown_field"


def test_search_finds_by_name_email_phone_and_last_four_digits(
    client: TestClient, open_event_id: str
) -> None:
    url = f"/api/v1/events/{open_event_id}/participants"
    people = [
        {"name": "김민준", "email": "minjun@example.com", "phone": "010-1111-2222"},
        {"name": "이서연", "email": "seoyeon@corp.kr", "phone": "010-3333-4444"},
        {"name": "John Smith", "email": "john@example.org"},
    ]
    for person in people:
        assert client.post(url, json=consenting(person)).status_code == 201

    def names(q: str) -> list[str]:
        return [p["name"] for p in client.get(url, params={"q": q}).json()["items"]]

    assert names("민준") == ["김민준"]
    assert names("john") == ["John Smith"]
    assert names("corp.kr") == ["이서연"]
    assert names("4444") == ["이서연"]
    assert names("010-1111-2222") == ["김민준"]
    assert names("nobody") == []
    assert names("%") == []


def test_list_pages_with_cursor_and_filters_by_status(client: TestClient, open_event_id: str) -> None:
    url = f"/api/v1/events/{open_event_id}/participants"
    for i in range(5):
        person = consenting({"name": f"참가자{i}", "email": f"p{i}@example.com"})
        assert client.post(url, json=person).status_code == 201
    first = client.get(url, params={"limit": 3}).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [p["name"] for p in first["items"] + rest["items"]] == [f"참가자{i}" for i in range(5)]
    assert rest["next_cursor"] is None
    assert client.get(url, params={"status": "cancelled"}).json()["items"] == []


def test_list_filters_by_check_in_state_with_the_other_filters(
    client: TestClient, open_event_id: str
) -> None:
    url = f"/api/v1/events/{open_event_id}/participants"
    ids = []
    for i in range(3):
        person = consenting({"name": f"입장{i}", "email": f"in{i}@example.com"})
        ids.append(client.post(url, json=person).json()["id"])
    turnout = client.app.state.turnout  # type: ignore[attr-defined]
    with turnout.uow() as uow:
        uow.participants.update_fields(ids[1], {"check_in_status": "inside"})
        uow.commit()

    def names(**params: str) -> list[str]:
        answer = client.get(url, params=params)
        assert answer.status_code == 200, answer.text
        return [p["name"] for p in answer.json()["items"]]

    assert names(check_in="inside") == ["입장1"]
    assert names(check_in="not_checked_in") == ["입장0", "입장2"]
    assert names(check_in="inside", q="입장0") == []
    refused = client.get(url, params={"check_in": "somewhere"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "check_in"


def test_unknown_participant_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/participants/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "participant_not_found"


def test_registration_emits_participant_registered_without_personal_data(
    client: TestClient, open_event_id: str
) -> None:
    import sqlalchemy as sa

    from turnout.adapters.db import tables as t

    participant = client.post(f"/api/v1/events/{open_event_id}/participants", json=PERSON).json()
    turnout = client.app.state.turnout  # type: ignore[attr-defined]
    with turnout.uow(readonly=True) as uow:
        rows = uow.conn.execute(
            sa.select(t.outbox).where(t.outbox.c.type == "participant.registered")
        ).fetchall()
    assert len(rows) == 1
    assert rows[0].data == {
        "event_id": open_event_id,
        "participant_id": participant["id"],
        "source": "api",
        "import_id": None,
    }
