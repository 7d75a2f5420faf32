"""The console's pages. Participants: search, filters, paging, a detail page, add by hand, cancel,
resend, reissue, check in by hand (the export is the API's, linked from the list).

- ``GET /events/{event_id}/participants``: the list (``q``, ``status``, ``check_in``, ``after``); an
  htmx request (``HX-Request``) gets the results part only.
- ``GET|POST /events/{event_id}/participants/new``: add one by hand (the API's fields and rules).
- ``GET /events/{event_id}/participants/{participant_id}``: the participant's page.
- ``GET|POST …/{participant_id}/cancel`` and ``…/reissue``: a confirm step, then the action;
  ``POST …/resend`` and ``POST …/check-in`` (``gate_id``, ``direction``; the manual method).

Each action is the API's own service, with its codes: a refusal is shown on the participant's page
with its code (``data-code``); a success redirects there with ``done`` (and a check-in's result).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from turnout.domain.access import Permission, authorize
from turnout.domain.admission import Direction
from turnout.domain.consent import GUARDIAN_CONTACT_MAX, GUARDIAN_NAME_MAX, Channel
from turnout.domain.errors import DomainError, FieldError, NotFound, ValidationFailed
from turnout.domain.events import ScanMethod
from turnout.domain.participants import (
    CHECK_IN_STATES,
    ParticipantFilter,
    ParticipantStatus,
    Source,
    display_phone,
)
from turnout.domain.sagas import SagaKind
from turnout.entrypoints.api.deps import TurnoutDep
from turnout.entrypoints.api.errors import status_for
from turnout.entrypoints.web.pages import ConsolePage, PageRefused, console_page
from turnout.entrypoints.web.privacy_page import consent_context
from turnout.entrypoints.web.register import FORM_FIELD_OF, consents_of
from turnout.i18n import catalog, translate
from turnout.ports import UnitOfWork
from turnout.services import mail_queue, ticketing
from turnout.services import participant_console as console_service
from turnout.services.cancellation import cancel_registration
from turnout.services.checkin import ScanInput
from turnout.services.registration import register_participant

router = APIRouter(include_in_schema=False)

#: rows on one page of the list
PAGE_SIZE = 50
#: the fields of the add form, in order (the API's names)
FIELDS = ("name", "email", "phone", "birth_date", "region", "organization", "gender")
STATUSES = (ParticipantStatus.REGISTERED.value, ParticipantStatus.CANCELLED.value)
CONSENT_INPUTS = (
    "consent_required",
    "consent_optional",
    "consent_marketing",
    "guardian_name",
    "guardian_contact",
    "guardian_consent",
)
#: what a redirect's ``done`` may say
DONE = ("added", "cancelled", "resent", "reissued", "checked_in")


@cache
def _known_codes() -> frozenset[str]:
    """The catalogue's codes (a redirect's ``code`` is shown only when it is one)."""
    return frozenset(catalog())


def list_phone(number: str) -> str:
    """A phone as the list shows it: ``display_phone``, with the common Korean mobile number
    (``+8210`` and 8 digits) written directly (50 rows a page, each a full parse otherwise)."""
    if len(number) == 13 and number.startswith("+8210") and number[1:].isdigit():
        return f"010-{number[5:9]}-{number[9:]}"
    return display_phone(number)


def _list_filter(q: str | None, status: str | None, check_in: str | None) -> ParticipantFilter:
    return ParticipantFilter.of(
        (q or "")[:200],
        status if status in STATUSES else None,
        check_in if check_in in CHECK_IN_STATES else None,
    )


@router.get("/events/{event_id}/participants")
def participants_page(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    check_in: Annotated[str | None, Query(max_length=20)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    where = _list_filter(q, status, check_in)
    with turnout.uow(readonly=True) as uow:
        found = console_service.list_page(
            uow, event_id=event_id, where=where, after_id=after or None, limit=PAGE_SIZE
        )
    filters = {"q": where.q or "", "status": where.status or "", "check_in": where.check_in or ""}
    shown = {key: value for key, value in filters.items() if value}
    context: dict[str, Any] = {
        "found": found,
        "filters": filters,
        "statuses": STATUSES,
        "check_in_states": CHECK_IN_STATES,
        "paged": bool(after),
        "query_of": lambda **more: urlencode({**shown, "lang": page.locale, **more}),
        "export_query": urlencode(shown),
        "may_write": page.may(Permission.PARTICIPANTS_WRITE),
        "list_phone": list_phone,
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return page.render("participant_results.html", **context)
    return page.render("participants.html", **context)


# --- add one by hand -------------------------------------------------------------------------------


def _new_form(
    page: ConsolePage, *, values: dict[str, str], errors: dict[str, Any], status: int = 200
) -> Response:
    assert page.event is not None
    consent = consent_context(page.turnout, page.event, page.locale)
    messages = {field: error["message"] for field, error in errors.items()}
    return page.render(
        "participant_new.html",
        status_code=status,
        values=values,
        field_errors=errors,
        errors=messages,  # what the consent block reads
        submission_id=secrets.token_urlsafe(16),
        fields=FIELDS,
        **consent,
    )


@router.get("/events/{event_id}/participants/new")
def new_participant_form(event_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    return _new_form(page, values={}, errors={})


@router.post("/events/{event_id}/participants/new")
def add_participant(
    event_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    submission_id: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str, Form(max_length=100)] = "",
    birth_date: Annotated[str, Form(max_length=40)] = "",
    region: Annotated[str, Form(max_length=1000)] = "",
    organization: Annotated[str, Form(max_length=1000)] = "",
    gender: Annotated[str, Form(max_length=100)] = "",
    consent_required: Annotated[str, Form(max_length=10)] = "",
    consent_optional: Annotated[str, Form(max_length=10)] = "",
    consent_marketing: Annotated[str, Form(max_length=10)] = "",
    guardian_name: Annotated[str, Form(max_length=GUARDIAN_NAME_MAX)] = "",
    guardian_contact: Annotated[str, Form(max_length=GUARDIAN_CONTACT_MAX)] = "",
    guardian_consent: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    page.check_csrf(csrf_token)
    values = {
        "name": name,
        "email": email,
        "phone": phone,
        "birth_date": birth_date,
        "region": region,
        "organization": organization,
        "gender": gender,
    }
    data: dict[str, Any] = {key: value for key, value in values.items() if value.strip()}
    data.setdefault("name", "")
    data.setdefault("email", "")
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
    try:
        with turnout.uow() as uow:
            participant = register_participant(
                uow,
                tickets=turnout.tickets,
                event_id=event_id,
                data=data,
                source=Source.API,
                actor=page.principal.actor,
                idempotency_key=f"console:{submission_id}" if submission_id else None,
                channel=Channel.STAFF,
            )
            uow.commit()
    except ValidationFailed as failed:
        errors: dict[str, Any] = {}
        for error in failed.errors:
            field = FORM_FIELD_OF.get(error.field, error.field)
            field = field if field in FIELDS or field in CONSENT_INPUTS else "_form"
            errors.setdefault(
                field, {"code": error.code, "message": translate(error.code, page.locale, error.params)}
            )
        return _new_form(page, values=values, errors=errors, status=422)
    except DomainError as refusal:
        if isinstance(refusal, NotFound):
            raise
        message = translate(refusal.code, page.locale, refusal.params)
        field = "consent_required" if refusal.code == "consent_required" else "_form"
        return _new_form(
            page, values=values, errors={field: {"code": refusal.code, "message": message}}, status=409
        )
    return page.redirect(f"/events/{event_id}/participants/{participant.id}?done=added")


# --- one participant --------------------------------------------------------------------------------


def _record_page(
    page: ConsolePage,
    participant_id: str,
    *,
    status: int = 200,
    refusal: DomainError | None = None,
    done: str | None = None,
    result: str | None = None,
    code: str | None = None,
    confirm: str | None = None,
) -> Response:
    assert page.event is not None
    with page.turnout.uow(readonly=True) as uow:
        record = console_service.participant_record(uow, participant_id=participant_id)
    if record.participant.event_id != page.event.id:
        raise PageRefused(NotFound("participant_not_found", participant_id=participant_id))
    known = _known_codes()
    return page.render(
        "participant.html",
        status_code=status,
        record=record,
        person=record.participant,
        refusal=refusal,
        done=done if done in DONE else None,
        result=result if result in ("admitted", "exited", "denied") else None,
        code=code if code and code in known else None,
        confirm=confirm,
        nonce=secrets.token_urlsafe(12),
        may_write=page.may(Permission.PARTICIPANTS_WRITE),
        may_scan=page.may(Permission.SCAN),
    )


@router.get("/events/{event_id}/participants/{participant_id}")
def participant_page(
    event_id: str,
    participant_id: str,
    request: Request,
    turnout: TurnoutDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    result: Annotated[str | None, Query(max_length=20)] = None,
    code: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    page = console_page(request, turnout, Permission.PARTICIPANTS_READ, event_id=event_id)
    return _record_page(page, participant_id, done=done, result=result, code=code)


def _action_page(request: Request, turnout: TurnoutDep, event_id: str, participant_id: str) -> ConsolePage:
    page = console_page(request, turnout, Permission.PARTICIPANTS_WRITE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        person = uow.participants.get(participant_id)
    if person is None or person.event_id != event_id:
        raise PageRefused(NotFound("participant_not_found", participant_id=participant_id))
    return page


def _done(page: ConsolePage, participant_id: str, done: str, **more: str) -> Response:
    assert page.event is not None
    query = urlencode({"done": done, **more})
    return page.redirect(f"/events/{page.event.id}/participants/{participant_id}?{query}")


def _act(page: ConsolePage, participant_id: str, done: str, work: Callable[[UnitOfWork], object]) -> Response:
    """Do ``work`` in one unit of work and commit; back to the person's page with ``done``, or their
    page again with the refusal's code and status."""
    try:
        with page.turnout.uow() as uow:
            work(uow)
            uow.commit()
    except DomainError as refusal:
        return _record_page(page, participant_id, status=_status(refusal), refusal=refusal)
    return _done(page, participant_id, done)


