"""Participant cleaning and validation rules (plain Python), and the header mapping."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

import email_validator
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.domain import participants
from turnout.domain.columns import ColumnsRefused, normalise_header, parse_mapping, plan_columns
from turnout.domain.participants import (
    Invalid,
    Rules,
    age_on,
    clean_email,
    clean_name,
    clean_participant,
    clean_phone,
    clean_text,
    parse_birth_date,
)

RULES = Rules(starts_on=date(2026, 6, 1), min_age=13)
NO_AGE_RULES = Rules(starts_on=date(2026, 6, 1), min_age=0)  # no minimum age: the birth date optional


def code_of(fn: object, value: object) -> str:
    with pytest.raises(Invalid) as caught:
        fn(value)  # type: ignore[operator]
    return caught.value.code


# --- name ---


def test_name_is_trimmed_collapsed_and_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "김민준")
    assert decomposed != "김민준"
    assert clean_name(f"  {decomposed}  ") == "김민준"
    assert clean_name(" John \t  Smith ") == "John Smith"


def test_two_korean_characters_are_a_valid_name_when_counted_as_characters() -> None:
    assert clean_name("김철") == "김철"  # 6 bytes in UTF-8, 2 characters
    assert code_of(clean_name, "김") == "name_too_short"
    assert code_of(clean_name, unicodedata.normalize("NFD", "김")) == "name_too_short"


def test_name_is_refused_when_missing_too_long_or_formula() -> None:
    assert code_of(clean_name, "   ") == "missing_field"
    assert code_of(clean_name, None) == "missing_field"
    assert code_of(clean_name, "가" * 201) == "too_long"
    assert code_of(clean_name, "=cmd()") == "formula_not_allowed"


# --- email ---


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" MinJun.Kim@Example.COM ", "minjun.kim@example.com"),
        ("user+tag@sub.example.co.kr", "user+tag@sub.example.co.kr"),
        ("홍길동@example.com", "홍길동@example.com"),
        ("user@bücher.de", "user@bücher.de"),
    ],
)
def test_email_is_stored_trimmed_and_lower_cased(raw: str, stored: str) -> None:
    assert clean_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "plain",
        "a@",
        "@example.com",
        "a@@example.com",
        "a b@example.com",
        "a@localhost",
        "a@x.test",
        "a..b@example.com",
    ],
)
def test_email_is_refused_when_invalid(raw: str) -> None:
    assert code_of(clean_email, raw) == "invalid_email"


def test_missing_email_is_missing_field() -> None:
    assert code_of(clean_email, " ") == "missing_field"


# --- phone ---


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("010-1234-5678", "+821012345678"),
        ("01012345678", "+821012345678"),
        ("010 1234 5678", "+821012345678"),
        ("1012345678", "+821012345678"),  # Excel dropped the leading zero
        (1012345678, "+821012345678"),
        (1012345678.0, "+821012345678"),
        ("+82 10-1234-5678", "+821012345678"),
        ("+82 (0)10 1234 5678", "+821012345678"),
        ("02-123-4567", "+8221234567"),
        ("+1 650-253-0000", "+16502530000"),
    ],
)
def test_phone_is_stored_as_e164_with_kr_default(raw: object, stored: str) -> None:
    assert clean_phone(raw) == stored


@pytest.mark.parametrize("raw", ["12", "010-1234", "abc", "010-1234-56789-0", "+999 123"])
def test_phone_is_refused_when_invalid(raw: str) -> None:
    assert code_of(clean_phone, raw) == "invalid_phone"


def test_empty_phone_is_none() -> None:
    assert clean_phone("  ") is None
    assert clean_phone(None) is None


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"0(1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|80)\d{6,8}", fullmatch=True))
def test_phone_fast_path_agrees_with_phonenumbers(number: str) -> None:
    parsed = phonenumbers.parse(number, "KR")
    expected = (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(parsed)
        else None
    )
    try:
        got = clean_phone(number)
    except Invalid:
        got = None
    assert got == expected


# --- birth date and age ---


@pytest.mark.parametrize(
    "raw",
    [
        "1990-03-15",
        "1990.03.15",
        "1990/03/15",
        "19900315",
        "1990. 3. 15.",
        "1990-3-15",
        "1990-03-15 00:00:00",
        32947,
        "32947",
        date(1990, 3, 15),
        datetime(1990, 3, 15, 0, 0),
    ],
)
def test_birth_date_formats_are_read(raw: object) -> None:
    assert parse_birth_date(raw) == date(1990, 3, 15)


@pytest.mark.parametrize(
    "raw", ["1990-02-30", "15/03/1990", "yesterday", "1990-13-01", 0, 1.5, "²", " 1990-02-30 "]
)
def test_birth_date_is_refused_when_unreadable(raw: object) -> None:
    assert code_of(parse_birth_date, raw) == "invalid_birth_date"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("900131", date(1990, 1, 31)),  # YYMMDD, as Koreans write it
        (900131, date(1990, 1, 31)),  # the same cell made a number by Excel
        ("90.01.31", date(1990, 1, 31)),
        ("050301", date(2005, 3, 1)),  # 20YY: not after the reference date
        ("260601", date(2026, 6, 1)),  # the reference date itself is not in the future
        ("260602", date(1926, 6, 2)),  # 2026-06-02 would be: 19YY
        ("000229", date(2000, 2, 29)),
    ],
)
def test_six_digit_birth_dates_take_the_century_that_is_not_in_the_future(
    raw: object, expected: date
) -> None:
    assert parse_birth_date(raw, reference=date(2026, 6, 1)) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("310190", "ambiguous_birth_date"),  # day first
        ("12.31.90", "ambiguous_birth_date"),  # month first
        ("991332", "invalid_birth_date"),
        ("010229", "invalid_birth_date"),  # neither 2001 nor 1901 had 29 February
    ],
)
def test_six_digit_birth_dates_in_another_order_or_no_date_are_refused(raw: str, code: str) -> None:
    assert code_of(lambda value: parse_birth_date(value, reference=date(2026, 6, 1)), raw) == code


def test_a_six_digit_birth_date_without_a_reference_date_is_ambiguous() -> None:
    assert code_of(parse_birth_date, "900131") == "ambiguous_birth_date"


def test_a_six_digit_birth_date_is_read_against_the_event_start() -> None:
    cleaned, errors = clean_participant(
        {"name": "김민준", "email": "a@example.com", "birth_date": "900131"}, RULES
    )
    assert errors == []
    assert cleaned is not None
    assert cleaned.birth_date == date(1990, 1, 31)


def test_excel_serial_dates_follow_the_1900_date_system() -> None:
    assert parse_birth_date(1) == date(1900, 1, 1)
    assert parse_birth_date(59) == date(1900, 2, 28)
    assert parse_birth_date(61) == date(1900, 3, 1)
    assert parse_birth_date(45658) == date(2025, 1, 1)


def test_age_is_counted_on_the_event_start_date() -> None:
    assert age_on(date(2013, 6, 1), date(2026, 6, 1)) == 13
    assert age_on(date(2013, 6, 2), date(2026, 6, 1)) == 12
    assert age_on(date(2012, 2, 29), date(2026, 2, 28)) == 13


def test_record_collects_every_error_with_row_and_column() -> None:
    raw = {"name": "김", "email": "x", "phone": "1", "birth_date": "2015-01-01"}
    columns = {"name": "이름", "email": "이메일", "phone": "전화", "birth_date": "생일"}
    cleaned, errors = clean_participant(raw, RULES, row=7, columns=columns)
    assert cleaned is None
    assert [(e.field, e.code, e.row) for e in errors] == [
        ("이름", "name_too_short", 7),
        ("이메일", "invalid_email", 7),
        ("전화", "invalid_phone", 7),
        ("생일", "under_min_age", 7),
    ]
    assert errors[0].value == "김"


def test_future_birth_date_is_invalid_not_underage() -> None:
    _cleaned, errors = clean_participant(
        {"name": "김민준", "email": "a@example.com", "birth_date": "2030-01-01"}, RULES
    )
    assert errors[0].code == "invalid_birth_date"


def test_birth_date_is_required_when_the_event_has_a_minimum_age() -> None:
    person = {"name": "김민준", "email": "a@example.com"}
    cleaned, errors = clean_participant(person, RULES)
    assert cleaned is None
    assert [(e.field, e.code) for e in errors] == [("birth_date", "missing_field")]
    cleaned, errors = clean_participant(person, NO_AGE_RULES)
    assert cleaned is not None
    assert cleaned.birth_date is None
    assert errors == []


def test_gender_synonyms_are_normalised() -> None:
    cleaned, _ = clean_participant({"name": "김민준", "email": "a@example.com", "gender": "남"}, NO_AGE_RULES)
    assert cleaned is not None
    assert cleaned.gender == "male"


def test_dedup_keys_use_phone_only_when_asked() -> None:
    cleaned, _ = clean_participant(
        {"name": "김민준", "email": "A@x.com", "phone": "010-1234-5678"}, NO_AGE_RULES
    )
    assert cleaned is not None
    assert cleaned.dedup_keys(by_phone=False) == ("email:a@x.com",)
    assert cleaned.dedup_keys(by_phone=True) == ("email:a@x.com", "phone:+821012345678")


# --- fuzz: the rules never crash, and accepted values are stable ---


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["name", "email", "phone", "birth_date", "region", "organization", "gender", "locale"]
        ),
        st.one_of(st.text(max_size=60), st.integers(), st.floats(allow_nan=True), st.none(), st.dates()),
    )
)
def test_cleaning_never_raises_anything_but_field_errors(raw: dict[str, object]) -> None:
    cleaned, errors = clean_participant(raw, RULES, row=2)
    assert (cleaned is None) == bool(errors)
    if cleaned is not None:
        assert len(cleaned.name) >= 2
        assert cleaned.email == cleaned.email.lower().strip()
        again, more = clean_participant(cleaned.as_record(), RULES)
        assert more == []
        assert again == cleaned


_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_+-", min_size=1, max_size=12)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(_ATOM, min_size=1, max_size=3),
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["com", "kr", "net", "test", "local", "io", "co", "localhost", "xn--p1ai"]),
    st.booleans(),
)
def test_email_fast_path_agrees_with_email_validator(
    local: list[str], labels: list[str], tld: str, shout: bool
) -> None:
    address = ".".join(local) + "@" + ".".join([*labels, tld])
    if shout:
        address = address.upper()
    try:
        expected: str | None = email_validator.validate_email(
            address, check_deliverability=False
        ).normalized.lower()
    except email_validator.EmailNotValidError:
        expected = None
    try:
        got: str | None = clean_email(address)
    except Invalid:
        got = None
    assert got == expected


# --- header mapping ---


def test_headers_match_korean_and_english_synonyms_regardless_of_case_and_spaces() -> None:
    plan = plan_columns(["성명", " E-Mail ", "휴대폰 번호", "생년월일", "Company", "성별", "티셔츠"])
    assert plan.fields == {"name": 0, "email": 1, "phone": 2, "birth_date": 3, "organization": 4, "gender": 5}
    assert plan.custom == [(6, "티셔츠")]
    assert normalise_header(" Full  Name ") == "fullname"


def test_mapping_overrides_synonyms_and_can_ignore_columns() -> None:
    plan = plan_columns(
        ["이름", "메일", "참석자명"], parse_mapping(["참석자명=name", "이름=ignore", "메일=email"])
    )
    assert plan.fields == {"name": 2, "email": 1}
    assert plan.custom == []


@pytest.mark.parametrize(
    ("header", "mapping", "code"),
    [
        (["이름", "전화"], [], "missing_column"),
        (["이름", "이메일", "email"], [], "duplicate_column"),
        (["이름", "이메일"], ["없는열=name"], "invalid_mapping"),
    ],
)
def test_columns_are_refused_when(header: list[str], mapping: list[str], code: str) -> None:
    with pytest.raises(ColumnsRefused) as caught:
        plan_columns(header, parse_mapping(mapping))
    assert caught.value.code == code


def test_mapping_with_unknown_field_is_refused() -> None:
    with pytest.raises(ColumnsRefused) as caught:
        parse_mapping(["이름=nickname"])
    assert caught.value.code == "invalid_mapping"


# --- memos (names, texts, dates repeat in a file: cleaned once) ---


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Invalid as exc:
        return (exc.code, exc.params)


_CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["  김 민준 ", "=SUM(A1)", "남", "F", "서울", "", "1990-02-30", "2001.3.4", "19900101"]),
)


@settings(max_examples=300, deadline=None)
@given(_CELL)
def test_memoised_cleaning_answers_what_the_rules_answer_every_time(value: str) -> None:
    for field_name in ("region", "organization", "gender"):
        expected = _outcome(participants._clean_text, field_name, value)
        assert _outcome(clean_text, field_name, value) == expected
        assert _outcome(clean_text, field_name, value) == expected
    expected = _outcome(participants._clean_name, value)
    assert _outcome(clean_name, value) == expected
    assert _outcome(clean_name, value) == expected
    first = _outcome(parse_birth_date, value)
    assert _outcome(parse_birth_date, value) == first


def test_text_with_control_characters_or_lone_surrogates_is_refused_wherever_it_comes_from() -> None:
    assert code_of(clean_name, "김\x00민준") == "invalid_characters"
    assert code_of(clean_name, "a\ud800b") == "invalid_characters"
    assert code_of(lambda value: participants.clean_text("region", value), "서울\x1b") == "invalid_characters"
    assert code_of(participants.clean_custom, {"team": "a\x07"}) == "invalid_characters"
    assert clean_name("김\t민준\n") == "김 민준"  # whitespace controls are spaces, as before
