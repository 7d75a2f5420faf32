"""The privacy notice in force over the fakes: the default stored once and kept in step with the event's
systems and minimum age, the organiser's own text kept with the enabled systems completed, and the
validation of an organiser's notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.domain.consent import (
    SYSTEM_RECIPIENTS,
    NoticeContent,
    Recipient,
    RecipientRole,
    complete_notice,
    default_notice,
    notice_hash,
)
from turnout.domain.errors import NotFound, ValidationFailed
from turnout.domain.events import Event
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.services.events import create_event
from turnout.services.privacy_notice import TURNOUT, notice_in_force, set_notice, shown_notice

ORGANISER = "key:organiser"


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


def new_event(uows: FakeUnitOfWorkFactory, **overrides: object) -> Event:
    with uows() as uow:
        event = create_event(
            uow,
            actor="t",
            name="서울 개발자 컨퍼런스",
            starts_at=datetime(2026, 6, 1, 9),
            ends_at=datetime(2026, 6, 1, 18),
            **overrides,  # type: ignore[arg-type]
        )
        uow.commit()
    return event


@pytest.fixture
def event(uows: FakeUnitOfWorkFactory) -> Event:
    return new_event(uows)


def enable(
    uows: FakeUnitOfWorkFactory, event_id: str, system: IntegrationSystem, *, enabled: bool = True
) -> None:
    with uows() as uow:
        now = uow.clock.now()
        uow.integrations.put(
            Integration(
                event_id=event_id,
                system=system,
                url="https://hooks.example.com/x",
                secret_sealed="sealed",
                enabled=enabled,
                disabled_reason=None,
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()


def in_force(uows: FakeUnitOfWorkFactory, event: Event) -> tuple[int, NoticeContent, str]:
    with uows() as uow:
        notice = notice_in_force(uow, event)
        uow.commit()
    return notice.version, notice.content, notice.created_by


def versions(uows: FakeUnitOfWorkFactory, event_id: str) -> list[int]:
    with uows(readonly=True) as uow:
        return [n.version for n in uow.consent.notices(event_id)]


def organisers_notice(**overrides: object) -> NoticeContent:
    content = NoticeContent(
        purpose={"ko": "행사 운영과 참가 확인", "en": "Running the event"},
        required_items=("name", "email", "birth_date"),
        optional_items=("phone", "organization"),
        retention={"ko": "행사 후 6개월", "en": "Six months after the event"},
        retention_days=180,
        recipients=(
            Recipient(
                name={"ko": "한빛 여행사", "en": "Hanbit Travel"},
                role=RecipientRole.RECIPIENT,
                purpose={"ko": "숙박 예약", "en": "Hotel booking"},
                items=("name", "phone"),
            ),
        ),
        contact={"ko": "개인정보 담당 김하나 privacy@example.com", "en": "Hana Kim, privacy@example.com"},
    )
    return replace(content, **overrides)  # type: ignore[arg-type]


def test_default_notice_is_stored_once_as_version_1_when_none_is_stored(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    first = in_force(uows, event)
    second = in_force(uows, event)
    assert first[0] == second[0] == 1
    assert first[2] == TURNOUT
    assert first[1] == default_notice(event_name=event.name, min_age=event.min_age)
    assert versions(uows, event.id) == [1]


def test_enabling_an_integration_stores_a_new_default_version_naming_the_system(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    in_force(uows, event)
    enable(uows, event.id, IntegrationSystem.GATE_MANAGEMENT)
    enable(uows, event.id, IntegrationSystem.ALERTS)  # no personal data: never named
    version, content, by = in_force(uows, event)
    assert (version, by) == (2, TURNOUT)
    assert [r.system for r in content.recipients] == ["gate-management"]
    enable(uows, event.id, IntegrationSystem.GATE_MANAGEMENT, enabled=False)
    version, content, _ = in_force(uows, event)
    assert version == 3
    assert content.recipients == ()
    assert versions(uows, event.id) == [3, 2, 1]


def test_a_changed_minimum_age_stores_a_new_default_with_the_birth_date_required(
    uows: FakeUnitOfWorkFactory,
) -> None:
    event = new_event(uows, min_age=0)
    _, before, _ = in_force(uows, event)
    assert "birth_date" in before.optional_items
    version, after, _ = in_force(uows, replace(event, min_age=14))
    assert version == 2
    assert "birth_date" in after.required_items
    assert "birth_date" not in after.optional_items


def test_default_names_the_events_privacy_contact_when_it_has_one(uows: FakeUnitOfWorkFactory) -> None:
    contact = {"ko": "담당 이수진 02-123-4567", "en": "Sujin Lee"}
    event = new_event(uows, settings={"privacy_contact": contact})
    _, content, _ = in_force(uows, event)
    assert content.contact == contact


def test_organisers_text_is_kept_and_the_enabled_systems_are_completed(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    enable(uows, event.id, IntegrationSystem.ATTENDEE_APP)
    with uows() as uow:
        stored = set_notice(uow, event_id=event.id, content=organisers_notice(), actor=ORGANISER)
        uow.commit()
    assert (stored.version, stored.created_by) == (1, ORGANISER)
    assert stored.content.purpose == organisers_notice().purpose
    assert [r.name["ko"] for r in stored.content.recipients] == ["한빛 여행사", "참가자 앱 운영사"]
    assert in_force(uows, event)[0] == 1  # nothing new to store
    enable(uows, event.id, IntegrationSystem.GATE_MANAGEMENT)
    version, content, by = in_force(uows, event)
    assert (version, by) == (2, TURNOUT)
    assert content.purpose == organisers_notice().purpose  # still the organiser's text
    assert content.retention_days == 180
    assert [r.system for r in content.recipients] == [None, "gate-management", "attendee-app"]
    enable(uows, event.id, IntegrationSystem.ATTENDEE_APP, enabled=False)
    version, content, _ = in_force(uows, event)
    assert version == 3
    assert [r.system for r in content.recipients] == [None, "gate-management"]


def test_a_system_the_organiser_named_themselves_is_not_named_twice(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    enable(uows, event.id, IntegrationSystem.GATE_MANAGEMENT)
    own_gate = Recipient(
        name={"ko": "게이트 협력사 (주)문지기", "en": "Gatekeeper Ltd"},
        role=RecipientRole.PROCESSOR,
        purpose={"ko": "출입 확인", "en": "Entry checks"},
        items=("name", "ticket"),
        system="gate-management",
    )
    with uows() as uow:
        stored = set_notice(
            uow, event_id=event.id, content=organisers_notice(recipients=(own_gate,)), actor=ORGANISER
        )
        uow.commit()
    assert stored.content.recipients == (own_gate,)


def test_the_same_content_again_stores_no_new_version(uows: FakeUnitOfWorkFactory, event: Event) -> None:
    with uows() as uow:
        first = set_notice(uow, event_id=event.id, content=organisers_notice(), actor=ORGANISER)
        uow.commit()
    with uows() as uow:
        again = set_notice(uow, event_id=event.id, content=organisers_notice(), actor="key:someone-else")
        uow.commit()
    assert again == first
    with uows() as uow:
        changed = set_notice(
            uow, event_id=event.id, content=organisers_notice(retention_days=90), actor=ORGANISER
        )
        uow.commit()
    assert changed.version == 2
    assert changed.hash == notice_hash(changed.content) != first.hash
    assert versions(uows, event.id) == [2, 1]


def test_set_notice_refuses_every_missing_or_unknown_part_at_once(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    bad = organisers_notice(
        purpose={"en": "Only English"},  # the event is Korean
        required_items=("name", "shoe_size"),
        optional_items=("name", "phone", "phone"),
        contact={},
        marketing=True,
        recipients=(
            Recipient(name={}, role=RecipientRole.PROCESSOR, purpose={"ko": "x"}, items=("password",)),
        ),
    )
    with uows() as uow, pytest.raises(ValidationFailed) as refused:
        set_notice(uow, event_id=event.id, content=bad, actor=ORGANISER)
    found = {(e.field, e.code) for e in refused.value.errors}
    assert found == {
        ("purpose.ko", "notice_text_required"),
        ("contact.ko", "notice_text_required"),
        ("marketing_purpose.ko", "notice_text_required"),
        ("required_items", "unknown_item"),
        ("required_items", "item_must_be_required"),  # email, birth date (the event's minimum age is 13)
        ("optional_items", "duplicate_item"),
        ("optional_items", "item_required_and_optional"),
        ("recipients.0.name.ko", "notice_text_required"),
        ("recipients.0.items", "unknown_item"),
    }
    missing = sorted(e.params["item"] for e in refused.value.errors if e.code == "item_must_be_required")
    assert missing == ["birth_date", "email"]
    assert versions(uows, event.id) == []


def test_birth_date_need_not_be_required_without_a_minimum_age(uows: FakeUnitOfWorkFactory) -> None:
    event = new_event(uows, min_age=0)
    content = organisers_notice(required_items=("name", "email"), optional_items=("birth_date",))
    with uows() as uow:
        stored = set_notice(uow, event_id=event.id, content=content, actor=ORGANISER)
        uow.commit()
    assert stored.content.optional_items == ("birth_date",)


def test_shown_notice_reads_without_writing_once_stored_and_refuses_an_unknown_event(
    uows: FakeUnitOfWorkFactory, event: Event
) -> None:
    _, first = shown_notice(uows, event_id=event.id)
    _, second = shown_notice(uows, event_id=event.id)
    assert first == second
    assert versions(uows, event.id) == [1]
    with pytest.raises(NotFound):
        shown_notice(uows, event_id="missing")


def test_completing_keeps_the_automatic_recipients_in_system_order_and_drops_disabled_ones() -> None:
    gate, app = SYSTEM_RECIPIENTS["gate-management"], SYSTEM_RECIPIENTS["attendee-app"]
    content = organisers_notice(recipients=(app,))
    completed = complete_notice(content, enabled_systems=["gate-management"], min_age=0)
    assert completed.recipients == (gate,)


def test_a_notice_past_its_bounds_is_refused_with_the_limit() -> None:
    from turnout.domain.consent import NOTICE_TEXT_MAX, RECIPIENTS_MAX, validate_notice

    one = organisers_notice().recipients[0]
    long_notice = organisers_notice(
        purpose={"ko": "가" * (NOTICE_TEXT_MAX + 1)},
        recipients=(one,) * (RECIPIENTS_MAX + 1),
        retention_days=100_000,
    )
    with pytest.raises(ValidationFailed) as refused:
        validate_notice(long_notice, min_age=0, locale="ko")
    found = {(e.field, e.code, tuple(e.params.values())) for e in refused.value.errors}
    assert found == {
        ("purpose.ko", "too_long", (NOTICE_TEXT_MAX,)),
        ("recipients", "too_long", (RECIPIENTS_MAX,)),
        ("retention_days", "too_large", (3650,)),
    }
