"""Consent over HTTP and the command line: a registration without the required consent is refused
(``422 consent_required``, Korean and English) on the staff API, the public endpoint and the form;
with it, the consent record is stored and shown (participant, list, export); optional items are not
stored without the optional consent; under 14 a guardian is needed; an import carries a consent
column or confirms consent was collected elsewhere."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from turnout.bootstrap import Turnout

PERSON: dict[str, Any] = {
    "name": "김민준",
    "email": "minjun@example.com",
    "phone": "010-1234-5678",
    "birth_date": "1990-03-15",
    "region": "서울",
    "organization": "한빛소프트",
    "custom_fields": {"shirt": "L"},
}
CHILD_BIRTH = "2013-06-02"  # 12 on the event's first day (2026-06-01)
GUARDIAN = {"name": "김보호", "contact": "010-9876-5432", "consent": True}


def open_event(client: TestClient, **overrides: Any) -> str:
    event = client.post("/api/v1/events", json={**EVENT_BODY, **overrides})
    assert event.status_code == 201, event.text
    event_id = str(event.json()["id"])
    assert client.post(f"/api/v1/events/{event_id}/status", json={"status": "open"}).status_code == 200
    return event_id


@pytest.mark.parametrize("path", ["participants", "registrations"])
def test_registration_without_the_required_consent_is_422_consent_required_in_korean_and_english(
    client: TestClient, path: str
) -> None:
    event_id = open_event(client)
    url = f"/api/v1/events/{event_id}/{path}"
    for consents, language in ((None, "ko"), ({"required": False, "optional": True}, "en")):
        body = PERSON if consents is None else {**PERSON, "consents": consents}
        response = client.post(url, json=body, headers={"Accept-Language": language})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "consent_required"
        assert [(d["field"], d["code"]) for d in error["details"]] == [("consents", "consent_required")]
        if language == "ko":
            assert "필수 동의가 필요합니다" in error["message"]
        else:
            assert error["message"].startswith("Consent to the collection")
    assert client.get(f"/api/v1/events/{event_id}/participants").json()["items"] == []


def test_other_field_errors_with_a_missing_consent_answer_validation_failed_listing_both(
    client: TestClient,
) -> None:
    event_id = open_event(client)
    response = client.post(f"/api/v1/events/{event_id}/participants", json={**PERSON, "email": "nope"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {d["code"] for d in error["details"]} == {"invalid_email", "consent_required"}


def test_staff_registration_stores_and_shows_the_consent_record(client: TestClient) -> None:
    event_id = open_event(client)
    body = {**PERSON, "consents": {"required": True, "optional": True, "marketing": True}}
    response = client.post(f"/api/v1/events/{event_id}/participants", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    consent = created["consent"]
    assert consent["channel"] == "staff"
    assert consent["basis"] == "consent"
    assert (consent["required"], consent["optional"]) == (True, True)
    assert consent["marketing"] is False  # the default notice does not ask for marketing
    assert consent["notice_version"] == 1
    assert len(consent["notice_hash"]) == 64
    assert consent["guardian"] is None
    assert created["phone"] == "+821012345678"  # optional items kept with the optional consent
    assert client.get(f"/api/v1/participants/{created['id']}").json()["consent"] == consent
    listed = client.get(f"/api/v1/events/{event_id}/participants").json()["items"]
    assert listed[0]["consent"] == consent


def test_optional_items_are_not_stored_without_the_optional_consent(client: TestClient) -> None:
    event_id = open_event(client, min_age=14)
    body = {**PERSON, "consents": {"required": True}}
    created = client.post(f"/api/v1/events/{event_id}/participants", json=body).json()
    stored = client.get(f"/api/v1/participants/{created['id']}").json()
    assert (stored["phone"], stored["region"], stored["organization"]) == (None, None, None)
    assert stored["custom_fields"] == {}
    assert stored["birth_date"] == "1990-03-15"  # required by the minimum age: kept
    assert (stored["name"], stored["email"]) == ("김민준", "minjun@example.com")
    assert stored["consent"]["optional"] is False


def test_public_registration_records_the_api_channel(client: TestClient, turnout: Turnout) -> None:
    event_id = open_event(client)
    body = {**PERSON, "consents": {"required": True, "optional": False}}
    response = client.post(f"/api/v1/events/{event_id}/registrations", json=body)
    assert response.status_code == 201, response.text
    (person,) = client.get(f"/api/v1/events/{event_id}/participants").json()["items"]
    assert person["consent"]["channel"] == "api"
    assert person["phone"] is None


def test_birth_date_is_required_when_the_event_has_a_minimum_age(client: TestClient) -> None:
    event_id = open_event(client, min_age=14)
    body = {**{k: v for k, v in PERSON.items() if k != "birth_date"}, "consents": {"required": True}}
    response = client.post(f"/api/v1/events/{event_id}/participants", json=body)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(d["field"], d["code"]) for d in details] == [("birth_date", "missing_field")]


def test_default_minimum_age_is_14(client: TestClient) -> None:
    body = {k: v for k, v in EVENT_BODY.items() if k != "min_age"}
    assert client.post("/api/v1/events", json=body).json()["min_age"] == 14


@pytest.mark.parametrize("path", ["participants", "registrations"])
def test_a_child_under_14_needs_a_guardian_and_the_guardian_is_recorded(
    client: TestClient, path: str
) -> None:
    event_id = open_event(client, min_age=10)
    url = f"/api/v1/events/{event_id}/{path}"
    child = {**PERSON, "birth_date": CHILD_BIRTH}
    for guardian in (None, {**GUARDIAN, "consent": False}, {**GUARDIAN, "contact": ""}):
        consents = {"required": True, "optional": True, "guardian": guardian}
        response = client.post(url, json={**child, "consents": consents}, headers={"Accept-Language": "ko"})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "guardian_consent_required"
        assert error["details"][0]["field"] == "consents.guardian"
        assert "법정대리인" in error["message"]
    response = client.post(url, json={**child, "consents": {"required": True, "guardian": GUARDIAN}})
    assert response.status_code == 201, response.text
    (person,) = client.get(f"/api/v1/events/{event_id}/participants").json()["items"]
    assert person["consent"]["guardian"] == {"name": "김보호", "contact": "010-9876-5432", "consented": True}


def test_an_adult_needs_no_guardian_and_an_event_without_age_rule_takes_no_birth_date(
    client: TestClient,
) -> None:
    event_id = open_event(client, min_age=0)
    url = f"/api/v1/events/{event_id}/participants"
    body = {k: v for k, v in PERSON.items() if k != "birth_date"}
    assert client.post(url, json={**body, "consents": {"required": True}}).status_code == 201
    child = {
        **PERSON,
        "email": "child@example.com",
        "birth_date": CHILD_BIRTH,
        "consents": {"required": True},
    }
    refused = client.post(url, json=child)
    assert refused.json()["error"]["code"] == "guardian_consent_required"


def test_the_form_refuses_without_consent_and_records_the_form_channel_with_it(
    client: TestClient, app_client: TestClient
) -> None:
    event_id = open_event(client, min_age=10)
    page = f"/events/{event_id}/register"
    shown = app_client.get(page, params={"lang": "ko"})
    assert 'name="consent_required"' in shown.text
    assert 'name="guardian_name"' in shown.text  # the event admits children: the guardian block
    form = {
        "name": "김민준",
        "email": "minjun@example.com",
        "birth_date": "1990-03-15",
        "phone": "010-1234-5678",
    }
    refused = app_client.post(page, params={"lang": "ko"}, data=form)
    assert refused.status_code == 422
    assert "필수 동의가 필요합니다" in refused.text
    english = app_client.post(page, params={"lang": "en"}, data=form)
    assert "Consent to the collection" in english.text
    child = {**form, "email": "child@example.com", "birth_date": CHILD_BIRTH, "consent_required": "on"}
    no_guardian = app_client.post(page, params={"lang": "ko"}, data=child)
    assert no_guardian.status_code == 422
    assert "법정대리인" in no_guardian.text
    done = app_client.post(
        page,
        params={"lang": "ko"},
        data={
            **child,
            "guardian_name": "김보호",
            "guardian_contact": "010-9876-5432",
            "guardian_consent": "on",
        },
    )
    assert done.status_code == 201, done.text
    accepted = app_client.post(page, params={"lang": "ko"}, data={**form, "consent_required": "on"})
    assert accepted.status_code == 201
    people = {p["email"]: p for p in client.get(f"/api/v1/events/{event_id}/participants").json()["items"]}
    assert people["minjun@example.com"]["consent"]["channel"] == "form"
    assert people["minjun@example.com"]["phone"] is None  # no optional consent: not stored
    assert people["child@example.com"]["consent"]["guardian"]["name"] == "김보호"


def test_the_export_shows_each_consent(client: TestClient) -> None:
    event_id = open_event(client)
    url = f"/api/v1/events/{event_id}/participants"
    assert (
        client.post(url, json={**PERSON, "consents": {"required": True, "optional": True}}).status_code == 201
    )
    response = client.get(f"{url}/export", params={"format": "csv", "headers": "codes"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["consent_channel"] == "staff"
    assert rows[0]["consent_basis"] == "consent"
    assert (rows[0]["consent_optional"], rows[0]["consent_marketing"]) == ("true", "false")
    assert rows[0]["notice_version"] == "1"
    assert rows[0]["consent_given_at"].endswith("+09:00")  # in the event's zone


# --- imports ----------------------------------------------------------------------------------------


def upload(client: TestClient, event_id: str, content: str, **form: Any) -> Any:
    files = {"file": ("people.csv", content.encode(), "text/csv")}
    return client.post(f"/api/v1/events/{event_id}/imports", files=files, data=form)


def test_an_import_without_a_consent_column_or_confirmation_is_refused_with_nothing_saved(
    client: TestClient, turnout: Turnout
) -> None:
    event_id = open_event(client)
    content = "이름,이메일\n김민준,minjun@example.com\n"
    for language, words in (("ko", "동의 열이 없습니다"), ("en", "no consent column")):
        response = client.post(
            f"/api/v1/events/{event_id}/imports",
            files={"file": ("people.csv", content.encode(), "text/csv")},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "consent_missing"
        assert words in response.json()["error"]["message"]
    assert turnout.importer.run_pending() == 0  # nothing queued
    assert client.get(f"/api/v1/events/{event_id}/participants").json()["items"] == []


def test_an_import_with_a_consent_column_refuses_rows_without_consent_by_line(
    client: TestClient, turnout: Turnout
) -> None:
    event_id = open_event(client)
    content = (
        "이름,이메일,휴대폰,개인정보 동의,선택 동의\n"
        "김민준,minjun@example.com,010-1234-5678,Y,Y\n"
        "이서연,seoyeon@example.com,010-2345-6789,N,Y\n"
        "박지훈,jihoon@example.com,,,\n"
        "최유진,yujin@example.com,010-3456-7890,동의,미동의\n"
    )
    job = upload(client, event_id, content)
    assert job.status_code == 202, job.text
    turnout.importer.run_pending()
    done = client.get(f"/api/v1/imports/{job.json()['id']}").json()
    assert done["summary"] == {"total": 4, "created": 2, "updated": 0, "duplicates": 0, "invalid": 2}
    errors = client.get(f"/api/v1/imports/{job.json()['id']}/errors.csv", headers={"Accept-Language": "ko"})
    rows = list(csv.reader(io.StringIO(errors.text.lstrip("\ufeff"))))
    assert [(r[5], r[6], r[7]) for r in rows[1:]] == [
        ("3", "개인정보 동의", "consent_required"),
        ("4", "개인정보 동의", "consent_required"),
    ]
    people = {p["email"]: p for p in client.get(f"/api/v1/events/{event_id}/participants").json()["items"]}
    assert set(people) == {"minjun@example.com", "yujin@example.com"}
    assert people["minjun@example.com"]["consent"]["channel"] == "import"
    assert people["minjun@example.com"]["consent"]["basis"] == "consent"
    assert people["minjun@example.com"]["phone"] == "+821012345678"
    assert people["yujin@example.com"]["phone"] is None  # no optional consent: not stored
    assert people["yujin@example.com"]["consent"]["optional"] is False


def test_an_import_confirmed_as_collected_elsewhere_is_saved_with_that_basis(
    client: TestClient, turnout: Turnout
) -> None:
    event_id = open_event(client)
    content = "이름,이메일,휴대폰\n김민준,minjun@example.com,010-1234-5678\n"
    refused = upload(client, event_id, content, consent_basis="somewhere")
    assert refused.status_code == 422
    job = upload(client, event_id, content, consent_basis="collected_elsewhere")
    assert job.status_code == 202, job.text
    turnout.importer.run_pending()
    (person,) = client.get(f"/api/v1/events/{event_id}/participants").json()["items"]
    assert person["consent"]["basis"] == "collected_elsewhere"
    assert person["consent"]["channel"] == "import"
    assert person["consent"]["optional"] is True  # the organiser confirmed the file's content
    assert person["phone"] == "+821012345678"


def test_an_import_refuses_a_child_without_a_guardian_and_records_one_with_it(
    client: TestClient, turnout: Turnout
) -> None:
    event_id = open_event(client, min_age=10)
    content = (
        "이름,이메일,생년월일,개인정보 동의,보호자 이름,보호자 연락처,보호자 동의\n"
        f"김아이,child@example.com,{CHILD_BIRTH},Y,김보호,010-9876-5432,예\n"
        f"이아이,child2@example.com,{CHILD_BIRTH},Y,,,\n"
        "박어른,adult@example.com,1990-01-01,Y,,,\n"
    )
    job = upload(client, event_id, content).json()
    turnout.importer.run_pending()
    done = client.get(f"/api/v1/imports/{job['id']}").json()
    assert done["summary"]["created"] == 2
    assert done["summary"]["invalid"] == 1
    people = {p["email"]: p for p in client.get(f"/api/v1/events/{event_id}/participants").json()["items"]}
    assert people["child@example.com"]["consent"]["guardian"] == {
        "name": "김보호",
        "contact": "010-9876-5432",
        "consented": True,
    }
    assert "child2@example.com" not in people


def test_an_import_for_an_event_with_a_minimum_age_needs_a_birth_date_column(
    client: TestClient, turnout: Turnout
) -> None:
    event_id = open_event(client, min_age=14)
    job = upload(client, event_id, "이름,이메일,동의\n김민준,minjun@example.com,Y\n").json()
    turnout.importer.run_pending()
    done = client.get(f"/api/v1/imports/{job['id']}").json()
    assert (done["status"], done["error"]["code"]) == ("failed", "missing_column")
    assert done["error"]["params"]["column"] == "birth_date"


def test_a_transfer_needs_the_new_holders_consent_and_records_it_through_the_transfer_channel(
    client: TestClient,
) -> None:
    event_id = open_event(client)
    url = f"/api/v1/events/{event_id}/participants"
    old = client.post(url, json={**PERSON, "consents": {"required": True}}).json()
    new_holder = {"name": "이바다", "email": "sea@example.com", "phone": "010-2222-3333"}
    refused = client.post(f"/api/v1/participants/{old['id']}/transfer", json=new_holder)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "consent_required"
    started = client.post(
        f"/api/v1/participants/{old['id']}/transfer",
        json={**new_holder, "consents": {"required": True, "optional": False}},
    )
    assert started.status_code == 202, started.text
    saga = started.json()
    assert saga["state"] == "completed"  # no gate system or attendee app: done in the request
    new = client.get(f"/api/v1/participants/{saga['data']['new_participant_id']}").json()
    assert new["consent"]["channel"] == "transfer"
    assert new["consent"]["notice_version"] == 1
    assert new["phone"] is None  # no optional consent: not stored
