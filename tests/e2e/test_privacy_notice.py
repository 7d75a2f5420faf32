"""An event's privacy notice over HTTP, on SQLite and PostgreSQL: the public read and its versions
(no key), the organiser's PUT with its field errors, the privacy page in Korean and English with its
history, and the consent block of the registration form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.e2e.test_participants_api import open_event
from turnout.bootstrap import Turnout
from turnout.domain.consent import notice_hash
from turnout.domain.integrations import Integration, IntegrationSystem

NOTICE: dict[str, Any] = {
    "purpose": {"ko": "행사 운영과 참가 확인", "en": "Running the event"},
    "required_items": ["name", "email", "birth_date"],
    "optional_items": ["phone", "organization"],
    "retention": {"ko": "행사 후 6개월", "en": "Six months after the event"},
    "retention_days": 180,
    "recipients": [
        {
            "name": {"ko": "한빛 여행사", "en": "Hanbit Travel"},
            "role": "recipient",
            "purpose": {"ko": "숙박 예약", "en": "Hotel booking"},
            "items": ["name", "phone"],
        }
    ],
    "contact": {"ko": "개인정보 담당 김하나 (privacy@example.com)", "en": "Hana Kim (privacy@example.com)"},
    "marketing": True,
    "marketing_purpose": {"ko": "다음 행사 소식", "en": "News of our next events"},
}


def path(event_id: str, rest: str = "") -> str:
    return f"/api/v1/events/{event_id}/privacy-notice{rest}"


def enable_gate_system(turnout: Turnout, event_id: str) -> None:
    with turnout.uow() as uow:
        now = uow.clock.now()
        uow.integrations.put(
            Integration(
                event_id=event_id,
                system=IntegrationSystem.GATE_MANAGEMENT,
                url="https://gates.example.com/hook",
                secret_sealed="sealed",
                enabled=True,
                disabled_reason=None,
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()


def test_public_read_needs_no_key_and_answers_the_default_once_stored(
    app_client: TestClient, client: TestClient, turnout: Turnout
) -> None:
    body = {key: value for key, value in EVENT_BODY.items() if key != "min_age"}  # the default: 14
    event = client.post("/api/v1/events", json=body).json()
    assert event["min_age"] == 14
    anonymous = TestClient(app_client.app)
    first = anonymous.get(path(event["id"]))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["version"], body["created_by"]) == (1, "turnout")
    assert body["content"]["required_items"] == ["name", "email", "birth_date"]  # a minimum age
    assert body["hash"] == re.sub(r"[^0-9a-f]", "", body["hash"])
    assert len(body["hash"]) == 64
    assert anonymous.get(path(event["id"])).json()["version"] == 1
    enable_gate_system(turnout, event["id"])
    second = anonymous.get(path(event["id"])).json()
    assert second["version"] == 2
    assert [r["system"] for r in second["content"]["recipients"]] == ["gate-management"]
    listed = anonymous.get(path(event["id"], "/versions"))
    assert listed.status_code == 200
    assert [v["version"] for v in listed.json()["items"]] == [2, 1]
    assert anonymous.get(path("no-such-event")).status_code == 404


def test_put_stores_the_organisers_notice_completed_and_the_same_body_again_stores_nothing(
    client: TestClient, turnout: Turnout
) -> None:
    event = client.post("/api/v1/events", json=EVENT_BODY).json()
    enable_gate_system(turnout, event["id"])
    answer = client.put(path(event["id"]), json=NOTICE)
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    assert stored["version"] == 1
    assert stored["created_by"] != "turnout"
    assert stored["content"]["purpose"] == NOTICE["purpose"]
    names = [r["name"]["ko"] for r in stored["content"]["recipients"]]
    assert names == ["한빛 여행사", "출입 관리 시스템 운영사"]
    with turnout.uow(readonly=True) as uow:
        current = uow.consent.current_notice(event["id"])
    assert current is not None
    assert notice_hash(current.content) == stored["hash"]
    again = client.put(path(event["id"]), json=NOTICE).json()
    assert again["version"] == 1
    # what the GET answers, put back as it is, is the same notice
    round_trip = client.get(path(event["id"])).json()["content"]
    assert client.put(path(event["id"]), json=round_trip).json()["version"] == 1
    changed = client.put(path(event["id"]), json={**NOTICE, "retention_days": 90}).json()
    assert changed["version"] == 2


def test_put_answers_422_with_every_field_error(client: TestClient) -> None:
    event = client.post("/api/v1/events", json=EVENT_BODY).json()
    body = {
        **NOTICE,
        "purpose": {"en": "English only"},
        "required_items": ["name", "shoe_size"],
        "contact": {"ko": "  "},
    }
    answer = client.put(path(event["id"]) + "?lang=en", json=body)
    assert answer.status_code == 422, answer.text
    details = {(d["field"], d["code"]) for d in answer.json()["error"]["details"]}
    assert ("purpose.ko", "notice_text_required") in details
    assert ("contact.ko", "notice_text_required") in details
    assert ("required_items", "unknown_item") in details
    assert ("required_items", "item_must_be_required") in details
    messages = [d["message"] for d in answer.json()["error"]["details"]]
    assert any("shoe_size" in m for m in messages)
    schema_refused = client.put(path(event["id"]), json={**NOTICE, "recipients": [{"role": "friend"}]})
    assert schema_refused.status_code == 422
    unknown_field = client.put(path(event["id"]), json={**NOTICE, "extra": 1})
    assert unknown_field.status_code == 422
    assert client.get(path(event["id"], "/versions")).json()["items"][0]["created_by"] == "turnout"


def test_put_needs_a_key_that_may_manage_the_event(app_client: TestClient, client: TestClient) -> None:
    event = client.post("/api/v1/events", json=EVENT_BODY).json()
    anonymous = TestClient(app_client.app)
    assert anonymous.put(path(event["id"]), json=NOTICE).status_code == 401


def test_privacy_page_shows_the_pipa_sections_and_the_history_in_korean(
    client: TestClient, turnout: Turnout
) -> None:
    event = client.post("/api/v1/events", json={**EVENT_BODY, "min_age": 0}).json()
    client.get(path(event["id"]))  # version 1: the default
    client.put(path(event["id"]), json={**NOTICE, "required_items": ["name", "email"]})
    page = client.get(f"/events/{event['id']}/privacy?lang=ko")
    assert page.status_code == 200
    for heading in (
        "수집·이용 목적",
        "수집 항목",
        "보유·이용 기간",
        "제3자 제공 및 처리 위탁",
        "동의를 거부할 권리 및 거부 시 불이익",
        "만 14세 미만 아동",
        "법정대리인의 동의",
        "개인정보 보호 담당자 연락처",
        "변경 이력",
    ):
        assert heading in page.text, heading
    assert "이름, 이메일" in page.text  # the required items by their Korean names
    assert "전화번호, 소속" in page.text
    assert "한빛 여행사" in page.text
    assert "숙박 예약" in page.text
    assert "제3자 제공" in page.text
    assert "다음 행사 소식" in page.text
    with turnout.uow(readonly=True) as uow:
        hashes = [n.hash for n in uow.consent.notices(event["id"])]
    assert len(hashes) == 2
    assert all(h in page.text for h in hashes)
    assert f"/events/{event['id']}/privacy?version=1" in page.text
    old = client.get(f"/events/{event['id']}/privacy?version=1&lang=ko")
    assert old.status_code == 200
    assert "지난 버전" in old.text
    assert "한빛 여행사" not in old.text  # version 1 is the default, without the organiser's recipient
    assert client.get(f"/events/{event['id']}/privacy?version=9").status_code == 404
    assert client.get(f"/events/{event['id']}/privacy?version=x").status_code == 404


def test_privacy_page_in_english_and_404_for_an_unknown_event(client: TestClient) -> None:
    event = client.post("/api/v1/events", json={**EVENT_BODY, "min_age": 13}).json()
    page = client.get(f"/events/{event['id']}/privacy", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    for heading in ("Why we collect it", "What we collect", "How long we keep it", "Your right to refuse"):
        assert heading in page.text
    assert "Name, Email, Date of birth" in page.text
    assert "aged 13 or over" in page.text
    assert "Version 1" in page.text
    assert client.get("/events/nope/privacy").status_code == 404


def consent_inputs(html: str) -> set[str]:
    return set(re.findall(r'name="(consent_\w+|guardian_\w+|notice_version)"', html))


def test_register_page_shows_the_notice_summary_and_separate_consents(client: TestClient) -> None:
    event = open_event(client, min_age=14)
    page = client.get(f"/events/{event['id']}/register?lang=ko")
    assert page.status_code == 200
    assert consent_inputs(page.text) == {"consent_required", "consent_optional", "notice_version"}
    assert re.search(
        r'<input type="checkbox" id="consent_required" name="consent_required" value="yes" required',
        page.text,
    )
    assert '<label for="consent_required">' in page.text
    assert 'name="notice_version" value="1"' in page.text
    assert f'href="/events/{event["id"]}/privacy?lang=ko"' in page.text
    assert "개인정보 수집·이용 동의" in page.text
    assert "<legend>" in page.text
    assert page.text.index('name="consent_required"') < page.text.index('type="submit"')
    client.put(path(event["id"]), json=NOTICE)  # asks for marketing consent
    marketing = client.get(f"/events/{event['id']}/register?lang=en")
    assert "consent_marketing" in consent_inputs(marketing.text)
    assert 'name="notice_version" value="2"' in marketing.text
    assert "News of our next events" in marketing.text
    assert "Hanbit Travel" in marketing.text


def test_register_page_shows_the_guardian_block_only_when_the_event_admits_children(
    client: TestClient,
) -> None:
    adults = open_event(client, min_age=14)
    assert not consent_inputs(client.get(f"/events/{adults['id']}/register").text) & {"guardian_name"}
    children = open_event(client, min_age=8)
    page = client.get(f"/events/{children['id']}/register?lang=ko")
    assert {"guardian_name", "guardian_contact", "guardian_consent"} <= consent_inputs(page.text)
    assert "법정대리인" in page.text
    assert '<label for="guardian_contact">' in page.text
