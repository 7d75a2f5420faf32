"""The console's gates and keys pages: gates listed, created and edited through their forms (the API's
field names, codes and rules); gate keys made (shown once, with a QR code of the scanner's sign-in
link), listed and revoked; the link's page signing a phone in; who may do what; Korean and English."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVENT_BODY
from tests.console_support import ORIGIN, csrf_of, sign_in
from tests.e2e.test_console_security import assert_protected
from tests.e2e.test_korean_pages import HANGUL, latin_words, visible
from tests.e2e.test_scanner_page import browser, served  # noqa: F401 (fixtures)
from tests.qr_decode import decode_svg
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.i18n import translate
from turnout.services.keys import create_key

Form = dict[str, str | list[str]]


def post(client: TestClient, path: str, data: Form, *, page: str | None = None) -> Any:
    """Post a page's form (repeated fields as lists) with the CSRF token of ``page`` (default ``path``)."""
    token = csrf_of(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, headers=ORIGIN, follow_redirects=False)


def make_key(turnout: Turnout, role: Role, event_id: str | None = None, gate_id: str | None = None) -> str:
    with turnout.uow() as uow:
        issued = create_key(
            uow, actor="test", name=f"{role.value} 키", role=role, event_id=event_id, gate_id=gate_id
        )
        uow.commit()
    return issued.key


def codes_beside_fields(html: str) -> set[tuple[str, str]]:
    return set(re.findall(r'class="field-error" id="[^"]*" data-field="([^"]+)" data-code="([^"]+)"', html))


def api_codes(client: TestClient, admin_key: str, path: str, body: dict[str, Any]) -> set[tuple[str, str]]:
    answer = client.post(path, json=body, headers={"Authorization": f"Bearer {admin_key}"})
    assert answer.status_code == 422, answer.text
    return {(d["field"].split(".")[0], d["code"]) for d in answer.json()["error"]["details"]}


def new_key_of(html: str) -> str:
    found = re.search(r"data-new-key>([^<]+)<", html)
    assert found is not None, "the page shows no new key"
    return found.group(1).strip()


@pytest.fixture
def admin(app_client: TestClient, admin_key: str, event: dict[str, Any], gate: dict[str, Any]) -> TestClient:
    """A browser signed in as admin (the event and its gate made first)."""
    sign_in(app_client, admin_key)
    return app_client


# --- gates ------------------------------------------------------------------------------------------


