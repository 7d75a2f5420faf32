"""Check-in of single scans through the service, on fakes (``tests/fakes_checkin.py``): the rules,
arrival order inside a group, nonce replays, and what a group that cannot commit does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeGates
from tests.fakes_checkin import CheckInWorld, FakeConflict
from turnout.domain.admission import Direction, Result
from turnout.domain.errors import NotFound
from turnout.domain.events import EventStatus, Gate, GateDirection, ScanMethod
from turnout.domain.ids import new_id
from turnout.services.checkin import QueuedScan, ScanAnswer, ScanInput


@pytest.fixture
def world() -> CheckInWorld:
    return CheckInWorld()


def test_admits_once_then_answers_already_admitted_when_scanned_again(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, token = world.add_participant(event_id)

    first = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token), actor="key:g")
    second = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token), actor="key:g"
    )

    assert (first.result, first.code) == (Result.ADMITTED, None)
    assert first.participant is not None
    assert first.participant.check_in_status == "inside"
    assert (second.result, second.code) == (Result.DENIED, "already_admitted")
    assert [(s.result, s.code, s.actor) for s in world.store.scans()] == [
        ("admitted", None, "key:g"),
        ("denied", "already_admitted", "key:g"),
    ]
    recorded = [envelope.data for envelope in world.store.facts()]
    assert len(recorded) == 1
    assert recorded[0]["participant_id"] == pid
    assert recorded[0]["result"] == "admitted"
    assert "name" not in recorded[0]
    assert "email" not in recorded[0]
    person = world.store.participant(pid)
    assert person.check_in_status.value == "inside"
    assert person.first_checked_in_at is not None
    assert world.recorded == [event_id]  # statistics moved once: the second scan was a refusal


def test_exit_records_stay_and_reentry_is_admitted_when_event_allows_it(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _pid, token = world.add_participant(event_id)

    world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    world.clock.advance(minutes=45)
    out = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, direction=Direction.OUT)
    )
    again = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))

    assert out.result is Result.EXITED
    assert world.store.scans()[1].stay_seconds == 45 * 60
    assert again.result is Result.ADMITTED
    facts = [envelope.data for envelope in world.store.facts()]
    assert [f["result"] for f in facts] == ["admitted", "exited", "admitted"]
    assert facts[1]["stay_seconds"] == 2700


def test_denies_reentry_when_event_forbids_it(world: CheckInWorld) -> None:
    event_id = world.live_event(allow_reentry=False)
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, direction=Direction.OUT)
    )
    again = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    assert (again.result, again.code) == (Result.DENIED, "reentry_not_allowed")


def test_every_refusal_is_stored_with_its_code_when_tokens_are_bad(world: CheckInWorld) -> None:
    event_id = world.live_event()
    other_event = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, token = world.add_participant(event_id)
    _, foreign = world.add_participant(other_event)
    stranger = world.keys.mint(event_id=event_id, participant_id=new_id())
    # one character of the signature changed, away from the last (whose unused bits must stay zero)
    tampered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]

    codes = [
        world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=raw)).code
        for raw in ("not-a-ticket", tampered, foreign, stranger)
    ]

    assert codes == ["malformed_token", "invalid_signature", "wrong_event", "unknown_token"]
    assert [(s.result, s.code, s.participant_id) for s in world.store.scans()] == [
        ("denied", c, None) for c in codes
    ]
    assert world.store.facts() == []
    assert world.status(pid) == "not_checked_in"
    assert world.recorded == []


def test_denies_revoked_and_cancelled_tickets_when_participant_changed(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    (a, token_a), (b, token_b) = world.add_participants(event_id, 2)
    world.set_participant(a, ticket_version=2)
    world.set_participant(b, status="cancelled")
    scan = world.checkin.scan
    assert scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token_a)).code == "revoked"
    assert (
        scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token_b)).code
        == "participant_cancelled"
    )


def test_denies_event_not_live_and_gate_rules_when_they_do_not_fit(world: CheckInWorld) -> None:
    draft_event = world.live_event(status=EventStatus.OPEN)
    gate_draft = world.add_gate(draft_event)
    _, token_draft = world.add_participant(draft_event)
    event_id = world.live_event()
    closed_gate = world.add_gate(event_id, opens_at=world.clock.now() + timedelta(hours=1))
    qr_only = world.add_gate(event_id, methods=(ScanMethod.QR,))
    entry_only = world.add_gate(event_id, direction=GateDirection.IN)
    pid, token = world.add_participant(event_id)

    def code(event: str, **kw: object) -> str | None:
        return world.checkin.scan(event_id=event, scan=ScanInput(**kw)).code  # type: ignore[arg-type]

    assert code(draft_event, gate_id=gate_draft, token=token_draft) == "event_not_live"
    assert code(event_id, gate_id=closed_gate, token=token) == "gate_closed"
    assert (
        code(event_id, gate_id=qr_only, participant_id=pid, method=ScanMethod.MANUAL) == "method_not_allowed"
    )
    assert code(event_id, gate_id=entry_only, token=token, direction=Direction.OUT) == "direction_not_allowed"
    assert code(event_id, gate_id=entry_only, token=token, direction=None) is None  # admitted


def test_unknown_gate_is_not_found_when_scanned_at(world: CheckInWorld) -> None:
    event_id = world.live_event()
    other_gate = world.add_gate(world.live_event())
    _, token = world.add_participant(event_id)
    for gate_id in ("no-such-gate", other_gate):
        with pytest.raises(NotFound) as refused:
            world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
        assert refused.value.code == "gate_not_found"
    assert world.store.scans() == []


def test_same_nonce_gives_same_answer_and_one_record_when_repeated(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    answers = [
        world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n-1"))
        for _ in range(3)
    ]
    assert {(a.result, a.code, a.attendance_id) for a in answers} == {
        (Result.ADMITTED, None, answers[0].attendance_id)
    }
    assert [a.replayed for a in answers] == [False, True, True]
    assert len(world.store.scans()) == 1
    assert len(world.store.facts()) == 1


def test_same_nonce_inside_one_group_is_recorded_once(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    gate = world.checkin.gate(event_id=event_id, gate_id=gate_id)
    scan = ScanInput(gate_id=gate_id, token=token, nonce="twice")
    identity = world.checkin.identify(event_id=event_id, token=token, participant_id=None)
    first, second = world.batcher.together(event_id, [QueuedScan(scan, gate, identity, None)] * 2)
    assert isinstance(first, ScanAnswer)
    assert second is first
    assert len(world.store.scans()) == 1


def test_ble_detections_make_one_record_when_inside_debounce_window(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, _ = world.add_participant(event_id)
    ble = ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    first = world.checkin.scan(event_id=event_id, scan=ble)
    world.clock.advance(seconds=20)
    second = world.checkin.scan(event_id=event_id, scan=ble)
    world.clock.advance(seconds=50)
    third = world.checkin.scan(event_id=event_id, scan=ble)
    assert first.result is Result.ADMITTED
    assert (second.result, second.attendance_id, second.replayed) == (
        Result.ADMITTED,
        first.attendance_id,
        True,
    )
    assert third.code == "already_admitted"
    assert len(world.store.scans()) == 2


def test_ble_never_overrides_a_denial_when_detected_right_after_it(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, token = world.add_participant(event_id)
    world.set_participant(pid, ticket_version=2)
    denied = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    world.set_participant(pid, ticket_version=1)  # even if the ticket became good meanwhile
    world.clock.advance(seconds=5)
    ble = world.checkin.scan(
        event_id=event_id, scan=ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE)
    )
    assert denied.code == "revoked"
    assert (ble.result, ble.code) == (Result.DENIED, "revoked")
    assert world.status(pid) == "not_checked_in"


def test_naive_timestamp_is_read_in_event_timezone_when_given(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    world.checkin.scan(
        event_id=event_id,
        scan=ScanInput(gate_id=gate_id, token=token, occurred_at=datetime(2026, 6, 1, 9, 30)),
    )
    stored = world.store.scans()[0].occurred_at
    assert stored.astimezone(UTC).isoformat() == "2026-06-01T00:30:00+00:00"  # 09:30 in Seoul


def test_scans_arriving_together_are_decided_in_arrival_order(world: CheckInWorld) -> None:
    """One group, one transaction: each scan is decided against the state the one before left, so
    of eight simultaneous entries of a ticket the first is admitted and the rest are refused."""
    event_id = world.live_event()
    gates = [world.add_gate(event_id, name=f"g{i}") for i in range(4)]
    people = world.add_participants(event_id, 10)
    queued = []
    for _, token in people:
        for i in range(8):
            scan = ScanInput(gate_id=gates[i % 4], token=token)
            gate = world.checkin.gate(event_id=event_id, gate_id=scan.gate_id)
            identity = world.checkin.identify(event_id=event_id, token=token, participant_id=None)
            queued.append(QueuedScan(scan, gate, identity, None))
    answers = world.batcher.together(event_id, queued)
    outcomes = [(a.result.value, a.code) for a in answers if isinstance(a, ScanAnswer)]
    assert outcomes == [("admitted", None), *[("denied", "already_admitted")] * 7] * 10
    assert world.store.transactions == 1
    assert len(world.store.facts()) == 10


def test_async_scans_admit_exactly_once_when_they_arrive_together(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gates = [world.add_gate(event_id, name=f"g{i}") for i in range(4)]
    people = world.add_participants(event_id, 10)

    async def storm() -> list[tuple[str, str | None]]:
        scans = [
            world.checkin.scan_async(event_id=event_id, scan=ScanInput(gate_id=gates[i % 4], token=token))
            for _, token in people
            for i in range(8)
        ]
        return [(a.result.value, a.code) for a in await asyncio.gather(*scans)]

    answers = asyncio.run(storm())
    assert answers.count(("admitted", None)) == 10
    assert answers.count(("denied", "already_admitted")) == 70


def test_a_nonce_stored_meanwhile_is_answered_from_the_stored_scan(world: CheckInWorld) -> None:
    """The store meets a conflict (another process stored the nonce first) and decides the group
    again from fresh reads: the answer is the stored one."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    first = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n"))
    world.store.conflicts.append(FakeConflict("a concurrent writer"))
    again = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n"))
    assert (again.attendance_id, again.replayed) == (first.attendance_id, True)
    assert len(world.store.scans()) == 1


