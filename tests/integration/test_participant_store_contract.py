"""The participant store's contract (``uow.participants``): the same checks on ``FakeParticipantStore``
and on ``SqlParticipantStore`` (SQLite and PostgreSQL). The import, ticket and mail service tests
run on the fake and rely on these look-ups, counts and updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from tests.fakes import FakeClock
from tests.mail_support import add_event
from turnout.domain.ids import sequential_ids
from turnout.domain.participants import (
    Participant,
    ParticipantFilter,
    ParticipantInput,
    ParticipantStatus,
    Source,
)
from turnout.ports import UnitOfWork, UnitOfWorkFactory
from turnout.services.registration import participant_record


def person(name: str, email: str, phone: str | None = None) -> ParticipantInput:
    return ParticipantInput(name=name, email=email, phone=phone, birth_date=date(1990, 1, 1), region="서울")


def insert(uow: UnitOfWork, event_id: str, people: list[ParticipantInput]) -> list[str]:
    ids = sequential_ids(len(people))
    uow.participants.insert_many(
        [
            participant_record(
                participant_id=participant_id,
                event_id=event_id,
                data=data,
                token=f"TOKEN-{participant_id}",
                source=Source.API,
                import_id=None,
                now=uow.clock.now(),
            )
            for participant_id, data in zip(ids, people, strict=True)
        ]
    )
    return ids


def get(uows: UnitOfWorkFactory, participant_id: str) -> Participant:
    with uows(readonly=True) as uow:
        found = uow.participants.get(participant_id)
    assert found is not None
    return found


def test_look_ups_by_email_and_phone_find_the_events_own_participants_only(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        a, b, _none = insert(
            uow,
            event_id,
            [
                person("김민준", "a@example.com", "+821012345678"),
                person("이서연", "b@example.com", "+821087654321"),
                person("박지훈", "c@example.com"),
            ],
        )
        insert(uow, other, [person("최유진", "d@example.com", "+821011112222")])
        uow.commit()
    with any_uows(readonly=True) as uow:
        store = uow.participants
        by_email = store.ids_by_email(
            event_id, ["a@example.com", "b@example.com", "a@example.com", "d@example.com"]
        )
        by_phone = store.ids_by_phone(event_id, ["+821012345678", "+821011112222", "+821000000000"])
        assert store.ids_by_email(event_id, []) == {}
        assert store.ids_by_email(other, ["a@example.com"]) == {}
    assert by_email == {"a@example.com": a, "b@example.com": b}
    assert by_phone == {"+821012345678": a}


def test_many_participants_are_read_at_once_by_id_and_unknown_ids_are_left_out(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        a, b = insert(uow, event_id, [person("김민준", "a@example.com"), person("이서연", "b@example.com")])
        uow.commit()
    with any_uows() as uow:
        found = uow.participants.get_many([b, "missing", a, b], for_update=True)
        assert uow.participants.get_many([]) == {}
    assert sorted(found) == sorted([a, b])
    assert (found[a].name, found[a].email) == ("김민준", "a@example.com")
    assert found[b] == get(any_uows, b)


def test_active_participants_are_the_registered_ones_of_the_event_when_counted(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        ids = insert(uow, event_id, [person(f"참가자{i}", f"p{i}@example.com") for i in range(3)])
        insert(uow, other, [person("다른 행사", "x@example.com")])
        uow.participants.update_fields(ids[1], {"status": ParticipantStatus.CANCELLED.value})
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert uow.participants.count_active(event_id) == 2
        assert uow.participants.count_active(other) == 1


def test_an_update_changes_the_given_fields_only_when_applied(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        (participant_id,) = insert(
            uow, add_event(uow).id, [person("김민준", "a@example.com", "+821012345678")]
        )
        uow.commit()
    before = get(any_uows, participant_id)
    later = clock.now() + timedelta(minutes=5)
    with any_uows() as uow:
        uow.participants.update_fields(
            participant_id,
            {"name": "김민준2", "custom_fields": {"티셔츠": "L"}, "ticket_version": 2, "updated_at": later},
        )
        uow.commit()
    assert get(any_uows, participant_id) == replace(
        before, name="김민준2", custom_fields={"티셔츠": "L"}, ticket_version=2, updated_at=later
    )
    with any_uows() as uow:
        uow.participants.update_fields(participant_id, {"name": "되돌림"})  # not committed
    assert get(any_uows, participant_id).name == "김민준2"


def test_search_matches_name_email_and_phone_in_id_order_when_paged(any_uows: UnitOfWorkFactory) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        minjun, seoyeon, jihoon = insert(
            uow,
            event_id,
            [
                person("Kim Minjun", "minjun@example.com", "+821012345678"),
                person("Lee Seoyeon", "seo@corp.example", "+821055555678"),
                person("Park Jihoon", "jihoon@example.com"),
            ],
        )
        uow.participants.update_fields(jihoon, {"status": ParticipantStatus.CANCELLED.value})
        uow.commit()
    with any_uows(readonly=True) as uow:
        store = uow.participants

        def found(after_id: str | None = None, limit: int = 100, **query: str) -> list[str]:
            where = ParticipantFilter(**query)
            return [
                p.id for p in store.search(event_id=event_id, where=where, after_id=after_id, limit=limit)
            ]

        assert found() == [minjun, seoyeon, jihoon]
        assert found(q="MINJUN") == [minjun]  # the name without regard to case, or the email
        assert found(q="corp") == [seoyeon]
        assert found(phone_suffix="5678") == [minjun, seoyeon]
        assert found(phone_exact="+821055555678") == [seoyeon]
        assert found(q="nobody", phone_suffix="5678") == [minjun, seoyeon]  # any term matches
        assert found(status="cancelled") == [jihoon]
        assert found(check_in="not_checked_in") == [minjun, seoyeon, jihoon]
        assert found(check_in="inside") == []
        assert found(q="minjun", status="cancelled") == []  # every filter holds
        assert found(after_id=minjun, limit=1) == [seoyeon]


def test_feed_rows_carry_ticket_name_and_states_of_the_participants_asked_for(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    with any_uows() as uow:
        event_id = add_event(uow).id
        a, b, c = insert(
            uow,
            event_id,
            [
                person("김민준", "a@example.com"),
                person("이서연", "b@example.com"),
                person("박지훈", "c@example.com"),
            ],
        )
        came = clock.now() + timedelta(minutes=5)
        uow.participants.update_fields(
            b,
            {
                "status": ParticipantStatus.CANCELLED.value,
                "check_in_status": "exited",
                "first_checked_in_at": came,
                "last_scan_at": came + timedelta(hours=1),
                "updated_at": came + timedelta(hours=1),
            },
        )
        uow.commit()
    with any_uows(readonly=True) as uow:
        rows = sorted(uow.participants.feed_rows([b, a, b, "nobody"]), key=lambda row: row.id)
        assert uow.participants.feed_rows([]) == []
    assert [row.id for row in rows] == [a, b]
    first, second = rows
    assert (first.event_id, first.token, first.name, first.status) == (
        event_id,
        f"TOKEN-{a}",
        "김민준",
        "registered",
    )
    assert (first.check_in_status, first.first_checked_in_at, first.last_scan_at) == (
        "not_checked_in",
        None,
        None,
    )
    assert first.updated_at == clock.now()
    assert (second.status, second.check_in_status) == ("cancelled", "exited")
    assert (second.first_checked_in_at, second.last_scan_at) == (came, came + timedelta(hours=1))
    assert second.updated_at == came + timedelta(hours=1)
    assert c not in {row.id for row in rows}


def test_streamed_feed_rows_are_every_participant_of_the_event_in_id_order(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        mine = insert(uow, event_id, [person(f"참가자{n}", f"p{n}@example.com") for n in range(12)])
        insert(uow, other, [person("다른 행사", "x@example.com")])
        uow.participants.update_fields(mine[3], {"status": ParticipantStatus.CANCELLED.value})
        uow.commit()
    with any_uows(readonly=True) as uow:
        streamed = list(uow.participants.stream_feed_rows(event_id))
        assert list(uow.participants.stream_feed_rows("no-such-event")) == []
    assert [row.id for row in streamed] == sorted(mine)
    assert {row.event_id for row in streamed} == {event_id}
    assert [row.id for row in streamed if row.status == "cancelled"] == [mine[3]]


def test_search_finds_short_korean_and_mixed_queries_and_follows_changes_when_indexed(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        minjun, alone, seoyeon, percent = insert(
            uow,
            event_id,
            [
                person("김민준", "mj@example.com", "+821012341234"),
                person("민준", "solo@example.com"),
                person("이서연", "seoyeon.lee@corp.example", "+821099991234"),
                person("100% 박", "pct_under@example.com"),
            ],
        )
        insert(uow, other, [person("박민준", "other@example.com", "+821000001234")])
        uow.commit()

    def found(q: str) -> list[str]:
        with any_uows(readonly=True) as uow:
            where = ParticipantFilter.of(q)
            ids = [p.id for p in uow.participants.search(event_id=event_id, where=where)]
            in_order = uow.participants.search(event_id=event_id, where=where, many=True)
        assert [p.id for p in in_order] == ids  # the hint changes the plan, never the answer
        return ids

    assert found("민준") == [minjun, alone]  # two characters: contained anywhere, the name alone too
    assert found("김민준") == [minjun]
    assert found("준") == []  # one character: at the start of the name or the email only
    assert found("김") == [minjun]
    assert found("민") == [alone]
    assert found("s") == [alone, seoyeon]
    assert found("연") == []
    assert found("서연") == [seoyeon]
    assert found("CORP.EX") == [seoyeon]
    assert found("n.l") == [seoyeon]
    assert found("1234") == [minjun, seoyeon]  # the last four digits, never another event's
    assert found("%") == []  # LIKE's wildcards are plain characters
    assert found("0%") == [percent]
    assert found("t_u") == [percent]
    assert found('"') == []
    assert found("") == [minjun, alone, seoyeon, percent]
    with any_uows(readonly=True) as uow:
        assert uow.participants.count(event_id=event_id) == 4
        assert uow.participants.count(event_id=event_id, up_to=2) == 2
        assert uow.participants.count(event_id=event_id, where=ParticipantFilter.of("민준")) == 2
        assert uow.participants.count(event_id=other, where=ParticipantFilter.of("1234")) == 1

    with any_uows() as uow:
        uow.participants.update_fields(minjun, {"name": "최도윤", "email": "doyun@example.com"})
        uow.participants.delete(alone)
        uow.commit()
    assert found("민준") == []
    assert found("도윤") == [minjun]
    assert found("doyun") == [minjun]
    assert found("mj@") == []
