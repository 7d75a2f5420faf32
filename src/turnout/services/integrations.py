"""Use cases for an event's integrations: put (create or update), list, get, delete, disable.

What is shown of an integration is an ``IntegrationView``: never its secret. The secret is sealed
(``ports.Sealer``) before it is stored; the URL must pass the address guard (``ports.AddressGuard``:
``http``/``https`` to a public address). Each change is audited, without the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from turnout.domain.errors import FieldError, NotFound, ValidationFailed
from turnout.domain.events import EventStatus
from turnout.domain.integrations import Integration, IntegrationSystem, system_of, validate_integration
from turnout.ports import AddressGuard, Sealer, UnitOfWork, UnitOfWorkFactory
from turnout.services import gate_sync
from turnout.services.events import get_event

SUBJECT = "integration"
DEFAULT_DISABLE_REASON = "disabled by an operator"
SYNC_WHEN = (EventStatus.OPEN, EventStatus.LIVE)


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """An integration as it is shown (API, CLI, console): everything but the secret."""

    event_id: str
    system: IntegrationSystem
    url: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, integration: Integration) -> IntegrationView:
        return cls(
            event_id=integration.event_id,
            system=integration.system,
            url=integration.url,
            enabled=integration.enabled,
            disabled_reason=integration.disabled_reason,
            created_at=integration.created_at,
            updated_at=integration.updated_at,
        )


@dataclass(frozen=True, slots=True)
class PutResult:
    view: IntegrationView
    created: bool


def _subject_id(event_id: str, system: IntegrationSystem) -> str:
    return f"{event_id}/{system.value}"


def _url_for_audit(url: str) -> str:
    """The URL without its query and fragment (where some receivers put a token)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _existing(uow: UnitOfWork, event_id: str, system: IntegrationSystem) -> Integration:
    found = uow.integrations.get(event_id, system.value)
    if found is None:
        raise NotFound("integration_not_found", event_id=event_id, system=system.value)
    return found


def put_integration(
    uows: UnitOfWorkFactory,
    *,
    sealer: Sealer,
    guard: AddressGuard,
    actor: str,
    event_id: str,
    system: str,
    url: str,
    secret: str | None = None,
    enabled: bool = True,
) -> PutResult:
    """Create the event's integration with ``system``, or replace its URL, secret and state, in a
    transaction of its own. ``secret=None`` keeps the stored secret (an update); a new integration
    needs one.

    The URL is checked (its host resolved) before the transaction begins: a slow name server must
    not hold a write transaction (SQLite's writer lock) open.

    Refusals: ``NotFound`` (``integration_system_not_found``, ``event_not_found``) and
    ``ValidationFailed`` with every field's problem (``url``: ``invalid_url``, ``private_address``;
    ``secret``: ``invalid_secret``, ``required``)."""
    chosen = system_of(system)
    url = url.strip()
    problems: list[FieldError] = []
    try:
        validate_integration(url=url, secret=secret)
    except ValidationFailed as refused:
        problems.extend(refused.errors)
    if not any(p.field == "url" for p in problems):
        where = guard.problem(url)
        if where is not None:
            problems.append(where)
    sealed = sealer.seal(secret) if secret is not None and not problems else None
    with uows() as uow:
        event = get_event(uow, event_id=event_id)
        existing = uow.integrations.get(event_id, chosen.value)
        if secret is None and existing is None:
            problems.append(FieldError("secret", "required"))
        if problems:
            raise ValidationFailed(sorted(problems, key=lambda p: p.field != "url"))
        now = uow.clock.now()
        integration = Integration(
            event_id=event_id,
            system=chosen,
            url=url,
            secret_sealed=sealed or (existing.secret_sealed if existing is not None else ""),
            enabled=enabled,
            disabled_reason=None,
            created_at=existing.created_at if existing is not None else now,
            updated_at=now,
        )
        uow.integrations.put(integration)
        sync_reason = _sync_reason(existing, integration) if event.status in SYNC_WHEN else None
        synced = None
        if sync_reason is not None:
            synced = gate_sync.full_sync(uow, event_id=event_id, actor=actor, reason=sync_reason)
        uow.audit.record(
            actor=actor,
            action="integration.created" if existing is None else "integration.updated",
            subject_type=SUBJECT,
            subject_id=_subject_id(event_id, chosen),
            event_id=event_id,
            data={
                "system": chosen.value,
                "url": _url_for_audit(url),
                "enabled": enabled,
                "secret_changed": secret is not None,
                **({"sync_id": synced.sync_id, "sync_reason": sync_reason} if synced is not None else {}),
            },
        )
        uow.commit()
    return PutResult(IntegrationView.of(integration), created=existing is None)


def _sync_reason(before: Integration | None, after: Integration) -> str | None:
    """Why the gate system needs the whole list again after this put, or ``None``: it was created
    enabled, switched on, or moved to another URL (a new receiver knows nothing yet)."""
    if after.system is not IntegrationSystem.GATE_MANAGEMENT or not after.enabled:
        return None
    if before is None:
        return "integration.created"
    if not before.enabled:
        return "integration.enabled"
    if before.url != after.url:
        return "integration.url_changed"
    return None


def list_integrations(uow: UnitOfWork, *, event_id: str) -> list[IntegrationView]:
    """The event's integrations in system order (``event_not_found`` for an unknown event)."""
    get_event(uow, event_id=event_id)
    return [IntegrationView.of(i) for i in uow.integrations.list_for_event(event_id)]


def get_integration(uow: UnitOfWork, *, event_id: str, system: str) -> IntegrationView:
    chosen = system_of(system)
    get_event(uow, event_id=event_id)
    return IntegrationView.of(_existing(uow, event_id, chosen))


def delete_integration(uow: UnitOfWork, *, actor: str, event_id: str, system: str) -> None:
    """Remove the integration (``integration_not_found`` when there is none)."""
    chosen = system_of(system)
    get_event(uow, event_id=event_id)
    if not uow.integrations.delete(event_id, chosen.value):
        raise NotFound("integration_not_found", event_id=event_id, system=chosen.value)
    uow.audit.record(
        actor=actor,
        action="integration.deleted",
        subject_type=SUBJECT,
        subject_id=_subject_id(event_id, chosen),
        event_id=event_id,
        data={"system": chosen.value},
    )


def disable_integration(
    uow: UnitOfWork, *, actor: str, event_id: str, system: str, reason: str = DEFAULT_DISABLE_REASON
) -> IntegrationView:
    """Turn the integration off with ``reason`` (nothing is delivered to it until it is put again
    enabled); audited when it was enabled. ``integration_not_found`` when there is none."""
    chosen = system_of(system)
    get_event(uow, event_id=event_id)
    _existing(uow, event_id, chosen)
    reason = reason.strip() or DEFAULT_DISABLE_REASON
    if uow.integrations.disable(event_id, chosen.value, reason=reason, now=uow.clock.now()):
        uow.audit.record(
            actor=actor,
            action="integration.disabled",
            subject_type=SUBJECT,
            subject_id=_subject_id(event_id, chosen),
            event_id=event_id,
            data={"system": chosen.value, "reason": reason[:200]},
        )
    return IntegrationView.of(_existing(uow, event_id, chosen))
