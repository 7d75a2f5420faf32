"""Personal-information consent (Korea's Personal Information Protection Act, PIPA): the notice a
person reads before giving their data, and the record of what they agreed to. Plain Python.

**The notice** (:class:`NoticeContent`) says, in Korean and English, why the data is collected
(purpose), which items are required and which optional, how long they are kept, who else receives
them (recipients and processors: the external systems an event has enabled are named
automatically) and whom to ask (the organiser's privacy contact), and that one may refuse (and what
refusing costs: no registration for the required items, nothing for the optional ones). An event's
notice is versioned (:class:`PrivacyNotice`): every change is a new version, the old ones are kept
(the event's privacy page shows them), and each version is identified by the SHA-256 of its
canonical JSON (:func:`notice_hash`), so a consent record names exactly the text that was shown.

**The consent** (:class:`ConsentGiven`) is given separately for the required items, the optional
items and, where the organiser asks for it, marketing. A child under :data:`GUARDIAN_AGE` needs a
legal guardian's consent (:class:`Guardian`). What was given is kept per participant as a
:class:`ConsentRecord`: the notice version and hash, which consents, when, through which channel
(form, API, import, staff) and on which basis (the person's own consent, or — for an import — the
organiser's confirmation that consent was collected elsewhere).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from turnout.domain.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from turnout.domain.participants import ParticipantInput

#: below this age (on the event's first day) a legal guardian must consent (PIPA article 22-2)
GUARDIAN_AGE = 14

#: what every registration needs (the person is identified and reached by these)
REQUIRED_ITEMS: tuple[str, ...] = ("name", "email")
#: what a person may give or leave out; not stored without the optional consent
OPTIONAL_ITEMS: tuple[str, ...] = ("phone", "birth_date", "region", "organization", "gender", "custom_fields")
#: the birth date is required (not optional) when the event has a minimum age
AGE_ITEM = "birth_date"


class Channel(StrEnum):
    """How the consent reached Turnout."""

    FORM = "form"  # the public registration page
    API = "api"  # the public registration endpoint
    IMPORT = "import"  # a participant file
    STAFF = "staff"  # staff registering someone (API with a key, or the console)
    TRANSFER = "transfer"  # the new holder of a transferred ticket


class Basis(StrEnum):
    """Why the processing is lawful for this record."""

    CONSENT = "consent"  # the person consented through the channel
    COLLECTED_ELSEWHERE = "collected_elsewhere"  # the organiser confirmed consent was collected elsewhere


class RecipientRole(StrEnum):
    RECIPIENT = "recipient"  # a third party the data is provided to (제3자 제공)
    PROCESSOR = "processor"  # processes the data on the organiser's behalf (처리 위탁)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone else who receives personal data: who, in which role, what for, which items."""

    name: Mapping[str, str]  # per locale
    role: RecipientRole
    purpose: Mapping[str, str]  # per locale
    items: tuple[str, ...]
    system: str | None = None  # the integration system, for the automatic ones

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": dict(sorted(self.name.items())),
            "role": self.role.value,
            "purpose": dict(sorted(self.purpose.items())),
            "items": list(self.items),
            "system": self.system,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipient:
        return cls(
            name=dict(data.get("name") or {}),
            role=RecipientRole(data.get("role", RecipientRole.RECIPIENT.value)),
            purpose=dict(data.get("purpose") or {}),
            items=tuple(data.get("items") or ()),
            system=data.get("system"),
        )