def test_gates_page_lists_each_gate_with_its_settings_when_signed_in(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    for lang, words in (
        ("ko", ("게이트", "입장·퇴장", "항상 열림")),
        ("en", ("Gates", "Entry and exit", "Always open")),
    ):
        page = admin.get(f"/events/{event['id']}/gates?lang={lang}")
        assert page.status_code == 200
        assert f'data-gate-id="{gate["id"]}"' in page.text
        assert gate["name"] in page.text
        for word in words:
            assert word in page.text, (lang, word)
        assert f'href="/events/{event["id"]}/gates/{gate["id"]}/edit?lang={lang}"' in page.text


def test_a_gate_is_created_with_the_apis_fields_when_the_form_is_valid(
    admin: TestClient, event: dict[str, Any]
) -> None:
    form: Form = {
        "name": " 동문 ",
        "direction": "in",
        "methods": ["qr", "manual"],
        "opens_at": "2026-06-01T08:30",
        "closes_at": "2026-06-01T19:00",
        "location": "B1 출구",
    }
    answer = post(admin, f"/events/{event['id']}/gates/new", form)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/events/{event['id']}/gates")
    listed = admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"]
    made = next(g for g in listed if g["name"] == "동문")
    assert made["direction"] == "in"
    assert made["methods"] == ["qr", "manual"]
    assert made["opens_at"] == "2026-06-01T08:30:00+09:00"  # read in the event's zone
    assert made["closes_at"] == "2026-06-01T19:00:00+09:00"
    assert made["location"] == "B1 출구"
    page = admin.get(answer.headers["location"])
    assert "2026-06-01 08:30" in page.text
    assert "B1 출구" in page.text


@pytest.mark.parametrize(
    "form",
    [
        {"name": "", "direction": "up", "methods": ["qr", "nfc"], "opens_at": "soon", "location": "x" * 301},
        {"name": "동문", "methods": [], "opens_at": "2026-06-01T10:00", "closes_at": "2026-06-01T09:00"},
        {"name": "동문", "methods": ["qr"], "opens_at": "2026-06-01T10:00", "closes_at": "2026-06-01T09:00"},
    ],
)
def test_gate_form_shows_the_apis_codes_beside_the_fields_and_keeps_the_values_when_refused(
    admin: TestClient, event: dict[str, Any], admin_key: str, form: Form
) -> None:
    path = f"/events/{event['id']}/gates/new"
    answer = post(admin, path, form)
    assert answer.status_code == 422
    shown = codes_beside_fields(answer.text)
    body = {k: v for k, v in form.items() if v != "" or k == "name"}
    assert shown == api_codes(admin, admin_key, f"/api/v1/events/{event['id']}/gates", body)
    assert shown
    if form["name"]:
        assert f'value="{form["name"]}"' in answer.text
    for method in form["methods"]:
        if method in ("qr", "ble", "manual"):
            assert re.search(rf'value="{method}" checked', answer.text)
    if form.get("opens_at"):
        assert f'value="{form["opens_at"]}"' in answer.text
    assert admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"][1:] == []  # nothing saved


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # words, not storage
def test_gate_form_messages_follow_the_language_when_refused(
    admin: TestClient, event: dict[str, Any]
) -> None:
    for lang in ("ko", "en"):
        path = f"/events/{event['id']}/gates/new?lang={lang}"
        form: Form = {
            "name": "동문",
            "methods": ["qr"],
            "opens_at": "2026-06-01T10:00",
            "closes_at": "2026-06-01T09:00",
        }
        answer = post(admin, path, form)
        assert answer.status_code == 422
        found = re.search(r'data-code="ends_before_start">([^<]+)<', answer.text)
        assert found is not None
        assert found.group(1) == translate("ends_before_start", lang)


def test_a_gate_is_edited_and_refused_like_the_api_when_its_form_is_posted(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    path = f"/events/{event['id']}/gates/{gate['id']}/edit"
    page = admin.get(path)
    assert page.status_code == 200
    assert f'value="{gate["name"]}"' in page.text
    refused = post(
        admin,
        path,
        {"name": "북문", "methods": ["ble"], "opens_at": "2026-06-01T12:00", "closes_at": "2026-06-01T11:00"},
    )
    assert refused.status_code == 422
    assert codes_beside_fields(refused.text) == {("closes_at", "ends_before_start")}
    assert 'value="북문"' in refused.text
    saved = post(
        admin, path, {"name": "북문", "direction": "out", "methods": ["ble"], "closes_at": "2026-06-01T21:00"}
    )
    assert saved.status_code == 303
    (after,) = admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"]
    assert (after["id"], after["name"], after["direction"], after["methods"]) == (
        gate["id"],
        "북문",
        "out",
        ["ble"],
    )
    assert (after["opens_at"], after["closes_at"]) == (None, "2026-06-01T21:00:00+09:00")
    again = admin.get(path)
    assert 'value="2026-06-01T21:00"' in again.text
    assert re.search(r'value="out" selected', again.text)


def test_a_gates_area_capacity_is_set_cleared_and_refused_through_the_form_and_the_api(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    path = f"/events/{event['id']}/gates/{gate['id']}/edit"
    base: Form = {"name": gate["name"], "direction": gate["direction"], "methods": gate["methods"]}
    refused = post(admin, path, {**base, "capacity": "-5"})
    assert refused.status_code == 422
    assert codes_beside_fields(refused.text) == {("capacity", "too_small")}
    assert post(admin, path, {**base, "capacity": "400"}).status_code == 303
    api = f"/api/v1/events/{event['id']}/gates/{gate['id']}"
    assert admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"][0]["capacity"] == 400
    assert 'name="capacity" type="number" inputmode="numeric" min="0" value="400"' in admin.get(path).text
    headers = {"X-CSRF-Token": csrf_of(admin.get(path).text), **ORIGIN}
    renamed = admin.patch(api, json={"name": "남문"}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["capacity"] == 400  # not given: kept
    assert post(admin, path, {**base, "capacity": ""}).status_code == 303  # empty: no area alarm
    assert admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"][0]["capacity"] is None


def test_the_api_changes_the_given_fields_and_refuses_like_the_edit_form(
    admin: TestClient, admin_key: str, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    bearer = {"Authorization": f"Bearer {admin_key}"}
    path = f"/api/v1/events/{event['id']}/gates/{gate['id']}"
    changed = admin.patch(path, json={"location": "1층", "closes_at": "2026-06-01T20:00"}, headers=bearer)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["direction"], body["location"]) == (gate["name"], gate["direction"], "1층")
    assert body["closes_at"] == "2026-06-01T20:00:00+09:00"
    cleared = admin.patch(path, json={"location": None, "methods": ["manual"]}, headers=bearer).json()
    assert (cleared["location"], cleared["methods"], cleared["closes_at"]) == (
        None,
        ["manual"],
        body["closes_at"],
    )
    refused: Form = {"name": "", "methods": [], "opens_at": "2026-06-01T21:00"}
    answer = admin.patch(path, json=refused, headers=bearer)
    assert answer.status_code == 422
    api = {(d["field"], d["code"]) for d in answer.json()["error"]["details"]}
    page = post(admin, f"/events/{event['id']}/gates/{gate['id']}/edit", refused)
    assert codes_beside_fields(page.text) == api
    late = admin.patch(path, json={"opens_at": "2026-06-01T21:00"}, headers=bearer)  # after closes_at
    assert late.status_code == 422
    assert [(d["field"], d["code"]) for d in late.json()["error"]["details"]] == [
        ("closes_at", "ends_before_start")
    ]
    missing = admin.patch(f"/api/v1/events/{event['id']}/gates/nope", json={}, headers=bearer)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "gate_not_found")


def other_event(client: TestClient, admin_key: str) -> tuple[str, str]:
    """Another event and its gate (made on the API with the admin's key)."""
    bearer = {"Authorization": f"Bearer {admin_key}"}
    body = {**EVENT_BODY, "name": "다른 행사"}
    event_id = client.post("/api/v1/events", json=body, headers=bearer).json()["id"]
    gate = client.post(f"/api/v1/events/{event_id}/gates", json={"name": "후문"}, headers=bearer).json()
    return event_id, gate["id"]


def test_gate_pages_answer_404_pages_when_the_gate_or_event_is_unknown(
    admin: TestClient, event: dict[str, Any], admin_key: str
) -> None:
    _other, other_gate = other_event(admin, admin_key)
    for path in (
        f"/events/{event['id']}/gates/no-such-gate/edit",
        f"/events/{event['id']}/gates/{other_gate}/edit",  # another event's gate
        "/events/no-such-event/gates",
        "/events/no-such-event/keys",
        f"/events/{event['id']}/keys/no-such-key/revoke",
    ):
        answer = admin.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")


def test_forms_are_refused_without_the_pages_csrf_token(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    for path, data in (
        (f"/events/{event['id']}/gates/new", {"name": "동문", "methods": "qr"}),
        (f"/events/{event['id']}/gates/{gate['id']}/edit", {"name": "동문", "methods": "qr"}),
        (f"/events/{event['id']}/keys", {"gate_id": gate["id"], "name": "폰"}),
    ):
        answer = admin.post(
            path, data={**data, "csrf_token": "0" * 64}, headers=ORIGIN, follow_redirects=False
        )
        assert answer.status_code == 403, path
        assert 'data-error-code="csrf_failed"' in answer.text
    assert [g["name"] for g in admin.get(f"/api/v1/events/{event['id']}/gates").json()["items"]] == [
        gate["name"]
    ]
    assert "data-key-id" not in admin.get(f"/events/{event['id']}/keys").text


def test_staff_of_the_event_may_manage_gates_and_gate_keys_and_others_get_403_pages(
    admin: TestClient, admin_key: str, turnout: Turnout, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    app_client = TestClient(admin.app)
    other, _other_gate = other_event(admin, admin_key)
    staff = make_key(turnout, Role.STAFF, event["id"])
    gate_key = make_key(turnout, Role.GATE, event["id"], gate["id"])
    other_staff = make_key(turnout, Role.STAFF, other)
    pages = [
        f"/events/{event['id']}/gates",
        f"/events/{event['id']}/gates/new",
        f"/events/{event['id']}/keys",
    ]
    sign_in(app_client, staff)
    for path in pages:
        assert app_client.get(path).status_code == 200, path
    assert post(app_client, pages[1], {"name": "스태프 게이트", "methods": "qr"}).status_code == 303
    made = post(app_client, pages[2], {"gate_id": gate["id"], "name": "스태프가 만든 키"})
    assert made.status_code == 200
    assert new_key_of(made.text).startswith("trn_")
    keys_page = app_client.get(pages[2]).text
    staff_row = re.search(r'<tr data-key-id="([^"]+)">\s*<td[^>]*><strong>staff 키', keys_page)
    assert staff_row is not None
    assert f"/keys/{staff_row.group(1)}/revoke" not in keys_page  # a staff key is revoked by an admin
    refused = post(app_client, f"/events/{event['id']}/keys/{staff_row.group(1)}/revoke", {}, page=pages[2])
    assert refused.status_code == 403
    for key in (gate_key, other_staff):
        app_client = TestClient(admin.app)
        sign_in(app_client, key)
        for path in pages:
            answer = app_client.get(path)
            assert answer.status_code == 403, (key, path)
            assert answer.headers["content-type"].startswith("text/html")
            assert 'data-error-code="forbidden"' in answer.text


# --- keys -------------------------------------------------------------------------------------------


def test_a_new_gate_key_is_shown_once_and_works_when_made(
    admin: TestClient,
    event: dict[str, Any],
    gate: dict[str, Any],
    turnout: Turnout,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys_path = f"/events/{event['id']}/keys"
    form = admin.get(f"{keys_path}?gate_id={gate['id']}")
    assert re.search(rf'<option value="{gate["id"]}" selected>', form.text)
    with caplog.at_level(logging.DEBUG):
        answer = post(admin, keys_path, {"gate_id": gate["id"], "name": "정문 1번 폰"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    key = new_key_of(answer.text)
    assert "location" not in answer.headers
    assert key.split("_")[2] not in caplog.text  # in no log line
    # a second look shows the key's name but never the key
    for path in (keys_path, f"/events/{event['id']}/gates"):
        again = admin.get(path)
        assert key not in again.text
        assert key.split("_")[2] not in again.text
    listing = admin.get(keys_path).text
    assert "정문 1번 폰" in listing
    assert gate["name"] in listing
    assert 'data-key-count="1"' in admin.get(f"/events/{event['id']}/gates").text
    # the key is a gate key of this gate: it reads the event's gates on the API
    api = TestClient(admin.app)
    seen = api.get(f"/api/v1/events/{event['id']}/gates", headers={"Authorization": f"Bearer {key}"})
    assert seen.status_code == 200
    found = turnout.authenticator.authenticate(key)
    assert (found.role, found.event_id, found.gate_id) == (Role.GATE, event["id"], gate["id"])


def test_the_key_form_shows_its_codes_beside_the_fields_when_refused(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    path = f"/events/{event['id']}/keys"
    answer = post(admin, path, {"gate_id": "", "name": " "})
    assert answer.status_code == 422
    assert codes_beside_fields(answer.text) == {("gate_id", "missing_field"), ("name", "missing_field")}
    answer = post(admin, path, {"gate_id": "no-such-gate", "name": "폰"})
    assert answer.status_code == 422
    assert codes_beside_fields(answer.text) == {("gate_id", "gate_not_found")}
    assert 'value="폰"' in answer.text
    answer = post(admin, path, {"gate_id": gate["id"], "name": "긴" * 201})
    assert codes_beside_fields(answer.text) == {("name", "too_long")}
    assert "data-key-id" not in admin.get(path).text  # nothing made


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a picture, not storage
def test_the_qr_code_decodes_to_the_scanner_link_with_the_key_in_its_fragment(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any], turnout: Turnout
) -> None:
    answer = post(admin, f"/events/{event['id']}/keys", {"gate_id": gate["id"], "name": "폰"})
    key = new_key_of(answer.text)
    svg = re.search(r"<svg.*?</svg>", answer.text, re.S)
    assert svg is not None
    link = decode_svg(svg.group(0).encode())
    shown = re.search(r"<code data-link-base>([^<]+)</code>", answer.text)
    assert shown is not None
    assert link == f"{shown.group(1)}/scan/link#key={key}"
    assert link.split("#")[0].endswith("/scan/link")  # the key never goes to a server in the path or query


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # addresses, not storage
@pytest.mark.parametrize(
    ("base_url", "host", "expected"),
    [
        ("https://turnout.example/", "192.168.0.10:8000", "https://turnout.example"),  # as configured
        ("http://127.0.0.1:8000", "192.168.0.10:8000", "http://192.168.0.10:8000"),  # the laptop's address
        ("http://127.0.0.1:8000", "localhost:8000", "http://127.0.0.1:8000"),
    ],
)
def test_the_scanner_link_points_where_a_phone_can_reach_turnout(
    admin: TestClient,
    event: dict[str, Any],
    gate: dict[str, Any],
    turnout: Turnout,
    base_url: str,
    host: str,
    expected: str,
) -> None:
    turnout.settings.base_url = base_url
    path = f"/events/{event['id']}/keys"
    token = csrf_of(admin.get(path).text)
    answer = admin.post(
        path,
        data={"gate_id": gate["id"], "name": "폰", "csrf_token": token},
        headers={"Host": host, "Origin": f"http://{host}"},
    )
    assert answer.status_code == 200, answer.text
    svg = re.search(r"<svg.*?</svg>", answer.text, re.S)
    assert svg is not None
    assert decode_svg(svg.group(0).encode()) == f"{expected}/scan/link#key={new_key_of(answer.text)}"


def test_the_link_page_signs_a_phone_in_through_the_scanner_sign_in(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    key = new_key_of(post(admin, f"/events/{event['id']}/keys", {"gate_id": gate["id"], "name": "폰"}).text)
    phone = TestClient(admin.app)
    page = phone.get("/scan/link?lang=ko")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert '<form id="scan-link-form" method="post" action="/scan/signin?lang=ko">' in page.text
    assert 'name="key"' in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/scan_link.js">']
    script = phone.get("/static/scan_link.js")
    assert script.status_code == 200
    assert "history.replaceState" in script.text
    assert "form.submit()" in script.text
    # what the script does: post the fragment's key to the form's action
    signed = phone.post("/scan/signin?lang=ko", data={"key": key}, follow_redirects=False)
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/scan")
    scanner = phone.get(signed.headers["location"])
    assert scanner.status_code == 200
    assert gate["name"] in scanner.text
    assert 'action="/scan/signin' not in scanner.text


def test_revoking_a_key_asks_first_and_then_the_key_fails_on_the_api(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    keys_path = f"/events/{event['id']}/keys"
    key = new_key_of(post(admin, keys_path, {"gate_id": gate["id"], "name": "잃어버린 폰"}).text)
    key_id = key.split("_")[1]
    api = TestClient(admin.app)
    bearer = {"Authorization": f"Bearer {key}"}
    assert api.get(f"/api/v1/events/{event['id']}/gates", headers=bearer).status_code == 200
    listing = admin.get(keys_path).text
    confirm_path = f"/events/{event['id']}/keys/{key_id}/revoke"
    assert f'href="{confirm_path}?lang=' in listing
    confirm = admin.get(confirm_path)
    assert confirm.status_code == 200
    assert "잃어버린 폰" in confirm.text
    assert api.get(f"/api/v1/events/{event['id']}/gates", headers=bearer).status_code == 200  # not yet
    done = post(admin, confirm_path, {})
    assert done.status_code == 303
    assert done.headers["location"].startswith(keys_path)
    assert api.get(f"/api/v1/events/{event['id']}/gates", headers=bearer).status_code == 401
    assert api.post("/scan/signin", data={"key": key}, follow_redirects=False).status_code == 401
    listing = admin.get(keys_path).text
    assert re.search(rf'<tr data-key-id="{key_id}" data-revoked>', listing)
    assert f'href="{confirm_path}' not in listing
    assert 'data-key-count="0"' in admin.get(f"/events/{event['id']}/gates").text
    assert post(admin, confirm_path, {}).status_code == 303  # again: harmless


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # headers, not storage
def test_every_gates_page_has_the_security_headers_and_no_inline_script(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    key_id = new_key_of(
        post(admin, f"/events/{event['id']}/keys", {"gate_id": gate["id"], "name": "폰"}).text
    )
    for path in (
        f"/events/{event['id']}/gates",
        f"/events/{event['id']}/gates/new",
        f"/events/{event['id']}/gates/{gate['id']}/edit",
        f"/events/{event['id']}/keys",
        f"/events/{event['id']}/keys/{key_id.split('_')[1]}/revoke",
        "/scan/link",
    ):
        answer = admin.get(path)
        assert answer.status_code == 200, path
        assert_protected(path, answer)


# --- languages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # words, not storage
def test_pages_with_ids_are_korean_in_korean_and_english_in_english(
    admin: TestClient, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    """The pages ``test_korean_pages`` cannot reach (a gate's or a key's id in the path, the answer to a
    form): no English words in Korean, no Korean beyond the user's data in English."""
    user_data = [str(event["name"]), str(event.get("venue") or ""), str(gate["name"]), "폰 하나", "한국어"]
    made = post(admin, f"/events/{event['id']}/keys", {"gate_id": gate["id"], "name": "폰 하나"})
    key_id = new_key_of(made.text).split("_")[1]
    for lang in ("ko", "en"):
        pages = [
            admin.get(f"/events/{event['id']}/gates/{gate['id']}/edit?lang={lang}").text,
            admin.get(f"/events/{event['id']}/keys/{key_id}/revoke?lang={lang}").text,
            post(
                admin, f"/events/{event['id']}/keys?lang={lang}", {"gate_id": gate["id"], "name": "폰 하나"}
            ).text,
            post(admin, f"/events/{event['id']}/gates/new?lang={lang}", {"name": "", "methods": []}).text,
        ]
        for html in pages:
            chunks, strings = visible(html)
            if lang == "ko":
                leaks = {chunk: latin_words(chunk) for chunk in chunks + strings}
                assert not {c: w for c, w in leaks.items() if w}
                assert any(HANGUL.search(c) for c in chunks)
            else:
                for chunk in chunks + strings:
                    for data in sorted(user_data, key=len, reverse=True):
                        chunk = chunk.replace(data, " ") if data else chunk
                    assert not HANGUL.search(chunk), chunk


# --- a real browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_phone_opening_the_link_is_signed_in_and_the_key_leaves_the_address_bar(
    turnout: Turnout,
    served: str,  # noqa: F811
    browser: Any,  # noqa: F811
    event: dict[str, Any],
    gate: dict[str, Any],
) -> None:
    key = make_key(turnout, Role.GATE, event["id"], gate["id"])
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR")
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url + " " + (request.post_data or "")))
    page.goto(f"{served}/scan/link#key={key}")
    page.wait_for_url(re.compile(r".*/scan\?lang=ko$"), timeout=15_000)
    assert gate["name"] in page.content()
    assert key not in page.url
    urls = [line.split(" ", 1)[0] for line in seen]
    assert not any(key in url for url in urls), urls  # only the form's body carries it
    assert any("/scan/signin" in line and "key=" in line for line in seen)
    page.go_back()  # whatever the history holds, the key is not in it
    assert key not in page.url
    context.close()
