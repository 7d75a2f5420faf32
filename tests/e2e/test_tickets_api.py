"""Tickets over HTTP: QR images, the public key and offline verification, reissue and cancel with the
revocation list, resend, template overrides, the sent-mail list and the ticket page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.consent_support import consenting
from tests.qr_decode import decode_png, decode_svg, png_pixels, qr_details_png
from tests.ticket_support import deliver
from turnout.adapters.db.tables import outbox, participants
from turnout.adapters.signing import load_public, verifier
from turnout.bootstrap import Turnout, mail_sender
from turnout.domain.tickets import TicketError, verify_token


@pytest.fixture
def event_id(client: TestClient) -> str:
    event: dict[str, Any] = client.post("/api/v1/events", json=EVENT_BODY).json()
    assert client.post(f"/api/v1/events/{event['id']}/status", json={"status": "open"}).status_code == 200
    return str(event["id"])


@pytest.fixture
def participant(client: TestClient, event_id: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/events/{event_id}/participants",
        json=consenting({"name": "김민준", "email": "minjun@example.com"}),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_qr_images_decode_to_the_participants_token_when_fetched(
    client: TestClient, participant: dict[str, Any]
) -> None:
    base = f"/api/v1/participants/{participant['id']}"
    png = client.get(f"{base}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    text, level = qr_details_png(png.content)
    assert text == participant["token"]
    assert level == "M"
    assert png_pixels(png.content)[0] == 424  # (45 + 2 * 4) modules x 8 px: phone screens
    large = client.get(f"{base}/qr.png", params={"scale": 16})
    assert png_pixels(large.content)[0] == 848  # print
    assert decode_png(large.content) == participant["token"]
    svg = client.get(f"{base}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert decode_svg(svg.content) == participant["token"]
    assert client.get(f"{base}/qr.png", params={"scale": 100}).status_code == 422
    assert client.get("/api/v1/participants/nope/qr.png").json()["error"]["code"] == "participant_not_found"


def test_tokens_verify_offline_with_the_served_key_and_other_events_are_refused_when_checked(
    client: TestClient, event_id: str, participant: dict[str, Any]
) -> None:
    key = client.get(f"/api/v1/events/{event_id}/ticket-key").json()
    assert key["algorithm"] == "Ed25519"
    verify = verifier(load_public(key["public_key"]))
    claims = verify_token(participant["token"], event_id=event_id, verify=verify)
    assert claims.participant_id == participant["id"]
    assert claims.version == 1
    other = client.post("/api/v1/events", json={**EVENT_BODY, "name": "other"}).json()
    other_key = client.get(f"/api/v1/events/{other['id']}/ticket-key").json()["public_key"]
    assert other_key != key["public_key"]
    with pytest.raises(TicketError) as info:
        verify_token(participant["token"], event_id=other["id"], verify=verifier(load_public(other_key)))
    assert info.value.code == "wrong_event"


def test_reissue_gives_a_new_token_and_revokes_the_old_one_when_requested(
    client: TestClient, event_id: str, participant: dict[str, Any], turnout: Turnout
) -> None:
    response = client.post(f"/api/v1/participants/{participant['id']}/reissue-ticket")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket_version"] == 2
    assert body["token"] != participant["token"]
    revoked = client.get(f"/api/v1/events/{event_id}/revocations").json()["items"]
    assert [(r["token"], r["reason"], r["version"]) for r in revoked] == [
        (participant["token"], "reissued", 1)
    ]
    assert decode_png(client.get(f"/api/v1/participants/{participant['id']}/qr.png").content) == body["token"]
    # registered and reissued both reach the mail handler now: only the current ticket is mailed, once
    deliver(turnout)
    emails = client.get(f"/api/v1/events/{event_id}/emails").json()["items"]
    assert [e["ticket_version"] for e in emails] == [2]
    old_page = client.get(f"/t/{participant['token']}?lang=en")
    assert old_page.status_code == 200
    assert 'data-status="replaced"' in old_page.text
    assert "<svg" not in old_page.text


def test_cancel_revokes_the_ticket_and_tells_the_bus_when_requested(
    client: TestClient, event_id: str, participant: dict[str, Any], turnout: Turnout
) -> None:
    response = client.post(f"/api/v1/participants/{participant['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/participants/{participant['id']}/cancel")
    assert again.status_code == 200
    revoked = client.get(f"/api/v1/events/{event_id}/revocations").json()["items"]
    assert [(r["token"], r["reason"]) for r in revoked] == [(participant["token"], "cancelled")]
    with turnout.uow(readonly=True) as uow:
        facts = uow.conn.execute(sa.select(outbox.c.type, outbox.c.data).order_by(outbox.c.seq)).all()
    cancelled = [data for kind, data in facts if kind == "participant.cancelled"]
    assert len(cancelled) == 1  # cancelling twice says it once
    assert cancelled[0]["participant_id"] == participant["id"]
    assert "email" not in cancelled[0]
    refused = client.post(f"/api/v1/participants/{participant['id']}/resend-ticket")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "participant_cancelled"
    page = client.get(f"/t/{participant['token']}", headers={"Accept-Language": "ko"})
    assert 'data-status="cancelled"' in page.text
    assert "취소된 입장권" in page.text


def test_resend_queues_a_new_message_when_asked(
    client: TestClient, event_id: str, participant: dict[str, Any], turnout: Turnout
) -> None:
    deliver(turnout)
    response = client.post(f"/api/v1/participants/{participant['id']}/resend-ticket")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    emails = client.get(f"/api/v1/events/{event_id}/emails", params={"participant_id": participant["id"]})
    items = emails.json()["items"]
    assert len(items) == 2
    assert len({e["message_id"] for e in items}) == 2
    assert client.get(f"/api/v1/participants/{participant['id']}").json()["email_status"] == "queued"
    only_queued = client.get(f"/api/v1/events/{event_id}/emails", params={"status": "sent"}).json()
    assert only_queued["items"] == []


def test_template_override_is_refused_with_the_error_when_it_does_not_render(
    client: TestClient, event_id: str
) -> None:
    url = f"/api/v1/events/{event_id}/mail-templates/en"
    broken = client.put(
        url, json={"subject": "Hi", "html": "<p>{{ participant_name }</p>", "text": "{{ nope }}"}
    )
    assert broken.status_code == 422
    details = {d["field"]: d for d in broken.json()["error"]["details"]}
    assert set(details) == {"html", "text"}
    assert details["html"]["code"] == "template_error"
    assert "nope" in details["text"]["message"]
    listed = client.get(f"/api/v1/events/{event_id}/mail-templates").json()["items"]
    assert [t["overridden"] for t in listed] == [False, False]

    good = {
        "subject": "Hi {{ participant_name }}",
        "html": "<p>{{ ticket_url }}</p>",
        "text": "{{ ticket_url }}",
    }
    saved = client.put(url, json=good)
    assert saved.status_code == 200, saved.text
    listed = {t["locale"]: t for t in client.get(f"/api/v1/events/{event_id}/mail-templates").json()["items"]}
    assert listed["en"]["overridden"] is True
    assert listed["en"]["subject"] == good["subject"]
    assert listed["ko"]["overridden"] is False
    assert client.delete(url).status_code == 204
    listed = client.get(f"/api/v1/events/{event_id}/mail-templates").json()["items"]
    assert [t["overridden"] for t in listed] == [False, False]


def test_a_notice_template_is_overridden_by_kind_and_leaves_the_ticket_email_alone(
    client: TestClient, event_id: str
) -> None:
    url = f"/api/v1/events/{event_id}/mail-templates/ko"
    notice = {
        "subject": "{{ event_name }}: 양도 완료",
        "html": "<p>{{ participant_name }}</p>",
        "text": "양도",
    }
    saved = client.put(url, params={"kind": "transferred"}, json=notice)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["kind"], saved.json()["overridden"]) == ("transferred", True)
    listed = client.get(f"/api/v1/events/{event_id}/mail-templates", params={"kind": "transferred"}).json()
    assert {t["locale"]: t["overridden"] for t in listed["items"]} == {"ko": True, "en": False}
    assert "transferred" in listed["items"][1]["subject"]  # the built-in English notice
    tickets = client.get(f"/api/v1/events/{event_id}/mail-templates").json()["items"]
    assert [t["overridden"] for t in tickets] == [False, False]
    refused = client.put(url, params={"kind": "unknown"}, json=notice)
    assert refused.status_code == 422
    assert client.delete(url, params={"kind": "transferred"}).status_code == 204
    listed = client.get(f"/api/v1/events/{event_id}/mail-templates", params={"kind": "transferred"}).json()
    assert [t["overridden"] for t in listed["items"]] == [False, False]


def test_ticket_page_shows_event_qr_and_status_in_both_languages_when_opened(
    client: TestClient, participant: dict[str, Any]
) -> None:
    token = participant["token"]
    korean = client.get(f"/t/{token}", headers={"Accept-Language": "ko-KR"})
    assert korean.status_code == 200
    assert korean.headers["cache-control"] == "private, no-store"
    assert 'data-status="valid"' in korean.text
    assert "유효한 입장권" in korean.text
    assert EVENT_BODY["name"] in korean.text
    assert "2026년 6월 1일 (월) 09:00" in korean.text
    assert "<svg" in korean.text
    english = client.get(f"/t/{token}?lang=en")
    assert "Valid ticket" in english.text
    assert "Mon 1 June 2026, 09:00" in english.text
    assert decode_png(client.get(f"/t/{token}/qr.png").content) == token
    assert client.get(f"/t/{token[:-4]}AAAA").status_code == 404  # altered
    assert client.get("/t/not-a-token").status_code == 404


def test_ticket_page_says_checked_in_when_the_participant_was_admitted(
    client: TestClient, event_id: str, participant: dict[str, Any], turnout: Turnout
) -> None:
    with turnout.uow() as uow:
        uow.conn.execute(
            participants.update()
            .where(participants.c.id == participant["id"])
            .values(check_in_status="inside")
        )
        uow.commit()
    page = client.get(f"/t/{participant['token']}?lang=en")
    assert 'data-status="checked_in"' in page.text
    assert "Checked in" in page.text


def test_console_lists_sent_mail_when_the_sender_has_run(
    client: TestClient, app_client: TestClient, event_id: str, participant: dict[str, Any], turnout: Turnout
) -> None:
    deliver(turnout)
    assert asyncio.run(mail_sender(turnout).drain()) == 1
    page = client.get(f"/events/{event_id}/emails?lang=en")
    assert page.status_code == 200
    assert "minjun@example.com" in page.text
    assert 'data-status="sent"' in page.text
    assert 'data-count="sent">1<' in page.text
    korean = client.get(f"/events/{event_id}/emails", params={"status": "dead", "lang": "ko"})
    assert "아직 메일이 없습니다" in korean.text
    listed = client.get(f"/api/v1/events/{event_id}/emails").json()["items"]
    assert [(e["status"], e["to_address"]) for e in listed] == [("sent", "minjun@example.com")]
    assert listed[0]["subject"] == f"[{EVENT_BODY['name']}] 입장권"
    app_client.headers.pop("Authorization", None)
    assert app_client.get(f"/events/{event_id}/emails").status_code == 401
