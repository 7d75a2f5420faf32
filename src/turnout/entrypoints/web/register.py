"""The public registration page: ``/events/{event_id}/register`` (Korean and English), open events only.

The form posts back to the same path; the same rules as the API apply. Its consent checkboxes
(``consent_required``, ``consent_optional``, ``consent_marketing``) and guardian fields
(``guardian_name``, ``guardian_contact``, ``guardian_consent``) become the registration's
``consents``, recorded through the ``form`` channel. A hidden submission id is
used as the idempotency key, so a double click registers once. The per-client rate limit applies.
A known email or phone gets the same page as a new one (the holder is emailed their ticket again).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from turnout.domain.consent import GUARDIAN_CONTACT_MAX, GUARDIAN_NAME_MAX, Channel
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


#: the form's consent inputs that show an error of the registration's ``consents`` field
FORM_FIELD_OF = {"consents": "consent_required", "consents.guardian": "guardian_consent"}


def checked(value: str) -> bool:
    """A checkbox as posted: present with a value (browsers send ``on`` unless told otherwise)."""
    return value.strip().lower() in ("on", "yes", "true", "1", "y")


def consents_of(
    *,
    consent_required: str,
    consent_optional: str,
    consent_marketing: str,
    guardian_name: str,
    guardian_contact: str,
    guardian_consent: str,
) -> dict[str, Any]:
    """The form's consent inputs as the registration's ``consents``."""
    consents: dict[str, Any] = {
        "required": checked(consent_required),
        "optional": checked(consent_optional),
        "marketing": checked(consent_marketing),
    }
    if guardian_name.strip() or guardian_contact.strip() or checked(guardian_consent):
        consents["guardian"] = {
            "name": guardian_name,
            "contact": guardian_contact,
            "consent": checked(guardian_consent),
        }
    return consents


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
    notice_version: Annotated[str, Form(max_length=12)] = "",
    consent_required: Annotated[str, Form(max_length=10)] = "",
    consent_optional: Annotated[str, Form(max_length=10)] = "",
    consent_marketing: Annotated[str, Form(max_length=10)] = "",
    guardian_name: Annotated[str, Form(max_length=GUARDIAN_NAME_MAX)] = "",
    guardian_contact: Annotated[str, Form(max_length=GUARDIAN_CONTACT_MAX)] = "",
    guardian_consent: Annotated[str, Form(max_length=10)] = "",
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
    data: dict[str, Any] = {k: v for k, v in values.items() if v.strip()}
    data.setdefault("name", "")
    data.setdefault("email", "")
    data["locale"] = locale
    data["consents"] = consents_of(
        consent_required=consent_required,
        consent_optional=consent_optional,
        consent_marketing=consent_marketing,
        guardian_name=guardian_name,
        guardian_contact=guardian_contact,
        guardian_consent=guardian_consent,
    )
    values.update(
        consent_required=consent_required,
        consent_optional=consent_optional,
        consent_marketing=consent_marketing,
        guardian_name=guardian_name,
        guardian_contact=guardian_contact,
        guardian_consent=guardian_consent,
    )
    consent = consent_context(turnout, event, locale)  # type: ignore[arg-type]
    if notice_version.strip() and notice_version.strip() != str(consent["notice_version"]):
        # the notice changed while the form was open: what was agreed to is not what is in force
        return render(
            request,
            "register.html",
            status_code=409,
            event=event,
            state="form",
            values=values,
            errors={"_form": translate("notice_changed", locale)},
            submission_id=submission_id or secrets.token_urlsafe(16),
            **consent,
        )
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
            channel=Channel.FORM,
        )
    except ValidationFailed as failed:
        errors = {
            FORM_FIELD_OF.get(e.field, e.field): translate(e.code, locale, e.params) for e in failed.errors
        }
        return render(
            request,
            "register.html",
            status_code=422,
            event=event,
            state="form",
            values=values,
            errors=errors,
            submission_id=submission_id or secrets.token_urlsafe(16),
            **consent,
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
            **consent,
        )
    return render(request, "register.html", status_code=201, event=event, state="done", email=answer.email)
