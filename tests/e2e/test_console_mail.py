"""The console's mail page ``/events/{event_id}/mail``: the template editor per language and kind
with its preview (whole page without JavaScript, the preview part for htmx), save and reset with
the API's checks and codes, failed mails with a retry (also on the sent-mail log
``/events/{event_id}/emails``), CSRF, scope, Korean and English. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.attendance_support import add_participants
from tests.console_support import ORIGIN, csrf_of, sign_in
from tests.e2e.test_korean_pages import latin_words, visible
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.ports import EmailOutcome, EmailStatus
from turnout.services import mail_queue
from turnout.services.keys import create_key

SUBJECT = "{{ event_name }} — ticket for {{ participant_name }}"
HTML = '<p>Hello {{ participant_name }}</p><img src="cid:{{ qr_cid }}" alt="QR">'
TEXT = "Hello {{ participant_name }}, see {{ ticket_url }}"


def mail_url(event: dict[str, Any]) -> str:
    return f"/events/{event['id']}/mail"


@pytest.fixture
def admin(app_client: TestClient, admin_key: str, event: dict[str, Any]) -> TestClient:
    """A browser signed in as admin (a session, no bearer key: its forms need the CSRF token)."""
    sign_in(app_client, admin_key)
    return app_client


def post_form(
    client: TestClient, path: str, data: dict[str, str], *, page: str | None = None
) -> httpx.Response:
    """Post ``data`` with the CSRF token of ``page`` (default ``path``), as a browser does (a dict:
    ``console_support.post_form`` sends a list of pairs, which httpx takes as raw content)."""
    token = csrf_of(client.get(page or path).text)
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False
    )
    return answer


def api_get(client: TestClient, key: str, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {key}"}).json()


def other_event(client: TestClient, key: str) -> dict[str, Any]:
    body = {
        "name": "다른 행사",
        "starts_at": "2026-07-01T09:00:00+09:00",
        "ends_at": "2026-07-01T18:00:00+09:00",
    }
    created: dict[str, Any] = client.post(
        "/api/v1/events", json=body, headers={"Authorization": f"Bearer {key}"}
    ).json()
    return created


def key_for(turnout: Turnout, role: Role, event_id: str | None, gate_id: str | None = None) -> str:
    with turnout.uow() as uow:
        issued = create_key(
            uow, actor="t", name=f"{role.value}-key", role=role, event_id=event_id, gate_id=gate_id
        )
        uow.commit()
    return issued.key


def failed_mails(turnout: Turnout, event_id: str, statuses: tuple[str, ...]) -> list[str]:
    """One participant's ticket mail per status in ``statuses``, each ended with that status."""
    people = add_participants(turnout, event_id, len(statuses), prefix="김민지")
    with turnout.uow() as uow:
        jobs = [
            mail_queue.resend_ticket(
                uow, participant_id=pid, actor="t", mail_from=turnout.settings.mail_from
            ).id
            for pid, _ in people
        ]
        now = uow.clock.now()
        claimed = uow.mail.claim_due(now=now, lease_until=now + timedelta(minutes=5), sender="s", limit=100)
        by_job = {c.job_id: c for c in claimed}
        uow.mail.record(
            [
                EmailOutcome(
                    job_id=job,
                    participant_id=by_job[job].participant_id,
                    attempt=1,
                    status=status,
                    started_at=now,
                    finished_at=now,
                    next_attempt_at=now + timedelta(hours=1),
                    error="550 5.1.1 mailbox unavailable",
                    smtp_code=550,
                )
                for job, status in zip(jobs, statuses, strict=True)
            ],
            sender="s",
        )
        uow.commit()
    return jobs


def job_status(turnout: Turnout, job_id: str) -> str:
    with turnout.uow(readonly=True) as uow:
        job = uow.mail.get(job_id)
    assert job is not None
    return job.status


# --- the editor -------------------------------------------------------------------------------------


