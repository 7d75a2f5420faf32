"""API refusals in Korean name what they are about in Korean: the field that matched, the limit
that was passed, the statuses; the codes and params stay English. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.test_participants_api import PERSON, open_event

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def test_already_registered_says_which_field_matched_and_what_to_do(client: TestClient) -> None:
    event_id = open_event(client)["id"]
    url = f"/api/v1/events/{event_id}/participants"
    assert client.post(url, json=PERSON).status_code == 201
    again = client.post(url, json={**PERSON, "email": "MINJUN.KIM@example.com"}, headers=KO)
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["params"]) == ("already_registered", {"field": "email"})
    assert "일치한 항목: 이메일" in error["message"]
    assert "입장권을 다시 발송" in error["message"]
    assert _LATIN_WORD.findall(error["message"]) == []


def test_a_too_long_value_is_refused_with_its_limit(client: TestClient) -> None:
    event_id = open_event(client)["id"]
    response = client.post(
        f"/api/v1/events/{event_id}/participants", json={**PERSON, "phone": "0" * 101}, headers=KO
    )
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["code"]) == ("phone", "too_long")
    assert detail["params"] == {"max": 100, "unit": "characters"}
    assert detail["message"] == "너무 깁니다. 100자 이하로 입력해 주세요."


def test_a_six_digit_birth_date_is_understood(client: TestClient) -> None:
    event_id = open_event(client)["id"]
    response = client.post(
        f"/api/v1/events/{event_id}/participants", json={**PERSON, "birth_date": "900315"}, headers=KO
    )
    assert response.status_code == 201, response.text
    ambiguous = client.post(
        f"/api/v1/events/{event_id}/participants",
        json={**PERSON, "email": "other@example.com", "birth_date": "150390"},
        headers=KO,
    )
    assert ambiguous.status_code == 422
    (detail,) = ambiguous.json()["error"]["details"]
    assert detail["code"] == "ambiguous_birth_date"
    assert "1990-01-31" in detail["message"]
