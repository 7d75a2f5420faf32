"""The public registration page: ``/events/{event_id}/register`` (Korean and English), open events only.

The form posts back to the same path; the same rules as the API apply. A hidden submission id is
used as the idempotency key, so a double click registers once. The per-client rate limit applies.
A known email or phone gets the same page as a new one (the holder is emailed their ticket again).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from turnout.domain.errors import DomainError, NotFound, ValidationFailed
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.web.privacy_page import consent_context
from turnout.entrypoints.web.templating import page_locale, render
from turnout.i18n import translate
from turnout.services import events as event_service
from turnout.services.registration import register_publicly

router = APIRouter(include_in_schema=False)

FIELDS = ("name", "email", "phone", "birth_date", "region", "organization", "gender")


def _event_or_404(request: Request, turnout: TurnoutDep, event_id: str) -> object:
    with turnout.uow(readonly=True) as uow:
        try:
            return event_service.get_event(uow, event_id=event_id)
        except NotFound:
            return None


@router.get("/events/{event_id}/register")
def registration_form(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    event = _event_or_404(request, turnout, event_id)
    if event is None:
        return render(request, "register.html", status_code=404, event=None, state="missing", values={})
    state = "form" if event.accepts_registrations else "closed"  # type: ignore[attr-defined]
    consent = consent_context(turnout, event, page_locale(request)) if state == "form" else {}  # type: ignore[arg-type]
    return render(
        request,
        "register.html",
        event=event,
        state=state,
        values={},
        errors={},
        submission_id=secrets.token_urlsafe(16),
        **consent,
    )


@router.post("/events/{event_id}/register")
def submit_registration(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str, Form(max_length=100)] = "",
    birth_date: Annotated[str, Form(max_length=40)] = "",
    region: Annotated[str, Form(max_length=1000)] = "",
    organization: Annotated[str, Form(max_length=1000)] = "",
    gender: Annotated[str, Form(max_length=100)] = "",
    submission_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    event = _event_or_404(request, turnout, event_id)
    if event is None:
        return render(request, "register.html", status_code=404, event=None, state="missing", values={})
    locale = page_locale(request)
    values = {
        "name": name,
        "email": email,
        "phone": phone,
        "birth_date": birth_date,
        "region": region,
        "organization": organization,
        "gender": gender,
    }
    data = {k: v for k, v in values.items() if v.strip()}
    data.setdefault("name", "")
    data.setdefault("email", "")
    data["locale"] = locale
    try:
        answer = register_publicly(
            turnout.uow,
            tickets=turnout.tickets,
            rate_limit=turnout.settings.registration_rate_limit,
            event_id=event_id,
            data=data,
            client=request.client.host if request.client else "unknown",
            idempotency_key=f"form:{submission_id}" if submission_id else None,
            mail_from=turnout.settings.mail_from,
            resend_interval_seconds=turnout.settings.registration_resend_interval_seconds,
        )
    except ValidationFailed as failed:
        errors = {e.field: translate(e.code, locale, e.params) for e in failed.errors}
        return render(
            request,
            "register.html",
            status_code=422,
            event=event,
            state="form",
            values=values,
            errors=errors,
            submission_id=submission_id or secrets.token_urlsafe(16),
        )
    except DomainError as refusal:
        state = "closed" if refusal.code == "registration_closed" else "form"
        status = 429 if refusal.code == "rate_limited" else 409
        return render(
            request,
            "register.html",
            status_code=status,
            event=event,
            state=state,
            values=values,
            errors={"_form": translate(refusal.code, locale, refusal.params)},
            submission_id=secrets.token_urlsafe(16),
        )
    return render(request, "register.html", status_code=201, event=event, state="done", email=answer.email)
