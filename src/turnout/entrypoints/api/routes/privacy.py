"""Personal data: a closed event's people erased; participants' erasure requests decided (admin only)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from turnout.domain.access import Permission, authorize
from turnout.domain.sagas import SagaKind
from turnout.entrypoints.api.deps import PageDep, PrincipalDep, TurnoutDep, next_cursor
from turnout.entrypoints.api.json_body import JsonRoute
from turnout.entrypoints.api.schemas import (
    ErasureApproval,
    ErasureDecision,
    ErasureRequestPage,
    ErasureRequestRead,
)
from turnout.services import erasure_requests as erasure_service
from turnout.services.privacy import erase_event

router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=JsonRoute)

ErasureStatusName = Literal["requested", "approved", "rejected", "done"]


@router.post("/events/{event_id}/privacy/erase")
def erase_event_personal_data(event_id: str, turnout: TurnoutDep, principal: PrincipalDep) -> dict[str, Any]:
    """Remove the personal data of a closed event's people (names, emails, phones, birth dates as
    such, custom fields, tokens, and their traces in mail, scans, messages, deliveries and the audit
    log); its statistics and analytics stay as they were. ``409 event_not_closed`` otherwise."""
    authorize(principal, Permission.PRIVACY_ERASE, event_id=event_id)
    with turnout.uow() as uow:
        result = erase_event(uow, event_id=event_id, actor=principal.actor)
        uow.commit()
    return result


@router.get("/events/{event_id}/erasure-requests")
def list_erasure_requests(
    event_id: str,
    turnout: TurnoutDep,
    principal: PrincipalDep,
    page: PageDep,
    status: ErasureStatusName | None = None,
) -> ErasureRequestPage:
    """The event's erasure requests in the order they came (filter by ``status``)."""
    authorize(principal, Permission.PRIVACY_ERASE, event_id=event_id)
    with turnout.uow(readonly=True) as uow:
        found = erasure_service.list_requests(
            uow, event_id=event_id, status=status, after_id=page.after, limit=page.limit
        )
    last = found[-1].id if found else None
    return ErasureRequestPage(
        items=[ErasureRequestRead.of(r) for r in found],
        next_cursor=next_cursor(last, len(found), page.limit),
    )


@router.get("/erasure-requests/{erasure_request_id}")
def get_erasure_request(
    erasure_request_id: str, turnout: TurnoutDep, principal: PrincipalDep
) -> ErasureRequestRead:
    """One erasure request with its decision."""
    authorize(principal, Permission.PRIVACY_ERASE)
    with turnout.uow(readonly=True) as uow:
        request = erasure_service.get_request(uow, request_id=erasure_request_id)
    authorize(principal, Permission.PRIVACY_ERASE, event_id=request.event_id)
    return ErasureRequestRead.of(request)


@router.post("/erasure-requests/{erasure_request_id}/approve")
def approve_erasure_request(
    erasure_request_id: str, turnout: TurnoutDep, principal: PrincipalDep, body: ErasureDecision | None = None
) -> ErasureApproval:
    """Approve: in one transaction the person's registration is cancelled if still active (ticket
    revoked; the gate system and attendee app told; no notice mailed), their personal data erased
    (statistics and analytics kept), the request ``done`` and its alert acknowledged. ``409
    erasure_request_decided`` when it was decided already."""
    authorize(principal, Permission.PRIVACY_ERASE)
    with turnout.uow() as uow:
        found = erasure_service.get_request(uow, request_id=erasure_request_id)
        authorize(principal, Permission.PRIVACY_ERASE, event_id=found.event_id)
        request, counts = erasure_service.approve_erasure(
            uow,
            request_id=erasure_request_id,
            actor=principal.actor,
            cancellation=turnout.sagas[SagaKind.CANCELLATION],
            policy=turnout.saga_policy(),
            note=body.note if body else None,
        )
        uow.commit()
    return ErasureApproval(**ErasureRequestRead.of(request).model_dump(), counts=counts)


@router.post("/erasure-requests/{erasure_request_id}/reject")
def reject_erasure_request(
    erasure_request_id: str, turnout: TurnoutDep, principal: PrincipalDep, body: ErasureDecision | None = None
) -> ErasureRequestRead:
    """Reject, with an optional note; the alert is acknowledged. ``409 erasure_request_decided``
    when it was decided already."""
    authorize(principal, Permission.PRIVACY_ERASE)
    with turnout.uow() as uow:
        found = erasure_service.get_request(uow, request_id=erasure_request_id)
        authorize(principal, Permission.PRIVACY_ERASE, event_id=found.event_id)
        request = erasure_service.reject_erasure(
            uow, request_id=erasure_request_id, actor=principal.actor, note=body.note if body else None
        )
        uow.commit()
    return ErasureRequestRead.of(request)