def test_the_page_shows_the_built_in_template_and_its_preview_in_english_and_korean(
    admin: TestClient, event: dict[str, Any]
) -> None:
    en = admin.get(mail_url(event), params={"lang": "en", "locale": "en"})
    assert en.status_code == 200
    assert 'data-overridden="false"' in en.text
    for name in ("subject", "html", "text"):
        assert f'name="{name}"' in en.text
    assert "Jane Doe" in en.text  # the sample participant, in the preview
    assert 'data-preview="html"' in en.text
    assert "srcdoc=" in en.text
    assert "data:image/png;base64," in en.text  # the sample ticket's QR in place of the mail's image
    assert 'aria-current="page" data-locale="en"' in en.text
    ko = admin.get(mail_url(event), params={"lang": "ko", "locale": "ko"})
    assert ko.status_code == 200
    for words in ("메일 템플릿", "미리 보기", "저장"):
        assert words in ko.text
    assert "홍길동" in ko.text
    assert f"/events/{event['id']}/emails?lang=ko" in ko.text  # the sent-mail log is linked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # rendering only
def test_korean_page_has_no_english_outside_the_template_source(
    admin: TestClient, event: dict[str, Any]
) -> None:
    html = admin.get(mail_url(event), params={"lang": "ko"}).text
    html = re.sub(r"<textarea[^>]*>.*?</textarea>", "", html, flags=re.S)
    html = re.sub(r'(<input id="mail-subject" name="subject" value=")[^"]*', r"\1", html)
    html = re.sub(r'<dd data-preview="subject">.*?</dd>', "", html, flags=re.S)
    chunks, _ = visible(html)
    assert not {chunk: latin_words(chunk) for chunk in chunks if latin_words(chunk)}


