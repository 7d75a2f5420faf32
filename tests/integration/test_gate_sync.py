"""The gate-management full sync (``services/gate_sync.py``): pages of at most 5,000 participants
that tell the receiver when it has the whole list, on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock
from tests.feeds_support import add_people, enable, enqueued
from tests.mail_support import add_event
from turnout.domain.errors import NotFound
from turnout.domain.events import Gate, GateDirection, ScanMethod
from turnout.domain.integrations import IntegrationSystem
from turnout.ports import UnitOfWorkFactory
from turnout.services.gate_sync import PAGE_SIZE, full_sync, page_count

GATE = IntegrationSystem.GATE_MANAGEMENT


@pytest.mark.parametrize(("participants", "pages"), [(0, 1), (1, 1), (5000, 1), (5001, 2)])
def test_the_list_goes_in_pages_of_at_most_5000_that_say_how_many_there_are(
    any_uows: UnitOfWorkFactory, clock: FakeClock, participants: int, pages: int
) -> None:
    assert PAGE_SIZE == 5000
    with any_uows() as uow:
        event = add_event(uow)
        ids = add_people(uow, event.id, participants)
        uow.gates.add(
            Gate(
                id="g1", event_id=event.id, name="정문", direction=GateDirection.IN, methods=(ScanMethod.QR,)
            ),
            now=clock.now(),
        )
        enable(uow, event.id, GATE)
        uow.commit()
    with any_uows() as uow:
        summary = full_sync(uow, event_id=event.id, actor="admin", reason="manual")
        uow.commit()
    assert (summary.pages, summary.participants) == (pages, participants)
    sent = enqueued(any_uows)
    assert [(s.system, s.type, s.ordering_key) for s in sent] == [
        ("gate-management", "gate-management.sync", f"sync:{event.id}")
    ] * pages
    assert [s.payload["page"] for s in sent] == list(range(1, pages + 1))
    for s in sent:
        assert (s.payload["sync_id"], s.payload["page_count"], s.payload["total"]) == (
            summary.sync_id,
            pages,
            participants,
        )
        assert s.payload["event"] == {
            "id": event.id,
            "name": event.name,
            "start": event.starts_at.isoformat(),
            "end": event.ends_at.isoformat(),
        }
        assert s.payload["gates"] == [
            {
                "id": "g1",
                "name": "정문",
                "direction": "in",
                "methods": ["qr"],
                "opens_at": None,
                "closes_at": None,
                "location": None,
            }
        ]
        assert len(s.payload["participants"]) <= PAGE_SIZE
    listed = [p["id"] for s in sent for p in s.payload["participants"]]
    assert listed == sorted(ids)  # each participant once, in id order across the pages
    if participants:
        first = sent[0].payload["participants"][0]
        assert set(first) == {"id", "token", "name", "status", "updated_at"}
        assert first["token"] == f"T-{first['id']}"
    with any_uows(readonly=True) as uow:
        audit = [a for a in uow.audit.for_subject("event", event.id) if a["action"] == "integration.sync"]
    assert [(a["actor"], a["data"]) for a in audit] == [
        (
            "admin",
            {
                "system": "gate-management",
                "reason": "manual",
                "sync_id": summary.sync_id,
                "pages": pages,
                "participants": participants,
            },
        )
    ]


def test_cancelled_participants_are_listed_with_their_status(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        kept, gone = add_people(uow, event_id, 2)
        uow.participants.update_fields(gone, {"status": "cancelled"})
        enable(uow, event_id, GATE)
        uow.commit()
    with any_uows() as uow:
        full_sync(uow, event_id=event_id, actor="t", reason="manual")
        uow.commit()
    (page,) = enqueued(any_uows)
    assert {p["id"]: p["status"] for p in page.payload["participants"]} == {
        kept: "registered",
        gone: "cancelled",
    }


def test_a_sync_is_refused_without_an_enabled_gate_system_and_enqueues_nothing(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        other = add_event(uow).id
        enable(uow, other, GATE, enabled=False)
        enable(uow, event_id, IntegrationSystem.ATTENDEE_APP)
        uow.commit()
    for target, code in ((event_id, "integration_not_enabled"), (other, "integration_not_enabled")):
        with any_uows() as uow, pytest.raises(NotFound) as refused:
            full_sync(uow, event_id=target, actor="t", reason="manual")
        assert refused.value.code == code
    with any_uows() as uow, pytest.raises(NotFound) as missing:
        full_sync(uow, event_id="no-such-event", actor="t", reason="manual")
    assert missing.value.code == "event_not_found"
    assert enqueued(any_uows) == []


@pytest.mark.parametrize(
    ("participants", "pages"), [(0, 1), (1, 1), (4999, 1), (5000, 1), (5001, 2), (10000, 2), (100_000, 20)]
)
def test_page_count(participants: int, pages: int) -> None:
    assert page_count(participants) == pages
