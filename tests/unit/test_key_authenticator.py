"""Bearer keys (``services.keys``) on the fake stores: what the authenticator's cache remembers."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from tests.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory
from turnout.domain.access import Role
from turnout.domain.errors import Unauthenticated
from turnout.services.keys import (
    UNKNOWN_LIMIT,
    IssuedKey,
    KeyAuthenticator,
    create_key,
    csrf_matches,
    csrf_token,
    end_session,
    start_session,
)


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


class CountingFactory(FakeUnitOfWorkFactory):
    """Counts the transactions opened (each key check that reaches the database opens one) and the
    threads they were opened on."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0
        self.threads: list[int] = []

    def __call__(self, *, readonly: bool = False) -> FakeUnitOfWork:
        self.opened += 1
        self.threads.append(threading.get_ident())
        return super().__call__(readonly=readonly)


def test_unknown_key_id_reads_the_database_once_when_repeated_within_the_cache_time() -> None:
    uow_factory = CountingFactory()
    ticker = Ticker()
    authenticator = KeyAuthenticator(uow_factory, monotonic=ticker)  # unknown ids kept 5 s
    for _ in range(100):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate("trn_0123456789abcdef_madeup")
    assert uow_factory.opened == 1
    ticker.now += 5.1
    with pytest.raises(Unauthenticated):
        authenticator.authenticate("trn_0123456789abcdef_madeup")
    assert uow_factory.opened == 2


def test_flood_of_random_key_ids_keeps_the_unknown_cache_bounded_when_it_fills() -> None:
    authenticator = KeyAuthenticator(FakeUnitOfWorkFactory(), monotonic=Ticker())
    for n in range(UNKNOWN_LIMIT + 10):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(f"trn_{n:016x}_madeup")
    assert len(authenticator._unknown) <= UNKNOWN_LIMIT


def test_new_key_works_when_its_id_was_forgotten_as_unknown() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    authenticator = KeyAuthenticator(uow_factory, monotonic=Ticker())
    issued = issue(uow_factory)
    authenticator.forget(issued.principal.key_id)
    assert authenticator.authenticate(issued.key) == issued.principal


def test_async_check_reads_the_database_off_the_event_loop_when_not_cached() -> None:
    uow_factory = CountingFactory()
    authenticator = KeyAuthenticator(uow_factory, monotonic=Ticker())
    issued = issue(uow_factory)
    uow_factory.threads.clear()

    async def check() -> tuple[int, object]:
        return threading.get_ident(), await authenticator.authenticate_async(issued.key)

    loop_thread, principal = asyncio.run(check())
    assert principal == issued.principal
    assert uow_factory.threads
    assert loop_thread not in uow_factory.threads
    # a cached key is answered on the loop, without a thread
    uow_factory.threads.clear()
    assert asyncio.run(check())[1] == issued.principal
    assert uow_factory.threads == []


def test_session_names_its_key_until_signed_out_when_started() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    authenticator = KeyAuthenticator(uow_factory, monotonic=Ticker())
    issued = issue(uow_factory)
    with uow_factory() as uow:
        token = start_session(uow, principal=issued.principal, lifetime=timedelta(hours=1))
        uow.commit()
    assert issued.key not in token
    assert issued.principal.key_id not in token
    assert token not in str(uow_factory.db.table("console_sessions"))  # stored hashed
    assert authenticator.authenticate_session(token) == issued.principal
    with uow_factory() as uow:
        end_session(uow, token=token)
        uow.commit()
    authenticator.forget_session(token)
    with pytest.raises(Unauthenticated):
        authenticator.authenticate_session(token)


def test_session_is_refused_when_expired_or_its_key_revoked() -> None:
    uow_factory = FakeUnitOfWorkFactory()
    ticker = Ticker()
    authenticator = KeyAuthenticator(uow_factory, ttl=5.0, monotonic=ticker)
    issued = issue(uow_factory)
    with uow_factory() as uow:
        short = start_session(uow, principal=issued.principal, lifetime=timedelta(minutes=1))
        other = start_session(uow, principal=issued.principal, lifetime=timedelta(hours=1))
        uow.commit()
    uow_factory.clock.advance(minutes=2)
    with pytest.raises(Unauthenticated):
        authenticator.authenticate_session(short)
    assert authenticator.authenticate_session(other) == issued.principal
    revoke(uow_factory, issued)
    ticker.now += 5.1
    with pytest.raises(Unauthenticated):
        authenticator.authenticate_session(other)


def test_csrf_token_is_bound_to_the_session_when_checked() -> None:
    assert csrf_matches("secret", "session-a", csrf_token("secret", "session-a"))
    assert not csrf_matches("secret", "session-b", csrf_token("secret", "session-a"))
    assert not csrf_matches("other", "session-a", csrf_token("secret", "session-a"))
    assert not csrf_matches("secret", "session-a", None)
