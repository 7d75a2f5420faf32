"""The consent store's contract: the same checks on the fake and on the SQL store, on SQLite and
PostgreSQL (``any_uows``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fakes import FakeClock
from tests.mail_support import add_event, add_participant
from turnout.domain.consent import (
    Basis,
    Channel,
    ConsentRecord,
    PrivacyNotice,
    default_notice,
    notice_hash,
)
from turnout.ports import UnitOfWorkFactory


def notice(event_id: str, version: int, clock: FakeClock, *, systems: tuple[str, ...] = ()) -> PrivacyNotice:
    content = default_notice(event_name="서울 개발자 컨퍼런스", min_age=14, enabled_systems=systems)
    return PrivacyNotice(
        event_id=event_id,
        version=version,
        content=content,
        hash=notice_hash(content),
        created_at=clock.now(),
        created_by="admin:test",
    )


def test_notice_versions_are_kept_newest_first_and_read_back_whole(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        assert uow.consent.current_notice(event_id) is None
        first = notice(event_id, 1, clock)
        uow.consent.add_notice(first)
        uow.consent.add_notice(notice(other, 1, clock))
        uow.commit()
    clock.advance(minutes=5)
    second = notice(event_id, 2, clock, systems=("gate-management", "analytics-platform"))
    with any_uows() as uow:
        uow.consent.add_notice(second)
        uow.commit()
    with any_uows(readonly=True) as uow:
        current = uow.consent.current_notice(event_id)
        history = uow.consent.notices(event_id)
    assert current == second
    assert [n.version for n in history] == [2, 1]
    assert history[1] == first
    assert notice_hash(history[0].content) == second.hash  # the content survives the round trip
    assert [r.system for r in second.content.recipients] == ["gate-management", "analytics-platform"]


def test_a_taken_notice_version_is_refused(any_uows: UnitOfWorkFactory, clock: FakeClock) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        uow.consent.add_notice(notice(event_id, 1, clock))
        uow.commit()
    taken = notice(event_id, 1, clock)
    with any_uows() as uow, pytest.raises(Exception):  # noqa: B017 - IntegrityError or the fake's ValueError
        uow.consent.add_notice(taken)


def test_consent_records_are_kept_per_participant_and_replaced(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        people = [
            add_participant(uow, event_id=event_id, name=f"참가자{i}", email=f"p{i}@example.com")
            for i in range(3)
        ]
        records = [
            ConsentRecord(
                participant_id=p.id,
                event_id=event_id,
                notice_version=1,
                notice_hash="a" * 64,
                required=True,
                optional=i % 2 == 0,
                marketing=False,
                channel=Channel.FORM,
                basis=Basis.CONSENT,
                given_at=clock.now(),
            )
            for i, p in enumerate(people)
        ]
        uow.consent.record_many(records)
        uow.commit()
    child = ConsentRecord(
        participant_id=people[2].id,
        event_id=event_id,
        notice_version=2,
        notice_hash="b" * 64,
        required=True,
        optional=True,
        marketing=True,
        channel=Channel.STAFF,
        basis=Basis.CONSENT,
        given_at=clock.now(),
        guardian_name="김보호",
        guardian_contact="+821012345678",
        guardian_consented=True,
    )
    with any_uows() as uow:
        uow.consent.record_many([child])
        uow.commit()
    with any_uows(readonly=True) as uow:
        one = uow.consent.of_participant(people[0].id)
        many = uow.consent.of_participants([p.id for p in people] + ["missing"])
    assert one == records[0]
    assert set(many) == {p.id for p in people}
    assert many[people[1].id].optional is False
    assert many[people[2].id] == child


def test_new_records_are_added_in_bulk_and_a_second_record_is_refused(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        people = [
            add_participant(uow, event_id=event_id, name=f"가져온{i}", email=f"i{i}@example.com")
            for i in range(3)
        ]
        records = [
            ConsentRecord(
                participant_id=p.id,
                event_id=event_id,
                notice_version=1,
                notice_hash="c" * 64,
                required=True,
                optional=i == 0,
                marketing=False,
                channel=Channel.IMPORT,
                basis=Basis.COLLECTED_ELSEWHERE if i else Basis.CONSENT,
                given_at=clock.now(),
                guardian_name="박보호" if i == 2 else None,
                guardian_contact="guardian@example.com" if i == 2 else None,
                guardian_consented=i == 2,
            )
            for i, p in enumerate(people)
        ]
        uow.consent.add_new(records)
        uow.commit()
    with any_uows(readonly=True) as uow:
        found = uow.consent.of_participants([p.id for p in people])
    assert [found[p.id] for p in people] == records  # the time and the booleans survive the bulk path
    with any_uows() as uow, pytest.raises(Exception):  # noqa: B017 - IntegrityError or the fake's ValueError
        uow.consent.add_new([records[0]])


def test_shared_records_are_added_for_each_participant_of_their_group(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        people = [
            add_participant(uow, event_id=event_id, name=f"묶음{i}", email=f"g{i}@example.com")
            for i in range(5)
        ]
        template = ConsentRecord(
            participant_id="",
            event_id=event_id,
            notice_version=1,
            notice_hash="d" * 64,
            required=True,
            optional=True,
            marketing=False,
            channel=Channel.IMPORT,
            basis=Basis.COLLECTED_ELSEWHERE,
            given_at=clock.now(),
        )
        strict = replace(template, optional=False, basis=Basis.CONSENT)
        uow.consent.add_shared([(template, [p.id for p in people[:3]]), (strict, [p.id for p in people[3:]])])
        uow.commit()
    with any_uows(readonly=True) as uow:
        found = uow.consent.of_participants([p.id for p in people])
    assert [found[p.id] for p in people[:3]] == [replace(template, participant_id=p.id) for p in people[:3]]
    assert [found[p.id] for p in people[3:]] == [replace(strict, participant_id=p.id) for p in people[3:]]
