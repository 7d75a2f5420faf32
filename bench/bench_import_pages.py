"""The console's import pages: server time per page (p95) with a large file.

    .venv/bin/python bench/bench_import_pages.py [--rows 100000] [--runs 40] [--postgres URL]

Uploads a ``--rows`` CSV (CP949, Korean headers, every tenth row refused) through the page, starts
its import and runs it, then prints the median and p95 server time (a middleware's, so the test client's own
time is left out) of: the upload page with the event's past imports, the preview of a freshly
uploaded copy of the file (it must read only its first rows), the finished job's page (summary and
the first 100 refused rows) and the progress fragment. Target: each page under 100 ms.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.testclient import TestClient

from turnout.adapters.db.migrate import upgrade
from turnout.bootstrap import bootstrap
from turnout.config import Settings
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app
from turnout.services.keys import create_key

ORIGIN = {"Origin": "http://testserver"}


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp949", newline="") as handle:
        handle.write("이름,이메일,연락처,소속\r\n")
        for number in range(rows):
            email = f"p{number}@example.com" if number % 10 else f"bad{number}"
            handle.write(f"참가자{number},{email},010-{number % 10000:04d}-{number // 10000:04d},한빛\r\n")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a new database is made on it)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-pages-"))
    name = ""
    if args.postgres:
        name = f"bench_import_pages_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{folder}/bench.sqlite3"
    upgrade(url)
    settings = Settings(
        database_url=url,
        var_dir=folder / "var",
        secret_key="bench-secret-key",
        broker_url="",
        smtp_url="",
        _env_file=None,
    )
    try:
        run(args, settings)
    finally:
        if name:
            with engine.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def run(args: argparse.Namespace, settings: Settings) -> None:
    turnout = bootstrap(settings)
    with turnout.uow() as uow:
        key = create_key(uow, actor="bench", name="bench", role=Role.ADMIN).key
        uow.commit()
    app = create_app(turnout)

    @app.middleware("http")
    async def server_time(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        began = time.perf_counter()
        response = await call_next(request)
        response.headers["x-server-ms"] = f"{(time.perf_counter() - began) * 1000:.3f}"
        return response

    client = TestClient(app)
    event = client.post(
        "/api/v1/events",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "name": "bench",
            "starts_at": "2026-06-01T09:00:00+09:00",
            "ends_at": "2026-06-01T18:00:00+09:00",
            "min_age": 0,  # the file has no birth dates
        },
    ).json()
    assert client.post("/signin", data={"key": key}, follow_redirects=False).status_code == 303
    data = settings.var_dir.parent / "people.csv"
    write_file(data, args.rows)
    base = f"/events/{event['id']}/import"

    def upload() -> str:
        token = csrf_of(client.get(base).text)
        answer = client.post(
            base,
            files={"file": ("people.csv", data.read_bytes(), "text/csv")},
            data={"csrf_token": token},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text[:300]
        return str(answer.headers["location"])

    began = time.perf_counter()
    preview = upload()
    took = time.perf_counter() - began
    print(f"upload of {args.rows:,} rows ({data.stat().st_size / 1e6:.1f} MB): {took:.2f} s")
    html = client.get(preview).text
    mapping = re.findall(r'<option value="([^"]+)" selected>', html)
    started = client.post(
        preview,
        data={"mapping": mapping, "consent_basis": "collected_elsewhere", "csrf_token": csrf_of(html)},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text[:300]
    job = str(started.headers["location"]).split("?")[0]
    began = time.perf_counter()
    turnout.importer.run_pending()
    print(f"import run: {time.perf_counter() - began:.1f} s")
    fresh = upload()

    def timed(path: str) -> tuple[float, float]:
        """Median and p95 server time of ``path``, in ms."""
        times = []
        for _ in range(args.runs):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            times.append(float(answer.headers["x-server-ms"]))
        times.sort()
        return times[len(times) // 2], times[max(0, int(len(times) * 0.95) - 1)]

    for label, path in (
        ("upload page (with past imports)", base),
        (f"preview of the {args.rows:,}-row file", fresh),
        ("job page (summary, 100 refused rows)", job),
        ("progress fragment", f"{job}/progress"),
    ):
        median, p95 = timed(path)
        print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms")
    turnout.close()


if __name__ == "__main__":
    main()
