"""The public privacy page of an event: ``/events/{event_id}/privacy`` (Korean and English).

The notice in force, laid out as a Korean PIPA notice reads (수집·이용 목적, 수집 항목, 보유·이용 기간,
제3자 제공 / 처리 위탁, 동의를 거부할 권리, 만 14세 미만 아동, 담당자 연락처), then every version with
its date (in the event's time zone) and its hash; ``?version=N`` shows an earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from turnout.domain.consent import GUARDIAN_AGE, PrivacyNotice, Recipient, RecipientRole, text_in
from turnout.domain.errors import NotFound
from turnout.domain.events import Event
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.templating import page_locale, render
from turnout.i18n import translate
from turnout.services import privacy_notice as notice_service

router = APIRouter(include_in_schema=False)


def item_names(items: tuple[str, ...] | list[str], locale: str) -> str:
    """The items by their names in ``locale`` (이름, 이메일, …), comma separated."""
    return ", ".join(translate(f"notice.item_{item}", locale, default=item) for item in items)


@dataclass(frozen=True, slots=True)
class RecipientView:
    name: str
    role: str
    purpose: str
    items: str


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice version as a page shows it, in one language."""

    version: int
    hash: str
    date: str  # when it came into force, in the event's time zone
    purpose: str
    required_items: str
    optional_items: str
    has_optional: bool
    retention: str
    retention_days: int | None
    recipients: list[RecipientView]
    contact: str
    marketing: bool
    marketing_purpose: str

    @property
    def recipients_names(self) -> str:
        return ", ".join(r.name for r in self.recipients)


def _recipient(recipient: Recipient, locale: str) -> RecipientView:
    return RecipientView(
        name=text_in(recipient.name, locale),
        role=translate(f"notice.role_{recipient.role.value}", locale),
        purpose=text_in(recipient.purpose, locale),
        items=item_names(recipient.items, locale) or translate("notice.none", locale),
    )


def notice_view(notice: PrivacyNotice, event: Event, locale: str) -> NoticeView:
    content = notice.content
    local = notice.created_at.astimezone(ZoneInfo(event.timezone))
    # third parties first, then processors (the order PIPA notices use)
    ordered = sorted(content.recipients, key=lambda r: r.role is not RecipientRole.RECIPIENT)
    return NoticeView(
        version=notice.version,
        hash=notice.hash,
        date=local.strftime("%Y-%m-%d %H:%M"),
        purpose=text_in(content.purpose, locale),
        required_items=item_names(content.required_items, locale) or translate("notice.none", locale),
        optional_items=item_names(content.optional_items, locale) or translate("notice.none", locale),
        has_optional=bool(content.optional_items),
        retention=text_in(content.retention, locale),
        retention_days=content.retention_days,
        recipients=[_recipient(r, locale) for r in ordered],
        contact=text_in(content.contact, locale),
        marketing=content.marketing,
        marketing_purpose=text_in(content.marketing_purpose, locale),
    )


def consent_context(turnout: TurnoutDep, event: Event, locale: str) -> dict[str, Any]:
    """What the registration form's consent block (``_consent_block.html``) needs: the notice in
    force (storing a new version first when one is due) as ``notice``, the version shown as
    ``notice_version``, and whether the guardian block is shown (``guardian``: the event admits
    people under 14). The form's POST path calls it too, to render the form again."""
    _, notice = notice_service.shown_notice(turnout.uow, event_id=event.id)
    return {
        "notice": notice_view(notice, event, locale),
        "notice_version": notice.version,
        "guardian": event.min_age < GUARDIAN_AGE,
    }


@router.get("/events/{event_id}/privacy")
def privacy_page(
    event_id: str, request: Request, turnout: TurnoutDep, version: str | None = None
) -> Response:
    locale = page_locale(request)
    try:
        event, versions = notice_service.notice_history(turnout.uow, event_id=event_id)
    except NotFound:
        return render(request, "privacy.html", status_code=404, event=None, state="missing")
    current = versions[0]
    wanted = current.version if not version else int(version) if version.isdigit() else -1
    chosen = next((v for v in versions if v.version == wanted), None)
    if chosen is None:
        return render(
            request,
            "privacy.html",
            status_code=404,
            event=event,
            state="no_version",
            current=notice_view(current, event, locale),
        )
    return render(
        request,
        "privacy.html",
        event=event,
        state="shown",
        notice=notice_view(chosen, event, locale),
        current=notice_view(current, event, locale),
        history=[notice_view(v, event, locale) for v in versions],
        guardian_age=GUARDIAN_AGE,
    )