@dataclass(frozen=True, slots=True)
class NoticeContent:
    """What a notice says. Texts are per locale (``ko``, ``en``); items are participant field names."""

    purpose: Mapping[str, str]
    required_items: tuple[str, ...]
    optional_items: tuple[str, ...]
    retention: Mapping[str, str]  # how long, in words ("행사 종료 후 1년", "one year after the event")
    retention_days: int | None  # the same as a number of days after the event's end (None: not given)
    recipients: tuple[Recipient, ...]
    contact: Mapping[str, str]  # the organiser's privacy contact (name, email or phone), per locale
    marketing: bool = False  # whether a separate marketing consent is asked
    marketing_purpose: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": dict(sorted(self.purpose.items())),
            "required_items": list(self.required_items),
            "optional_items": list(self.optional_items),
            "retention": dict(sorted(self.retention.items())),
            "retention_days": self.retention_days,
            "recipients": [r.as_dict() for r in self.recipients],
            "contact": dict(sorted(self.contact.items())),
            "marketing": self.marketing,
            "marketing_purpose": dict(sorted(self.marketing_purpose.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoticeContent:
        return cls(
            purpose=dict(data.get("purpose") or {}),
            required_items=tuple(data.get("required_items") or ()),
            optional_items=tuple(data.get("optional_items") or ()),
            retention=dict(data.get("retention") or {}),
            retention_days=data.get("retention_days"),
            recipients=tuple(Recipient.from_dict(r) for r in data.get("recipients") or ()),
            contact=dict(data.get("contact") or {}),
            marketing=bool(data.get("marketing", False)),
            marketing_purpose=dict(data.get("marketing_purpose") or {}),
        )


def notice_hash(content: NoticeContent) -> str:
    """SHA-256 (hex) of the content's canonical JSON: the same text, the same hash."""
    text = json.dumps(content.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PrivacyNotice:
    """One version of an event's notice (versions count from 1; the newest is in force)."""

    event_id: str
    version: int
    content: NoticeContent
    hash: str
    created_at: datetime
    created_by: str


# --- the default notice -----------------------------------------------------------------------------

DEFAULT_RETENTION_DAYS = 365

#: the external systems named as recipients when enabled: what they receive and why
SYSTEM_RECIPIENTS: dict[str, Recipient] = {
    "gate-management": Recipient(
        name={"ko": "출입 관리 시스템 운영사", "en": "The gate-management system's operator"},
        role=RecipientRole.PROCESSOR,
        purpose={"ko": "행사장 출입 확인", "en": "Checking entry at the venue's gates"},
        items=("name", "ticket"),
        system="gate-management",
    ),
    "attendee-app": Recipient(
        name={"ko": "참가자 앱 운영사", "en": "The attendee app's operator"},
        role=RecipientRole.PROCESSOR,
        purpose={
            "ko": "참가자 앱에서 신청 정보와 입장 여부 제공",
            "en": "Showing your registration and check-in status in the attendee app",
        },
        items=("name", "email", "check_in_status"),
        system="attendee-app",
    ),
    "analytics-platform": Recipient(
        name={"ko": "통계 분석 플랫폼 운영사", "en": "The analytics platform's operator"},
        role=RecipientRole.PROCESSOR,
        purpose={
            "ko": "익명 통계 작성 (개인을 알아볼 수 없는 집계만 제공하며 개인정보는 제공하지 않습니다)",
            "en": "Anonymous statistics (only counts that identify no one; no personal data is provided)",
        },
        items=(),
        system="analytics-platform",
    ),
}


def default_notice(
    *,
    event_name: str,
    min_age: int,
    enabled_systems: Iterable[str] = (),
    contact: Mapping[str, str] | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> NoticeContent:
    """A sensible notice for an event that has not written its own: registration and entry as the
    purpose, name and email required (and the birth date when the event has a minimum age), the
    rest optional, kept ``retention_days`` after the event, the enabled systems as recipients."""
    required = REQUIRED_ITEMS + ((AGE_ITEM,) if min_age > 0 else ())
    optional = tuple(item for item in OPTIONAL_ITEMS if item not in required)
    systems = set(enabled_systems)
    return NoticeContent(
        purpose={
            "ko": f"'{event_name}' 참가 신청 접수, 입장권 발송, 행사장 입장 확인, 행사 관련 안내",
            "en": f"Registration for '{event_name}', sending your ticket, checking entry, and "
            "notices about the event",
        },
        required_items=required,
        optional_items=optional,
        retention={
            "ko": f"행사 종료 후 {retention_days}일 (법령이 따로 정한 경우 그 기간)",
            "en": f"{retention_days} days after the event ends (or as long as a law requires)",
        },
        retention_days=retention_days,
        recipients=tuple(SYSTEM_RECIPIENTS[s] for s in SYSTEM_RECIPIENTS if s in systems),
        contact=dict(contact or {"ko": "행사 주최자", "en": "The event's organiser"}),
    )


# --- what an organiser's notice must say, and the systems named automatically ------------------------

#: the participant fields a notice may list as collected (required or optional)
COLLECTED_ITEMS: tuple[str, ...] = REQUIRED_ITEMS + OPTIONAL_ITEMS
#: what a recipient may receive: the collected fields, the ticket and whether the person came in
RECIPIENT_ITEMS: tuple[str, ...] = (*COLLECTED_ITEMS, "ticket", "check_in_status")
NOTICE_LOCALES: tuple[str, ...] = ("ko", "en")
#: bounds of a notice (the API schema holds the same)
NOTICE_TEXT_MAX = 2000
RECIPIENT_NAME_MAX = 200
RECIPIENTS_MAX = 20
RETENTION_DAYS_MAX = 3650


def required_items_for(min_age: int) -> tuple[str, ...]:
    """The items every notice must list as required: name and email, and the birth date when the
    event has a minimum age (it is checked, so it cannot be refused)."""
    return REQUIRED_ITEMS + ((AGE_ITEM,) if min_age > 0 else ())


def text_in(texts: Mapping[str, str], locale: str) -> str:
    """The text in ``locale``, else in the other language (a notice needs only the event's language)."""
    if texts.get(locale):
        return texts[locale]
    return next((texts[other] for other in NOTICE_LOCALES if texts.get(other)), "")


def _texts(
    field_name: str, texts: Mapping[str, str], *, locale: str, needed: bool, limit: int
) -> list[FieldError]:
    errors = []
    for key, value in texts.items():
        if key not in NOTICE_LOCALES:
            errors.append(FieldError(f"{field_name}.{key}", "invalid_locale", value=key))
        elif len(value) > limit:
            errors.append(FieldError(f"{field_name}.{key}", "too_long", {"max_length": limit}))
    if needed and not texts.get(locale, "").strip():
        errors.append(FieldError(f"{field_name}.{locale}", "notice_text_required", {"locale": locale}))
    return errors


def _items(field_name: str, items: tuple[str, ...], known: tuple[str, ...]) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for item in items:
        if item not in known:
            errors.append(FieldError(field_name, "unknown_item", {"item": item, "known": ", ".join(known)}))
        elif item in seen:
            errors.append(FieldError(field_name, "duplicate_item", {"item": item}))
        seen.add(item)
    return errors


def validate_notice(content: NoticeContent, *, min_age: int, locale: str) -> None:
    """Refuse (``ValidationFailed``, every problem at once) a notice that does not say what PIPA asks:
    purpose, retention and contact in the event's language ``locale`` (the other language may be left
    out: the text in the event's language is shown instead); known items only, none both required and
    optional; name, email (and the birth date when ``min_age`` > 0) required; each recipient named,
    with its purpose, in the event's language; marketing's purpose when marketing is asked; bounded."""
    errors: list[FieldError] = []
    for name in ("purpose", "retention", "contact"):
        errors += _texts(name, getattr(content, name), locale=locale, needed=True, limit=NOTICE_TEXT_MAX)
    errors += _texts(
        "marketing_purpose",
        content.marketing_purpose,
        locale=locale,
        needed=content.marketing,
        limit=NOTICE_TEXT_MAX,
    )
    errors += _items("required_items", content.required_items, COLLECTED_ITEMS)
    errors += _items("optional_items", content.optional_items, COLLECTED_ITEMS)
    for item in required_items_for(min_age):
        if item not in content.required_items:
            errors.append(FieldError("required_items", "item_must_be_required", {"item": item}))
    for item in content.optional_items:
        if item in content.required_items:
            errors.append(FieldError("optional_items", "item_required_and_optional", {"item": item}))
    if content.retention_days is not None and not 0 <= content.retention_days <= RETENTION_DAYS_MAX:
        errors.append(FieldError("retention_days", "too_large", {"max": RETENTION_DAYS_MAX}))
    if len(content.recipients) > RECIPIENTS_MAX:
        errors.append(FieldError("recipients", "too_long", {"max_length": RECIPIENTS_MAX}))
    for index, recipient in enumerate(content.recipients[:RECIPIENTS_MAX]):
        where = f"recipients.{index}"
        errors += _texts(
            f"{where}.name", recipient.name, locale=locale, needed=True, limit=RECIPIENT_NAME_MAX
        )
        errors += _texts(
            f"{where}.purpose", recipient.purpose, locale=locale, needed=True, limit=NOTICE_TEXT_MAX
        )
        errors += _items(f"{where}.items", recipient.items, RECIPIENT_ITEMS)
        if recipient.system is not None and recipient.system not in SYSTEM_RECIPIENTS:
            errors.append(FieldError(f"{where}.system", "invalid_value", value=recipient.system))
    if errors:
        raise ValidationFailed(errors)


def _names_system(recipient: Recipient, system: str) -> bool:
    """Whether the organiser's ``recipient`` is the system's (marked so, or under the same name)."""
    automatic = SYSTEM_RECIPIENTS[system]
    return recipient.system == system or any(
        recipient.name.get(locale) == automatic.name.get(locale) for locale in NOTICE_LOCALES
    )


def complete_notice(content: NoticeContent, *, enabled_systems: Iterable[str], min_age: int) -> NoticeContent:
    """The organiser's notice as it is shown: the recipients Turnout added (exactly
    :data:`SYSTEM_RECIPIENTS` entries) are those of the systems enabled now, in system order, after
    the organiser's own; a system the organiser named themselves is not added again; and the items
    the event requires (:func:`required_items_for`) are listed as required."""
    enabled = set(enabled_systems)
    automatic = list(SYSTEM_RECIPIENTS.values())  # compared by value (dataclasses of dicts: not hashable)
    own = tuple(r for r in content.recipients if r not in automatic)
    added = tuple(
        SYSTEM_RECIPIENTS[s]
        for s in SYSTEM_RECIPIENTS
        if s in enabled and not any(_names_system(r, s) for r in own)
    )
    needed = required_items_for(min_age)
    required = content.required_items + tuple(i for i in needed if i not in content.required_items)
    optional = tuple(i for i in content.optional_items if i not in required)
    return replace(content, recipients=own + added, required_items=required, optional_items=optional)


# --- consent given, and its record ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guardian:
    """A legal guardian's consent for a child under :data:`GUARDIAN_AGE`."""

    name: str
    contact: str  # phone or email
    consented: bool


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """What a person agreed to when registering."""

    required: bool
    optional: bool = False
    marketing: bool = False
    guardian: Guardian | None = None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What a participant agreed to, under which notice, when, how and on which basis."""

    participant_id: str
    event_id: str
    notice_version: int
    notice_hash: str
    required: bool
    optional: bool
    marketing: bool
    channel: Channel
    basis: Basis
    given_at: datetime
    guardian_name: str | None = None
    guardian_contact: str | None = None
    guardian_consented: bool = False


# --- the rules every intake path applies ----------------------------------------------------------

#: the codes of a refused consent (a registration refused for these alone answers with the code itself)
CONSENT_REQUIRED = "consent_required"
GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"
CONSENT_CODES = frozenset({CONSENT_REQUIRED, GUARDIAN_CONSENT_REQUIRED})
#: the field a refused consent is reported on
CONSENT_FIELD = "consents"
GUARDIAN_FIELD = "consents.guardian"

GUARDIAN_NAME_MAX = 200
GUARDIAN_CONTACT_MAX = 320

#: cell values read as "yes" / "no" in an import's consent columns (compared case-folded, trimmed)
YES_VALUES = frozenset({"y", "yes", "true", "1", "o", "동의", "예", "네", "ok", "v", "✓", "✔"})
NO_VALUES = frozenset({"n", "no", "false", "0", "x", "미동의", "비동의", "아니오", "아니요", "거부"})


class ConsentRefused(ValidationFailed):
    """A registration refused for its consent alone: the code is ``consent_required`` or
    ``guardian_consent_required`` (422), the field errors as for any validation failure."""

    def __init__(self, errors: list[FieldError], code: str) -> None:
        super().__init__(errors)
        self.code = code


def refusal(errors: list[FieldError]) -> ValidationFailed:
    """The error for ``errors``: :class:`ConsentRefused` (its code at the top) when every problem
    is a consent, else a plain ``validation_failed`` listing them all."""
    codes = [e.code for e in errors]
    if codes and all(code in CONSENT_CODES for code in codes):
        return ConsentRefused(errors, codes[0])
    return ValidationFailed(errors)


def yes_or_no(value: Any) -> bool | None:
    """A consent cell or form value: True (yes), False (no) or None (empty or not understood)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(int(value)) if float(value).is_integer() else None
    text = str(value).strip().casefold()
    if text in YES_VALUES:
        return True
    if text in NO_VALUES:
        return False
    return None


def consent_from(raw: Any) -> ConsentGiven | None:
    """The ``consents`` of a request (``{"required", "optional", "marketing", "guardian": {"name",
    "contact", "consent"} | None}``) as :class:`ConsentGiven`; None when none was given."""
    if raw is None:
        return None
    if isinstance(raw, ConsentGiven):
        return raw
    if not isinstance(raw, Mapping):
        return None
    guardian_raw = raw.get("guardian")
    guardian = None
    if isinstance(guardian_raw, Mapping):
        name = " ".join(str(guardian_raw.get("name") or "").split())
        contact = str(guardian_raw.get("contact") or "").strip()
        agreed = guardian_raw.get("consent", guardian_raw.get("consented"))
        if name or contact or agreed:
            guardian = Guardian(
                name=name[:GUARDIAN_NAME_MAX],
                contact=contact[:GUARDIAN_CONTACT_MAX],
                consented=agreed is True,
            )
    return ConsentGiven(
        required=raw.get("required") is True,
        optional=raw.get("optional") is True,
        marketing=raw.get("marketing") is True,
        guardian=guardian,
    )


def needs_guardian(birth_date: date | None, starts_on: date) -> bool:
    """Whether someone born on ``birth_date`` is under :data:`GUARDIAN_AGE` on ``starts_on`` (the
    event's first day). Without a birth date (an event with no minimum age) no guardian is asked."""
    if birth_date is None:
        return False
    age = (
        starts_on.year
        - birth_date.year
        - ((starts_on.month, starts_on.day) < (birth_date.month, birth_date.day))
    )
    return age < GUARDIAN_AGE


def guardian_complete(guardian: Guardian | None) -> bool:
    return guardian is not None and bool(guardian.name) and bool(guardian.contact) and guardian.consented


def consent_errors(
    consent: ConsentGiven | None,
    *,
    birth_date: date | None,
    starts_on: date,
    row: int | None = None,
    field: str = CONSENT_FIELD,
    guardian_field: str = GUARDIAN_FIELD,
) -> list[FieldError]:
    """What is missing from ``consent``: the required consent (``consent_required``), and for a
    child under :data:`GUARDIAN_AGE` a guardian's name, contact and consent
    (``guardian_consent_required``)."""
    errors: list[FieldError] = []
    if consent is None or not consent.required:
        errors.append(FieldError(field, CONSENT_REQUIRED, row=row))
    if needs_guardian(birth_date, starts_on) and not guardian_complete(consent.guardian if consent else None):
        errors.append(
            FieldError(guardian_field, GUARDIAN_CONSENT_REQUIRED, params={"age": GUARDIAN_AGE}, row=row)
        )
    return errors


def optional_items_of(content: NoticeContent | None, *, min_age: int) -> tuple[str, ...]:
    """The items stored only with the optional consent: the usual optional ones and the notice's,
    less what the notice (or the event's minimum age, for the birth date) makes required."""
    required = set(content.required_items if content else REQUIRED_ITEMS)
    if min_age > 0:
        required.add(AGE_ITEM)
    items = list(OPTIONAL_ITEMS) + [
        i for i in (content.optional_items if content else ()) if i not in OPTIONAL_ITEMS
    ]
    return tuple(item for item in items if item not in required)


def effective_consent(consent: ConsentGiven, content: NoticeContent | None) -> ConsentGiven:
    """``consent`` as recorded: marketing only when the notice asks for it."""
    if consent.marketing and not (content is not None and content.marketing):
        return ConsentGiven(
            required=consent.required, optional=consent.optional, marketing=False, guardian=consent.guardian
        )
    return consent


def record_of(
    *,
    participant_id: str,
    event_id: str,
    notice: PrivacyNotice,
    consent: ConsentGiven,
    channel: Channel,
    basis: Basis = Basis.CONSENT,
    given_at: datetime,
) -> ConsentRecord:
    guardian = consent.guardian
    return ConsentRecord(
        participant_id=participant_id,
        event_id=event_id,
        notice_version=notice.version,
        notice_hash=notice.hash,
        required=consent.required,
        optional=consent.optional,
        marketing=consent.marketing,
        channel=channel,
        basis=basis,
        given_at=given_at,
        guardian_name=guardian.name if guardian else None,
        guardian_contact=guardian.contact if guardian else None,
        guardian_consented=guardian.consented if guardian else False,
    )


def drop_unconsented(data: ParticipantInput, items: Iterable[str]) -> ParticipantInput:
    """``data`` without the ``items`` (optional ones given without the optional consent)."""
    cleared: dict[str, Any] = {}
    for item in items:
        if item == "custom_fields":
            if data.custom_fields:
                cleared[item] = {}
        elif getattr(data, item, None) is not None:
            cleared[item] = None
    return dataclasses.replace(data, **cleared) if cleared else data
