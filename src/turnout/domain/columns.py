"""Header mapping: which column of an uploaded file holds which participant field. Plain Python.

Headers match built-in Korean and English synonyms regardless of case, spaces and punctuation
(``E-Mail``, ``이메일 주소``, ``Full Name``). ``--mapping COLUMN=FIELD`` overrides a column
(``FIELD`` is a participant field, ``custom`` or ``ignore``). Every other named column is kept as a
custom field. A missing required column, or two columns for one field, refuses the file before any
row is read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from turnout.domain.errors import DomainError
from turnout.domain.participants import FIELDS, REQUIRED

MAX_COLUMNS = 500

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "full name",
        "fullname",
        "participant",
        "participant name",
        "이름",
        "성명",
        "성함",
        "참가자",
        "참가자명",
        "참가자 이름",
        "이름(성명)",
    ),
    "email": (
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
        "이메일",
        "메일",
        "이메일 주소",
        "이메일주소",
        "전자우편",
        "전자메일",
    ),
    "phone": (
        "phone",
        "mobile",
        "phone number",
        "mobile phone",
        "cell",
        "cellphone",
        "tel",
        "telephone",
        "contact",
        "전화번호",
        "전화",
        "휴대폰",
        "휴대폰번호",
        "휴대폰 번호",
        "휴대전화",
        "핸드폰",
        "연락처",
        "핸드폰번호",
    ),
    "birth_date": (
        "birth date",
        "birthdate",
        "birthday",
        "date of birth",
        "dob",
        "생년월일",
        "생일",
        "출생일",
    ),
    "region": ("region", "city", "area", "location", "지역", "거주지", "거주 지역", "도시", "시도"),
    "organization": (
        "organization",
        "organisation",
        "company",
        "affiliation",
        "org",
        "school",
        "소속",
        "회사",
        "회사명",
        "기관",
        "단체",
        "학교",
        "소속기관",
    ),
    "gender": ("gender", "sex", "성별"),
    "locale": ("locale", "language", "lang", "언어"),
    # consent columns (not participant fields: read into the row's consent record)
    "consent": (
        "consent",
        "required consent",
        "privacy consent",
        "개인정보 동의",
        "개인정보동의",
        "개인정보 수집 동의",
        "개인정보수집동의",
        "개인정보 수집·이용 동의",
        "필수 동의",
        "필수동의",
        "동의",
        "동의 여부",
        "동의여부",
    ),
    "optional_consent": ("optional consent", "선택 동의", "선택동의", "선택 항목 동의", "선택항목동의"),
    "marketing_consent": ("marketing consent", "marketing", "마케팅 동의", "마케팅동의", "마케팅 수신 동의"),
    "guardian_name": (
        "guardian name",
        "guardian",
        "보호자 이름",
        "보호자이름",
        "보호자 성명",
        "보호자",
        "법정대리인",
    ),
    "guardian_contact": (
        "guardian contact",
        "guardian phone",
        "보호자 연락처",
        "보호자연락처",
        "보호자 전화번호",
    ),
    "guardian_consent": ("guardian consent", "보호자 동의", "보호자동의", "법정대리인 동의"),
}

#: the consent pseudo-fields a file may carry (``domain.consent``)
CONSENT_COLUMNS = (
    "consent",
    "optional_consent",
    "marketing_consent",
    "guardian_name",
    "guardian_contact",
    "guardian_consent",
)


def normalise_header(text: str) -> str:
    """``' E-Mail 주소 '`` -> ``'email주소'``: NFKC, case-folded, letters and digits only."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


_LOOKUP: dict[str, str] = {
    normalise_header(synonym): name for name, synonyms in SYNONYMS.items() for synonym in synonyms
}
TARGETS = (*FIELDS, *CONSENT_COLUMNS, "custom", "ignore")


class ColumnsRefused(DomainError):
    code = "missing_column"


@dataclass(frozen=True)
class ColumnPlan:
    """Where each field is: ``fields`` name -> index; ``custom`` (index, name) pairs; the header width."""

    fields: dict[str, int]
    custom: list[tuple[int, str]]
    width: int
    names: list[str] = field(default_factory=list)  # the column name of every index (for errors)

    def column_of(self) -> dict[str, str]:
        return {name: self.names[index] for name, index in self.fields.items()}


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """``["이름=name", "T-shirt=custom"]`` -> ``{"이름": "name", ...}``; refuses an unknown FIELD."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        column, target = column.strip(), target.strip().lower()
        if not sep or not column or target not in TARGETS:
            raise ColumnsRefused(
                "invalid_mapping", mapping=item, reason="unknown_target", fields=", ".join(TARGETS)
            )
        mapping[column] = target
    return mapping


def automatic_target(column: str) -> str | None:
    """The field a column named ``column`` is read as without a mapping (``custom`` for any other
    name); None for a blank name (it cannot be mapped: it is kept as a custom field)."""
    key = normalise_header(str(column))
    return _LOOKUP.get(key, "custom") if key else None


def column_targets(header: Sequence[str], mapping: Mapping[str, str] | None = None) -> list[str | None]:
    """What each column is read as under ``mapping`` (a field, a consent column, ``custom`` or
    ``ignore``; None for a blank name), as :func:`plan_columns` reads it, without refusing."""
    overrides = {normalise_header(k): v for k, v in (mapping or {}).items()}
    targets: list[str | None] = []
    for column in header:
        automatic = automatic_target(column)
        targets.append(None if automatic is None else overrides.get(normalise_header(str(column)), automatic))
    return targets


def mapping_overrides(header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``mapping`` that change what a column of ``header`` is read as (a form posts
    every column's choice; the job keeps only the changes)."""
    automatic = {normalise_header(str(c)): automatic_target(c) for c in header}
    return {
        column: target
        for column, target in mapping.items()
        if automatic.get(normalise_header(column), target) != target
        or normalise_header(column) not in automatic
    }


def plan_columns(header: Sequence[str], mapping: Mapping[str, str] | None = None) -> ColumnPlan:
    if len(header) > MAX_COLUMNS:
        raise ColumnsRefused("too_many_columns", count=len(header), max=MAX_COLUMNS)
    overrides = {normalise_header(k): v for k, v in (mapping or {}).items()}
    normalised = [normalise_header(str(h)) for h in header]
    unknown = [k for k, key in zip(mapping or {}, overrides, strict=True) if key not in normalised]
    if unknown:
        raise ColumnsRefused("invalid_mapping", mapping=unknown[0], reason="no_such_column")
    fields: dict[str, int] = {}
    custom: list[tuple[int, str]] = []
    names: list[str] = []
    custom_seen: set[str] = set()
    for index, (raw, key) in enumerate(zip(header, normalised, strict=True)):
        label = " ".join(str(raw).split()) or f"column_{index + 1}"
        names.append(label)
        target = overrides.get(key) if key else None
        if target is None:
            target = _LOOKUP.get(key, "custom") if key else "custom"
        if target == "ignore":
            continue
        if target == "custom":
            if key and key in custom_seen:
                raise ColumnsRefused("duplicate_column", column=label)
            custom_seen.add(key)
            custom.append((index, label))
            continue
        if target in fields:
            raise ColumnsRefused("duplicate_column", column=label, field=target)
        fields[target] = index
    for required in REQUIRED:
        if required not in fields:
            raise ColumnsRefused(
                "missing_column", column=required, found=", ".join(n for n in names if n)[:500]
            )
    return ColumnPlan(fields=fields, custom=custom, width=len(header), names=names)
