"""Bulk uploads of offline scans through the service, on fakes: timestamp order, counting and errors
by index, nonce replays, batches that carry their changes forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes_checkin import CheckInWorld
from turnout.domain.admission import Direction
from turnout.domain.errors import NotFound
from turnout.domain.events import ScanMethod
from turnout.services.checkin import ScanInput

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def world() -> CheckInWorld:
    return CheckInWorld()


def test_exit_uploaded_before_its_entry_is_applied_in_timestamp_order(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, token = world.add_participant(event_id)
    records = [
        ScanInput(
            gate_id=gate_id,
            token=token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=2),
            nonce="b",
        ),
        ScanInput(gate_id=gate_id, token=token, direction=Direction.IN, occurred_at=T0, nonce="a"),
    ]
    result = world.checkin.bulk(event_id=event_id, records=records, actor="key:s")
    assert (result.total_processed, result.successful, result.failed, result.errors) == (2, 2, 0, [])
    rows = sorted(world.store.scans(), key=lambda s: s.occurred_at)
    assert [(r.result, r.stay_seconds, r.actor) for r in rows] == [
        ("admitted", None, "key:s"),
        ("exited", 7200, "key:s"),
    ]
    assert world.status(pid) == "exited"
    assert len(world.store.facts()) == 2


def test_bulk_reports_failures_by_index_when_records_are_refused(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    records = [
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0),
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0 + timedelta(minutes=1)),
        ScanInput(gate_id=gate_id, token="garbage", occurred_at=T0),
        ScanInput(gate_id="no-such-gate", token=token, occurred_at=T0),
        ScanInput(gate_id=gate_id, occurred_at=T0),
    ]
    result = world.checkin.bulk(event_id=event_id, records=records)
    assert (result.successful, result.failed) == (1, 4)
    assert [(e.index, e.code) for e in result.errors] == [
        (1, "already_admitted"),
        (2, "malformed_token"),
        (3, "gate_not_found"),
        (4, "token_or_participant_required"),
    ]


def test_bulk_is_idempotent_by_nonce_when_uploaded_twice(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    people = world.add_participants(event_id, 30)
    records = [
        ScanInput(gate_id=gate_id, token=token, occurred_at=T0 + timedelta(seconds=i), nonce=f"n{i}")
        for i, (_, token) in enumerate(people)
    ]
    records.append(
        ScanInput(gate_id=gate_id, token=people[0][1], occurred_at=T0 + timedelta(hours=1), nonce="dup")
    )
    first = world.checkin.bulk(event_id=event_id, records=records, batch_size=7)
    second = world.checkin.bulk(event_id=event_id, records=records, batch_size=7)
    assert (first.successful, first.failed) == (30, 1)
    assert (second.successful, second.failed, second.errors) == (first.successful, first.failed, first.errors)
    assert len(world.store.scans()) == 31
    assert len(world.store.facts()) == 30


def test_repeated_nonce_inside_one_upload_is_applied_once(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    _, token = world.add_participant(event_id)
    record = ScanInput(gate_id=gate_id, token=token, occurred_at=T0, nonce="same")
    result = world.checkin.bulk(event_id=event_id, records=[record, record, record], batch_size=2)
    assert (result.successful, result.failed) == (3, 0)
    assert len(world.store.scans()) == 1


def test_bulk_statistics_are_signalled_after_each_batch(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    people = world.add_participants(event_id, 25)
    records = [ScanInput(gate_id=gate_id, token=token, occurred_at=T0) for _, token in people]
    world.checkin.bulk(event_id=event_id, records=records, batch_size=10)
    assert world.recorded == [event_id] * 3
    assert world.store.transactions == 3


def test_bulk_for_an_unknown_event_is_not_found(world: CheckInWorld) -> None:
    with pytest.raises(NotFound) as refused:
        world.checkin.bulk(event_id="no-such-event", records=[ScanInput(gate_id="g", participant_id="p")])
    assert refused.value.code == "event_not_found"


def _enter_then_leave(world: CheckInWorld) -> tuple[str, str, str, list[ScanInput]]:
    """Two participants enter (nonces 1, 2), then leave an hour later (3, 4): one batch each."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    [(pid, token), (other_pid, other_token)] = world.add_participants(event_id, 2)
    records = [
        ScanInput(gate_id=gate_id, token=token, direction=Direction.IN, occurred_at=T0, nonce="1"),
        ScanInput(gate_id=gate_id, token=other_token, direction=Direction.IN, occurred_at=T0, nonce="2"),
        ScanInput(
            gate_id=gate_id,
            token=token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=1),
            nonce="3",
        ),
        ScanInput(
            gate_id=gate_id,
            token=other_token,
            direction=Direction.OUT,
            occurred_at=T0 + timedelta(hours=1),
            nonce="4",
        ),
    ]
    return event_id, pid, other_pid, records


def test_a_write_between_batches_is_seen_by_the_next_batch(world: CheckInWorld) -> None:
    """Each batch reads afresh: a gate that cancels a participant between two batches changes the
    next answer."""
    event_id, pid, other_pid, records = _enter_then_leave(world)
    batches: list[int] = []

    def after_batch(_event_id: str) -> None:
        batches.append(1)
        if len(batches) == 2:  # both entered; now someone else cancels the first participant
            world.set_participant(pid, status="cancelled")

    world.checkin.on_recorded = after_batch
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=1)
    assert len(batches) == 4
    assert [(e.index, e.code) for e in result.errors] == [(2, "participant_cancelled")]
    assert result.successful == 3
    assert (world.status(pid), world.status(other_pid)) == ("inside", "exited")


def test_batches_carry_their_own_changes_forward(world: CheckInWorld) -> None:
    """Entry in one batch, exit in the next: the second batch decides on the state the first one
    committed (the exit is accepted with its stay)."""
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    people = world.add_participants(event_id, 3)
    records = (
        [
            ScanInput(
                gate_id=gate_id, token=tok, direction=Direction.IN, occurred_at=T0 + timedelta(seconds=i)
            )
            for i, (_, tok) in enumerate(people)
        ]
        + [
            ScanInput(
                gate_id=gate_id,
                token=tok,
                direction=Direction.OUT,
                occurred_at=T0 + timedelta(minutes=10 + i),
            )
            for i, (_, tok) in enumerate(people)
        ]
        + [
            ScanInput(
                gate_id=gate_id,
                token=people[0][1],
                direction=Direction.OUT,
                occurred_at=T0 + timedelta(hours=1),
            )
        ]
    )
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=2)
    assert result.successful == 6
    assert [(e.index, e.code) for e in result.errors] == [(6, "not_inside")]
    stays = sorted(s.stay_seconds or 0 for s in world.store.scans() if s.result == "exited")
    assert stays == [600, 659, 718]
    assert [world.status(pid) for pid, _ in people] == ["exited"] * 3


def test_ble_detections_of_an_upload_are_debounced_across_batches(world: CheckInWorld) -> None:
    event_id = world.live_event()
    gate_id = world.add_gate(event_id)
    pid, _ = world.add_participant(event_id)
    records = [
        ScanInput(
            gate_id=gate_id, participant_id=pid, method=ScanMethod.BLE, occurred_at=T0 + timedelta(seconds=s)
        )
        for s in (0, 20, 40, 130)
    ]
    result = world.checkin.bulk(event_id=event_id, records=records, batch_size=1)
    assert (result.successful, result.failed) == (3, 1)  # the repeats stand; the last is a new entry
    assert [(e.index, e.code) for e in result.errors] == [(3, "already_admitted")]
    assert [s.result for s in world.store.scans()] == ["admitted", "denied"]
