"""Jinja2 for the web pages; language from ``?lang=`` or the browser's ``Accept-Language``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from turnout.entrypoints.web.session import csrf_for
from turnout.i18n import pick_locale, translate

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=str(TEMPLATES))


def page_locale(request: Request) -> str:
    explicit = request.query_params.get("lang")
    if explicit in ("ko", "en"):
        return explicit
    return pick_locale(request.headers.get("accept-language"), "ko")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    locale = page_locale(request)

    def t(code: str, **params: Any) -> str:
        return translate(code, locale, params)

    turnout = getattr(request.app.state, "turnout", None)
    csrf = csrf_for(request, turnout) if turnout is not None else ""
    response: Response = templates.TemplateResponse(
        request, template, {"locale": locale, "t": t, "csrf_token": csrf, **context}, status_code=status_code
    )
    return response
