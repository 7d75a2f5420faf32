"""The consent rules every intake path applies (``domain.consent``, ``domain.imports.RowCleaning``):
the required consent, optional items dropped without the optional consent, marketing only where the
notice asks for it, a guardian under 14 only, an import's consent columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from turnout.domain.columns import plan_columns
from turnout.domain.consent import (
    OPTIONAL_ITEMS,
    ConsentGiven,
    ConsentRefused,
    Guardian,
    consent_errors,
    consent_from,
    default_notice,
    drop_unconsented,
    effective_consent,
    needs_guardian,
    optional_items_of,
    refusal,
    yes_or_no,
)
from turnout.domain.errors import FieldError, ValidationFailed
from turnout.domain.imports import RowCleaning
from turnout.domain.participants import ParticipantInput, Rules

FIRST_DAY = date(2026, 6, 1)
ADULT = date(1990, 1, 31)
CHILD = date(2013, 6, 2)  # 12 on the first day
THIRTEEN_LAST_DAY = date(2012, 6, 2)  # 13 on the first day (14 the day after)
FOURTEEN_TODAY = date(2012, 6, 1)  # 14 exactly on the first day


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


def test_consent_is_required_when_missing_or_not_given() -> None:
    for raw in (None, {}, {"required": False, "optional": True}, {"required": "yes"}):
        assert codes(consent_errors(consent_from(raw), birth_date=ADULT, starts_on=FIRST_DAY)) == [
            ("consents", "consent_required")
        ]
    assert consent_errors(consent_from({"required": True}), birth_date=ADULT, starts_on=FIRST_DAY) == []


def test_refusal_carries_the_consent_code_only_when_consent_is_the_only_problem() -> None:
    alone = refusal([FieldError("consents", "consent_required")])
    assert isinstance(alone, ConsentRefused)
    assert alone.code == "consent_required"
    mixed = refusal([FieldError("email", "invalid_email"), FieldError("consents", "consent_required")])
    assert type(mixed) is ValidationFailed
    assert mixed.code == "validation_failed"
    assert [e.code for e in mixed.errors] == ["invalid_email", "consent_required"]


@pytest.mark.parametrize(
    ("born", "needed"),
    [(CHILD, True), (THIRTEEN_LAST_DAY, True), (FOURTEEN_TODAY, False), (ADULT, False), (None, False)],
)
def test_a_guardian_is_needed_only_under_14_on_the_first_day(born: date | None, needed: bool) -> None:
    assert needs_guardian(born, FIRST_DAY) is needed


def test_a_child_needs_a_guardians_name_contact_and_consent() -> None:
    incomplete = [
        {"required": True},
        {"required": True, "guardian": {"name": "김보호", "contact": "010-1234-5678", "consent": False}},
        {"required": True, "guardian": {"name": "", "contact": "010-1234-5678", "consent": True}},
        {"required": True, "guardian": {"name": "김보호", "contact": " ", "consent": True}},
    ]
    for raw in incomplete:
        assert codes(consent_errors(consent_from(raw), birth_date=CHILD, starts_on=FIRST_DAY)) == [
            ("consents.guardian", "guardian_consent_required")
        ]
    complete = consent_from(
        {"required": True, "guardian": {"name": " 김 보호 ", "contact": "010-1234-5678", "consent": True}}
    )
    assert consent_errors(complete, birth_date=CHILD, starts_on=FIRST_DAY) == []
    assert complete is not None
    assert complete.guardian == Guardian("김 보호", "010-1234-5678", True)


def test_optional_items_are_dropped_without_the_optional_consent_and_the_birth_date_kept_with_a_min_age() -> (
    None
):
    person = ParticipantInput(
        name="김민준",
        email="minjun@example.com",
        phone="+821012345678",
        birth_date=ADULT,
        region="서울",
        organization="한빛",
        gender="male",
        locale="ko",
        custom_fields={"shirt": "L"},
    )
    notice = default_notice(event_name="행사", min_age=14)
    with_age = drop_unconsented(person, optional_items_of(notice, min_age=14))
    assert (with_age.phone, with_age.region, with_age.organization, with_age.gender) == (None,) * 4
    assert with_age.custom_fields == {}
    assert (with_age.name, with_age.email, with_age.birth_date, with_age.locale) == (
        "김민준",
        "minjun@example.com",
        ADULT,
        "ko",
    )
    without_age = drop_unconsented(person, optional_items_of(None, min_age=0))
    assert without_age.birth_date is None
    assert set(optional_items_of(None, min_age=0)) == set(OPTIONAL_ITEMS)


def test_marketing_counts_only_where_the_notice_asks_for_it() -> None:
    asked = default_notice(event_name="행사", min_age=0)
    asking = replace(asked, marketing=True)
    given = ConsentGiven(required=True, optional=True, marketing=True)
    assert effective_consent(given, asked).marketing is False
    assert effective_consent(given, asking).marketing is True


@pytest.mark.parametrize(
    ("value", "meaning"),
    [
        ("Y", True),
        ("yes", True),
        (" TRUE ", True),
        ("1", True),
        (1, True),
        ("O", True),
        ("동의", True),
        ("예", True),
        ("N", False),
        ("no", False),
        ("false", False),
        ("0", False),
        (0, False),
        ("X", False),
        ("미동의", False),
        ("아니오", False),
        ("", None),
        (None, None),
        ("maybe", None),
    ],
)
def test_consent_cells_read_yes_and_no_in_korean_and_english(value: Any, meaning: bool | None) -> None:
    assert yes_or_no(value) is meaning


def cleaning(header: list[str], *, min_age: int = 0, marketing: bool = False) -> RowCleaning:
    plan = plan_columns(header)
    return RowCleaning.of(
        plan,
        Rules(starts_on=FIRST_DAY, min_age=min_age),
        optional_items=optional_items_of(None, min_age=min_age),
        marketing_asked=marketing,
    )


def test_consent_columns_are_recognised_by_their_korean_and_english_names() -> None:
    plan = plan_columns(
        [
            "이름",
            "이메일",
            "개인정보수집동의",
            "선택 동의",
            "마케팅 동의",
            "보호자 이름",
            "보호자 연락처",
            "보호자 동의",
        ]
    )
    assert set(plan.fields) >= {
        "consent",
        "optional_consent",
        "marketing_consent",
        "guardian_name",
        "guardian_contact",
        "guardian_consent",
    }
    assert plan_columns(["name", "email", "consent"]).fields["consent"] == 2
    assert plan_columns(["이름", "이메일", "동의"]).fields["consent"] == 2
    assert plan_columns(["이름", "이메일", "개인정보 동의"]).fields["consent"] == 2


def test_an_import_row_without_consent_is_refused_by_row_and_column() -> None:
    rules = cleaning(["이름", "이메일", "휴대폰", "개인정보 동의"])
    outcomes = rules.clean(
        [
            (2, ["김민준", "minjun@example.com", "010-1234-5678", "Y"]),
            (3, ["이서연", "seoyeon@example.com", "", "N"]),
            (4, ["박지훈", "jihoon@example.com", "", ""]),
        ]
    )
    first = outcomes[0]
    assert isinstance(first, ParticipantInput)
    assert first.consent == ConsentGiven(required=True, optional=False, marketing=False)
    assert first.phone is None  # a consent column without an optional one: only the required items
    assert outcomes[1] == [FieldError("개인정보 동의", "consent_required", value="N", row=3)]
    assert outcomes[2] == [FieldError("개인정보 동의", "consent_required", row=4)]


def test_an_import_row_keeps_optional_items_with_the_optional_column_or_a_confirmation_elsewhere() -> None:
    columns = cleaning(
        ["이름", "이메일", "휴대폰", "개인정보 동의", "선택 동의", "마케팅 동의"], marketing=True
    )
    kept, dropped = columns.clean(
        [
            (2, ["김민준", "minjun@example.com", "010-1234-5678", "동의", "동의", "Y"]),
            (3, ["이서연", "seoyeon@example.com", "010-2345-6789", "동의", "미동의", "Y"]),
        ]
    )
    assert isinstance(kept, ParticipantInput)
    assert isinstance(dropped, ParticipantInput)
    assert (kept.phone, kept.consent) == ("+821012345678", ConsentGiven(True, True, True))
    assert (dropped.phone, dropped.consent) == (None, ConsentGiven(True, False, True))
    elsewhere = cleaning(["이름", "이메일", "휴대폰", "마케팅 동의"])  # marketing not asked: ignored
    (row,) = elsewhere.clean([(2, ["김민준", "minjun@example.com", "010-1234-5678", "Y"])])
    assert isinstance(row, ParticipantInput)
    assert (row.phone, row.consent) == ("+821012345678", ConsentGiven(True, True, False))


def test_an_import_row_under_14_needs_the_guardian_columns() -> None:
    rules = cleaning(["이름", "이메일", "생년월일", "보호자 이름", "보호자 연락처", "보호자 동의"])
    child, no_guardian, adult = rules.clean(
        [
            (2, ["김아이", "child@example.com", CHILD.isoformat(), "김보호", "010-1234-5678", "예"]),
            (3, ["이아이", "child2@example.com", CHILD.isoformat(), "이보호", "010-1234-5678", "아니오"]),
            (4, ["박어른", "adult@example.com", ADULT.isoformat(), "", "", ""]),
        ]
    )
    assert isinstance(child, ParticipantInput)
    assert child.consent is not None
    assert child.consent.guardian == Guardian("김보호", "010-1234-5678", True)
    assert no_guardian == [FieldError("보호자 동의", "guardian_consent_required", params={"age": 14}, row=3)]
    assert isinstance(adult, ParticipantInput)
    assert adult.consent is not None
    assert adult.consent.guardian is None
    no_columns = cleaning(["이름", "이메일", "생년월일"])
    (refused,) = no_columns.clean([(2, ["김아이", "child@example.com", CHILD.isoformat()])])
    assert refused == [FieldError("생년월일", "guardian_consent_required", params={"age": 14}, row=2)]
