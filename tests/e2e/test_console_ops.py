"""The console's operations pages: integrations (a form per system, the secret never shown back, a
test delivery through the delivery machinery to a real local receiver), the delivery log's retry,
sagas with their steps and retry, alerts with acknowledge (and the banner that goes with them).
Every form: success, refusals with their codes, CSRF, scope. Korean and English. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from tests.console_support import ORIGIN, csrf_of, sign_in
from tests.e2e.test_korean_pages import latin_words, visible
from tests.fakes import FakeClock
from tests.integration.test_delivery_sender import SECRET, Receiver
from turnout.bootstrap import Turnout
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.domain.sagas import Saga, SagaKind, SagaState, StepKind, StepRecord, StepState
from turnout.i18n import translate
from turnout.services.alerts import raise_alert
from turnout.services.keys import create_key

GATE = "gate-management"
APP = "attendee-app"
OTHER_SECRET = "whsec_" + "b2JqZWN0aXZlbHktcmFuZG9tLWJ5dGVzLTAx"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test receiver listens on 127.0.0.1: private addresses are let through here (metadata and
    link-local ones never are)."""
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key",
        broker_url="",
        smtp_url="",
        allow_private_webhooks=True,
        _env_file=None,
    )


@pytest.fixture
def now_clock(clock: FakeClock) -> FakeClock:
    clock.set(datetime.now(UTC))  # signatures carry the time; the verifier wants it recent
    return clock


@pytest.fixture
def admin(app_client: TestClient, admin_key: str, event: dict[str, Any], now_clock: FakeClock) -> TestClient:
    """A browser signed in as admin (a session, no bearer key: its forms need the CSRF token)."""
    sign_in(app_client, admin_key)
    return app_client


def post_form(client: TestClient, path: str, data: dict[str, str], *, page: str) -> httpx.Response:
    """Post ``data`` with the session's CSRF token (read from ``page``'s integrations page, which
    always has forms: the token is the session's, whichever page shows it)."""
    event_page = re.match(r"/events/[^/]+", page)
    assert event_page is not None
    token = csrf_of(client.get(event_page.group(0) + "/integrations").text)
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False
    )
    return answer


