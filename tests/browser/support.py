"""Helpers of the browser tests: the console's words, signing in, axe-core, a seeded event."""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import REFUSED_EMAIL, Server, free_port
from turnout.bootstrap import Turnout, bootstrap
from turnout.domain.access import Role
from turnout.i18n import translate
from turnout.services.alerts import raise_alert
from turnout.services.keys import create_key

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
#: axe-core impacts that fail a page (moderate and minor are reported only)
FAILING_IMPACTS = ("serious", "critical")


def words(locale: str) -> Callable[..., str]:
    """The catalogue's text for a code in ``locale``: ``say("web.signin.submit")``."""

    def say(code: str, **params: Any) -> str:
        return translate(code, locale, params)

    return say


def sign_in(page: Page, key: str, locale: str, path: str = "/") -> None:
    """Sign in on the console's form at ``path`` (the form brings the reader back to it)."""
    say = words(locale)
    page.goto(path)
    page.get_by_label(say("web.signin.key")).fill(key)
    page.get_by_role("button", name=say("web.signin.submit")).click()
    page.wait_for_load_state()
    expect(page.locator("input[name=key]")).to_have_count(0)


# --- axe-core ---------------------------------------------------------------------------------------
# The pages' CSP is script-src 'self': an inline <script> (page.add_script_tag with the file's
# content or path) is refused. axe's source is instead evaluated through the DevTools protocol
# (page.evaluate of the file's text, wrapped in a function), which the page's CSP does not govern;
# the contexts keep their CSP (no bypass_csp), so the pages are checked as they are served. (The
# accessibility test's contexts add it as an init script instead: the same protocol, no CSP.)
_AXE_SOURCE: list[str] = []


def _axe_source() -> str:
    if not _AXE_SOURCE:
        _AXE_SOURCE.append("() => {\n" + AXE.read_text(encoding="utf-8") + "\n;return typeof window.axe;}")
    return _AXE_SOURCE[0]


AXE_RUN = """async () => {
  const result = await window.axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now: ``{id, impact, help, targets}``."""
    if page.evaluate("() => typeof window.axe") != "object":
        assert page.evaluate(_axe_source()) == "object"
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return found


def failing(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'][:5])}" for v in violations
    )


def assert_accessible(page: Page, where: str = "") -> list[dict[str, Any]]:
    """Fail on any serious or critical axe violation (rule, impact, targets printed); answer them all."""
    violations = axe_violations(page)
    bad = failing(violations)
    assert not bad, f"axe on {where or page.url}:\n{describe(bad)}"
    return violations


# --- a seeded event ---------------------------------------------------------------------------------


@dataclass
class World:
    """An event with everything the pages show: gates, participants (one cancelled, one whose mail
    is refused), scans (admitted, manual, exit, denied), a finished import with refused rows, a failing
    integration's deliveries, a transfer saga, an open alert, staff and gate keys."""

    event_id: str
    gate_ids: list[str]
    participants: list[dict[str, Any]]
    import_id: str
    saga_id: str
    alert_id: str
    keys: dict[str, str]  # role -> key
    key_ids: dict[str, str] = field(default_factory=dict)

    def fill(self) -> dict[str, str]:
        """Values for the placeholders of page routes."""
        first = self.participants[0]
        return {
            "event_id": self.event_id,
            "gate_id": self.gate_ids[0],
            "participant_id": first["id"],
            "token": first["token"],
            "import_id": self.import_id,
            "saga_id": self.saga_id,
            "alert_id": self.alert_id,
            "key_id": self.key_ids.get("gate", ""),
            "locale": "ko",
            "system": "gate-management",
            "missing": "no-such-thing-0",
        }


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def event_body(name: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": name,
        "starts_at": iso(now - timedelta(hours=1)),
        "ends_at": iso(now + timedelta(hours=8)),
        "timezone": "Asia/Seoul",
        "venue": "코엑스 3층",
        "capacity": 50,
        "min_age": 0,
        **changes,
    }


def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201, 202)), (response.request.url, response.text[:500])
    return response.json() if response.content else None


