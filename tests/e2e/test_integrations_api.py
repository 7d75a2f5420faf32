"""``/api/v1/events/{event_id}/integrations``: configure the external systems an event talks to, and
the console's read-only page. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from turnout.adapters.address_guard import ResolvingAddressGuard
from turnout.adapters.db.tables import audit_log
from turnout.adapters.db.tables_integrations import integrations
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.services.keys import create_key

SECRET = "whsec_" + base64.b64encode(b"s3cr3t-bytes-for-webhooks-32-xx").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-24-byte").decode()
URL = "https://hooks.example.com/turnout/gate"
DNS = {
    "hooks.example.com": ["93.184.215.14"],
    "intranet.example.com": ["10.20.30.40"],
    "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
}


def resolve(host: str) -> Sequence[str]:
    if host not in DNS:
        raise OSError(-2, "Name or service not known")
    return DNS[host]


@pytest.fixture(autouse=True)
def offline_dns(turnout: Turnout) -> None:
    """The app's guard as bootstrap made it, on a fixed DNS table (no network in tests)."""
    assert isinstance(turnout.address_guard, ResolvingAddressGuard)
    assert turnout.address_guard.allow_private is False
    turnout.address_guard = ResolvingAddressGuard(allow_private=False, resolve=resolve)


def path(event: dict[str, Any], system: str = "") -> str:
    base = f"/api/v1/events/{event['id']}/integrations"
    return f"{base}/{system}" if system else base


def field_codes(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    return [(d["field"], d["code"]) for d in body["details"]]


def test_put_get_list_delete(client: TestClient, event: dict[str, Any]) -> None:
    answer = client.put(path(event, "gate-management"), json={"url": URL, "secret": SECRET, "enabled": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: body[k] for k in ("event_id", "system", "url", "enabled", "disabled_reason")} == {
        "event_id": event["id"],
        "system": "gate-management",
        "url": URL,
        "enabled": True,
        "disabled_reason": None,
    }
    assert "secret" not in body
    assert "secret_sealed" not in body
    client.put(path(event, "analytics-platform"), json={"url": URL + "/a", "secret": OTHER_SECRET})

    listed = client.get(path(event))
    assert listed.status_code == 200
    assert [i["system"] for i in listed.json()["items"]] == ["analytics-platform", "gate-management"]
    assert listed.json()["next_cursor"] is None
    one = client.get(path(event, "analytics-platform"))
    assert (one.status_code, one.json()["url"]) == (200, URL + "/a")

    # update without a secret keeps it; switch off
    off = client.put(path(event, "gate-management"), json={"url": URL + "/v2", "enabled": False})
    assert off.status_code == 200, off.text
    assert (off.json()["url"], off.json()["enabled"]) == (URL + "/v2", False)
    assert off.json()["created_at"] == body["created_at"]

    assert client.delete(path(event, "gate-management")).status_code == 204
    assert client.get(path(event, "gate-management")).json()["error"]["code"] == "integration_not_found"
    again = client.delete(path(event, "gate-management"))
    assert (again.status_code, again.json()["error"]["code"]) == (404, "integration_not_found")
    assert [i["system"] for i in client.get(path(event)).json()["items"]] == ["analytics-platform"]


def test_no_answer_and_no_column_holds_the_secret(
    client: TestClient, event: dict[str, Any], turnout: Turnout
) -> None:
    client.put(path(event, "attendee-app"), json={"url": URL, "secret": SECRET})
    client.put(path(event, "attendee-app"), json={"url": URL, "secret": OTHER_SECRET})
    raw = SECRET.removeprefix("whsec_")
    for answer in (client.get(path(event)), client.get(path(event, "attendee-app"))):
        assert answer.status_code == 200
        for secret in (SECRET, OTHER_SECRET, raw, "whsec_"):
            assert secret not in answer.text
    with turnout.engine.connect() as conn:
        stored = conn.execute(sa.select(integrations)).mappings().one()
        audit = conn.execute(
            sa.select(audit_log.c.data).where(audit_log.c.action.like("integration.%"))
        ).all()
    row_text = repr(dict(stored))
    for secret in (SECRET, OTHER_SECRET, raw, OTHER_SECRET.removeprefix("whsec_")):
        assert secret not in row_text
        assert secret not in repr(audit)
    assert turnout.sealer.open(stored["secret_sealed"]) == OTHER_SECRET


def test_each_change_is_audited(client: TestClient, event: dict[str, Any], turnout: Turnout) -> None:
    client.put(path(event, "alerts"), json={"url": URL, "secret": SECRET})
    client.put(path(event, "alerts"), json={"url": URL, "enabled": False})
    client.delete(path(event, "alerts"))
    with turnout.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.subject_id, audit_log.c.actor, audit_log.c.data)
            .where(audit_log.c.subject_type == "integration")
            .order_by(audit_log.c.id)
        ).all()
    assert [(r.action, r.subject_id) for r in rows] == [
        ("integration.created", f"{event['id']}/alerts"),
        ("integration.updated", f"{event['id']}/alerts"),
        ("integration.deleted", f"{event['id']}/alerts"),
    ]
    assert all(r.actor.startswith("key:") for r in rows)
    assert rows[0].data == {"system": "alerts", "url": URL, "enabled": True, "secret_changed": True}
    assert rows[1].data["secret_changed"] is False