def api(client: TestClient, key: str, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {key}"}).json()


def key_for(turnout: Turnout, role: Role, event_id: str | None, gate_id: str | None = None) -> str:
    with turnout.uow() as uow:
        issued = create_key(
            uow, actor="t", name=f"{role.value}-key", role=role, event_id=event_id, gate_id=gate_id
        )
        uow.commit()
    return issued.key


def page_of(event: dict[str, Any], what: str) -> str:
    return f"/events/{event['id']}/{what}"


def put(client: TestClient, event: dict[str, Any], system: str, **form: str) -> httpx.Response:
    return post_form(
        client,
        f"{page_of(event, 'integrations')}/{system}?lang=en",
        form,
        page=page_of(event, "integrations"),
    )


def send_test(client: TestClient, event: dict[str, Any], system: str, lang: str = "en") -> str:
    answer = post_form(
        client,
        f"{page_of(event, 'integrations')}/{system}/test?lang={lang}",
        {},
        page=page_of(event, "integrations"),
    )
    assert answer.status_code == 303, answer.text
    shown: str = client.get(answer.headers["location"]).text
    return shown


# --- integrations -----------------------------------------------------------------------------------


def test_each_system_has_a_form_and_a_saved_secret_is_never_shown_back(
    admin: TestClient, admin_key: str, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    page = admin.get(page_of(event, "integrations"), params={"lang": "en"}).text
    for system in (GATE, "analytics-platform", APP, "alerts"):
        assert f'action="/events/{event["id"]}/integrations/{system}?lang=en"' in page
    assert "/test?" not in page  # nothing to test before it is set up
    answer = put(admin, event, GATE, url=receiver.url, secret=SECRET, enabled="true")
    assert answer.status_code == 303
    after = admin.get(answer.headers["location"]).text
    assert 'data-system="gate-management" data-enabled="true"' in after
    assert 'data-notice="saved"' in after
    assert receiver.url in after
    assert SECRET not in after
    assert SECRET.removeprefix("whsec_") not in after
    assert f'action="/events/{event["id"]}/integrations/{GATE}/test?lang=en"' in after
    stored = api(admin, admin_key, f"/api/v1/events/{event['id']}/integrations/{GATE}")
    assert (stored["url"], stored["enabled"]) == (receiver.url, True)
    ko = admin.get(page_of(event, "integrations"), params={"lang": "ko"}).text
    assert "서명용 비밀 키" in ko
    assert "시험 전송 보내기" in ko


def test_refused_fields_are_shown_with_their_codes_and_what_was_typed_but_never_the_secret(
    admin: TestClient, admin_key: str, event: dict[str, Any]
) -> None:
    metadata = "http://169.254.169.254/latest"
    answer = put(admin, event, APP, url=metadata, secret="whsec_nope-not-base64!", enabled="true")
    assert answer.status_code == 422
    text = answer.text
    assert 'id="url-attendee-app-error" data-code="private_address"' in text
    assert 'id="secret-attendee-app-error" data-code="invalid_secret"' in text
    assert f'value="{metadata}"' in text
    assert "nope-not-base64" not in text
    assert api(admin, admin_key, f"/api/v1/events/{event['id']}/integrations")["items"] == []
    scheme = put(admin, event, APP, url="ftp://example.com/hook", secret=SECRET)
    assert 'data-code="invalid_url"' in scheme.text
    no_secret = put(admin, event, APP, url="https://example.com/hook", enabled="true")
    assert no_secret.status_code == 422
    assert 'id="secret-attendee-app-error" data-code="required"' in no_secret.text
    ko = post_form(
        admin,
        f"{page_of(event, 'integrations')}/{APP}?lang=ko",
        {"url": "ftp://example.com/hook", "secret": SECRET},
        page=page_of(event, "integrations"),
    )
    assert ko.status_code == 422
    assert "전송할 수 없는 URL입니다" in ko.text


def test_a_blank_secret_keeps_the_stored_one_and_unticking_enabled_turns_it_off(
    admin: TestClient, admin_key: str, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    put(admin, event, APP, url=receiver.url, secret=SECRET, enabled="true")
    answer = put(admin, event, APP, url=receiver.url + "?v=2", secret="")  # no "enabled": unticked
    assert answer.status_code == 303
    stored = api(admin, admin_key, f"/api/v1/events/{event['id']}/integrations/{APP}")
    assert (stored["url"], stored["enabled"]) == (receiver.url + "?v=2", False)
    page = send_test(admin, event, APP)  # a switched-off integration can still be tested
    assert 'data-status="delivered"' in page
    ((headers, body),) = receiver.requests
    Webhook(SECRET).verify(body, headers)  # signed with the secret kept (raises otherwise)
    with pytest.raises(Exception):  # noqa: B017 - the library's own verification error
        Webhook(OTHER_SECRET).verify(body, headers)


def test_a_test_delivery_reaches_the_receiver_and_the_page_shows_how_it_went(
    admin: TestClient, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    put(admin, event, GATE, url=receiver.url, secret=SECRET, enabled="true")
    receiver.requests.clear()  # the full sync that enabling the gate system may send aside
    page = send_test(admin, event, GATE)
    match = re.search(r'data-test-delivery="([^"]+)" data-status="delivered" data-status-code="200"', page)
    assert match is not None, page
    ((headers, body),) = [r for r in receiver.requests if json.loads(r[1])["type"] == "integration.test"]
    sent = Webhook(SECRET).verify(body, headers)
    assert sent["data"] == {"event_id": event["id"], "system": GATE, "test": True}
    assert headers["webhook-id"] == match.group(1)
    log = admin.get(page_of(event, "deliveries"), params={"lang": "en"}).text
    assert f'data-delivery="{match.group(1)}" data-status="delivered"' in log
    ko = send_test(admin, event, GATE, lang="ko")
    assert "시험 전송 결과" in ko
    assert "전송됨" in ko


def test_a_failing_test_delivery_shows_the_answer_and_is_tried_once(
    admin: TestClient, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver, lambda _r: Response("receiver is down", 503))
    put(admin, event, APP, url=receiver.url, secret=SECRET, enabled="true")
    page = send_test(admin, event, APP)
    assert 'data-status="dead" data-status-code="503"' in page
    assert "receiver is down" in page
    assert len(receiver.requests) == 1


def test_testing_a_system_that_is_not_set_up_is_refused_with_its_code(
    admin: TestClient, event: dict[str, Any]
) -> None:
    answer = post_form(
        admin,
        f"{page_of(event, 'integrations')}/alerts/test?lang=en",
        {},
        page=page_of(event, "integrations"),
    )
    assert answer.status_code == 404
    assert 'data-code="integration_not_found"' in answer.text
    assert "Operator alerts" in answer.text or "alerts" in answer.text
    unknown = post_form(
        admin,
        f"{page_of(event, 'integrations')}/nope?lang=en",
        {"url": "https://example.com"},
        page=page_of(event, "integrations"),
    )
    assert unknown.status_code == 404


# --- deliveries -------------------------------------------------------------------------------------


def test_a_dead_delivery_is_sent_again_by_retry_and_one_in_flight_is_refused(
    admin: TestClient, turnout: Turnout, event: dict[str, Any], httpserver: HTTPServer
) -> None:
    answers = iter([Response("down", 503), Response("ok", 200)])
    receiver = Receiver(httpserver, lambda _r: next(answers))
    put(admin, event, APP, url=receiver.url, secret=SECRET, enabled="true")
    page = send_test(admin, event, APP)
    found = re.search(r'data-test-delivery="([^"]+)"', page)
    assert found is not None
    delivery_id = found.group(1)
    log = admin.get(page_of(event, "deliveries"), params={"lang": "en"}).text
    assert f'action="/events/{event["id"]}/deliveries/{delivery_id}/retry?lang=en"' in log
    retry = f"{page_of(event, 'deliveries')}/{delivery_id}/retry?lang=en"
    answer = post_form(admin, retry, {}, page=page_of(event, "deliveries"))
    assert answer.status_code == 303
    after = admin.get(answer.headers["location"]).text
    assert 'data-notice="retried"' in after
    assert f'data-delivery="{delivery_id}" data-status="pending"' in after
    again = post_form(admin, retry, {}, page=page_of(event, "deliveries"))
    assert again.status_code == 409
    assert 'data-code="delivery_not_finished"' in again.text
    assert "still in progress (pending)" in again.text
    missing = post_form(
        admin, f"{page_of(event, 'deliveries')}/nope/retry", {}, page=page_of(event, "deliveries")
    )
    assert missing.status_code == 404


# --- sagas ------------------------------------------------------------------------------------------


def add_saga(
    turnout: Turnout, event_id: str, state: SagaState, step_state: StepState, error: str | None
) -> str:
    with turnout.uow() as uow:
        now = uow.clock.now()
        saga = Saga(
            id=f"saga-{state.value}",
            kind=SagaKind.TRANSFER,
            event_id=event_id,
            resource=f"participant:{state.value}",
            state=state,
            data={},
            steps=[
                StepRecord(0, "reissue_ticket", StepKind.COMPENSATABLE, StepState.DONE, 1),
                StepRecord(1, "notify_gate_system", StepKind.COMPENSATABLE, step_state, 3, error),
            ],
            deadline=now + timedelta(minutes=10),
            created_at=now,
            updated_at=now,
            error=error,
            finished_at=now if state.finished else None,
        )
        uow.sagas.add(saga, wake_at=now + timedelta(days=1))
        uow.commit()
    return saga.id


def test_sagas_are_listed_with_their_steps_and_a_failed_one_is_tried_again(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    failed = add_saga(turnout, str(event["id"]), SagaState.FAILED, StepState.UNDO_FAILED, "HTTP 503")
    done = add_saga(turnout, str(event["id"]), SagaState.COMPLETED, StepState.DONE, None)
    listing = admin.get(page_of(event, "sagas"), params={"lang": "en"}).text
    assert f'data-saga="{failed}" data-state="failed"' in listing
    assert f'data-saga="{done}" data-state="completed"' in listing
    assert "ticket transfer" in listing
    only = admin.get(page_of(event, "sagas"), params={"lang": "en", "state": "failed"}).text
    assert f'data-saga="{done}"' not in only
    detail = admin.get(f"{page_of(event, 'sagas')}/{failed}", params={"lang": "en"}).text
    assert 'data-step="notify_gate_system" data-state="undo_failed"' in detail
    assert "Undo failed" in detail
    assert "HTTP 503" in detail
    answer = post_form(
        admin, f"{page_of(event, 'sagas')}/{failed}/retry?lang=en", {}, page=page_of(event, "sagas")
    )
    assert answer.status_code == 303
    after = admin.get(answer.headers["location"]).text
    assert f'data-saga="{failed}" data-state="compensating"' in after
    assert 'data-notice="retried"' in after
    # a completed saga has no retry, and a forced one is refused with its code
    finished = admin.get(f"{page_of(event, 'sagas')}/{done}", params={"lang": "en"}).text
    assert "/retry" not in finished
    refused = post_form(
        admin, f"{page_of(event, 'sagas')}/{done}/retry?lang=ko", {}, page=page_of(event, "sagas")
    )
    assert refused.status_code == 409
    assert 'data-code="saga_finished"' in refused.text
    assert "이미 끝난 작업입니다 (상태: 완료)" in refused.text
    assert admin.get(f"{page_of(event, 'sagas')}/nope").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # rendering only
def test_the_saga_page_speaks_korean(admin: TestClient, turnout: Turnout, event: dict[str, Any]) -> None:
    failed = add_saga(turnout, str(event["id"]), SagaState.FAILED, StepState.UNDO_FAILED, "HTTP 503")
    for path in (page_of(event, "sagas"), f"{page_of(event, 'sagas')}/{failed}"):
        chunks, _ = visible(admin.get(path, params={"lang": "ko"}).text)
        assert not {chunk: latin_words(chunk) for chunk in chunks if latin_words(chunk)}, path


# --- alerts -----------------------------------------------------------------------------------------


def raise_one(turnout: Turnout, event_id: str) -> str:
    with turnout.uow() as uow:
        alert = raise_alert(
            uow,
            event_id=event_id,
            saga_id="saga-failed",
            code="compensation_failed",
            details={
                "saga_kind": "transfer",
                "step": "notify_gate_system",
                "attempts": 3,
                "error": "HTTP 503",
            },
        )
        uow.commit()
    return alert.id


def test_acknowledging_an_alert_moves_it_to_the_acknowledged_list_and_the_banner_goes(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    alert_id = raise_one(turnout, str(event["id"]))
    overview = admin.get(page_of(event, "deliveries"), params={"lang": "en"}).text
    assert 'class="banner-alert"' in overview
    assert f'href="/events/{event["id"]}/alerts?lang=en"' in overview
    page = admin.get(page_of(event, "alerts"), params={"lang": "en"}).text
    assert f'data-alert="{alert_id}" data-state="open"' in page
    assert "Could not be undone" in page
    answer = post_form(
        admin, f"{page_of(event, 'alerts')}/{alert_id}/ack?lang=en", {}, page=page_of(event, "alerts")
    )
    assert answer.status_code == 303
    after = admin.get(answer.headers["location"]).text
    assert f'data-alert="{alert_id}" data-state="acknowledged"' in after
    assert 'class="banner-alert"' not in after
    assert 'class="banner-alert"' not in admin.get(page_of(event, "deliveries")).text
    again = post_form(
        admin, f"{page_of(event, 'alerts')}/{alert_id}/ack?lang=ko", {}, page=page_of(event, "alerts")
    )
    assert again.status_code == 409
    assert 'data-code="alert_acknowledged"' in again.text
    assert "이미 확인된 알림입니다" in again.text
    ko = admin.get(page_of(event, "alerts"), params={"lang": "ko"}).text
    assert "최근 확인한 알림" in ko


def test_a_crowd_alert_is_worded_with_its_area_and_figures_on_the_alerts_page(
    admin: TestClient, turnout: Turnout, event: dict[str, Any]
) -> None:
    with turnout.uow() as uow:
        raise_alert(
            uow,
            event_id=str(event["id"]),
            saga_id=None,
            code="crowd_red",
            details={"gate_name": "정문", "inside": 96, "capacity": 100, "percent": 96},
        )
        uow.commit()
    for lang in ("ko", "en"):
        page = admin.get(page_of(event, "alerts"), params={"lang": lang}).text
        assert translate("web.alerts.code.crowd_red", lang) in page
        assert not any("crowd" in chunk for chunk in visible(page)[0])
        assert "96" in page
        assert "정문" in page


def test_an_alert_of_another_event_cannot_be_acknowledged_from_this_events_page(
    admin: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any]
) -> None:
    body = {
        "name": "다른 행사",
        "starts_at": "2026-07-01T09:00:00+09:00",
        "ends_at": "2026-07-01T18:00:00+09:00",
    }
    other = admin.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {admin_key}"}).json()
    alert_id = raise_one(turnout, str(other["id"]))
    answer = post_form(admin, f"{page_of(event, 'alerts')}/{alert_id}/ack", {}, page=page_of(event, "alerts"))
    assert answer.status_code == 404
    with turnout.uow(readonly=True) as uow:
        alert = uow.alerts.get(alert_id)
    assert alert is not None
    assert alert.state == "open"


# --- refusals ---------------------------------------------------------------------------------------


def actions(event: dict[str, Any], turnout: Turnout) -> list[tuple[str, dict[str, str]]]:
    alert_id = raise_one(turnout, str(event["id"]))
    saga_id = add_saga(turnout, str(event["id"]), SagaState.FAILED, StepState.UNDO_FAILED, "HTTP 503")
    return [
        (f"{page_of(event, 'integrations')}/{APP}", {"url": "https://example.com/h", "secret": SECRET}),
        (f"{page_of(event, 'integrations')}/{APP}/test", {}),
        (f"{page_of(event, 'deliveries')}/some-delivery/retry", {}),
        (f"{page_of(event, 'sagas')}/{saga_id}/retry", {}),
        (f"{page_of(event, 'alerts')}/{alert_id}/ack", {}),
    ]


def test_forms_without_the_pages_csrf_token_are_refused_and_change_nothing(
    admin: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any]
) -> None:
    for path, data in actions(event, turnout):
        answer = admin.post(
            path + "?lang=en", data={**data, "csrf_token": "f" * 64}, headers=ORIGIN, follow_redirects=False
        )
        assert answer.status_code == 403, path
        assert 'data-error-code="csrf_failed"' in answer.text, path
    assert api(admin, admin_key, f"/api/v1/events/{event['id']}/integrations")["items"] == []
    assert len(api(admin, admin_key, f"/api/v1/alerts?event_id={event['id']}&state=open")["items"]) == 1


def test_keys_outside_their_scope_get_403_pages_and_unknown_events_404_pages(
    app_client: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    body = {
        "name": "다른 행사",
        "starts_at": "2026-07-01T09:00:00+09:00",
        "ends_at": "2026-07-01T18:00:00+09:00",
    }
    other = app_client.post(
        "/api/v1/events", json=body, headers={"Authorization": f"Bearer {admin_key}"}
    ).json()
    todo = actions(event, turnout)
    for key in (
        key_for(turnout, Role.STAFF, str(other["id"])),
        key_for(turnout, Role.GATE, str(event["id"]), str(gate["id"])),
    ):
        app_client.cookies.clear()
        sign_in(app_client, key)
        for what in ("integrations", "deliveries", "sagas", "alerts"):
            page = app_client.get(page_of(event, what), params={"lang": "en"})
            assert page.status_code == 403, what
            assert page.headers["content-type"].startswith("text/html")
        token = csrf_of(app_client.get("/?lang=en").text)
        for path, data in todo:
            answer = app_client.post(
                path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False
            )
            assert answer.status_code == 403, path
    app_client.cookies.clear()
    sign_in(app_client, admin_key)
    for what in ("integrations", "deliveries", "sagas", "alerts"):
        assert app_client.get(f"/events/no-such-event/{what}").status_code == 404, what