def test_scans_are_answered_one_by_one_when_their_group_cannot_commit(world: CheckInWorld) -> None:
    """A group whose transaction fails (here: the first attempt) is retried scan by scan, each in a
    transaction of its own; the answers are those of the usual path, and a vanished event is a 404."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, token = world.add_participant(event_id)
    world.store.conflicts.append(RuntimeError("the group's transaction failed"))

    first = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n1"))
    again = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token, nonce="n1"))

    assert (first.result, first.code) == (Result.ADMITTED, None)
    assert first.participant is not None
    assert first.participant.name
    assert (again.result, again.attendance_id, again.replayed) == (Result.ADMITTED, first.attendance_id, True)
    assert world.store.transactions == 3  # the failed group, the scan alone, the repeated nonce
    assert [(s.result, s.nonce) for s in world.store.scans()] == [("admitted", "n1")]
    assert world.status(pid) == "inside"
    world.checkin.gate(event_id=event_id, gate_id=gate_id)  # cached: the event is not looked at
    del world.db.table("events")[event_id]
    with pytest.raises(NotFound) as vanished:
        world.checkin.scan(
            event_id=event_id, scan=ScanInput(gate_id=gate_id, participant_id=pid, method=ScanMethod.MANUAL)
        )
    assert vanished.value.code == "event_not_found"


def test_a_failing_statistics_callback_does_not_fail_the_scan(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)

    def down(_event_id: str) -> None:
        raise RuntimeError("statistics are down")

    world.checkin.on_recorded = down
    answer = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    assert answer.result is Result.ADMITTED
    assert len(world.store.scans()) == 1


def test_signing_key_is_fetched_once_when_tokens_are_new(world: CheckInWorld) -> None:
    """The event's key is fetched before the first transaction that may verify a token, then kept;
    a token matching no stored current token is verified with it."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    people = world.add_participants(event_id, 3)
    for _, token in people:
        world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=token))
    stranger = world.keys.mint(event_id=event_id, participant_id=new_id())
    refused = world.checkin.scan(event_id=event_id, scan=ScanInput(gate_id=gate_id, token=stranger))
    assert refused.code == "unknown_token"
    assert world.keys.fetched == 1