def test_unknown_system_and_unknown_event_are_404(client: TestClient, event: dict[str, Any]) -> None:
    for answer in (
        client.put(path(event, "crm"), json={"url": URL, "secret": SECRET}),
        client.get(path(event, "crm")),
        client.delete(path(event, "crm")),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "integration_system_not_found"
    missing = client.put("/api/v1/events/nope/integrations/alerts", json={"url": URL, "secret": SECRET})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "event_not_found")
    assert client.get("/api/v1/events/nope/integrations").status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "ftp://hooks.example.com/", "secret": SECRET}, [("url", "invalid_url")]),
        ({"url": "not a url", "secret": SECRET}, [("url", "invalid_url")]),
        ({"url": "https://nowhere.invalid/", "secret": SECRET}, [("url", "invalid_url")]),
        ({"url": URL, "secret": "hunter2"}, [("secret", "invalid_secret")]),
        ({"url": URL, "secret": "whsec_c2hvcnQ="}, [("secret", "invalid_secret")]),
        ({"url": URL}, [("secret", "required")]),
        ({"url": "http://127.0.0.1:8080/hook", "secret": SECRET}, [("url", "private_address")]),
        ({"url": "http://169.254.169.254/latest", "secret": SECRET}, [("url", "private_address")]),
        ({"url": "http://[::ffff:10.0.0.1]/", "secret": SECRET}, [("url", "private_address")]),
        ({"url": "https://intranet.example.com/", "secret": SECRET}, [("url", "private_address")]),
        ({"url": "https://rebind.example.com/", "secret": SECRET}, [("url", "private_address")]),
        (
            {"url": "http://10.0.0.1/", "secret": "x"},
            [("url", "private_address"), ("secret", "invalid_secret")],
        ),
        ({"secret": SECRET}, [("url", "missing_field")]),
        ({"url": URL, "secret": SECRET, "extra": 1}, [("extra", "unknown_field")]),
    ],
)
def test_bad_url_or_secret_is_422_with_the_field(
    client: TestClient, event: dict[str, Any], body: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    answer = client.put(path(event, "gate-management"), json=body)
    assert field_codes(answer) == expected
    assert client.get(path(event)).json()["items"] == []


def test_refusals_are_explained_in_korean_and_english(client: TestClient, event: dict[str, Any]) -> None:
    body = {"url": "http://192.168.0.10/", "secret": SECRET}
    en = client.put(path(event, "alerts"), json=body, headers={"Accept-Language": "en"}).json()
    ko = client.put(path(event, "alerts"), json=body, headers={"Accept-Language": "ko"}).json()
    assert "not a public address" in en["error"]["details"][0]["message"]
    assert "192.168.0.10" in en["error"]["details"][0]["message"]
    assert "공개 주소가 아닙니다" in ko["error"]["details"][0]["message"]
    unknown = client.get(path(event, "crm"), headers={"Accept-Language": "ko"}).json()
    assert "crm" in unknown["error"]["message"]
    assert "시스템" in unknown["error"]["message"]


def test_only_keys_that_manage_the_event_may_see_or_change_integrations(
    app_client: TestClient, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    app_client.put(path(event, "alerts"), json={"url": URL, "secret": SECRET})
    event_id = str(event["id"])
    with turnout.uow() as uow:
        staff = create_key(uow, actor="t", name="staff", role=Role.STAFF, event_id=event_id).key
        gate_key = create_key(
            uow, actor="t", name="g", role=Role.GATE, event_id=event_id, gate_id=str(gate["id"])
        ).key
        uow.commit()
    app_client.headers.pop("Authorization", None)
    assert app_client.get(path(event)).status_code == 401
    as_staff = {"Authorization": f"Bearer {staff}"}
    assert app_client.get(path(event), headers=as_staff).status_code == 200
    assert app_client.get("/api/v1/events/other-event/integrations", headers=as_staff).status_code == 403
    as_gate = {"Authorization": f"Bearer {gate_key}"}
    assert app_client.get(path(event), headers=as_gate).status_code == 403
    assert app_client.put(path(event, "alerts"), json={"url": URL}, headers=as_gate).status_code == 403
    assert app_client.delete(path(event, "alerts"), headers=as_gate).status_code == 403


def test_private_addresses_are_allowed_with_the_setting(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setenv("TURNOUT_ALLOW_PRIVATE_WEBHOOKS", "1")
    allowed = Settings(database_url=settings.database_url, secret_key="k", _env_file=None)
    assert allowed.allow_private_webhooks is True
    wired = bootstrap(allowed)
    try:
        assert wired.address_guard.problem("http://127.0.0.1:8765/hook") is None
        refused = wired.address_guard.problem("http://169.254.169.254/")
        assert refused is not None
        assert refused.code == "private_address"
    finally:
        wired.close()


def test_console_page_lists_each_system_without_the_secret(
    client: TestClient, event: dict[str, Any], turnout: Turnout
) -> None:
    client.put(path(event, "gate-management"), json={"url": URL, "secret": SECRET})
    client.put(path(event, "attendee-app"), json={"url": URL + "/app", "secret": OTHER_SECRET})
    with turnout.uow() as uow:
        uow.integrations.disable(str(event["id"]), "attendee-app", reason="gone (410)", now=uow.clock.now())
        uow.commit()
    page = client.get(f"/events/{event['id']}/integrations?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "Integrations" in text
    assert str(event["name"]) in text
    assert URL in text
    assert URL + "/app" in text
    assert 'data-system="gate-management" data-enabled="true"' in text
    assert 'data-system="attendee-app" data-enabled="false"' in text
    assert "gone (410)" in text
    assert "Not set" in text  # analytics-platform and alerts
    for secret in (SECRET, OTHER_SECRET, SECRET.removeprefix("whsec_"), "whsec_"):
        assert secret not in text
    ko = client.get(f"/events/{event['id']}/integrations?lang=ko")
    assert "외부 연동" in ko.text
    assert "설정 안 됨" in ko.text
    # linked from the console's event list
    assert f"/events/{event['id']}/integrations" in client.get(f"/events/{event['id']}?lang=en").text


def test_console_page_needs_a_key_and_an_event(app_client: TestClient, event: dict[str, Any]) -> None:
    assert app_client.get("/events/nope/integrations").status_code == 404
    app_client.headers.pop("Authorization", None)
    assert app_client.get(f"/events/{event['id']}/integrations").status_code == 401


def test_a_refused_secret_is_not_echoed_in_the_validation_answer(
    client: TestClient, event: dict[str, Any]
) -> None:
    secret = "whsec_" + "QUJD" * 60  # over the model's length limit
    answered = client.put(
        f"/api/v1/events/{event['id']}/integrations/gate-management",
        json={"url": "https://93.184.216.34/hooks", "secret": secret},
    )
    assert answered.status_code == 422
    assert [d["field"] for d in answered.json()["error"]["details"]] == ["secret"]
    assert secret not in answered.text
