"""Participants: the cleaning and validation rules every intake path shares. Plain Python.

One function, :func:`clean_participant`, turns raw field values (from a JSON body, a form, or one
CSV/Excel row) into a :class:`ParticipantInput` or a list of :class:`FieldError`. The rules:

- name: required; Unicode NFC, trimmed, inner whitespace collapsed; at least 2 characters
  (characters, not bytes: "김철" is fine); at most 200.
- email: required; syntax checked by ``email-validator`` (no DNS); stored trimmed and lower-cased.
- phone: optional; parsed by ``phonenumbers`` with KR as the default region, stored as E.164
  (``010-1234-5678`` -> ``+821012345678``).
- birth date: optional, required when the event has a minimum age (``min_age`` > 0);
  ``YYYY-MM-DD``, ``YYYY.MM.DD``, ``YYYY/MM/DD``, ``YYYYMMDD``, an Excel serial date (``32874``)
  or a date object; age on the event's start date at least ``min_age``.

The common shapes (ASCII emails, Korean phone numbers) go through exact fast paths; anything else
goes to the libraries. ``tests/unit/test_participant_rules.py`` checks the fast paths agree with
the libraries (hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import email_validator
import phonenumbers

from turnout.domain.errors import FieldError

if TYPE_CHECKING:
    from turnout.domain.consent import ConsentGiven

NAME_MIN = 2
NAME_MAX = 200
EMAIL_MAX = 320
TEXT_MAX = {"region": 100, "organization": 200, "gender": 32}
CUSTOM_VALUE_MAX = 2000
CUSTOM_FIELDS_MAX = 300
DEFAULT_REGION = "KR"

FIELDS = ("name", "email", "phone", "birth_date", "region", "organization", "gender", "locale")
REQUIRED = ("name", "email")


class ParticipantStatus(StrEnum):
    REGISTERED = "registered"
    CANCELLED = "cancelled"
    TRANSFERRING = "transferring"  # their ticket is being passed on (a transfer saga runs)
    PENDING_TRANSFER = "pending_transfer"  # receiving a ticket; valid once the transfer completes
    TRANSFERRED = "transferred"  # their ticket was passed on to another person


class CheckInStatus(StrEnum):
    NOT_CHECKED_IN = "not_checked_in"
    INSIDE = "inside"
    EXITED = "exited"


class Source(StrEnum):
    API = "api"
    FORM = "form"
    IMPORT = "import"
    TRANSFER = "transfer"


@dataclass(slots=True)
class ParticipantInput:
    """Cleaned, valid participant data (what is saved)."""

    name: str
    email: str
    phone: str | None = None
    birth_date: date | None = None
    region: str | None = None
    organization: str | None = None
    gender: str | None = None
    locale: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    #: the consent given with it (an import row's consent columns; None: given apart, or none)
    consent: ConsentGiven | None = None

    def dedup_keys(self, *, by_phone: bool) -> tuple[str, ...]:
        return dedup_keys(self.email, self.phone, by_phone=by_phone)

    def as_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "birth_date": self.birth_date,
            "region": self.region,
            "organization": self.organization,
            "gender": self.gender,
            "locale": self.locale,
            "custom_fields": self.custom_fields,
        }


@dataclass(frozen=True)
class Participant:
    id: str
    event_id: str
    name: str
    email: str
    phone: str | None
    birth_date: date | None
    region: str | None
    organization: str | None
    gender: str | None
    locale: str | None
    custom_fields: dict[str, Any]
    status: ParticipantStatus
    check_in_status: CheckInStatus
    ticket_version: int
    token: str | None
    email_status: str
    email_error: str | None
    source: Source
    import_id: str | None
    created_at: datetime
    updated_at: datetime
    first_checked_in_at: datetime | None = None
    last_scan_at: datetime | None = None


def dedup_keys(email: str, phone: str | None, *, by_phone: bool) -> tuple[str, ...]:
    """The keys two registrations of one person share: ``email:<normalised>`` (and ``phone:<E.164>``)."""
    if by_phone and phone:
        return (f"email:{email}", f"phone:{phone}")
    return (f"email:{email}",)


@dataclass(frozen=True)
class Rules:
    """What validation needs to know about the event."""

    starts_on: date  # the event's start date in its own timezone
    min_age: int = 14  # events.DEFAULT_MIN_AGE; above 0 the birth date is required


# --- single fields ----------------------------------------------------------------------------------


class Invalid(Exception):
    """Raised by a field cleaner: ``code`` and message params."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_formula(text: str) -> bool:
    return text.startswith("=")