def test_saving_a_template_overrides_it_for_that_language_only(
    admin: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    path = f"{mail_url(event)}/templates/en"
    answer = post_form(
        admin,
        path + "?lang=en",
        {"subject": SUBJECT, "html": HTML, "text": TEXT, "kind": "ticket"},
        page=mail_url(event) + "?locale=en",
    )
    assert answer.status_code == 303
    assert "saved=saved" in answer.headers["location"]
    page = admin.get(answer.headers["location"]).text
    assert 'data-overridden="true"' in page
    assert "— ticket for Jane Doe" in page  # the saved subject, rendered with the sample participant
    assert 'data-notice="saved"' in page
    api = api_get(admin, admin_key, f"/api/v1/events/{event['id']}/mail-templates")["items"]
    assert {item["locale"]: item["overridden"] for item in api} == {"ko": False, "en": True}
    assert next(i for i in api if i["locale"] == "en")["subject"] == SUBJECT


def test_a_template_that_does_not_render_is_refused_beside_its_part_with_what_was_typed(
    admin: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    broken = "{{ participant_name "
    answer = post_form(
        admin,
        f"{mail_url(event)}/templates/en?lang=en",
        {"subject": broken, "html": HTML, "text": "{% if %}", "kind": "ticket"},
        page=mail_url(event),
    )
    assert answer.status_code == 422
    text = answer.text
    assert 'id="mail-subject-error" data-code="template_error"' in text
    assert 'id="mail-text-error" data-code="template_error"' in text
    assert 'id="mail-html-error"' not in text
    assert 'value="{{ participant_name "' in text  # kept as typed
    assert "The template does not render" in text
    ko = post_form(
        admin,
        f"{mail_url(event)}/templates/ko?lang=ko",
        {"subject": "", "html": HTML, "text": TEXT, "kind": "ticket"},
        page=mail_url(event),
    )
    assert ko.status_code == 422
    assert "제목이 비어 있습니다" in ko.text
    with_api = api_get(admin, admin_key, f"/api/v1/events/{event['id']}/mail-templates")["items"]
    assert not any(item["overridden"] for item in with_api)  # nothing was saved


def test_reset_goes_back_to_the_built_in_template(admin: TestClient, event: dict[str, Any]) -> None:
    post_form(
        admin,
        f"{mail_url(event)}/templates/ko",
        {"subject": SUBJECT, "html": HTML, "text": TEXT, "kind": "ticket"},
        page=mail_url(event),
    )
    page = admin.get(mail_url(event), params={"locale": "ko", "lang": "en"}).text
    assert 'data-overridden="true"' in page
    assert f'action="/events/{event["id"]}/mail/templates/ko/reset?lang=en"' in page
    answer = post_form(
        admin, f"{mail_url(event)}/templates/ko/reset", {"kind": "ticket"}, page=mail_url(event)
    )
    assert answer.status_code == 303
    after = admin.get(mail_url(event), params={"locale": "ko", "lang": "en"}).text
    assert 'data-overridden="false"' in after
    assert "/reset" not in after  # nothing to reset


def test_notices_have_their_own_template(admin: TestClient, event: dict[str, Any]) -> None:
    post_form(
        admin,
        f"{mail_url(event)}/templates/en",
        {"subject": "Cancelled: {{ event_name }}", "html": "<p>x</p>", "text": "x", "kind": "cancelled"},
        page=mail_url(event),
    )
    cancelled = admin.get(mail_url(event), params={"locale": "en", "kind": "cancelled", "lang": "en"}).text
    ticket = admin.get(mail_url(event), params={"locale": "en", "kind": "ticket", "lang": "en"}).text
    assert 'data-overridden="true"' in cancelled
    assert "Cancelled: Sample event" in cancelled
    assert 'data-overridden="false"' in ticket


# --- the preview ------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # rendering only
def test_the_htmx_preview_answers_the_preview_part_with_each_error_and_its_code(
    admin: TestClient, event: dict[str, Any]
) -> None:
    token = csrf_of(admin.get(mail_url(event)).text)
    form = {"subject": "Hi {{ participant_name }}", "html": "<b>{{ venue }}</b>", "text": "{{ 1/0 }}"}
    answer = admin.post(
        f"{mail_url(event)}/preview?lang=en",
        data={**form, "locale": "en", "kind": "ticket", "csrf_token": token},
        headers={**ORIGIN, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text  # the part only
    assert '<dd data-preview="subject">Hi Jane Doe</dd>' in answer.text
    assert "COEX" in answer.text  # the html part, rendered (in the iframe's srcdoc)
    assert 'data-field="text" data-code="template_error"' in answer.text
    assert 'data-preview="text"' not in answer.text  # the part that failed is not shown


def test_the_preview_button_without_javascript_shows_the_whole_page_with_what_was_typed(
    admin: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    answer = post_form(
        admin,
        f"{mail_url(event)}/preview?lang=ko",
        {
            "subject": "안녕하세요 {{ participant_name }}님",
            "html": HTML,
            "text": TEXT,
            "locale": "ko",
            "kind": "ticket",
        },
        page=mail_url(event),
    )
    assert answer.status_code == 200
    text = answer.text
    assert "<html" in text
    assert "안녕하세요 홍길동님" in text
    assert 'value="안녕하세요 {{ participant_name }}님"' in text
    templates = api_get(admin, admin_key, f"/api/v1/events/{event['id']}/mail-templates")["items"]
    assert not any(i["overridden"] for i in templates)


# --- failed mails -----------------------------------------------------------------------------------


def test_failed_and_undeliverable_mails_are_listed_and_queued_again_by_retry(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    failed, dead, sent = failed_mails(turnout, str(event["id"]), ("failed", "dead", "sent"))
    page = admin.get(mail_url(event), params={"lang": "en"}).text
    assert f'data-job="{failed}" data-status="failed"' in page
    assert f'data-job="{dead}" data-status="dead"' in page
    assert f'data-job="{sent}"' not in page
    assert page.count(">Send again</button>") == 2
    answer = post_form(admin, f"/events/{event['id']}/emails/{dead}/retry?lang=en", {}, page=mail_url(event))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/events/{event['id']}/mail?retried=")
    assert job_status(turnout, dead) == EmailStatus.QUEUED
    after = admin.get(answer.headers["location"]).text
    assert 'data-notice="retried"' in after
    assert f'data-job="{dead}"' not in after
    # queued now: a second retry is refused with its code and the mail's state in words
    again = post_form(admin, f"/events/{event['id']}/emails/{dead}/retry?lang=en", {}, page=mail_url(event))
    assert again.status_code == 409
    assert 'data-code="email_not_retriable"' in again.text
    assert "it is Queued" in again.text
    sent_again = post_form(
        admin, f"/events/{event['id']}/emails/{sent}/retry?lang=ko", {}, page=mail_url(event)
    )
    assert sent_again.status_code == 409
    assert "발송 완료" in sent_again.text
    unknown = post_form(admin, f"/events/{event['id']}/emails/no-such-job/retry", {}, page=mail_url(event))
    assert unknown.status_code == 404


def test_the_sent_mail_log_keeps_its_url_and_retries_back_to_itself(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    (dead,) = failed_mails(turnout, str(event["id"]), ("dead",))
    log = f"/events/{event['id']}/emails"
    page = admin.get(log, params={"lang": "ko"})
    assert page.status_code == 200
    assert f'data-status="dead" data-job="{dead}"' in page.text
    assert "다시 발송" in page.text
    assert f'href="/events/{event["id"]}/mail?lang=ko"' in page.text
    answer = post_form(admin, f"{log}/{dead}/retry", {"back": "emails"}, page=log)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{log}?retried=")
    assert job_status(turnout, dead) == EmailStatus.QUEUED


def test_a_mail_of_another_event_is_not_found_from_this_events_page(
    admin: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any]
) -> None:
    other = other_event(admin, admin_key)
    (dead,) = failed_mails(turnout, str(other["id"]), ("dead",))
    answer = post_form(admin, f"/events/{event['id']}/emails/{dead}/retry", {}, page=mail_url(event))
    assert answer.status_code == 404
    assert job_status(turnout, dead) == EmailStatus.DEAD


# --- refusals ---------------------------------------------------------------------------------------


def test_forms_without_the_pages_csrf_token_are_refused(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    (dead,) = failed_mails(turnout, str(event["id"]), ("dead",))
    form = {"subject": SUBJECT, "html": HTML, "text": TEXT, "kind": "ticket", "csrf_token": "0" * 64}
    for path, data in (
        (f"{mail_url(event)}/templates/en", form),
        (f"{mail_url(event)}/templates/en/reset", {"csrf_token": "bad"}),
        (f"{mail_url(event)}/preview", form),
        (f"/events/{event['id']}/emails/{dead}/retry", {}),
    ):
        answer = admin.post(path + "?lang=en", data=data, headers=ORIGIN, follow_redirects=False)
        assert answer.status_code == 403, path
        assert 'data-error-code="csrf_failed"' in answer.text, path
    assert job_status(turnout, dead) == EmailStatus.DEAD


def test_keys_outside_their_scope_get_a_403_page_and_unknown_events_a_404_page(
    app_client: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    other = other_event(app_client, admin_key)
    (dead,) = failed_mails(turnout, str(event["id"]), ("dead",))
    for key in (
        key_for(turnout, Role.STAFF, str(other["id"])),
        key_for(turnout, Role.GATE, str(event["id"]), str(gate["id"])),
    ):
        app_client.cookies.clear()
        sign_in(app_client, key)
        page = app_client.get(mail_url(event), params={"lang": "en"})
        assert page.status_code == 403
        assert "text/html" in page.headers["content-type"]
        token = csrf_of(app_client.get("/?lang=en").text)
        for path, data in (
            (f"{mail_url(event)}/templates/en", {"subject": SUBJECT, "html": HTML, "text": TEXT}),
            (f"/events/{event['id']}/emails/{dead}/retry", {}),
        ):
            answer = app_client.post(
                path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False
            )
            assert answer.status_code == 403, path
    assert job_status(turnout, dead) == EmailStatus.DEAD
    app_client.cookies.clear()
    sign_in(app_client, key_for(turnout, Role.STAFF, str(event["id"])))  # a staff key of this event
    assert app_client.get(mail_url(event)).status_code == 200
    app_client.cookies.clear()
    sign_in(app_client, admin_key)
    missing = app_client.get("/events/no-such-event/mail", params={"lang": "ko"})
    assert missing.status_code == 404
    assert "페이지" in missing.text or "행사" in missing.text  # the error page, in Korean
