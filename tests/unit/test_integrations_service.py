"""The integrations use cases over the fakes: put (create / update), list, get, delete, disable."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.adapters.address_guard import ResolvingAddressGuard
from turnout.domain.errors import NotFound, ValidationFailed
from turnout.domain.events import EventStatus
from turnout.domain.integrations import IntegrationSystem
from turnout.ports import UnitOfWorkFactory
from turnout.services.events import create_event
from turnout.services.integrations import (
    PutResult,
    delete_integration,
    disable_integration,
    get_integration,
    list_integrations,
    put_integration,
)

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"z" * 24).decode()
URL = "https://hooks.example.com/turnout"


class ReversingSealer:
    """A sealer tests can read: the secret reversed, marked."""

    def seal(self, secret: str) -> str:
        return "sealed:" + secret[::-1]

    def open(self, sealed: str) -> str:
        return sealed.removeprefix("sealed:")[::-1]


def resolver(host: str) -> Sequence[str]:
    return {"hooks.example.com": ["93.184.215.14"], "intranet.example.com": ["10.0.0.8"]}[host]


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def event_id(uows: FakeUnitOfWorkFactory) -> str:
    with uows() as uow:
        event = create_event(
            uow, actor="t", name="행사", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    return event.id


def put(
    uows: FakeUnitOfWorkFactory,
    event_id: str,
    system: str = "gate-management",
    *,
    url: str = URL,
    secret: str | None = SECRET,
    enabled: bool = True,
) -> PutResult:
    return put_integration(
        uows,
        sealer=ReversingSealer(),
        guard=ResolvingAddressGuard(resolve=resolver),
        actor="key:admin",
        event_id=event_id,
        system=system,
        url=url,
        secret=secret,
        enabled=enabled,
    )


def refusal(
    uows: FakeUnitOfWorkFactory, event_id: str, *, url: str = URL, secret: str | None = SECRET
) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as refused:
        put(uows, event_id, url=url, secret=secret)
    return [(e.field, e.code) for e in refused.value.errors]


def audit_rows(uows: FakeUnitOfWorkFactory) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = uows.db.tables.get("audit_log", [])
    return [r for r in rows if str(r["action"]).startswith("integration.")]


def test_put_creates_then_updates_and_keeps_the_secret_when_left_out(
    uows: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock
) -> None:
    created = put(uows, event_id)
    assert created.created
    with uows(readonly=True) as uow:
        stored = uow.integrations.get(event_id, "gate-management")
    assert stored is not None
    assert stored.secret_sealed == "sealed:" + SECRET[::-1]
    first_created_at = stored.created_at

    clock.advance(minutes=5)
    updated = put(uows, event_id, url="https://hooks.example.com/v2", secret=None, enabled=False)
    assert not updated.created
    with uows(readonly=True) as uow:
        stored = uow.integrations.get(event_id, "gate-management")
    assert stored is not None
    assert (stored.url, stored.enabled, stored.secret_sealed) == (
        "https://hooks.example.com/v2",
        False,
        "sealed:" + SECRET[::-1],
    )
    assert stored.created_at == first_created_at
    assert stored.updated_at == clock.now()

    put(uows, event_id, secret=OTHER_SECRET)
    with uows(readonly=True) as uow:
        stored = uow.integrations.get(event_id, "gate-management")
    assert stored is not None
    assert ReversingSealer().open(stored.secret_sealed) == OTHER_SECRET


def test_a_new_integration_needs_a_secret(uows: FakeUnitOfWorkFactory, event_id: str) -> None:
    assert refusal(uows, event_id, secret=None) == [("secret", "required")]


def test_every_field_problem_is_reported_at_once(uows: FakeUnitOfWorkFactory, event_id: str) -> None:
    assert refusal(uows, event_id, url="ftp://x", secret="nope") == [
        ("url", "invalid_url"),
        ("secret", "invalid_secret"),
    ]
    assert refusal(uows, event_id, url="https://intranet.example.com/", secret="whsec_!!") == [
        ("url", "private_address"),
        ("secret", "invalid_secret"),
    ]
    assert refusal(uows, event_id, url="http://127.0.0.1:9/", secret=None) == [
        ("url", "private_address"),
        ("secret", "required"),
    ]
    with uows(readonly=True) as uow:
        assert uow.integrations.list_for_event(event_id) == []
    assert audit_rows(uows) == []


def test_unknown_system_and_unknown_event_are_not_found(uows: FakeUnitOfWorkFactory, event_id: str) -> None:
    with pytest.raises(NotFound) as unknown_system:
        put(uows, event_id, system="crm")
    assert unknown_system.value.code == "integration_system_not_found"
    with pytest.raises(NotFound) as unknown_event:
        put(uows, "no-such-event")
    assert unknown_event.value.code == "event_not_found"
    with uows(readonly=True) as uow, pytest.raises(NotFound) as none_yet:
        get_integration(uow, event_id=event_id, system="alerts")
    assert none_yet.value.code == "integration_not_found"


def test_list_get_delete_and_disable(uows: FakeUnitOfWorkFactory, event_id: str) -> None:
    put(uows, event_id, system="attendee-app")
    put(uows, event_id, system="alerts")
    with uows(readonly=True) as uow:
        views = list_integrations(uow, event_id=event_id)
        one = get_integration(uow, event_id=event_id, system="alerts")
    assert [v.system for v in views] == [IntegrationSystem.ALERTS, IntegrationSystem.ATTENDEE_APP]
    assert not hasattr(one, "secret_sealed")
    assert not hasattr(one, "secret")

    with uows() as uow:
        view = disable_integration(uow, actor="cli", event_id=event_id, system="alerts", reason="maintenance")
        again = disable_integration(uow, actor="cli", event_id=event_id, system="alerts", reason="twice")
        uow.commit()
    assert (view.enabled, view.disabled_reason) == (False, "maintenance")
    assert again.disabled_reason == "maintenance"  # already off: unchanged, not audited again

    put(uows, event_id, system="alerts", secret=None)  # enabled again: the reason goes
    with uows(readonly=True) as uow:
        assert get_integration(uow, event_id=event_id, system="alerts").disabled_reason is None

    with uows() as uow:
        delete_integration(uow, actor="key:admin", event_id=event_id, system="alerts")
        uow.commit()
    with uows() as uow, pytest.raises(NotFound) as gone:
        delete_integration(uow, actor="key:admin", event_id=event_id, system="alerts")
    assert gone.value.code == "integration_not_found"
    with uows() as uow, pytest.raises(NotFound):
        disable_integration(uow, actor="cli", event_id=event_id, system="alerts")

    actions = [(r["action"], r["subject_id"]) for r in audit_rows(uows)]
    assert actions == [
        ("integration.created", f"{event_id}/attendee-app"),
        ("integration.created", f"{event_id}/alerts"),
        ("integration.disabled", f"{event_id}/alerts"),
        ("integration.updated", f"{event_id}/alerts"),
        ("integration.deleted", f"{event_id}/alerts"),
    ]


def test_audit_entries_never_hold_the_secret(uows: FakeUnitOfWorkFactory, event_id: str) -> None:
    put(uows, event_id, url=URL + "?token=abc")
    put(uows, event_id, secret=OTHER_SECRET)
    rows = audit_rows(uows)
    assert [r["data"] for r in rows] == [
        {"system": "gate-management", "url": URL, "enabled": True, "secret_changed": True},
        {"system": "gate-management", "url": URL, "enabled": True, "secret_changed": True},
    ]
    text = repr(rows)
    for secret in (SECRET, OTHER_SECRET):
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    assert "token=abc" not in text


class _Tracked:
    def __init__(self, counter: OpenTransactions, uow: Any) -> None:
        self.counter = counter
        self.uow = uow

    def __enter__(self) -> Any:
        self.counter.open += 1
        return self.uow.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.counter.open -= 1
        self.uow.__exit__(*exc)


class OpenTransactions:
    """A unit-of-work factory that knows whether one of its transactions is open."""

    def __init__(self, inner: FakeUnitOfWorkFactory) -> None:
        self.inner = inner
        self.open = 0

    def __call__(self, *, readonly: bool = False) -> Any:
        return _Tracked(self, self.inner(readonly=readonly))


def test_the_address_is_resolved_before_the_transaction_begins(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    """A slow name server must not hold a write transaction (SQLite's writer lock) open."""
    tracked = OpenTransactions(uows)
    seen: list[int] = []

    def watching_resolver(host: str) -> Sequence[str]:
        seen.append(tracked.open)
        return resolver(host)

    result = put_integration(
        cast(UnitOfWorkFactory, tracked),
        sealer=ReversingSealer(),
        guard=ResolvingAddressGuard(resolve=watching_resolver),
        actor="t",
        event_id=event_id,
        system="alerts",
        url=URL,
        secret=SECRET,
    )
    assert result.created
    assert seen == [0]
    assert tracked.open == 0


def sync_pages(uows: FakeUnitOfWorkFactory) -> list[dict[str, Any]]:
    rows = uows.db.tables.get("outbound_deliveries", [])
    return [d.message.payload for d in rows if d.message.type == "gate-management.sync"]


def test_the_gate_system_gets_a_full_sync_when_it_starts_to_receive_while_the_event_is_open(
    uows: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock
) -> None:
    put(uows, event_id)  # a draft event: nothing to sync yet
    assert sync_pages(uows) == []
    with uows() as uow:
        uow.events.set_status(event_id, status=EventStatus.OPEN, now=clock.now())
        uow.commit()
    put(uows, event_id, secret=None)  # same URL, already on: nothing new to tell
    put(uows, event_id, secret=None, enabled=False)
    put(uows, event_id, "alerts")  # another system: never synced
    assert sync_pages(uows) == []

    put(uows, event_id, secret=None)  # switched on again
    put(uows, event_id, url="https://hooks.example.com/v2", secret=None)  # another receiver
    pages = sync_pages(uows)
    assert len(pages) == 2
    assert {p["event"]["id"] for p in pages} == {event_id}
    syncs = [r for r in audit_rows(uows) if r["action"] == "integration.sync"]
    assert [cast(dict[str, Any], r["data"])["reason"] for r in syncs] == [
        "integration.enabled",
        "integration.url_changed",
    ]
    updates = [
        cast(dict[str, Any], r["data"]) for r in audit_rows(uows) if r["action"] == "integration.updated"
    ]
    assert [u.get("sync_id") for u in updates[-2:]] == [p["sync_id"] for p in pages]


def test_a_gate_system_created_for_a_live_event_is_synced_at_once(
    uows: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock
) -> None:
    with uows() as uow:
        uow.events.set_status(event_id, status=EventStatus.LIVE, now=clock.now())
        uow.commit()
    put(uows, event_id, enabled=False)  # created off: nothing
    assert sync_pages(uows) == []
    with uows() as uow:
        uow.integrations.delete(event_id, "gate-management")
        uow.commit()
    put(uows, event_id)
    assert len(sync_pages(uows)) == 1
    syncs = [r for r in audit_rows(uows) if r["action"] == "integration.sync"]
    assert [cast(dict[str, Any], r["data"])["reason"] for r in syncs] == ["integration.created"]
