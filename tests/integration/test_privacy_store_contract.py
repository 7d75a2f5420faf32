"""``PrivacyStore`` for one person behaves alike in memory, on SQLite and on PostgreSQL: erasing one
participant changes only theirs (the others, and their mail, as they were); erasure requests round
trip, one open per person; and on both databases erasing one person leaves the event's statistics
and analytics exactly as they were, and every other person's data in place."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.test_privacy_api import every_row, figures, people, set_status
from tests.fakes import FakeClock
from tests.mail_support import add_event, add_participant
from turnout.bootstrap import Turnout
from turnout.domain.events import EventStatus
from turnout.domain.ids import new_id
from turnout.domain.privacy import ErasureRequest, ErasureStatus, birth_date_bands, erased_email
from turnout.ports import NewEmailJob, UnitOfWorkFactory

FIRST_DAY = date(2026, 6, 1)  # add_event's first day (Asia/Seoul)


def world(any_uows: UnitOfWorkFactory) -> tuple[str, list[str]]:
    """An event with three people, each with every personal field and a queued ticket email."""
    with any_uows() as uow:
        event = add_event(uow)
        ids = []
        for i in range(3):
            person = add_participant(uow, event_id=event.id, name=f"홍길동{i}", email=f"p{i}@example.com")
            uow.participants.update_fields(
                person.id,
                {
                    "phone": f"+8210555510{i:02d}",
                    "birth_date": date(1990, 7, 1 + i),
                    "region": "서울",
                    "organization": f"회사{i}",
                    "gender": "female",
                    "custom_fields": {"shirt": f"XL-{i}"},
                },
            )
            uow.mail.add(
                NewEmailJob(
                    id=new_id(),
                    event_id=event.id,
                    participant_id=person.id,
                    kind="ticket",
                    ticket_version=1,
                    dedup_key=f"ticket:{person.id}:1",
                    message_id=f"<{person.id}@example.com>",
                    to_address=f"p{i}@example.com",
                    created_at=uow.clock.now(),
                )
            )
            ids.append(person.id)
        uow.commit()
    return event.id, ids


def test_erasing_one_participant_changes_only_theirs_when_erased(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, ids = world(any_uows)
    with any_uows(readonly=True) as uow:
        before = {pid: uow.participants.get(pid) for pid in ids}
    clock.advance(minutes=1)
    with any_uows() as uow:
        counts = uow.privacy.erase_participant(
            ids[0], birth_date_bands=birth_date_bands(FIRST_DAY), now=clock.now()
        )
        uow.commit()
    assert (counts["participants"], counts["email_jobs"]) == (1, 1)
    with any_uows(readonly=True) as uow:
        after = {pid: uow.participants.get(pid) for pid in ids}
        jobs = {job.participant_id: job for job in uow.mail.list_for_event(event_id)}
    erased = after[ids[0]]
    assert erased is not None
    assert (erased.name, erased.email, erased.phone, erased.organization, erased.gender) == (
        "",
        erased_email(ids[0]),
        None,
        None,
        None,
    )
    assert (erased.custom_fields, erased.token, erased.updated_at) == ({}, None, clock.now())
    assert (erased.birth_date, erased.region) == (date(1996, 6, 1), "서울")  # 35: the 30s stand-in
    assert after[ids[1]] == before[ids[1]]
    assert after[ids[2]] == before[ids[2]]
    assert jobs[ids[0]].to_address == "erased@erased.invalid"
    assert [jobs[pid].to_address for pid in ids[1:]] == ["p1@example.com", "p2@example.com"]


def test_erasing_an_unknown_participant_changes_nothing(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    _event_id, ids = world(any_uows)
    with any_uows() as uow:
        counts = uow.privacy.erase_participant(
            "nope", birth_date_bands=birth_date_bands(FIRST_DAY), now=clock.now()
        )
        uow.commit()
    assert counts["participants"] == 0
    with any_uows(readonly=True) as uow:
        assert all(uow.participants.get(pid).email.endswith("@example.com") for pid in ids)  # type: ignore[union-attr]


def request(
    event_id: str, participant_id: str, clock: FakeClock, *, reason: str | None = None
) -> ErasureRequest:
    return ErasureRequest(
        id=new_id(),
        event_id=event_id,
        participant_id=participant_id,
        status=ErasureStatus.REQUESTED,
        reason=reason,
        requested_at=clock.now(),
        alert_id=new_id(),
    )


def test_erasure_requests_round_trip_and_only_undecided_ones_are_open(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, ids = world(any_uows)
    other_event, other_ids = world(any_uows)
    first = request(event_id, ids[0], clock, reason="이유")
    second = request(event_id, ids[1], clock)
    elsewhere = request(other_event, other_ids[0], clock)
    with any_uows() as uow:
        for item in (first, second, elsewhere):
            uow.privacy.add_erasure_request(item)
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert uow.privacy.get_erasure_request(first.id) == first
        assert uow.privacy.get_erasure_request("nope") is None
        assert uow.privacy.open_erasure_request(ids[0]) == first
        assert uow.privacy.open_erasure_request(ids[2]) is None
        assert [r.id for r in uow.privacy.find_erasure_requests(event_id)] == [first.id, second.id]
        assert [r.id for r in uow.privacy.find_erasure_requests(event_id, limit=1)] == [first.id]
        assert [r.id for r in uow.privacy.find_erasure_requests(event_id, after_id=first.id)] == [second.id]
        assert len(uow.privacy.find_erasure_requests(None)) == 3
    clock.advance(minutes=3)
    decided = ErasureRequest(
        id=first.id,
        event_id=event_id,
        participant_id=ids[0],
        status=ErasureStatus.REJECTED,
        reason="이유",
        requested_at=first.requested_at,
        decided_at=clock.now(),
        decided_by="key:k1",
        decision_note="메모",
        alert_id=first.alert_id,
    )
    with any_uows() as uow:
        uow.privacy.decide_erasure_request(decided)
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert uow.privacy.get_erasure_request(first.id) == decided
        assert uow.privacy.open_erasure_request(ids[0]) is None
        assert [r.id for r in uow.privacy.find_erasure_requests(event_id, status="requested")] == [second.id]
        assert [r.id for r in uow.privacy.find_erasure_requests(event_id, status="rejected")] == [first.id]


def test_erasing_one_person_keeps_statistics_analytics_and_everyone_else_when_on_either_database(
    client: TestClient, turnout: Turnout, clock: FakeClock, event: dict[str, Any], gate: dict[str, Any]
) -> None:
    event_id = str(event["id"])
    set_status(client, event_id, "open", "live")
    registered = []
    for person in people(10):
        response = client.post(f"/api/v1/events/{event_id}/participants", json=person)
        assert response.status_code == 201, response.text
        registered.append(response.json())
    attendance = f"/api/v1/events/{event_id}/attendance"
    for person in registered[:6]:
        scan = {"token": person["token"], "gate_id": gate["id"], "device": {"owner": person["email"]}}
        assert client.post(attendance, json=scan).json()["result"] == "admitted"
    clock.advance(hours=1)
    scan = {"token": registered[0]["token"], "gate_id": gate["id"], "direction": "out"}
    assert client.post(attendance, json=scan).json()["result"] == "exited"
    turnout.relay().drain()
    before = figures(turnout, event_id)
    assert before[0]["checked_in"] == 6  # not vacuous
    target = registered[0]
    assert target["email"] in every_row(turnout)

    with turnout.uow() as uow:
        found = uow.events.get(event_id)
        assert found is not None
        assert found.status == EventStatus.LIVE
        counts = uow.privacy.erase_participant(
            target["id"], birth_date_bands=birth_date_bands(FIRST_DAY), now=clock.now()
        )
        uow.commit()

    assert counts["participants"] == 1
    assert counts["scans"] == 2
    assert counts["outbox"] >= 1  # the relayed facts naming them
    assert figures(turnout, event_id) == before
    dump = every_row(turnout)
    for secret in (target["email"], target["token"], target["name"], "비밀회사0", "XL-secret-0"):
        assert secret not in dump, secret
    for i, other in enumerate(registered[1:], start=1):
        for kept in (other["email"], other["token"], f"비밀회사{i}", f"XL-secret-{i}"):
            assert kept in dump, kept
