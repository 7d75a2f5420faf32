"""Check-in through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.attendance_support import add_gate, add_participant, add_participants, live_event, set_participant
from tests.fakes import FakeClock
from turnout.adapters.db import tables as t
from turnout.adapters.db.tables_attendance import scans
from turnout.bootstrap import Turnout
from turnout.domain.admission import Direction, Result
from turnout.domain.errors import NotFound
from turnout.domain.events import EventStatus, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.services.admission import Desk, ScanAnswer, ScanInput, desk_for
from turnout.services.statistics import snapshot


def scan_rows(turnout: Turnout) -> list[sa.Row[tuple[object, ...]]]:
    with turnout.uow(readonly=True) as uow:
        return list(uow.conn.execute(sa.select(scans).order_by(scans.c.recorded_at, scans.c.id)))


def facts(turnout: Turnout, type_: str = "attendance.recorded") -> list[dict[str, object]]:
    with turnout.uow(readonly=True) as uow:
        return [r.data for r in uow.conn.execute(sa.select(t.outbox).where(t.outbox.c.type == type_))]


def participant(turnout: Turnout, participant_id: str) -> sa.Row[tuple[object, ...]]:
    with turnout.uow(readonly=True) as uow:
        return uow.conn.execute(sa.select(t.participants).where(t.participants.c.id == participant_id)).one()


def test_admits_once_then_answers_already_admitted_when_scanned_again(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    pid, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)

    first = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token), actor="key:g")
    second = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token), actor="key:g")

    assert (first.result, first.code) == (Result.ADMITTED, None)
    assert first.participant is not None
    assert first.participant.check_in_status == "inside"
    assert (second.result, second.code) == (Result.DENIED, "already_admitted")
    rows = scan_rows(turnout)
    assert [(r.result, r.code, r.actor) for r in rows] == [
        ("admitted", None, "key:g"),
        ("denied", "already_admitted", "key:g"),
    ]
    recorded = facts(turnout)
    assert len(recorded) == 1
    assert recorded[0]["participant_id"] == pid
    assert recorded[0]["result"] == "admitted"
    assert "name" not in recorded[0]
    assert "email" not in recorded[0]
    row = participant(turnout, pid)
    assert row.check_in_status == "inside"
    assert row.first_checked_in_at is not None


def test_exit_records_stay_and_reentry_is_admitted_when_event_allows_it(
    turnout: Turnout, clock: FakeClock
) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _pid, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)

    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    clock.advance(minutes=45)
    out = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, direction=Direction.OUT))
    again = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))

    assert out.result is Result.EXITED
    assert scan_rows(turnout)[1].stay_seconds == 45 * 60
    assert again.result is Result.ADMITTED
    assert [f["result"] for f in facts(turnout)] == ["admitted", "exited", "admitted"]
    assert facts(turnout)[1]["stay_seconds"] == 2700


def test_denies_reentry_when_event_forbids_it(turnout: Turnout) -> None:
    event_id = live_event(turnout, allow_reentry=False)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, direction=Direction.OUT))
    again = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    assert (again.result, again.code) == (Result.DENIED, "reentry_not_allowed")


def test_every_refusal_is_stored_with_its_code_when_tokens_are_bad(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    other_event = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    pid, token = add_participant(turnout, event_id)
    _, foreign = add_participant(turnout, other_event)
    with turnout.uow() as uow:
        stranger = turnout.tickets.mint(uow, event_id=event_id, participant_id=new_id())
        uow.commit()
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    desk = desk_for(turnout)

    codes = [
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=raw)).code
        for raw in ("not-a-ticket", tampered, foreign, stranger)
    ]

    assert codes == ["malformed_token", "invalid_signature", "wrong_event", "unknown_token"]
    rows = scan_rows(turnout)
    assert [(r.result, r.code, r.participant_id) for r in rows] == [("denied", c, None) for c in codes]
    assert facts(turnout) == []
    assert participant(turnout, pid).check_in_status == "not_checked_in"


def test_denies_revoked_and_cancelled_tickets_when_participant_changed(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    (a, token_a), (b, token_b) = add_participants(turnout, event_id, 2)
    set_participant(turnout, a, ticket_version=2)
    set_participant(turnout, b, status="cancelled")
    desk = desk_for(turnout)
    assert desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token_a)).code == "revoked"
    assert (
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token_b)).code
        == "participant_cancelled"
    )


def test_denies_event_not_live_and_gate_rules_when_they_do_not_fit(
    turnout: Turnout, clock: FakeClock
) -> None:
    draft_event = live_event(turnout, status=EventStatus.OPEN)
    gate_draft = add_gate(turnout, draft_event)
    _, token_draft = add_participant(turnout, draft_event)
    event_id = live_event(turnout)
    closed_gate = add_gate(turnout, event_id, opens_at=clock.now() + timedelta(hours=1))
    qr_only = add_gate(turnout, event_id, methods=(ScanMethod.QR,))
    entry_only = add_gate(turnout, event_id, direction=GateDirection.IN)
    pid, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)

    def code(event: str, **kw: object) -> str | None:
        return desk.scan(event_id=event, scan=ScanInput(**kw)).code  # type: ignore[arg-type]

    assert code(draft_event, gate_id=gate_draft, token=token_draft) == "event_not_live"
    assert code(event_id, gate_id=closed_gate, token=token) == "gate_closed"
    assert (
        code(event_id, gate_id=qr_only, participant_id=pid, method=ScanMethod.MANUAL) == "method_not_allowed"
    )
    assert code(event_id, gate_id=entry_only, token=token, direction=Direction.OUT) == "direction_not_allowed"
    assert code(event_id, gate_id=entry_only, token=token, direction=None) is None  # admitted


def test_same_nonce_gives_same_answer_and_one_record_when_repeated(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)
    answers = [
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n-1"))
        for _ in range(3)
    ]
    assert {(a.result, a.code, a.attendance_id) for a in answers} == {
        (Result.ADMITTED, None, answers[0].attendance_id)
    }
    assert len(scan_rows(turnout)) == 1
    assert len(facts(turnout)) == 1


def test_ble_detections_make_one_record_when_inside_debounce_window(
    turnout: Turnout, clock: FakeClock
) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    pid, _ = add_participant(turnout, event_id)
    desk = desk_for(turnout)
    ble = ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    first = desk.scan(event_id=event_id, scan=ble)
    clock.advance(seconds=20)
    second = desk.scan(event_id=event_id, scan=ble)
    clock.advance(seconds=50)
    third = desk.scan(event_id=event_id, scan=ble)
    assert first.result is Result.ADMITTED
    assert (second.result, second.attendance_id, second.replayed) == (
        Result.ADMITTED,
        first.attendance_id,
        True,
    )
    assert third.code == "already_admitted"
    assert len(scan_rows(turnout)) == 2


def test_ble_never_overrides_a_denial_when_detected_right_after_it(
    turnout: Turnout, clock: FakeClock
) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    pid, token = add_participant(turnout, event_id)
    set_participant(turnout, pid, ticket_version=2)
    desk = desk_for(turnout)
    denied = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    set_participant(turnout, pid, ticket_version=1)  # even if the ticket became good meanwhile
    clock.advance(seconds=5)
    ble = desk.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    )
    assert denied.code == "revoked"
    assert (ble.result, ble.code) == (Result.DENIED, "revoked")
    assert participant(turnout, pid).check_in_status == "not_checked_in"


def test_naive_timestamp_is_read_in_event_timezone_when_given(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    desk_for(turnout).scan(
        event_id=event_id,
        scan=ScanInput(gate_id=gate_id, token=token, occurred_at=datetime(2026, 6, 1, 9, 30)),
    )
    stored = scan_rows(turnout)[0].occurred_at
    assert stored.isoformat() == "2026-06-01T00:30:00+00:00"  # 09:30 in Seoul


def test_statistics_follow_scans_when_people_come_and_go(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    people = add_participants(turnout, event_id, 4)
    set_participant(turnout, people[3][0], status="cancelled")
    desk = desk_for(turnout)
    for _, token in people[:3]:
        desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[0][1], direction=Direction.OUT))
    desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=people[1][1]))  # already admitted
    with turnout.uow(readonly=True) as uow:
        stats = snapshot(uow, event_id=event_id)
    assert (stats["registered"], stats["cancelled"], stats["checked_in"], stats["inside"]) == (3, 1, 3, 2)
    assert (stats["scans"], stats["denied"]) == (5, 1)
    assert stats["by_gate"][gate_id] == {"name": "정문", "admitted": 3, "exited": 1, "denied": 1}
    assert stats["by_method"]["qr"]["admitted"] == 3
    assert sum(bucket["admitted"] for bucket in stats["arrivals"]) == 3
    assert stats["attendance_rate"] == 1.0


def test_relay_wakes_live_statistics_when_attendance_is_recorded(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    _, token = add_participant(turnout, event_id)
    desk_for(turnout).scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    before = turnout.statistics.version(event_id)
    turnout.relay().drain()
    assert turnout.statistics.version(event_id) > before


def test_async_scans_admit_exactly_once_when_they_arrive_together(turnout: Turnout) -> None:
    import asyncio

    event_id = live_event(turnout)
    gates = [add_gate(turnout, event_id, name=f"g{i}") for i in range(4)]
    people = add_participants(turnout, event_id, 10)
    desk = desk_for(turnout)

    async def storm() -> list[tuple[str, str | None]]:
        scans_ = [
            desk.scan_async(event_id=event_id, scan=ScanInput(gate_id=gates[i % 4], token=token))
            for _, token in people
            for i in range(8)
        ]
        return [(a.result.value, a.code) for a in await asyncio.gather(*scans_)]

    answers = asyncio.run(storm())
    assert answers.count(("admitted", None)) == 10
    assert answers.count(("denied", "already_admitted")) == 70


def test_scans_are_answered_one_by_one_when_their_group_cannot_commit(
    turnout: Turnout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group whose transaction fails (here: the first attempt) is retried scan by scan, each in a
    transaction of its own; the answers are those of the usual path, and a vanished event is a 404."""
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    pid, token = add_participant(turnout, event_id)
    desk = desk_for(turnout)
    original = Desk._bulk_batch_once
    groups: list[int] = []

    def failing_once(self: Desk, **kwargs: Any) -> list[ScanAnswer]:
        groups.append(len(kwargs["batch"]))
        if len(groups) == 1:
            raise RuntimeError("the group's transaction failed")
        return original(self, **kwargs)

    monkeypatch.setattr(Desk, "_bulk_batch_once", failing_once)
    first = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n1"))
    again = desk.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n1"))
    assert (first.result, first.code) == (Result.ADMITTED, None)
    assert first.participant is not None
    assert first.participant.name
    assert (again.result, again.attendance_id, again.replayed) == (Result.ADMITTED, first.attendance_id, True)
    assert len(groups) == 3  # the failed group, the scan alone, the repeated nonce
    assert [(r.result, r.nonce) for r in scan_rows(turnout)] == [("admitted", "n1")]
    assert participant(turnout, pid).check_in_status == "inside"
    gate = desk.gate(event_id=event_id, gate_id=gate_id)
    identity = desk.identify(event_id=event_id, token=None, participant_id=pid)
    scan = ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.MANUAL)
    with pytest.raises(NotFound):
        desk._scan_alone(event_id=new_id(), item=(0, scan, gate, identity, None, None))