def wait_for(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


@contextlib.contextmanager
def wired(server: Server) -> Iterator[Turnout]:
    """A Turnout in the test process over the server's database."""
    turnout = bootstrap(server.settings())
    try:
        yield turnout
    finally:
        turnout.close()


def seed_world(server: Server) -> World:
    with server.api() as api:
        event = ok(api.post("/events", json=event_body("서울 개발자 컨퍼런스 2026")))
        event_id = event["id"]
        gate_ids = [
            ok(api.post(f"/events/{event_id}/gates", json={"name": name, "direction": "both"}))["id"]
            for name in ("정문", "동문")
        ]
        for status in ("open", "live"):
            ok(api.post(f"/events/{event_id}/status", json={"status": status}))
        people = [
            ("홍길동 0", "hong0@example.com"),
            ("홍길동 1", "hong1@example.com"),
            ("홍길동 2", REFUSED_EMAIL),
            ("홍길동 3", "hong3@example.com"),
        ]
        participants = [
            ok(
                api.post(
                    f"/events/{event_id}/participants",
                    json={
                        "name": name,
                        "email": email,
                        "phone": f"010-0000-000{i}",
                        "consents": {"required": True, "optional": True},
                    },
                )
            )
            for i, (name, email) in enumerate(people)
        ]
        ok(api.post(f"/participants/{participants[3]['id']}/cancel"))
        scans = [
            {"token": participants[0]["token"], "gate_id": gate_ids[0], "method": "qr", "direction": "in"},
            {"participant_id": participants[1]["id"], "gate_id": gate_ids[1], "method": "manual"},
            {"token": participants[1]["token"], "gate_id": gate_ids[1], "method": "qr", "direction": "out"},
            {"token": participants[3]["token"], "gate_id": gate_ids[0], "method": "qr"},  # cancelled: denied
        ]
        for scan in scans:
            ok(api.post(f"/events/{event_id}/attendance", json={"direction": "in", **scan}))
        imported = ok(
            api.post(
                f"/events/{event_id}/imports",
                files={"file": ("people.csv", BAD_CSV.encode(), "text/csv")},
                data={"consent_basis": "collected_elsewhere"},
            )
        )
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        ok(
            api.put(
                f"/events/{event_id}/integrations/gate-management",
                json={"url": f"http://127.0.0.1:{free_port()}/hook", "secret": secret, "enabled": True},
            )
        )
        saga = ok(
            api.post(
                f"/participants/{participants[2]['id']}/transfer",
                json={"name": "김철수", "email": "cheolsu@example.com", "consents": {"required": True}},
            )
        )
        wait_for(
            lambda: api.get(f"/imports/{imported['id']}").json()["status"] in ("done", "failed"),
            "the import to finish",
        )
    with wired(server) as turnout, turnout.uow() as uow:
        alert = raise_alert(
            uow,
            event_id=event_id,
            saga_id=saga["id"],
            code="compensation_failed",
            details={
                "saga_kind": "transfer",
                "step": "notify_app",
                "attempts": 5,
                "resource": participants[0]["id"],
            },
        )
        staff = create_key(uow, actor="test", name="데모 스태프", role=Role.STAFF, event_id=event_id)
        gate = create_key(
            uow, actor="test", name="정문 폰", role=Role.GATE, event_id=event_id, gate_id=gate_ids[0]
        )
        uow.commit()
    return World(
        event_id=event_id,
        gate_ids=gate_ids,
        participants=participants,
        import_id=imported["id"],
        saga_id=saga["id"],
        alert_id=alert.id,
        keys={"admin": server.admin_key, "staff": staff.key, "gate": gate.key},
        key_ids={"staff": staff.principal.key_id, "gate": gate.principal.key_id},
    )


# two good rows, then refused ones: a one-letter name, a bad email, a formula, a repeated email
BAD_CSV = (
    "이름,이메일,휴대폰\n"
    "김민준,minjun@example.com,010-1234-5678\n"
    "이서연,seoyeon@example.com,\n"
    "김,short@example.com,\n"
    "박지훈,not-an-email,\n"
    "=cmd|' /C calc'!A0,formula@example.com,\n"
)
#: the refused rows of BAD_CSV (its file lines)
BAD_LINES = (4, 5, 6)
