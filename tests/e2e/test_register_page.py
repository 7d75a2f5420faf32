"""The public registration page (Korean and English)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.e2e.test_participants_api import open_event


def submission_id(html: str) -> str:
    match = re.search(r'name="submission_id" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_page_shows_the_form_in_korean_and_english_for_an_open_event(client: TestClient) -> None:
    event = open_event(client)
    korean = client.get(f"/events/{event['id']}/register", headers={"Accept-Language": "ko"})
    assert korean.status_code == 200
    assert "신청하기" in korean.text
    assert "이메일" in korean.text
    english = client.get(f"/events/{event['id']}/register?lang=en")
    assert "Register" in english.text
    assert 'name="email"' in english.text


def test_page_says_closed_for_a_draft_event(client: TestClient) -> None:
    draft = client.post("/api/v1/events", json=EVENT_BODY).json()
    page = client.get(f"/events/{draft['id']}/register?lang=en")
    assert "not taking registrations" in page.text
    assert "<form" not in page.text


def test_unknown_event_page_is_404(client: TestClient) -> None:
    assert client.get("/events/nope/register").status_code == 404


def test_form_registers_once_even_when_submitted_twice(client: TestClient) -> None:
    event = open_event(client)
    form_page = client.get(f"/events/{event['id']}/register?lang=ko")
    data = {
        "name": "김민준",
        "email": "minjun@example.com",
        "phone": "010-1234-5678",
        "submission_id": submission_id(form_page.text),
        "consent_required": "on",
        "consent_optional": "on",
    }
    first = client.post(f"/events/{event['id']}/register?lang=ko", data=data)
    second = client.post(f"/events/{event['id']}/register?lang=ko", data=data)
    assert first.status_code == second.status_code == 201
    assert "minjun@example.com" in first.text
    items = client.get(f"/api/v1/events/{event['id']}/participants").json()["items"]
    assert len(items) == 1
    assert items[0]["source"] == "form"
    assert items[0]["locale"] == "ko"


def test_form_shows_field_errors_and_keeps_values(client: TestClient) -> None:
    event = open_event(client)
    response = client.post(
        f"/events/{event['id']}/register?lang=en",
        data={
            "name": "김",
            "email": "bad",
            "organization": "한빛",
            "submission_id": "s1",
            "consent_required": "on",
        },
    )
    assert response.status_code == 422
    assert "at least 2 characters" in response.text
    assert "not valid" in response.text
    assert 'value="한빛"' in response.text
    assert client.get(f"/api/v1/events/{event['id']}/participants").json()["items"] == []


def test_form_with_control_characters_is_refused_on_the_page_not_a_500(client: TestClient) -> None:
    event = open_event(client)
    for field, value in [("name", "김\x00민준"), ("region", "서울\x1b"), ("organization", "a\x7fb")]:
        data = {"name": "김민준", "email": "minjun@example.com", field: value, "consent_required": "on"}
        response = client.post(f"/events/{event['id']}/register?lang=en", data=data)
        assert response.status_code == 422, (field, response.text[:200])
        assert "characters that are not allowed" in response.text
    assert client.get(f"/api/v1/events/{event['id']}/participants").json()["items"] == []


def notice_version(html: str) -> int:
    match = re.search(r'name="notice_version" value="(\d+)"', html)
    assert match
    return int(match.group(1))


def test_a_form_sent_under_an_older_notice_is_refused_and_shows_the_notice_in_force(
    client: TestClient,
) -> None:
    event = open_event(client)
    form_page = client.get(f"/events/{event['id']}/register?lang=ko")
    shown = notice_version(form_page.text)
    notice = client.get(f"/api/v1/events/{event['id']}/privacy-notice").json()["content"]
    changed = client.put(
        f"/api/v1/events/{event['id']}/privacy-notice",
        json={**notice, "retention_days": 30, "retention": {"ko": "행사 후 30일", "en": "30 days"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == shown + 1
    data = {
        "name": "김민준",
        "email": "minjun@example.com",
        "submission_id": submission_id(form_page.text),
        "notice_version": str(shown),
        "consent_required": "on",
    }
    refused = client.post(f"/events/{event['id']}/register?lang=ko", data=data)
    assert refused.status_code == 409
    assert "개인정보 처리 안내가 바뀌었습니다" in refused.text
    assert notice_version(refused.text) == shown + 1  # the form again, with the notice in force
    assert "행사 후 30일" in refused.text
    assert client.get(f"/api/v1/events/{event['id']}/participants").json()["items"] == []
    accepted = client.post(
        f"/events/{event['id']}/register?lang=ko", data={**data, "notice_version": str(shown + 1)}
    )
    assert accepted.status_code == 201, accepted.text
    (person,) = client.get(f"/api/v1/events/{event['id']}/participants").json()["items"]
    assert person["consent"]["notice_version"] == shown + 1
