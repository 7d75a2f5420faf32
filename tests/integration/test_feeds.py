"""The feeds (``services/feeds.py``): which facts become which outbound deliveries, for which
systems, in which order, on the fakes, SQLite and PostgreSQL (``any_uows``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes import FakeClock
from tests.feeds_support import add_people, enable, enqueued
from tests.mail_support import add_event
from turnout.domain.events import EventStatus, Gate, GateDirection, ScanMethod
from turnout.domain.integrations import IntegrationSystem
from turnout.messages.base import Envelope, Fact
from turnout.messages.facts import (
    AttendanceRecorded,
    EventStatusChanged,
    GateCreated,
    ParticipantCancelled,
    ParticipantRegistered,
    TicketReissued,
)
from turnout.ports import UnitOfWorkFactory
from turnout.services import feeds
from turnout.services.statistics import analytics

GATE = IntegrationSystem.GATE_MANAGEMENT
APP = IntegrationSystem.ATTENDEE_APP
ANALYTICS = IntegrationSystem.ANALYTICS_PLATFORM
ALERTS = IntegrationSystem.ALERTS
STATUS_HANDLERS = tuple(handler for _, handler in feeds.STATUS_HANDLERS)


def wrap(clock: FakeClock, *facts: Fact) -> list[Envelope]:
    return [Envelope.wrap(fact, clock.now()) for fact in facts]


def run(uows: UnitOfWorkFactory, envelopes: list[Envelope], *handlers: Any) -> None:
    """Each handler over the run of envelopes it takes, as the relay hands them (one transaction)."""
    with uows() as uow:
        for handler in handlers:
            if isinstance(handler, feeds._RunHandler) and len(envelopes) > 1:
                handler.handle_many(envelopes, uow)
            else:
                for envelope in envelopes:
                    handler(envelope, uow)
        uow.commit()


def setup(uows: UnitOfWorkFactory, count: int, *systems: IntegrationSystem) -> tuple[str, list[str]]:
    with uows() as uow:
        event_id = add_event(uow).id
        ids = add_people(uow, event_id, count)
        enable(uow, event_id, *systems)
        uow.commit()
    return event_id, ids


def registered(event_id: str, participant_id: str) -> ParticipantRegistered:
    return ParticipantRegistered(event_id=event_id, participant_id=participant_id, source="api")


def test_participant_facts_go_to_the_enabled_systems_only(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, (person,) = setup(any_uows, 1, GATE, ANALYTICS)
    with any_uows() as uow:
        enable(uow, event_id, APP, enabled=False)  # configured, but switched off
        uow.commit()
    envelopes = wrap(clock, registered(event_id, person))
    run(any_uows, envelopes, feeds.GateParticipantFeed(), feeds.AttendeeAppFeed())
    sent = enqueued(any_uows)
    assert [(s.system, s.type, s.ordering_key) for s in sent] == [
        ("gate-management", "participant.changed", person)
    ]
    assert sent[0].source_message_id == envelopes[0].id
    assert sent[0].payload == {
        "event_id": event_id,
        "change": "participant.registered",
        "participant": {
            "id": person,
            "token": f"T-{person}",
            "name": "참가자0",
            "status": "registered",
            "updated_at": clock.now().isoformat(),
        },
    }


def test_nothing_is_enqueued_for_an_event_without_enabled_integrations(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, (person,) = setup(any_uows, 1)
    with any_uows() as uow:
        enable(uow, event_id, GATE, APP, ANALYTICS, ALERTS, enabled=False)
        uow.commit()
    envelopes = wrap(
        clock,
        registered(event_id, person),
        EventStatusChanged(event_id=event_id, previous="open", status="live", actor="t"),
        GateCreated(event_id=event_id, gate_id="g", name="정문", direction="both", methods=("qr",)),
    )
    run(
        any_uows,
        envelopes,
        feeds.GateParticipantFeed(),
        feeds.AttendeeAppFeed(),
        feeds.GateConfigFeed(),
        *STATUS_HANDLERS,
    )
    assert enqueued(any_uows) == []


def test_a_cancelled_participant_reaches_the_gate_system_with_status_cancelled_after_the_earlier_change(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, (person, other) = setup(any_uows, 2, GATE)
    run(any_uows, wrap(clock, registered(event_id, person)), feeds.GateParticipantFeed())
    clock.advance(minutes=1)
    with any_uows() as uow:
        uow.participants.update_fields(person, {"status": "cancelled", "updated_at": clock.now()})
        uow.commit()
    run(
        any_uows,
        wrap(
            clock,
            ParticipantCancelled(event_id=event_id, participant_id=person, ticket_version=1, actor="t"),
            TicketReissued(event_id=event_id, participant_id=other, ticket_version=2, actor="t"),
        ),
        feeds.GateParticipantFeed(),
    )
    sent = enqueued(any_uows)
    assert [(s.ordering_key, s.payload["change"], s.payload["participant"]["status"]) for s in sent] == [
        (person, "participant.registered", "registered"),
        (person, "participant.cancelled", "cancelled"),
        (other, "ticket.reissued", "registered"),
    ]
    assert sent[1].payload["participant"]["updated_at"] == clock.now().isoformat()


def test_the_attendee_app_hears_of_registration_check_in_and_check_out_in_order_per_participant(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, (a, b) = setup(any_uows, 2, APP)
    admitted_at = clock.now() + timedelta(minutes=10)
    left_at = admitted_at + timedelta(hours=2)
    with any_uows() as uow:
        uow.participants.update_fields(
            a,
            {
                "check_in_status": "exited",
                "first_checked_in_at": admitted_at,
                "last_scan_at": left_at,
                "updated_at": left_at,
            },
        )
        uow.commit()

    def scan(result: str, at: Any) -> AttendanceRecorded:
        return AttendanceRecorded(
            event_id=event_id,
            attendance_id=f"s-{result}",
            participant_id=a,
            gate_id="g",
            method="qr",
            direction="in" if result == "admitted" else "out",
            result=result,
            occurred_at=at.isoformat(),
        )

    envelopes = wrap(
        clock,
        registered(event_id, a),
        registered(event_id, b),
        scan("admitted", admitted_at),
        scan("exited", left_at),
    )
    run(any_uows, envelopes, feeds.AttendeeAppFeed())
    sent = enqueued(any_uows)
    assert [(s.system, s.type, s.ordering_key, s.payload["change"]) for s in sent] == [
        ("attendee-app", "participant.status", a, "participant.registered"),
        ("attendee-app", "participant.status", b, "participant.registered"),
        ("attendee-app", "participant.status", a, "attendance.recorded"),
        ("attendee-app", "participant.status", a, "attendance.recorded"),
    ]
    assert [s.source_message_id for s in sent] == [e.id for e in envelopes]
    assert sent[3].payload == {
        "participant_id": a,
        "token": f"T-{a}",
        "event": {
            "id": event_id,
            "name": "서울 개발자 컨퍼런스",
            "start": "2026-06-01T00:00:00+00:00",
            "location": "코엑스 Hall B",
        },
        "change": "attendance.recorded",
        "status": "registered",
        "check_in_status": "exited",
        "checked_in_at": admitted_at.isoformat(),
        "last_scan_at": left_at.isoformat(),
        "updated_at": left_at.isoformat(),
    }
    assert sent[1].payload["check_in_status"] == "not_checked_in"
    assert sent[1].payload["checked_in_at"] is None


def test_a_run_of_many_registrations_is_sent_in_order_once_each(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, ids = setup(any_uows, 300, GATE, APP)
    run(
        any_uows,
        wrap(clock, *(registered(event_id, p) for p in ids)),
        feeds.GateParticipantFeed(),
        feeds.AttendeeAppFeed(),
    )
    sent = enqueued(any_uows)
    gate = [s.ordering_key for s in sent if s.system == "gate-management"]
    app = [s.ordering_key for s in sent if s.system == "attendee-app"]
    assert gate == ids
    assert app == ids


def test_a_new_gate_sends_the_events_whole_gate_configuration(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, _ = setup(any_uows, 0, GATE)
    opens = clock.now() + timedelta(hours=1)
    with any_uows() as uow:
        uow.gates.add(
            Gate(
                id="g1",
                event_id=event_id,
                name="정문",
                direction=GateDirection.IN,
                methods=(ScanMethod.QR,),
                opens_at=opens,
                closes_at=opens + timedelta(hours=8),
                location="1층",
            ),
            now=clock.now(),
        )
        uow.gates.add(Gate(id="g2", event_id=event_id, name="후문"), now=clock.now())
        uow.commit()
    fact = GateCreated(event_id=event_id, gate_id="g2", name="후문", direction="both", methods=("qr",))
    run(any_uows, wrap(clock, fact), feeds.GateConfigFeed())
    (sent,) = enqueued(any_uows)
    assert (sent.system, sent.type, sent.ordering_key) == (
        "gate-management",
        "gates.changed",
        f"sync:{event_id}",
    )
    assert sent.payload == {
        "event_id": event_id,
        "change": "gate.created",
        "gates": [
            {
                "id": "g1",
                "name": "정문",
                "direction": "in",
                "methods": ["qr"],
                "opens_at": opens.isoformat(),
                "closes_at": (opens + timedelta(hours=8)).isoformat(),
                "location": "1층",
            },
            {
                "id": "g2",
                "name": "후문",
                "direction": "both",
                "methods": ["qr", "ble", "manual"],
                "opens_at": None,
                "closes_at": None,
                "location": None,
            },
        ],
    }


def test_a_status_change_is_told_to_every_enabled_system_and_opening_syncs_the_gate_system(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, ids = setup(any_uows, 3, GATE, APP, ANALYTICS, ALERTS)
    fact = EventStatusChanged(event_id=event_id, previous="draft", status="open", actor="t")
    (envelope,) = wrap(clock, fact)
    run(any_uows, [envelope], *STATUS_HANDLERS)
    sent = enqueued(any_uows)
    status = [s for s in sent if s.type == "event.status.changed"]
    assert sorted(s.system for s in status) == [
        "alerts",
        "analytics-platform",
        "attendee-app",
        "gate-management",
    ]
    for s in status:
        assert s.payload == {
            "event_id": event_id,
            "previous": "draft",
            "status": "open",
            "changed_at": clock.now().isoformat(),
        }
        assert s.source_message_id == envelope.id
    pages = [s for s in sent if s.type == "gate-management.sync"]
    assert len(pages) == 1
    assert [p["id"] for p in pages[0].payload["participants"]] == sorted(ids)
    # the gate system's status message goes before the sync's pages, on the same ordering key
    gate = [s for s in sent if s.system == "gate-management"]
    assert [s.type for s in gate] == ["event.status.changed", "gate-management.sync"]
    assert {s.ordering_key for s in gate} == {f"sync:{event_id}"}
    with any_uows(readonly=True) as uow:
        audit = uow.audit.for_subject("event", event_id)
    assert [a["data"]["reason"] for a in audit if a["action"] == "integration.sync"] == ["event.open"]


def test_going_live_syncs_again_and_closing_sends_the_final_analytics(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, _ = setup(any_uows, 2, GATE, ANALYTICS)
    run(
        any_uows,
        wrap(
            clock,
            EventStatusChanged(event_id=event_id, previous="open", status="live", actor="t"),
            EventStatusChanged(event_id=event_id, previous="live", status="closed", actor="t"),
        ),
        *STATUS_HANDLERS,
    )
    sent = enqueued(any_uows)
    assert [(s.system, s.type) for s in sent] == [
        ("analytics-platform", "event.status.changed"),
        ("gate-management", "event.status.changed"),
        ("analytics-platform", "event.status.changed"),
        ("gate-management", "event.status.changed"),
        ("gate-management", "gate-management.sync"),  # live
        ("analytics-platform", "analytics.snapshot"),  # closed
    ]
    with any_uows(readonly=True) as uow:
        expected = analytics(uow, event_id=event_id)
    assert sent[-1].payload == expected  # what GET …/analytics answers
    assert sent[-1].ordering_key == f"analytics:{event_id}"


def test_analytics_are_sent_for_live_events_once_per_interval(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    live, _ = setup(any_uows, 1, ANALYTICS)
    quiet, _ = setup(any_uows, 1, GATE)  # live, but no analytics platform
    opened, _ = setup(any_uows, 1, ANALYTICS)  # has one, but not live
    with any_uows() as uow:
        uow.events.set_status(live, status=EventStatus.LIVE, now=clock.now())
        uow.events.set_status(quiet, status=EventStatus.LIVE, now=clock.now())
        uow.commit()

    def due() -> list[str]:
        with any_uows() as uow:
            sent = feeds.send_due_analytics(uow, interval_seconds=900, page=2)
            uow.commit()
        return sent

    assert due() == [live]
    clock.advance(minutes=14)
    assert due() == []
    clock.advance(minutes=1)
    assert due() == [live]
    sent = enqueued(any_uows)
    assert [(s.event_id, s.system, s.type) for s in sent] == [
        (live, "analytics-platform", "analytics.snapshot")
    ] * 2
    assert opened not in {s.event_id for s in sent}
