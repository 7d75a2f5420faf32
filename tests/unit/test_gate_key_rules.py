"""Who may make and revoke an event's keys (``services.keys``), on the fakes."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.domain.access import Principal, Role
from turnout.domain.errors import Forbidden, NotFound, ValidationFailed
from turnout.services import gates as gate_service
from turnout.services import keys as key_service
from turnout.services.events import create_event


@pytest.fixture
def uows() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeClock())


def world(uows: FakeUnitOfWorkFactory) -> dict[str, object]:
    with uows() as uow:
        events = [
            create_event(
                uow, actor="t", name=name, starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
            ).id
            for name in ("행사", "다른 행사")
        ]
        gate = gate_service.create_gate(uow, actor="t", event_id=events[0], name="정문").id
        staff = key_service.create_key(uow, actor="t", name="스태프", role=Role.STAFF, event_id=events[0])
        admin = key_service.create_key(uow, actor="t", name="관리자", role=Role.ADMIN)
        uow.commit()
    return {
        "event": events[0],
        "other": events[1],
        "gate": gate,
        "staff": staff.principal,
        "admin": admin.principal,
    }


def test_event_staff_make_and_revoke_gate_keys_but_not_staff_keys(uows: FakeUnitOfWorkFactory) -> None:
    w = world(uows)
    staff, admin = w["staff"], w["admin"]
    assert isinstance(staff, Principal)
    assert isinstance(admin, Principal)
    event, gate = str(w["event"]), str(w["gate"])
    with uows() as uow:
        issued = key_service.create_gate_key(uow, principal=staff, event_id=event, gate_id=gate, name=" 폰 ")
        uow.commit()
    assert (issued.principal.role, issued.principal.gate_id, issued.principal.name) == (Role.GATE, gate, "폰")
    with uows() as uow:
        with pytest.raises(Forbidden):
            key_service.revoke_key(uow, principal=staff, event_id=event, key_id=staff.key_id)
        revoked = key_service.revoke_key(uow, principal=staff, event_id=event, key_id=issued.principal.key_id)
        assert revoked.revoked_at is not None
        again = key_service.revoke_key(uow, principal=staff, event_id=event, key_id=issued.principal.key_id)
        assert again.revoked_at == revoked.revoked_at  # harmless
        assert key_service.revoke_key(uow, principal=admin, event_id=event, key_id=staff.key_id).revoked_at
        uow.commit()
        assert uow.api_keys.find(staff.key_id) is None
    actions = [row["action"] for row in uows.db.tables["audit_log"]]
    assert actions.count("key.revoked") == 2


def test_keys_of_another_event_or_gate_are_refused(uows: FakeUnitOfWorkFactory) -> None:
    w = world(uows)
    staff = w["staff"]
    assert isinstance(staff, Principal)
    event, other, gate = str(w["event"]), str(w["other"]), str(w["gate"])
    with uows() as uow:
        with pytest.raises(Forbidden):
            key_service.create_gate_key(uow, principal=staff, event_id=other, gate_id=gate, name="폰")
        with pytest.raises(NotFound):
            key_service.revoke_key(uow, principal=staff, event_id=other, key_id=staff.key_id)
        with pytest.raises(NotFound) as missing:
            key_service.create_gate_key(uow, principal=staff, event_id=event, gate_id="nope", name="폰")
        assert missing.value.code == "gate_not_found"
        with pytest.raises(ValidationFailed) as refused:
            key_service.create_gate_key(uow, principal=staff, event_id=event, gate_id="", name="")
        assert {(e.field, e.code) for e in refused.value.errors} == {
            ("name", "missing_field"),
            ("gate_id", "missing_field"),
        }
        gate_key = Principal(key_id="g", name="g", role=Role.GATE, event_id=event, gate_id=gate)
        with pytest.raises(Forbidden):
            key_service.create_gate_key(uow, principal=gate_key, event_id=event, gate_id=gate, name="폰")
        assert [k.key_id for k in key_service.list_event_keys(uow, event_id=event)] == [staff.key_id]
