"""Fixtures of the browser tests (issue 18, item 10).

``server``: a real Turnout server process (``turnout serve``: uvicorn with the background worker
beside it) on a free port over a fresh, migrated database of its own — SQLite and PostgreSQL (from
``TURNOUT_TEST_POSTGRES_URL``; missing, the PostgreSQL cases skip, or fail under
``TURNOUT_REQUIRE_SERVICES=1``) — with the first admin key it prints on start and an SMTP server of
its own (``tests/smtp_support.py``) that refuses ``REFUSED_EMAIL``. One per test module and database:
tests make their own events, so they share it.

``browser``: Debian's chromium through Playwright (never ``playwright install``). Module-scoped, not
session-scoped: a second ``sync_playwright()`` in the same process fails while one is running, and the
browser tests in ``tests/e2e`` start their own (``pytest -n 2 --dist loadfile`` may run them in the
same process after these).

``context`` / ``open_context``: a desktop (1280x800, English) or phone (390x844, touch, Korean)
browser context on the server; ``console_errors`` gathers what the pages' scripts throw and what the
CSP refuses. ``shot(page, step)`` keeps ``test-results/<test>/<step>.png``; a failing test keeps a
screenshot of every page it had open.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from tests.conftest import require_service
from tests.smtp_support import SmtpServer, start_smtp_server
from turnout.adapters.db.engine import make_engine
from turnout.adapters.db.migrate import upgrade
from turnout.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
SECRET_KEY = "browser-tests-secret-key"
REFUSED_EMAIL = "refused@example.com"  # the test SMTP server answers 550 for it
START_SECONDS = 60

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "locale": "ko-KR",
    },
}
LOCALE_OF = {"desktop": "en", "phone": "ko"}


@dataclass
class Server:
    """A running Turnout: its URL, first admin key, database and mail server."""

    kind: str  # sqlite / postgresql
    url: str
    admin_key: str
    database_url: str
    var_dir: Path
    smtp: SmtpServer

    def api(self, key: str | None = None) -> httpx.Client:
        """An API client (``/api/v1``) with the admin key (or ``key``)."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {key or self.admin_key}", "Accept-Language": "en"},
            timeout=20,
        )

    def settings(self) -> Settings:
        """Settings for wiring a Turnout in the test process over the server's database (to seed what
        no API makes: alerts, keys)."""
        return Settings(
            database_url=self.database_url,
            var_dir=self.var_dir,
            secret_key=SECRET_KEY,
            broker_url="",
            smtp_url="",
            _env_file=None,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def own_database(
    kind: str, root: Path, sqlite_template: Path, postgres_server_url: str | None
) -> Iterator[str]:
    """A fresh migrated database for one server: a copy of the session's SQLite template, or a
    PostgreSQL database of its own (dropped after; the suite's shared one is truncated by other tests)."""
    if kind == "sqlite":
        path = root / "turnout.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if not postgres_server_url:
        require_service("PostgreSQL browser tests need TURNOUT_TEST_POSTGRES_URL")
    assert postgres_server_url is not None
    admin = make_engine(postgres_server_url, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"turnout_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require_service(f"PostgreSQL at TURNOUT_TEST_POSTGRES_URL unreachable: {exc}")
    url = sa.engine.make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def serving(database_url: str, root: Path, smtp_url: str) -> Iterator[tuple[str, str]]:
    """``turnout serve`` (with its worker) on a free port: yields its URL and first admin key."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TURNOUT_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        TURNOUT_DATABASE_URL=database_url,
        TURNOUT_VAR_DIR=str(root / "var"),
        TURNOUT_SECRET_KEY=SECRET_KEY,
        TURNOUT_BROKER_URL="",
        TURNOUT_SMTP_URL=smtp_url,
        TURNOUT_BASE_URL=url,
        TURNOUT_ALLOW_PRIVATE_WEBHOOKS="1",  # the seeded integration points at a closed local port
        # every test signs in its contexts with the same key, faster than a person would
        TURNOUT_SIGNIN_ATTEMPTS_PER_KEY="1000",
        TURNOUT_SIGNIN_ATTEMPTS_PER_ADDRESS="1000",
        TURNOUT_RELAY_POLL_INTERVAL="0.1",
    )
    out, err = root / "server.out", root / "server.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "turnout.entrypoints.cli", "serve", "--port", str(port), "--json"],
            cwd=root,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group: the worker it starts is stopped with it
        )
    try:
        admin_key = wait_until_serving(process, url, out, err)
        yield url, admin_key
    finally:
        stop(process)


def wait_until_serving(process: subprocess.Popen[bytes], url: str, out: Path, err: Path) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"turnout serve exited with {process.returncode}:\n{err.read_text()[-3000:]}")
        found = re.search(r'"first_admin_key":\s*"([^"]+)"', out.read_text())
        if found:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return found.group(1)
        time.sleep(0.1)
    pytest.fail(f"turnout serve did not answer within {START_SECONDS} s:\n{err.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (serve stops its worker), then SIGKILL to the group this test started if it lingers."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group of the process started above, nothing else
    process.wait(timeout=5)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    postgres_server_url: str | None,
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"browser-{request.param}")
    with own_database(request.param, root, sqlite_template, postgres_server_url) as database_url:
        smtp = start_smtp_server()
        smtp.handler.reject[REFUSED_EMAIL] = "550 5.1.1 no such user"
        try:
            with serving(database_url, root, smtp.url) as (url, admin_key):
                yield Server(request.param, url, admin_key, database_url, root / "var", smtp)
        finally:
            smtp.controller.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        require_service(
            "the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def test_dir(node_name: str) -> Path:
    return RESULTS / re.sub(r"[^\w.-]+", "-", node_name).strip("-")


@pytest.fixture
def results_dir(request: pytest.FixtureRequest) -> Path:
    """``test-results/<test>/``, emptied for this run."""
    path = test_dir(request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


Shot = Callable[[Page, str], Path]


@pytest.fixture
def shot(results_dir: Path) -> Shot:
    """``shot(page, "03-import-preview")`` keeps ``test-results/<test>/03-import-preview.png``."""

    def keep(page: Page, step: str) -> Path:
        path = results_dir / f"{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return keep


@pytest.fixture
def console_errors() -> list[str]:
    """What the pages' scripts threw and what their CSP refused, as ``url: message``."""
    return []


OpenContext = Callable[..., BrowserContext]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def open_context(
    request: pytest.FixtureRequest,
    browser: Browser,
    server: Server,
    console_errors: list[str],
    results_dir: Path,
) -> Iterator[OpenContext]:
    """``open_context("phone", **options)``: a new browser context on the server (closed after the
    test; on failure every open page's screenshot is kept as ``failure-<n>.png``)."""
    opened: list[BrowserContext] = []

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            # a 4xx page (a refused form, an error page) logs "Failed to load resource": expected
            if message.type == "error" and "Failed to load resource" not in message.text:
                console_errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: console_errors.append(f"{page.url}: {error}"))

    def make(device: str, **options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=server.url, accept_downloads=True, **{**VIEWPORTS[device], **options}
        )
        context.set_default_timeout(10_000)
        context.on("page", watch)
        opened.append(context)
        return context

    yield make
    failed = request.node.stash.get(FAILED, False)
    for context in opened:
        if failed:
            for number, page in enumerate(context.pages):
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(results_dir / f"failure-{len(opened)}-{number}.png"), full_page=True
                    )
        context.close()


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    """desktop (English) or phone (Korean)."""
    return str(request.param)


@pytest.fixture
def context(open_context: OpenContext, device: str) -> BrowserContext:
    return open_context(device)
