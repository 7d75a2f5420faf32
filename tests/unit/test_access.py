import pytest

from turnout.domain.access import Permission, Principal, Role, authorize, validate_scope
from turnout.domain.errors import Forbidden, ValidationFailed

ADMIN = Principal(key_id="a", name="a", role=Role.ADMIN)
STAFF = Principal(key_id="s", name="s", role=Role.STAFF, event_id="e1")
GATE = Principal(key_id="g", name="g", role=Role.GATE, event_id="e1", gate_id="g1")


def test_admin_may_do_everything_anywhere() -> None:
    for permission in Permission:
        authorize(ADMIN, permission, event_id="any", gate_id="any")


def test_staff_refused_when_event_is_another() -> None:
    authorize(STAFF, Permission.PARTICIPANTS_WRITE, event_id="e1")
    with pytest.raises(Forbidden):
        authorize(STAFF, Permission.PARTICIPANTS_WRITE, event_id="e2")


def test_staff_cannot_create_events_or_keys() -> None:
    for permission in (Permission.EVENTS_CREATE, Permission.KEYS_MANAGE):
        with pytest.raises(Forbidden):
            authorize(STAFF, permission)


def test_gate_key_scans_only_at_its_gate() -> None:
    authorize(GATE, Permission.SCAN, event_id="e1", gate_id="g1")
    with pytest.raises(Forbidden):
        authorize(GATE, Permission.SCAN, event_id="e1", gate_id="g2")
    with pytest.raises(Forbidden):
        authorize(GATE, Permission.EVENT_MANAGE, event_id="e1")


@pytest.mark.parametrize(
    ("role", "event_id", "gate_id", "code"),
    [
        (Role.ADMIN, "e1", None, "admin_key_unscoped"),
        (Role.STAFF, None, None, "key_needs_event"),
        (Role.GATE, "e1", None, "key_needs_gate"),
        (Role.STAFF, "e1", "g1", "staff_key_not_gate"),
    ],
)
def test_key_scope_refused_when_it_does_not_fit_role(
    role: Role, event_id: str | None, gate_id: str | None, code: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_scope(role, event_id, gate_id)
    assert code in {e.code for e in info.value.errors}
