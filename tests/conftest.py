"""Shared fixtures.

``database_url`` is parametrised over SQLite and PostgreSQL: every storage test runs on both.
PostgreSQL comes from ``TURNOUT_TEST_POSTGRES_URL`` (a server URL; each test process makes its own
databases there). Without it the PostgreSQL cases are skipped with a visible reason, unless
``TURNOUT_REQUIRE_SERVICES=1`` (CI), where they fail instead.

The schema is always made by the Alembic migrations: once per session into a template, then
copied (SQLite) or truncated (PostgreSQL) for each test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.migrate import upgrade
from turnout.adapters.db.schema import metadata
from turnout.adapters.db.uow import SqlUnitOfWork
from turnout.bootstrap import Turnout, bootstrap
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app
from turnout.ports import UnitOfWorkFactory
from turnout.services.keys import create_key

POSTGRES_ENV = "TURNOUT_TEST_POSTGRES_URL"
REQUIRE_SERVICES = os.environ.get("TURNOUT_REQUIRE_SERVICES") == "1"


def require_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url: str | None) -> Iterator[str | None]:
    """One migrated database per test process on the PostgreSQL server (or None when not configured)."""
    if not postgres_server_url:
        yield None
        return
    admin = make_engine(postgres_server_url, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"turnout_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if REQUIRE_SERVICES:
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} unreachable: {exc}")
    url = sa.engine.make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def fresh_database_url(
    request: pytest.FixtureRequest,
    kind: str,
    *,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_server_url: str | None,
) -> str:
    """A fresh, migrated database of ``kind`` (``sqlite`` or ``postgresql``) for one test. Store
    contract suites that also run a fake call it from their own parametrised fixture."""
    if kind == "sqlite":
        path = tmp_path / "turnout.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    if not postgres_server_url:
        require_service(f"PostgreSQL tests need {POSTGRES_ENV}")
    url: str | None = request.getfixturevalue("postgres_database")
    assert url is not None
    _truncate_all(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_server_url: str | None
) -> str:
    """A fresh, migrated database for one test: SQLite file or PostgreSQL."""
    return fresh_database_url(
        request,
        request.param,
        tmp_path=tmp_path,
        sqlite_template=sqlite_template,
        postgres_server_url=postgres_server_url,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: for tests of SQLite-specific behaviour."""
    path = tmp_path / "turnout.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret-key",
        broker_url="",
        smtp_url="",
        _env_file=None,
    )


@pytest.fixture
def turnout(settings: Settings, clock: FakeClock) -> Iterator[Turnout]:
    wired = bootstrap(settings, clock=clock)
    yield wired
    wired.close()


@pytest.fixture
def app_client(turnout: Turnout) -> Iterator[TestClient]:
    with TestClient(create_app(turnout), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin_key(turnout: Turnout) -> str:
    with turnout.uow() as uow:
        issued = create_key(uow, actor="test", name="admin", role=Role.ADMIN)
        uow.commit()
    return issued.key


@pytest.fixture
def client(app_client: TestClient, admin_key: str) -> TestClient:
    """An API client signed in as admin."""
    app_client.headers["Authorization"] = f"Bearer {admin_key}"
    return app_client


EVENT_BODY = {
    "name": "서울 개발자 컨퍼런스 2026",
    "starts_at": "2026-06-01T09:00:00+09:00",
    "ends_at": "2026-06-01T18:00:00+09:00",
    "venue": "코엑스",
    "capacity": 500,
    "min_age": 0,  # no age rule: the tests about age make their own events
}


@pytest.fixture
def event(client: TestClient) -> dict[str, object]:
    response = client.post("/api/v1/events", json=EVENT_BODY)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def gate(client: TestClient, event: dict[str, object]) -> dict[str, object]:
    response = client.post(f"/api/v1/events/{event['id']}/gates", json={"name": "정문", "direction": "both"})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture(
    params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def any_uows(
    request: pytest.FixtureRequest,
    clock: FakeClock,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_server_url: str | None,
) -> Iterator[UnitOfWorkFactory]:
    """Units of work over the fakes, or over a fresh SQLite or PostgreSQL database (as
    ``database_url`` makes them), all on the test's ``clock``."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory(clock)
        return
    url = fresh_database_url(
        request,
        request.param,
        tmp_path=tmp_path,
        sqlite_template=sqlite_template,
        postgres_server_url=postgres_server_url,
    )
    engine = make_engine(url)

    def factory(*, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, readonly=readonly)

    try:
        yield factory
    finally:
        engine.dispose()
