"""An event's privacy notice: read (public, no key: it is public information), its versions (public),
and the organiser's own text (a key that may manage the event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from turnout.domain.access import Permission, authorize
from turnout.domain.consent import (
    NOTICE_TEXT_MAX,
    RECIPIENT_NAME_MAX,
    RECIPIENTS_MAX,
    RETENTION_DAYS_MAX,
    NoticeContent,
    PrivacyNotice,
    Recipient,
    RecipientRole,
)
from turnout.entrypoints.api.deps import PrincipalDep, TurnoutDep, permits
from turnout.entrypoints.api.fields import Line, Text
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import Strict
from turnout.services import privacy_notice as notice_service

router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=JsonRoute)

#: items a list may hold (the known participant fields are far fewer: the rest is refused by name)
ITEMS_MAX = 20
Item = Annotated[Line, Field(min_length=1, max_length=40)]
NoticeText = Annotated[Text, Field(max_length=NOTICE_TEXT_MAX)]
NameText = Annotated[Line, Field(max_length=RECIPIENT_NAME_MAX)]


class NoticeTexts(Strict):
    """A text in Korean and English; the event's language is required, the other may be left out."""

    ko: NoticeText | None = None
    en: NoticeText | None = None

    def texts(self) -> dict[str, str]:
        return {k: v for k, v in (("ko", self.ko), ("en", self.en)) if v}


class RecipientNames(Strict):
    ko: NameText | None = None
    en: NameText | None = None

    def texts(self) -> dict[str, str]:
        return {k: v for k, v in (("ko", self.ko), ("en", self.en)) if v}


class RecipientPut(Strict):
    """A third party (``recipient``, 제3자 제공) or a processor (``processor``, 처리 위탁). ``system``
    marks the organiser's own wording for an integrated system (then not named a second time)."""

    name: RecipientNames
    role: RecipientRole
    purpose: NoticeTexts
    items: Annotated[list[Item], Field(default_factory=list, max_length=ITEMS_MAX)]
    system: Annotated[Line | None, Field(max_length=40)] = None


class PrivacyNoticePut(Strict):
    purpose: NoticeTexts
    required_items: Annotated[list[Item], Field(max_length=ITEMS_MAX)]
    optional_items: Annotated[list[Item], Field(default_factory=list, max_length=ITEMS_MAX)]
    retention: NoticeTexts
    retention_days: Annotated[int | None, Field(ge=0, le=RETENTION_DAYS_MAX)] = None
    recipients: Annotated[list[RecipientPut], Field(default_factory=list, max_length=RECIPIENTS_MAX)]
    contact: NoticeTexts
    marketing: bool = False
    marketing_purpose: NoticeTexts | None = None

    def content(self) -> NoticeContent:
        return NoticeContent(
            purpose=self.purpose.texts(),
            required_items=tuple(self.required_items),
            optional_items=tuple(self.optional_items),
            retention=self.retention.texts(),
            retention_days=self.retention_days,
            recipients=tuple(
                Recipient(
                    name=r.name.texts(),
                    role=r.role,
                    purpose=r.purpose.texts(),
                    items=tuple(r.items),
                    system=r.system,
                )
                for r in self.recipients
            ),
            contact=self.contact.texts(),
            marketing=self.marketing,
            marketing_purpose=self.marketing_purpose.texts() if self.marketing_purpose else {},
        )


class PrivacyNoticeRead(BaseModel):
    event_id: str
    version: int
    hash: str  # SHA-256 (hex) of the content's canonical JSON
    created_at: datetime
    created_by: str
    content: dict[str, Any]

    @classmethod
    def of(cls, notice: PrivacyNotice) -> PrivacyNoticeRead:
        return cls(
            event_id=notice.event_id,
            version=notice.version,
            hash=notice.hash,
            created_at=notice.created_at,
            created_by=notice.created_by,
            content=notice.content.as_dict(),
        )


class PrivacyNoticePage(BaseModel):
    items: list[PrivacyNoticeRead]


@router.get("/events/{event_id}/privacy-notice")
def get_privacy_notice(event_id: str, turnout: TurnoutDep) -> PrivacyNoticeRead:
    """The notice in force (public: no key). The enabled systems are named as recipients."""
    _, notice = notice_service.shown_notice(turnout.uow, event_id=event_id)
    return PrivacyNoticeRead.of(notice)


@router.get("/events/{event_id}/privacy-notice/versions")
def list_privacy_notice_versions(event_id: str, turnout: TurnoutDep) -> PrivacyNoticePage:
    """Every version of the notice, newest (the one in force) first (public: no key)."""
    _, versions = notice_service.notice_history(turnout.uow, event_id=event_id)
    return PrivacyNoticePage(items=[PrivacyNoticeRead.of(v) for v in versions])


@router.put("/events/{event_id}/privacy-notice", dependencies=[permits(Permission.EVENT_MANAGE)])
def put_privacy_notice(
    event_id: str, body: PrivacyNoticePut, turnout: TurnoutDep, principal: PrincipalDep
) -> PrivacyNoticeRead:
    """Set the organiser's notice; answers the version in force (a new one only when the text
    changed). ``422`` with every field's problem: a text missing in the event's language
    (``notice_text_required``), ``unknown_item``, ``duplicate_item``, ``item_must_be_required`` (name,
    email, and the birth date when the event has a minimum age), ``item_required_and_optional``."""
    authorize(principal, Permission.EVENT_MANAGE, event_id=event_id)
    with turnout.uow() as uow:
        notice = notice_service.set_notice(
            uow, event_id=event_id, content=body.content(), actor=principal.actor
        )
        uow.commit()
    return PrivacyNoticeRead.of(notice)
