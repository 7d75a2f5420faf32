"""Bearer keys (``services.keys``) on the fake stores: what the authenticator's cache remembers."""

from __future__ import annotations

import pytest

from tests.fakes import FakeUnitOfWorkFactory
from turnout.domain.access import Role
from turnout.domain.errors import Unauthenticated
from turnout.services.keys import IssuedKey, KeyAuthenticator, create_key


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def issue(uow_factory: FakeUnitOfWorkFactory) -> IssuedKey:
    with uow_factory() as uow:
        issued = create_key(uow, actor="t", name="desk", role=Role.ADMIN)
        uow.commit()
    return issued


def revoke(uow_factory: FakeUnitOfWorkFactory, issued: IssuedKey) -> None:
    with uow_factory() as uow:
        assert uow.api_keys.revoke(issued.principal.key_id, now=uow.clock.now())
        uow.commit()


def test_revoked_key_works_until_the_cache_expires_when_remembered() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    ticker = Ticker()
    authenticator = KeyAuthenticator(uow_factory, ttl=5.0, monotonic=ticker)
    issued = issue(uow_factory)
    assert authenticator.authenticate(issued.key) == issued.principal
    revoke(uow_factory, issued)
    ticker.now += 4.9
    assert authenticator.authenticate(issued.key) == issued.principal
    ticker.now += 0.2
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(issued.key)


def test_forgotten_key_is_read_again_when_next_used() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    authenticator = KeyAuthenticator(uow_factory, ttl=5.0, monotonic=Ticker())
    issued = issue(uow_factory)
    authenticator.authenticate(issued.key)
    revoke(uow_factory, issued)
    authenticator.forget(issued.principal.key_id)
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(issued.key)


def test_cached_key_still_needs_its_secret_when_remembered() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    authenticator = KeyAuthenticator(uow_factory, monotonic=Ticker())
    issued = issue(uow_factory)
    authenticator.authenticate(issued.key)
    altered = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(altered)
