"""Who may do what: roles, scopes and the permission table. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from turnout.domain.errors import FieldError, Forbidden, ValidationFailed


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    GATE = "gate"


class Permission(StrEnum):
    EVENTS_CREATE = "events.create"
    EVENTS_LIST = "events.list"
    EVENT_READ = "event.read"
    EVENT_MANAGE = "event.manage"  # lifecycle, gates, integrations, settings
    PARTICIPANTS_READ = "participants.read"
    PARTICIPANTS_WRITE = "participants.write"
    SCAN = "attendance.scan"
    STATS_READ = "stats.read"
    KEYS_MANAGE = "keys.manage"
    PRIVACY_ERASE = "privacy.erase"  # admin only: a closed event's personal data erased


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STAFF: frozenset(
        {
            Permission.EVENTS_LIST,
            Permission.EVENT_READ,
            Permission.EVENT_MANAGE,
            Permission.PARTICIPANTS_READ,
            Permission.PARTICIPANTS_WRITE,
            Permission.SCAN,
            Permission.STATS_READ,
        }
    ),
    Role.GATE: frozenset({Permission.EVENTS_LIST, Permission.EVENT_READ, Permission.SCAN}),
}


@dataclass(frozen=True)
class Principal:
    """The holder of an API key (or a web session made from one)."""

    key_id: str
    name: str
    role: Role
    event_id: str | None = None
    gate_id: str | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


def authorize(
    principal: Principal, permission: Permission, *, event_id: str | None = None, gate_id: str | None = None
) -> None:
    """Raise ``Forbidden`` unless ``principal`` holds ``permission`` within this event (and gate)."""
    if permission not in PERMISSIONS[principal.role]:
        raise Forbidden(permission=permission.value)
    if principal.role is Role.ADMIN:
        return
    if event_id is not None and principal.event_id != event_id:
        raise Forbidden(permission=permission.value)
    if principal.role is Role.GATE and gate_id is not None and principal.gate_id != gate_id:
        raise Forbidden(permission=permission.value)


def validate_scope(role: Role, event_id: str | None, gate_id: str | None) -> None:
    errors: list[FieldError] = []
    if role is Role.ADMIN and (event_id or gate_id):
        errors.append(FieldError("event", "admin_key_unscoped"))
    if role in (Role.STAFF, Role.GATE) and not event_id:
        errors.append(FieldError("event", "key_needs_event"))
    if role is Role.GATE and not gate_id:
        errors.append(FieldError("gate", "key_needs_gate"))
    if role is Role.STAFF and gate_id:
        errors.append(FieldError("gate", "staff_key_not_gate"))
    if errors:
        raise ValidationFailed(errors)
