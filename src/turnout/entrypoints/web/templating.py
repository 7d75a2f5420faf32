"""Jinja2 for the web pages; language from ``?lang=`` or the browser's ``Accept-Language``.

Every page gets ``t`` (the catalogue) and the helpers that turn stored values into what people read:
``moment`` (a time in the event's zone, the zone named only when it is not Asia/Seoul), ``label``
(a code through the catalogue), ``reason`` (a reason the system itself writes, in words),
``phone`` (``010-1234-5678``) and ``megabytes``. The globals ``asset_url`` and ``asset_integrity``
name a vendored browser package's file (see ``web/assets.py`` and docs/assets.md):
``<script src="{{ asset_url('htmx.org', 'htmx.min.js') }}"
integrity="{{ asset_integrity('htmx.org', 'htmx.min.js') }}"></script>``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from turnout.domain.participants import display_phone
from turnout.entrypoints.web.assets import asset_integrity, asset_url
from turnout.entrypoints.web.session import csrf_for
from turnout.i18n import pick_locale, translate
from turnout.services.integrations import DEFAULT_DISABLE_REASON
from turnout.services.mail_sending import LEASE_EXPIRED, SKIP_CANCELLED, SKIP_SUPERSEDED

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(asset_url=asset_url, asset_integrity=asset_integrity)

#: the zone most events use: its times are shown without naming it
USUAL_ZONE = "Asia/Seoul"
#: reasons the system writes itself (stored as text) and their catalogue codes
REASONS = {
    DEFAULT_DISABLE_REASON: "web.reason.operator_disabled",
    "410 Gone from the receiver": "web.reason.gone",
    SKIP_CANCELLED: "web.reason.participant_cancelled",
    SKIP_SUPERSEDED: "web.reason.ticket_superseded",
    LEASE_EXPIRED: "web.reason.lease_expired",
}


def zone_name(moment: datetime, zone: str) -> str:
    """How a zone other than the usual one is named next to a time: its abbreviation (``JST``,
    ``CET``) where it has a lettered one, else its id."""
    abbreviation = moment.astimezone(ZoneInfo(zone)).tzname() or ""
    return abbreviation if abbreviation.isalpha() else zone


def format_local(moment: datetime | None, zone: str, *, seconds: bool = False, date: bool = True) -> str:
    """``2026-05-01 09:00`` in ``zone`` (``… JST`` when the zone is not Asia/Seoul); empty for none."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone))
    pattern = ("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    text = local.strftime(pattern)
    return text if zone == USUAL_ZONE else f"{text} {zone_name(moment, zone)}"


def megabytes(size: int) -> str:
    """A size as people read it: ``1.5 MB`` (at least one decimal below 10 MB)."""
    value = size / 1_000_000
    return f"{value:.1f} MB" if value < 10 else f"{value:.0f} MB"


def page_locale(request: Request) -> str:
    explicit = request.query_params.get("lang")
    if explicit in ("ko", "en"):
        return explicit
    return pick_locale(request.headers.get("accept-language"), "ko")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    locale = page_locale(request)

    def t(code: str, **params: Any) -> str:
        return translate(code, locale, params)

    def label(prefix: str, value: str, default: str | None = None) -> str:
        """``value`` (a status, role, method…) through the catalogue under ``prefix`` (``default``,
        else the value itself, when the catalogue has no entry)."""
        return translate(f"{prefix}.{value}", locale, default=value if default is None else default)

    def reason(text: str | None) -> str | None:
        """A reason the system wrote, in words; None for anything else (shown as technical detail)."""
        code = REASONS.get(text or "")
        return translate(code, locale) if code else None

    turnout = getattr(request.app.state, "turnout", None)
    csrf = csrf_for(request, turnout) if turnout is not None else ""
    response: Response = templates.TemplateResponse(
        request,
        template,
        {
            "locale": locale,
            "t": t,
            "label": label,
            "reason": reason,
            "moment": format_local,
            "phone": display_phone,
            "megabytes": megabytes,
            "csrf_token": csrf,
            **context,
        },
        status_code=status_code,
    )
    return response
