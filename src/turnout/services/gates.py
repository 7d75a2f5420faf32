"""Use cases for gates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from turnout.domain.errors import NotFound
from turnout.domain.events import Gate, GateDirection, ScanMethod, localize, validate_gate
from turnout.domain.ids import new_id
from turnout.messages.facts import GateCreated, GateUpdated
from turnout.ports import UnitOfWork
from turnout.services.events import get_event


def create_gate(
    uow: UnitOfWork,
    *,
    actor: str,
    event_id: str,
    name: str,
    direction: GateDirection = GateDirection.BOTH,
    methods: tuple[ScanMethod, ...] = (ScanMethod.QR, ScanMethod.BLE, ScanMethod.MANUAL),
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    location: str | None = None,
    capacity: int | None = None,
) -> Gate:
    event = get_event(uow, event_id=event_id)
    methods = tuple(dict.fromkeys(methods))  # keep order, drop repeats
    opens_at = localize(opens_at, event.timezone) if opens_at else None
    closes_at = localize(closes_at, event.timezone) if closes_at else None
    validate_gate(name=name, methods=methods, opens_at=opens_at, closes_at=closes_at, capacity=capacity)
    gate = Gate(
        id=new_id(),
        event_id=event_id,
        name=name.strip(),
        direction=direction,
        methods=methods,
        opens_at=opens_at,
        closes_at=closes_at,
        location=location,
        capacity=capacity,
    )
    uow.gates.add(gate, now=uow.clock.now())
    uow.audit.record(
        actor=actor,
        action="gate.created",
        subject_type="gate",
        subject_id=gate.id,
        event_id=event_id,
        data={
            "name": gate.name,
            "direction": gate.direction.value,
            "methods": [m.value for m in methods],
            "capacity": capacity,
        },
    )
    uow.emit(
        GateCreated(
            event_id=event_id,
            gate_id=gate.id,
            name=gate.name,
            direction=gate.direction.value,
            methods=tuple(m.value for m in methods),
        )
    )
    return gate


def update_gate(
    uow: UnitOfWork,
    *,
    actor: str,
    event_id: str,
    gate_id: str,
    name: str,
    direction: GateDirection,
    methods: tuple[ScanMethod, ...],
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    location: str | None = None,
    capacity: int | None = None,
) -> Gate:
    """A gate's settings replaced (the same rules as ``create_gate``); ``gate_not_found`` when the
    event has no such gate."""
    event = get_event(uow, event_id=event_id)
    before = get_gate(uow, gate_id=gate_id, event_id=event_id)
    methods = tuple(dict.fromkeys(methods))
    opens_at = localize(opens_at, event.timezone) if opens_at else None
    closes_at = localize(closes_at, event.timezone) if closes_at else None
    validate_gate(name=name, methods=methods, opens_at=opens_at, closes_at=closes_at, capacity=capacity)
    gate = replace(
        before,
        name=name.strip(),
        direction=direction,
        methods=methods,
        opens_at=opens_at,
        closes_at=closes_at,
        location=location,
        capacity=capacity,
    )
    if not uow.gates.update(gate):
        raise NotFound("gate_not_found", gate_id=gate_id)
    uow.audit.record(
        actor=actor,
        action="gate.updated",
        subject_type="gate",
        subject_id=gate.id,
        event_id=event_id,
        data={"name": gate.name, "direction": gate.direction.value, "methods": [m.value for m in methods]},
    )
    uow.emit(
        GateUpdated(
            event_id=event_id,
            gate_id=gate.id,
            name=gate.name,
            direction=gate.direction.value,
            methods=tuple(m.value for m in methods),
        )
    )
    return gate


def list_gates(uow: UnitOfWork, *, event_id: str) -> list[Gate]:
    """The event's gates (``event_not_found`` when there is no such event)."""
    get_event(uow, event_id=event_id)
    return uow.gates.list_for_event(event_id)


def get_gate(uow: UnitOfWork, *, gate_id: str, event_id: str | None = None) -> Gate:
    gate = uow.gates.get(gate_id)
    if gate is None or (event_id is not None and gate.event_id != event_id):
        raise NotFound("gate_not_found", gate_id=gate_id)
    return gate
