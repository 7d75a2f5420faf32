"""The gate and key stores' console queries (a gate's settings updated; an event's keys listed and
described): the same checks on the fakes and on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.fakes import FakeClock
from turnout.domain.access import Role
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.ports import UnitOfWorkFactory
from turnout.services.events import create_event

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def two_events(any_uows: UnitOfWorkFactory) -> tuple[str, str, str]:
    """Two events and a gate of the first."""
    with any_uows() as uow:
        ids = [
            create_event(
                uow, actor="t", name=name, starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
            ).id
            for name in ("행사", "다른 행사")
        ]
        gate = Gate(
            id=new_id(), event_id=ids[0], name="정문", direction=GateDirection.BOTH, methods=(ScanMethod.QR,)
        )
        uow.gates.add(gate, now=T0)
        uow.commit()
    return ids[0], ids[1], gate.id


def test_a_gate_keeps_its_new_settings_when_updated(any_uows: UnitOfWorkFactory) -> None:
    event_id, other, gate_id = two_events(any_uows)
    opens = T0 + timedelta(hours=1)
    with any_uows() as uow:
        before = uow.gates.get(gate_id)
        assert before is not None
        changed = replace(
            before,
            event_id=other,  # never moves
            name="동문",
            direction=GateDirection.IN,
            methods=(ScanMethod.MANUAL, ScanMethod.QR),
            opens_at=opens,
            closes_at=opens + timedelta(hours=3),
            location="B1",
        )
        assert uow.gates.update(changed)
        assert not uow.gates.update(replace(changed, id=new_id()))
        uow.commit()
    with any_uows(readonly=True) as uow:
        after = uow.gates.get(gate_id)
        assert after == replace(changed, event_id=event_id)
        assert [g.id for g in uow.gates.list_for_event(event_id)] == [gate_id]
        assert uow.gates.list_for_event(other) == []


def test_an_events_keys_are_listed_oldest_first_with_revoked_ones_when_read(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, other, gate_id = two_events(any_uows)
    with any_uows() as uow:
        uow.api_keys.add(
            key_id="k1", secret_hash="h" * 64, name="스태프", role=Role.STAFF, event_id=event_id,
            gate_id=None, now=T0,
        )  # fmt: skip
        uow.api_keys.add(
            key_id="k2", secret_hash="h" * 64, name="정문 폰", role=Role.GATE, event_id=event_id,
            gate_id=gate_id, now=T0 + timedelta(minutes=1),
        )  # fmt: skip
        uow.api_keys.add(
            key_id="k3", secret_hash="h" * 64, name="다른", role=Role.STAFF, event_id=other,
            gate_id=None, now=T0,
        )  # fmt: skip
        uow.api_keys.add(
            key_id="k4", secret_hash="h" * 64, name="관리자", role=Role.ADMIN, event_id=None,
            gate_id=None, now=T0,
        )  # fmt: skip
        assert uow.api_keys.revoke("k2", now=T0 + timedelta(minutes=2))
        uow.commit()
    with any_uows(readonly=True) as uow:
        keys = uow.api_keys.list_for_event(event_id)
        assert [k.key_id for k in keys] == ["k1", "k2"]
        staff, gate = keys
        assert (staff.role, staff.name, staff.gate_id, staff.revoked_at) == (Role.STAFF, "스태프", None, None)
        assert staff.created_at == T0
        assert (gate.role, gate.gate_id, gate.event_id) == (Role.GATE, gate_id, event_id)
        assert gate.revoked_at == T0 + timedelta(minutes=2)
        assert uow.api_keys.describe("k2") == gate
        described = uow.api_keys.describe("k4")
        assert described is not None
        assert described.role is Role.ADMIN
        assert described.event_id is None
        assert uow.api_keys.describe("nope") is None
        assert not hasattr(gate, "secret_hash")