def test_a_gate_that_cannot_be_looked_up_fails_only_its_own_scan(
    world: CheckInWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scans arriving together whose gates this process has not cached have them looked up for the
    group: a look-up that fails (the database, for that query) is the error of that scan alone, as
    an unknown gate is; the other scans of the group are decided and answered."""
    event_id = world.live_event()
    cached_gate, cold_gate = world.add_gate(event_id, name="cached"), world.add_gate(event_id, name="cold")
    [(_, token), (_, other)] = world.add_participants(event_id, 2)
    lookup = FakeGates.get

    def get(self: FakeGates, gate_id: str) -> Gate | None:
        if gate_id == cold_gate:
            raise ConnectionError("the database went away")
        return lookup(self, gate_id)

    monkeypatch.setattr(FakeGates, "get", get)
    gate = world.checkin.gate(event_id=event_id, gate_id=cached_gate)
    queued = [
        QueuedScan(
            ScanInput(gate_id=gate_id, token=tok),
            gate if gate_id == cached_gate else None,
            world.checkin.identify(event_id=event_id, token=tok, participant_id=None),
            None,
        )
        for gate_id, tok in ((cached_gate, token), (cold_gate, other), ("no-such-gate", other))
    ]
    admitted, failed, unknown = world.batcher.together(event_id, queued)
    assert isinstance(admitted, ScanAnswer)
    assert admitted.result is Result.ADMITTED
    assert isinstance(failed, ConnectionError)
    assert isinstance(unknown, NotFound)
    assert unknown.code == "gate_not_found"
    assert len(world.store.scans()) == 1
