"""Public registration's rate limit (``services.registration.check_rate_limit``) on the fake stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.ports import RateWindow
from turnout.services.registration import RateLimited, check_rate_limit

WINDOW_START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a multiple of 60 s since the epoch


def request(
    uow_factory: FakeUnitOfWorkFactory, client: str = "ip:a", *, limit: int = 3, **options: object
) -> None:
    with uow_factory() as uow:
        check_rate_limit(uow, client=client, limit=limit, **options)  # type: ignore[arg-type]
        uow.commit()


def window(uow_factory: FakeUnitOfWorkFactory, client: str) -> RateWindow | None:
    with uow_factory(readonly=True) as uow:
        return uow.rate_limits.window(client)


@pytest.fixture
def uow_factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeClock(WINDOW_START + timedelta(seconds=20)))


def test_requests_pass_up_to_the_limit_then_are_refused_when_in_one_window(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    for _ in range(3):
        request(uow_factory)
    with pytest.raises(RateLimited) as refused:
        request(uow_factory)
    assert refused.value.code == "rate_limited"
    assert refused.value.params == {"limit": 3, "retry_after": 40}  # the window ends at 09:01:00
    assert window(uow_factory, "ip:a") == RateWindow(started_at=WINDOW_START, count=3)


def test_count_starts_again_when_the_next_window_begins(uow_factory: FakeUnitOfWorkFactory) -> None:
    for _ in range(3):
        request(uow_factory)
    uow_factory.clock.advance(seconds=40)  # 09:01:00
    request(uow_factory)
    assert window(uow_factory, "ip:a") == RateWindow(started_at=WINDOW_START + timedelta(minutes=1), count=1)


def test_clients_are_counted_apart_when_several_register(uow_factory: FakeUnitOfWorkFactory) -> None:
    for _ in range(3):
        request(uow_factory, "ip:a")
    request(uow_factory, "ip:b")
    assert window(uow_factory, "ip:b") == RateWindow(started_at=WINDOW_START, count=1)


def test_idle_clients_are_forgotten_when_housekeeping_runs_for_a_new_client(
    uow_factory: FakeUnitOfWorkFactory,
) -> None:
    request(uow_factory, "ip:old")
    uow_factory.clock.advance(hours=2)
    request(uow_factory, "ip:recent", housekeeping=lambda: False)
    assert window(uow_factory, "ip:old") is not None
    request(uow_factory, "ip:new", housekeeping=lambda: True)
    assert window(uow_factory, "ip:old") is None
    assert window(uow_factory, "ip:recent") is not None


def test_refused_request_is_not_counted_when_over_the_limit(uow_factory: FakeUnitOfWorkFactory) -> None:
    for _ in range(3):
        request(uow_factory)
    for _ in range(2):
        with pytest.raises(RateLimited):
            request(uow_factory)
    assert window(uow_factory, "ip:a") == RateWindow(started_at=WINDOW_START, count=3)
