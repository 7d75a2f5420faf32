"""Key rotation: every sealed secret (ticket signing keys, integration secrets) sealed again under a
new ``TURNOUT_SECRET_KEY`` in one transaction — all or nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from tests.fakes import FakeClock
from turnout.adapters.db.tables_integrations import integrations
from turnout.adapters.db.tables_tickets import ticket_keys
from turnout.adapters.secrets import FernetSealer, SecretRotationError, reseal_all
from turnout.adapters.signing import KeyVault
from turnout.bootstrap import Turnout, bootstrap
from turnout.domain.ids import new_id
from turnout.services.events import create_event
from turnout.services.integrations import put_integration

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
NEW_KEY = "a-new-secret-key-of-at-least-32-characters"


def make_event(turnout: Turnout) -> str:
    with turnout.uow() as uow:
        event = create_event(
            uow, actor="t", name="행사", starts_at=datetime(2026, 6, 1, 9), ends_at=datetime(2026, 6, 1, 18)
        )
        uow.commit()
    return event.id


def sealed_state(turnout: Turnout) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    with turnout.engine.connect() as conn:
        keys = conn.execute(sa.select(ticket_keys.c.event_id, ticket_keys.c.private_key_sealed)).all()
        secrets = conn.execute(sa.select(integrations.c.system, integrations.c.secret_sealed)).all()
    return sorted((str(a), str(b)) for a, b in keys), sorted((str(a), str(b)) for a, b in secrets)


def with_secrets(turnout: Turnout) -> tuple[str, str]:
    event_id = make_event(turnout)
    with turnout.uow() as uow:
        token = turnout.tickets.mint(uow, event_id=event_id, participant_id=new_id())
        uow.commit()
    put_integration(
        turnout.uow,
        sealer=turnout.sealer,
        guard=turnout.address_guard,
        actor="t",
        event_id=event_id,
        system="gate-management",
        url="https://93.184.216.34/hooks",
        secret=SECRET,
    )
    return event_id, token


def test_every_sealed_secret_opens_under_the_new_key_when_rotated(turnout: Turnout, clock: FakeClock) -> None:
    event_id, token = with_secrets(turnout)
    old_key = turnout.settings.resolve_secret_key()
    rotation = reseal_all(turnout.engine, old_key=old_key, new_key=NEW_KEY)
    assert (rotation.ticket_keys, rotation.integration_secrets, rotation.already_new) == (1, 1, 0)
    keys, secrets = sealed_state(turnout)
    KeyVault(NEW_KEY).open(keys[0][1])
    assert FernetSealer(NEW_KEY).open(secrets[0][1]) == SECRET
    with pytest.raises(InvalidToken):
        FernetSealer(old_key).open(secrets[0][1])
    # a Turnout started with the new key: old tickets verify, new ones are minted with the same key
    restarted = bootstrap(turnout.settings.model_copy(update={"secret_key": NEW_KEY}), clock=clock)
    try:
        with restarted.uow() as uow:
            restarted.tickets.verify(uow, token=token, event_id=event_id)
            fresh = restarted.tickets.mint(uow, event_id=event_id, participant_id=new_id())
            restarted.tickets.verify(uow, token=fresh, event_id=event_id)
            uow.commit()
    finally:
        restarted.close()
    # run again with the same keys: everything is under the new key already, nothing changes
    again = reseal_all(turnout.engine, old_key=old_key, new_key=NEW_KEY)
    assert (again.ticket_keys, again.integration_secrets, again.already_new) == (0, 0, 2)
    assert sealed_state(turnout) == (keys, secrets)


def test_nothing_changes_when_one_secret_opens_under_neither_key(turnout: Turnout) -> None:
    with_secrets(turnout)
    stranger = make_event(turnout)
    with turnout.engine.begin() as conn:  # a ticket key sealed under some third key
        conn.execute(
            ticket_keys.insert().values(
                event_id=stranger,
                public_key="x",
                private_key_sealed=KeyVault("a-third-key").generate()[1],
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    before = sealed_state(turnout)
    with pytest.raises(SecretRotationError) as refused:
        reseal_all(turnout.engine, old_key=turnout.settings.resolve_secret_key(), new_key=NEW_KEY)
    assert refused.value.code == "secret_key_mismatch"
    assert refused.value.params == {"count": 1, "first": f"ticket_keys:{stranger}"}
    assert sealed_state(turnout) == before


def test_rotation_is_refused_when_the_new_key_is_the_old_one(turnout: Turnout) -> None:
    key = turnout.settings.resolve_secret_key()
    with pytest.raises(SecretRotationError) as refused:
        reseal_all(turnout.engine, old_key=key, new_key=key)
    assert refused.value.code == "secret_key_unchanged"