#: control characters (C0, DEL, C1) and lone surrogates: what whitespace folding leaves of them is
#: refused (PostgreSQL cannot store NUL in text; a lone surrogate cannot be written as UTF-8)
_NOT_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # tab, CR, LF allowed


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    return (_NOT_TEXT if multiline else _NOT_LINE).search(text) is not None


_CACHE_MAX = 20_000  # entries each memo below keeps at most (files repeat names, cities, companies)
_NAMES: dict[str, str] = {}
_TEXTS: dict[tuple[str, str], str | None] = {}


def clean_name(value: Any) -> str:
    if type(value) is str:
        known = _NAMES.get(value)
        if known is not None:
            return known
        text = _clean_name(value)
        if len(_NAMES) < _CACHE_MAX:
            _NAMES[value] = text
        return text
    return _clean_name(value)


def _clean_name(value: Any) -> str:
    text = _text(value)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    if not text:
        raise Invalid("missing_field")
    if is_formula(text):
        raise Invalid("formula_not_allowed")
    if has_control_characters(text):
        raise Invalid("invalid_characters")
    if len(text) < NAME_MIN:
        raise Invalid("name_too_short", min=NAME_MIN)
    if len(text) > NAME_MAX:
        raise Invalid("too_long", max=NAME_MAX)
    return text


_SPECIAL_DOMAINS = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_FAST_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}", re.ASCII
)


def _fast_email_ok(text: str) -> bool:
    """True only for plain ASCII addresses that ``email-validator`` certainly accepts as they are."""
    if len(text) > 254 or not _FAST_EMAIL.fullmatch(text):
        return False
    local, _, domain = text.rpartition("@")
    if len(local) > 64:
        return False
    if "--" in domain and any(label[2:4] == "--" for label in domain.split(".")):
        return False  # IDNA rules on "xx--" labels: let the library decide
    # the special-use names are single labels: a domain is special when its last label is one
    return domain.rpartition(".")[2] not in _SPECIAL_DOMAINS


def clean_email(value: Any) -> str:
    text = _text(value).strip()
    if not text:
        raise Invalid("missing_field")
    lowered = text.lower()
    if _fast_email_ok(lowered):
        return lowered
    if len(text) > EMAIL_MAX:
        raise Invalid("invalid_email", reason="too long")
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise Invalid("invalid_email", reason=str(exc)) from None
    return result.normalized.lower()


_PHONE_STRIP = str.maketrans("", "", " -.()\t")
_PHONE_CLASS: dict[tuple[str, int], bool] = {}


def clean_phone(value: Any) -> str | None:
    text = _text(value).strip()
    if not text:
        return None
    compact = text.replace("-", "")  # "010-1234-5678": what translate gives when no other mark is in it
    if not (compact.isdigit() and compact.isascii()):
        compact = text.translate(_PHONE_STRIP)
    national: str | None = None
    if compact.isdigit() and compact.isascii():
        if compact.startswith("0") and not compact.startswith("00"):
            national = compact[1:]
        elif compact[0] in "123456789" and len(compact) in (9, 10):
            national = compact  # Excel dropped the leading 0
    elif compact.startswith("+82") and compact[3:].isdigit() and compact.isascii():
        national = compact[3:].removeprefix("0")
    if national is not None and 7 <= len(national) <= 11:
        # KR validity depends only on the leading digits and the length: ask the library once per class.
        key = (national[:5], len(national))
        valid = _PHONE_CLASS.get(key)
        if valid is None:
            valid = _library_phone(f"0{national}") is not None
            if len(_PHONE_CLASS) < 100_000:
                _PHONE_CLASS[key] = valid
        if not valid:
            raise Invalid("invalid_phone")
        return f"+82{national}"
    e164 = _library_phone(text)
    if e164 is None:
        raise Invalid("invalid_phone")
    return e164


