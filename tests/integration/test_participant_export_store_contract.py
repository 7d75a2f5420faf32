"""The participant export reader's contract (``uow.participant_export``): the same checks on
``FakeParticipantExport`` and on ``SqlParticipantExport`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.mail_support import add_event
from turnout.domain.consent import Basis, Channel, ConsentRecord
from turnout.domain.ids import sequential_ids
from turnout.domain.participants import ParticipantFilter, ParticipantInput, Source
from turnout.ports import EXPORT_FIELDS, UnitOfWork, UnitOfWorkFactory
from turnout.services.registration import participant_record


def insert(uow: UnitOfWork, event_id: str, people: list[tuple[str, dict[str, Any]]]) -> list[str]:
    ids = sequential_ids(len(people))
    uow.participants.insert_many(
        [
            participant_record(
                participant_id=pid,
                event_id=event_id,
                data=ParticipantInput(
                    name=name, email=f"{pid}@example.com", birth_date=date(1990, 1, 1), custom_fields=custom
                ),
                token=f"TOKEN-{pid}",
                source=Source.API,
                import_id=None,
                now=uow.clock.now(),
            )
            for pid, (name, custom) in zip(ids, people, strict=True)
        ]
    )
    return ids


def as_dict(record: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(EXPORT_FIELDS, record, strict=True))


def test_pages_join_the_consent_and_follow_the_filter_in_id_order(any_uows: UnitOfWorkFactory) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        ids = insert(uow, event_id, [(f"김민준 {n}", {}) for n in range(5)])
        insert(uow, other, [("남의 행사", {})])
        given = uow.clock.now() - timedelta(days=1)
        uow.consent.record_many(
            [
                ConsentRecord(
                    participant_id=ids[1],
                    event_id=event_id,
                    notice_version=2,
                    notice_hash="h" * 64,
                    required=True,
                    optional=False,
                    marketing=True,
                    channel=Channel.STAFF,
                    basis=Basis.CONSENT,
                    given_at=given,
                )
            ]
        )
        uow.participants.update_fields(ids[3], {"status": "cancelled"})
        uow.participants.update_fields(
            ids[2], {"check_in_status": "inside", "first_checked_in_at": given, "last_scan_at": given}
        )
        uow.commit()
    everyone = ParticipantFilter()
    with any_uows(readonly=True) as uow:
        reader = uow.participant_export
        first = reader.page(event_id, everyone, after_id=None, limit=3)
        rest = reader.page(event_id, everyone, after_id=first[-1][0], limit=3)
        cancelled = reader.page(event_id, ParticipantFilter.of(status="cancelled"), after_id=None, limit=10)
        inside = reader.page(event_id, ParticipantFilter.of(check_in="inside"), after_id=None, limit=10)
        searched = reader.page(event_id, ParticipantFilter.of(q="민준 4"), after_id=None, limit=10)
    assert [r[0] for r in first + rest] == ids
    assert [r[0] for r in cancelled] == [ids[3]]
    assert [r[0] for r in inside] == [ids[2]]
    assert [r[0] for r in searched] == [ids[4]]
    consented = as_dict(first[1])
    assert (consented["consent_channel"], consented["consent_basis"]) == ("staff", "consent")
    assert (consented["consent_optional"], consented["consent_marketing"]) == (False, True)
    assert (consented["consent_given_at"], consented["notice_version"]) == (given, 2)
    assert as_dict(first[0])["consent_channel"] is None
    checked = as_dict(first[2])
    assert checked["check_in_status"] == "inside"
    assert checked["first_checked_in_at"] == given == checked["last_scan_at"]
    assert checked["birth_date"] == date(1990, 1, 1)
    assert as_dict(first[0])["registered_at"] is not None


def test_custom_field_keys_come_in_the_order_first_seen_for_the_filtered_rows(
    any_uows: UnitOfWorkFactory,
) -> None:
    with any_uows() as uow:
        event_id, other = add_event(uow).id, add_event(uow).id
        ids = insert(
            uow,
            event_id,
            [
                ("가", {"shirt": "M"}),
                ("나", {"meal": "veg", "shirt": "L"}),
                ("다", {"zone": "A"}),
                ("라", {}),
            ],
        )
        insert(uow, other, [("남", {"secret": "x"})])
        uow.participants.update_fields(ids[2], {"status": "cancelled"})
        uow.commit()
    with any_uows(readonly=True) as uow:
        every = uow.participant_export.custom_field_keys(event_id, ParticipantFilter())
        registered = uow.participant_export.custom_field_keys(
            event_id, ParticipantFilter.of(status="registered")
        )
        page = uow.participant_export.page(event_id, ParticipantFilter(), after_id=None, limit=10)
    assert every == ["shirt", "meal", "zone"]
    assert registered == ["shirt", "meal"]
    assert as_dict(page[1])["custom_fields"] == {"meal": "veg", "shirt": "L"}
