from __future__ import annotations

import pytest
import sqlalchemy as sa

from turnout.adapters.db import tables as t
from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.domain.errors import Unauthenticated
from turnout.services.keys import create_key


def test_key_is_stored_hashed_and_authenticates(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        issued = create_key(uow, actor="t", name="admin", role=Role.ADMIN)
        uow.commit()
    secret = issued.key.split("_", 2)[2]
    with turnout.engine.connect() as conn:
        stored = conn.execute(sa.select(t.api_keys)).one()
    assert secret not in str(tuple(stored))
    assert turnout.authenticator.authenticate(issued.key).role is Role.ADMIN


def test_key_refused_when_secret_is_altered_or_revoked(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        issued = create_key(uow, actor="t", name="admin", role=Role.ADMIN)
        uow.commit()
    altered = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    for bad in (altered, "", "trn_", "trn_x_y", issued.key.replace("trn_", "xyz_")):
        with pytest.raises(Unauthenticated):
            turnout.authenticator.authenticate(bad)
    with turnout.uow() as uow:
        assert uow.api_keys.revoke(issued.principal.key_id, now=turnout.clock.now())
        uow.commit()
    turnout.authenticator.forget(issued.principal.key_id)
    with pytest.raises(Unauthenticated):
        turnout.authenticator.authenticate(issued.key)


def test_key_creation_is_audited(turnout: Turnout) -> None:
    with turnout.uow() as uow:
        issued = create_key(uow, actor="cli", name="desk", role=Role.ADMIN)
        uow.commit()
    with turnout.uow(readonly=True) as uow:
        entries = uow.audit.for_subject("api_key", issued.principal.key_id)
    assert [(e["actor"], e["action"]) for e in entries] == [("cli", "key.created")]
