from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from turnout.domain.admission import (
    Admitted,
    CheckInStatus,
    Denied,
    Direction,
    Exited,
    PreviousScan,
    Repeated,
    Result,
    Scan,
    TicketState,
    admit,
    default_direction,
    status_after,
)
from turnout.domain.events import Event, EventStatus, Gate, GateDirection, ScanMethod

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
EVENT = Event(
    id="e1",
    name="x",
    starts_at=NOW - timedelta(hours=1),
    ends_at=NOW + timedelta(hours=8),
    status=EventStatus.LIVE,
)
GATE = Gate(id="g1", event_id="e1", name="main")
TICKET = TicketState(
    participant_id="p1",
    status="registered",
    check_in_status=CheckInStatus.NOT_CHECKED_IN,
    ticket_version=1,
    token_version=1,
)


def scan(method: ScanMethod = ScanMethod.QR, direction: Direction = Direction.IN, at: datetime = NOW) -> Scan:
    return Scan(gate_id="g1", method=method, direction=direction, occurred_at=at)


def test_admits_when_ticket_is_valid_and_participant_outside() -> None:
    assert admit(scan(), TICKET, GATE, EVENT) == Admitted()


def test_denies_unknown_token_when_no_participant_matches() -> None:
    assert admit(scan(), None, GATE, EVENT) == Denied("unknown_token")


def test_denies_revoked_when_token_version_is_older_than_participants() -> None:
    ticket = replace(TICKET, ticket_version=2, token_version=1)
    assert admit(scan(), ticket, GATE, EVENT) == Denied("revoked")


def test_admits_manual_check_in_when_no_token_version_is_given() -> None:
    ticket = replace(TICKET, ticket_version=3, token_version=None)
    assert admit(scan(ScanMethod.MANUAL), ticket, GATE, EVENT) == Admitted()


def test_denies_participant_cancelled_when_status_is_cancelled() -> None:
    assert admit(scan(), replace(TICKET, status="cancelled"), GATE, EVENT) == Denied("participant_cancelled")


@pytest.mark.parametrize("status", [s for s in EventStatus if s is not EventStatus.LIVE])
def test_denies_event_not_live_when_event_is_not_live(status: EventStatus) -> None:
    assert admit(scan(), TICKET, GATE, replace(EVENT, status=status)) == Denied("event_not_live")


def test_denies_gate_closed_when_scan_is_before_opening_or_after_closing() -> None:
    gate = replace(GATE, opens_at=NOW, closes_at=NOW + timedelta(hours=1))
    assert admit(scan(at=NOW - timedelta(seconds=1)), TICKET, gate, EVENT) == Denied("gate_closed")
    assert admit(scan(at=NOW + timedelta(hours=1)), TICKET, gate, EVENT) == Denied("gate_closed")
    assert admit(scan(at=NOW), TICKET, gate, EVENT) == Admitted()


def test_denies_method_not_allowed_when_gate_lacks_the_method() -> None:
    gate = replace(GATE, methods=(ScanMethod.QR,))
    assert admit(scan(ScanMethod.BLE), TICKET, gate, EVENT) == Denied("method_not_allowed")


def test_denies_direction_not_allowed_when_gate_is_one_way() -> None:
    gate = replace(GATE, direction=GateDirection.IN)
    inside = replace(TICKET, check_in_status=CheckInStatus.INSIDE)
    assert admit(scan(direction=Direction.OUT), inside, gate, EVENT) == Denied("direction_not_allowed")


def test_denies_already_admitted_when_participant_is_inside() -> None:
    inside = replace(TICKET, check_in_status=CheckInStatus.INSIDE)
    assert admit(scan(), inside, GATE, EVENT) == Denied("already_admitted")


def test_denies_not_inside_when_exit_comes_without_entry() -> None:
    assert admit(scan(direction=Direction.OUT), TICKET, GATE, EVENT) == Denied("not_inside")
    exited = replace(TICKET, check_in_status=CheckInStatus.EXITED)
    assert admit(scan(direction=Direction.OUT), exited, GATE, EVENT) == Denied("not_inside")


def test_exit_records_stay_duration_when_participant_is_inside() -> None:
    inside = replace(
        TICKET, check_in_status=CheckInStatus.INSIDE, last_accepted_at=NOW - timedelta(minutes=90)
    )
    assert admit(scan(direction=Direction.OUT), inside, GATE, EVENT) == Exited(stay_seconds=5400)


def test_readmits_after_exit_when_event_allows_reentry() -> None:
    exited = replace(TICKET, check_in_status=CheckInStatus.EXITED)
    assert admit(scan(), exited, GATE, EVENT) == Admitted()


def test_denies_reentry_when_event_forbids_it() -> None:
    exited = replace(TICKET, check_in_status=CheckInStatus.EXITED)
    event = replace(EVENT, allow_reentry=False)
    assert admit(scan(), exited, GATE, event) == Denied("reentry_not_allowed")


def test_ble_repeats_earlier_answer_when_inside_debounce_window() -> None:
    previous = PreviousScan("s1", NOW - timedelta(seconds=30), Result.ADMITTED, None)
    inside = replace(TICKET, check_in_status=CheckInStatus.INSIDE)
    decision = admit(scan(ScanMethod.BLE), inside, GATE, EVENT, previous, ble_debounce_seconds=60)
    assert decision == Repeated(previous)


def test_ble_never_overrides_a_denial_when_inside_debounce_window() -> None:
    previous = PreviousScan("s1", NOW - timedelta(seconds=10), Result.DENIED, "gate_closed")
    decision = admit(scan(ScanMethod.BLE), TICKET, GATE, EVENT, previous, ble_debounce_seconds=60)
    assert isinstance(decision, Repeated)
    assert decision.previous.result is Result.DENIED


def test_ble_is_decided_afresh_when_outside_debounce_window() -> None:
    previous = PreviousScan("s1", NOW - timedelta(seconds=61), Result.ADMITTED, None)
    inside = replace(TICKET, check_in_status=CheckInStatus.INSIDE)
    decision = admit(scan(ScanMethod.BLE), inside, GATE, EVENT, previous, ble_debounce_seconds=60)
    assert decision == Denied("already_admitted")


def test_qr_is_not_debounced_when_a_recent_scan_exists() -> None:
    previous = PreviousScan("s1", NOW - timedelta(seconds=1), Result.ADMITTED, None)
    inside = replace(TICKET, check_in_status=CheckInStatus.INSIDE)
    assert admit(scan(), inside, GATE, EVENT, previous) == Denied("already_admitted")


def test_ticket_checks_come_before_place_checks_when_both_fail() -> None:
    closed = replace(EVENT, status=EventStatus.CLOSED)
    assert admit(scan(), replace(TICKET, status="cancelled"), GATE, closed) == Denied("participant_cancelled")


def test_default_direction_is_out_only_at_exit_gates() -> None:
    assert default_direction(replace(GATE, direction=GateDirection.OUT)) is Direction.OUT
    assert default_direction(GATE) is Direction.IN


def test_status_follows_decision() -> None:
    assert status_after(Admitted(), CheckInStatus.EXITED) is CheckInStatus.INSIDE
    assert status_after(Exited(5), CheckInStatus.INSIDE) is CheckInStatus.EXITED
    assert status_after(Denied("gate_closed"), CheckInStatus.INSIDE) is CheckInStatus.INSIDE