def _library_phone(text: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def display_phone(e164: str | None) -> str:
    """A stored phone as people read it: a Korean number in the national format (``010-1234-5678``),
    any other in the international one (``+81 90-1234-5678``); what cannot be parsed, unchanged."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) == DEFAULT_REGION or parsed.country_code == 82:
        chosen = phonenumbers.PhoneNumberFormat.NATIONAL
    else:
        chosen = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(parsed, chosen))


_DATE_SEPARATED = re.compile(r"(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})\.?(?:[ T]00:00(?::00)?)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_SHORT = re.compile(r"(\d{2})(\d{2})(\d{2})")  # 900131: YYMMDD, as Koreans write it
_DATE_SHORT_SEPARATED = re.compile(r"(\d{2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})\.?")
_EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial_to_date(serial: float) -> date:
    """Excel's 1900 date system (serial 1 = 1900-01-01; Excel's phantom 1900-02-29 is serial 60)."""
    whole = int(serial)
    if whole < 1 or whole > 2_958_465:
        raise Invalid("invalid_birth_date")
    if whole < 61:
        whole += 1  # before the phantom leap day the epoch is one day later
    return _EXCEL_EPOCH + timedelta(days=whole)


_DATES: dict[str, date] = {}  # "1990-01-31" -> its date: a file repeats a few thousand birth dates


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def two_digit_year_date(first: int, second: int, third: int, reference: date | None) -> date:
    """A date written with a two-digit year in the Korean order, year-month-day (``900131``,
    ``90.01.31``). The century: 20YY when that date is not after ``reference`` (the rules' reference
    date: the event's start), else 19YY — ``050301`` is 2005-03-01 for a 2026 event, ``900131``
    is 1990-01-31. Refused as ``ambiguous_birth_date`` when it is no date in that order but is one
    read day- or month-first (``310190``), or when no reference date is given; as
    ``invalid_birth_date`` when it is no date at all."""
    if _valid(2000, second, third) is not None:  # 2000 is a leap year: 02-29 passes here
        if reference is None:
            raise Invalid("ambiguous_birth_date")
        recent = _valid(2000 + first, second, third)
        if recent is not None and recent <= reference:
            return recent
        older = _valid(1900 + first, second, third)
        if older is not None:
            return older
        raise Invalid("invalid_birth_date")
    if _valid(2000, second, first) is not None or _valid(2000, first, second) is not None:
        raise Invalid("ambiguous_birth_date")  # 310190, 12.31.90: day or month first
    raise Invalid("invalid_birth_date")


def parse_birth_date(value: Any, *, reference: date | None = None) -> date | None:
    """A birth date as a person or a spreadsheet writes it: ``1990-01-31``, ``1990.1.31.``,
    ``19900131``, an Excel date serial, ``900131`` / ``90.01.31`` (two-digit year: see
    ``two_digit_year_date``, which needs ``reference``)."""
    if type(value) is str:  # the usual case first: "1990-01-31"
        known = _DATES.get(value)
        if known is not None:
            return known
        match = _DATE_SEPARATED.fullmatch(value)
        if match:
            try:
                parsed = date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                raise Invalid("invalid_birth_date") from None
            if len(_DATES) < _CACHE_MAX:
                _DATES[value] = parsed
            return parsed
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise Invalid("invalid_birth_date")
        number = int(value)
        if 19000101 <= number <= 29991231:
            return parse_birth_date(str(number))
        if 100000 <= number <= 999999:  # a YYMMDD cell Excel made a number (no Excel serial is this big
            return parse_birth_date(str(number), reference=reference)  # for a birth date)
        return excel_serial_to_date(number)
    text = _text(value).strip()
    if not text:
        return None
    match = _DATE_SEPARATED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise Invalid("invalid_birth_date") from None
    short = _DATE_SHORT.fullmatch(text) or _DATE_SHORT_SEPARATED.fullmatch(text)
    if short and text.isascii():
        return two_digit_year_date(int(short[1]), int(short[2]), int(short[3]), reference)
    if text.isdecimal() and len(text) <= 7:  # isdigit() is also true for "²", which int() refuses
        return excel_serial_to_date(int(text))
    if re.fullmatch(r"\d{1,7}\.0+", text):
        return excel_serial_to_date(int(float(text)))
    raise Invalid("invalid_birth_date")


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_GENDERS = {
    "m": "male",
    "male": "male",
    "man": "male",
    "남": "male",
    "남자": "male",
    "남성": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "여": "female",
    "여자": "female",
    "여성": "female",
}


def clean_text(name: str, value: Any) -> str | None:
    if type(value) is str:
        key = (name, value)
        known = _TEXTS.get(key, key)
        if known is not key:
            return known  # type: ignore[return-value]
        text = _clean_text(name, value)
        if len(_TEXTS) < _CACHE_MAX:
            _TEXTS[key] = text
        return text
    return _clean_text(name, value)


def _clean_text(name: str, value: Any) -> str | None:
    text = " ".join(_text(value).split())
    if not text:
        return None
    if is_formula(text):
        raise Invalid("formula_not_allowed")
    if has_control_characters(text):
        raise Invalid("invalid_characters")
    limit = TEXT_MAX[name]
    if len(text) > limit:
        raise Invalid("too_long", max=limit)
    if name == "gender":
        return _GENDERS.get(text.casefold(), text)
    return text


def clean_locale(value: Any) -> str | None:
    text = _text(value).strip().lower()
    if not text:
        return None
    primary = text.replace("_", "-").split("-")[0]
    if primary in ("ko", "kr", "한국어"):
        return "ko"
    if primary in ("en", "english", "영어"):
        return "en"
    raise Invalid("invalid_locale")


def clean_custom(values: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not values:
        return out
    if len(values) > CUSTOM_FIELDS_MAX:
        raise Invalid("too_many_fields", max=CUSTOM_FIELDS_MAX)
    for key, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, str) and len(value) > CUSTOM_VALUE_MAX:
            raise Invalid("cell_too_long", column=key, max=CUSTOM_VALUE_MAX)
        if isinstance(value, str) and has_control_characters(value, multiline=True):
            raise Invalid("invalid_characters", column=key)
        if has_control_characters(str(key)):
            raise Invalid("invalid_characters", column=key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        out[str(key)[:200]] = value
    return out


# --- the whole record -------------------------------------------------------------------------------

_TEXT_FIELDS = ("region", "organization", "gender")


def clean_participant(
    raw: Mapping[str, Any],
    rules: Rules,
    *,
    custom: Mapping[str, Any] | None = None,
    row: int | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[ParticipantInput | None, list[FieldError]]:
    """Clean ``raw`` (field name -> value) by the rules above.

    ``columns`` names the column each field came from (for error reports); ``row`` is the
    spreadsheet row number. Returns ``(input, [])`` or ``(None, errors)`` with every error at once.
    """
    errors: list[FieldError] = []
    columns = columns or {}
    name = email = None
    phone = None
    birth: date | None = None
    locale = None
    custom_clean: dict[str, Any] = {}
    get = raw.get
    try:
        name = clean_name(get("name"))
    except Invalid as exc:
        errors.append(_field_error(raw, columns, row, "name", exc))
    try:
        email = clean_email(get("email"))
    except Invalid as exc:
        errors.append(_field_error(raw, columns, row, "email", exc))
    phone_value = get("phone")
    if phone_value is not None and phone_value != "":
        try:
            phone = clean_phone(phone_value)
        except Invalid as exc:
            errors.append(_field_error(raw, columns, row, "phone", exc))
    try:
        birth_value = get("birth_date")
        birth = (
            None
            if birth_value is None or birth_value == ""
            else parse_birth_date(birth_value, reference=rules.starts_on)
        )
        if birth is None and rules.min_age > 0:
            raise Invalid("missing_field")
        if birth is not None:
            if birth > rules.starts_on or birth.year < 1900:
                raise Invalid("invalid_birth_date")
            age = age_on(birth, rules.starts_on)
            if age < rules.min_age:
                raise Invalid("under_min_age", min_age=rules.min_age, age=age)
    except Invalid as exc:
        errors.append(_field_error(raw, columns, row, "birth_date", exc))
    texts: dict[str, str | None] = {}
    for text_field in _TEXT_FIELDS:  # in this order: the errors' order
        value = get(text_field)
        if value is not None and value != "":
            try:
                texts[text_field] = clean_text(text_field, value)
            except Invalid as exc:
                errors.append(_field_error(raw, columns, row, text_field, exc))
    locale_value = get("locale")
    if locale_value is not None and locale_value != "":
        try:
            locale = clean_locale(locale_value)
        except Invalid as exc:
            errors.append(_field_error(raw, columns, row, "locale", exc))
    try:
        custom_clean = clean_custom(custom) if custom else {}
    except Invalid as exc:
        column = str(exc.params.get("column", "custom_fields"))
        value = (custom or {}).get(column)
        shown = value[:200] + "…" if isinstance(value, str) and len(value) > 200 else value
        errors.append(FieldError(column, exc.code, params=exc.params, value=shown, row=row))
    if errors or name is None or email is None:
        return None, errors
    get_text = texts.get
    return (
        ParticipantInput(
            name,
            email,
            phone,
            birth,
            get_text("region"),
            get_text("organization"),
            get_text("gender"),
            locale,
            custom_clean,
        ),
        [],
    )


def _field_error(
    raw: Mapping[str, Any], columns: Mapping[str, str], row: int | None, name: str, exc: Invalid
) -> FieldError:
    value = raw.get(name)
    shown = value if isinstance(value, str | int | float) else (None if value is None else str(value))
    if isinstance(shown, str) and len(shown) > 200:
        shown = shown[:200] + "…"
    return FieldError(columns.get(name, name), exc.code, params=exc.params, value=shown, row=row)


#: check-in states a participant list can be filtered by (``participants.check_in_status``)
CHECK_IN_STATES = ("not_checked_in", "inside", "exited")


@dataclass(frozen=True, slots=True)
class ParticipantFilter:
    """Which participants of an event a list, a search or an export shows.

    ``q`` matches the name (contains, any case) or the email (contains) — a single character only at
    the start of either (a surname: "김"); four digits also match the
    phone's last four digits (the manual check-in desk's question), and a longer phone-like text
    the number in E.164 (``phone_exact``). ``status``: ``registered`` or ``cancelled``;
    ``check_in``: one of ``CHECK_IN_STATES``."""

    q: str | None = None
    phone_suffix: str | None = None
    phone_exact: str | None = None
    status: str | None = None
    check_in: str | None = None

    @classmethod
    def of(
        cls, q: str | None = None, status: str | None = None, check_in: str | None = None
    ) -> ParticipantFilter:
        query = (q or "").strip() or None
        phone_suffix = phone_exact = None
        if query:
            digits = "".join(ch for ch in query if ch.isdigit())
            if len(query) == 4 and query.isdigit():
                phone_suffix = query
            elif digits and len(digits) >= 7 and set(query) <= set("0123456789+-. ()"):
                try:
                    phone_exact = clean_phone(query)
                except Invalid:
                    phone_exact = None
        return cls(query, phone_suffix, phone_exact, status or None, check_in or None)

    @property
    def searching(self) -> bool:
        return bool(self.q or self.phone_suffix or self.phone_exact)

    def matches(self, participant: Participant) -> bool:
        """The same test in plain Python (the fakes and the rules' unit tests use it)."""
        if self.status and participant.status != self.status:
            return False
        if self.check_in and participant.check_in_status != self.check_in:
            return False
        if not self.searching:
            return True
        phone = participant.phone or ""
        q = (self.q or "").lower()
        name, email = participant.name.lower(), participant.email.lower()
        # one character: at the start of the name or the email (what is indexed); else contained
        text_matches = name.startswith(q) or email.startswith(q) if len(q) == 1 else q in name or q in email
        return bool(
            (q and text_matches)
            or (self.phone_suffix and phone.endswith(self.phone_suffix))
            or (self.phone_exact and phone == self.phone_exact)
        )
