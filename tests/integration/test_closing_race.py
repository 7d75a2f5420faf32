"""Closing an event never races a scan: a scan transaction that has read the event as live holds the
close off until it commits, and a scan arriving while the close is being committed waits for it and
is refused (``event_not_live``). So once the event shows ``closed``, no admission can still commit.
On SQLite the write lock gives this; on PostgreSQL the scan reads the event row ``FOR SHARE``."""

from __future__ import annotations

import threading

import pytest

from tests.attendance_support import add_gate, add_participants, live_event
from turnout.adapters.db.checkin_store import SqlCheckInStore
from turnout.bootstrap import Turnout, checkin_store_for
from turnout.domain.events import EventStatus
from turnout.services.checkin import ScanAnswer, ScanInput
from turnout.services.closing import set_event_status
from turnout.services.events import get_event

WAIT = 0.5  # how long a blocked side is watched to stay blocked


def close(turnout: Turnout, event_id: str) -> None:
    with turnout.uow() as uow:
        set_event_status(
            uow,
            sagas=turnout.sagas,
            policy=turnout.saga_policy(),
            event_id=event_id,
            status=EventStatus.CLOSED,
            actor="test",
        )
        uow.commit()


def status(turnout: Turnout, event_id: str) -> EventStatus:
    with turnout.uow(readonly=True) as uow:
        return get_event(uow, event_id=event_id).status


def test_a_scan_in_flight_holds_the_close_off_until_it_commits(turnout: Turnout) -> None:
    event_id = live_event(turnout)
    store = checkin_store_for(turnout.engine, turnout.settings.database_url)
    assert isinstance(store, SqlCheckInStore)  # SQLite's is one too: a transaction as its scans have
    closing = threading.Thread(target=close, args=(turnout, event_id))
    try:
        with store.transaction() as conn:
            event = store.reader(conn).event(event_id)
            assert event is not None
            assert event.status is EventStatus.LIVE
            closing.start()
            closing.join(WAIT)
            assert closing.is_alive(), "the close committed while a scan that saw the event live was open"
            assert status(turnout, event_id) is EventStatus.LIVE
    finally:
        store.close()
    closing.join(30)
    assert not closing.is_alive()
    assert status(turnout, event_id) is EventStatus.CLOSED


@pytest.mark.parametrize("method", ["scan", "bulk"])
def test_a_scan_during_the_close_waits_for_it_and_is_refused(turnout: Turnout, method: str) -> None:
    event_id = live_event(turnout)
    gate_id = add_gate(turnout, event_id)
    [(participant_id, token)] = add_participants(turnout, event_id, 1)
    answers: list[ScanAnswer] = []
    codes: list[str | None] = []

    scan_input = ScanInput(gate_id=gate_id, token=token)

    def scan() -> None:
        if method == "scan":
            answers.append(turnout.checkin.scan(event_id=event_id, scan=scan_input))
        else:
            result = turnout.checkin.bulk(event_id=event_id, records=[scan_input])
            codes.extend(error.code for error in result.errors)

    scanning = threading.Thread(target=scan)
    with turnout.uow() as uow:
        set_event_status(
            uow,
            sagas=turnout.sagas,
            policy=turnout.saga_policy(),
            event_id=event_id,
            status=EventStatus.CLOSED,
            actor="test",
        )
        scanning.start()
        scanning.join(WAIT)
        assert scanning.is_alive(), "a scan went through while the close was being committed"
        uow.commit()
    scanning.join(30)
    assert not scanning.is_alive()
    if method == "scan":
        [answer] = answers
        assert (answer.result.value, answer.code) == ("denied", "event_not_live")
    else:
        assert codes == ["event_not_live"]
    with turnout.uow(readonly=True) as uow:
        person = uow.participants.get(participant_id)
    assert person is not None
    assert person.check_in_status.value == "not_checked_in"