@router.get("/events/{event_id}/participants/{participant_id}/cancel")
def confirm_cancel(event_id: str, participant_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = _action_page(request, turnout, event_id, participant_id)
    return _record_page(page, participant_id, confirm="cancel")


@router.get("/events/{event_id}/participants/{participant_id}/reissue")
def confirm_reissue(event_id: str, participant_id: str, request: Request, turnout: TurnoutDep) -> Response:
    page = _action_page(request, turnout, event_id, participant_id)
    return _record_page(page, participant_id, confirm="reissue")


@router.post("/events/{event_id}/participants/{participant_id}/cancel")
def cancel(
    event_id: str,
    participant_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    page = _action_page(request, turnout, event_id, participant_id)
    page.check_csrf(csrf_token)
    return _act(
        page,
        participant_id,
        "cancelled",
        lambda uow: cancel_registration(
            uow,
            definition=turnout.sagas[SagaKind.CANCELLATION],
            policy=turnout.saga_policy(),
            participant_id=participant_id,
            actor=page.principal.actor,
        ),
    )


@router.post("/events/{event_id}/participants/{participant_id}/resend")
def resend(
    event_id: str,
    participant_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    page = _action_page(request, turnout, event_id, participant_id)
    page.check_csrf(csrf_token)
    return _act(
        page,
        participant_id,
        "resent",
        lambda uow: mail_queue.resend_ticket(
            uow,
            participant_id=participant_id,
            actor=page.principal.actor,
            mail_from=turnout.settings.mail_from,
        ),
    )


@router.post("/events/{event_id}/participants/{participant_id}/reissue")
def reissue(
    event_id: str,
    participant_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    page = _action_page(request, turnout, event_id, participant_id)
    page.check_csrf(csrf_token)
    return _act(
        page,
        participant_id,
        "reissued",
        lambda uow: ticketing.reissue_ticket(
            uow, tickets=turnout.tickets, participant_id=participant_id, actor=page.principal.actor
        ),
    )


@router.post("/events/{event_id}/participants/{participant_id}/check-in")
def check_in(
    event_id: str,
    participant_id: str,
    request: Request,
    turnout: TurnoutDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    gate_id: Annotated[str, Form(max_length=64)] = "",
    direction: Annotated[str, Form(max_length=8)] = "",
    nonce: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    page = console_page(request, turnout, Permission.SCAN, event_id=event_id)
    page.check_csrf(csrf_token)
    try:
        if not gate_id:
            raise ValidationFailed([FieldError("gate_id", "missing_field")])
        authorize(page.principal, Permission.SCAN, event_id=event_id, gate_id=gate_id)
        answer = turnout.checkin.scan(
            event_id=event_id,
            scan=ScanInput(
                gate_id=gate_id,
                method=ScanMethod.MANUAL,
                participant_id=participant_id,
                direction=Direction(direction) if direction in ("in", "out") else None,
                nonce=f"console:{nonce}" if nonce else None,
            ),
            actor=page.principal.actor,
        )
    except DomainError as refusal:
        if not page.may(Permission.PARTICIPANTS_READ):
            raise
        return _record_page(page, participant_id, status=_status(refusal), refusal=refusal)
    if not page.may(Permission.PARTICIPANTS_READ):  # a gate key: its scanner shows the people
        return page.redirect("/scan")
    more = {"result": answer.result.value}
    if answer.code:
        more["code"] = answer.code
    return _done(page, participant_id, "checked_in", **more)


def _status(refusal: DomainError) -> int:
    if refusal.code.endswith("_not_found"):
        return 404
    return status_for(refusal)
