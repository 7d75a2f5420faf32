"""Console pages' server time with 100,000 participants in the event (issue 18: each page < 100 ms).

Seeds a temporary SQLite database (``--postgres URL``: a new database on that server) through the
adapters: an event (live) with two gates, ``--participants`` participants (Korean names, emails,
phones; real ticket tokens, inserted in batches by the store's bulk insert, so the search indexes
are kept by the same triggers and indexes as an import), a few cancelled, ``--scans`` check-ins
(half of them leaving again) through the check-in service, and some ticket emails. Then it asks
every page in ``PAGES`` ``--requests`` times through the app in this process (Starlette's test
client: no network, one request at a time; the time is the app's, from the request to the last
byte, plus the test client's own ~1 ms) and prints p50 / p95 / max per page, with a mark on any p95
over the target. A page whose route is not in this build (another area's, not merged yet) is listed
as such. ``--explain`` also prints the query plans of the participant searches.

To add a page: append ``(label, path)`` to ``PAGES``; the path may name ``{event_id}``,
``{participant_id}`` (a different participant each request), ``{gate_id}``, ``{name2}`` /
``{name3}`` (2- and 3-character pieces of real names), ``{email}`` (a piece of a real email),
``{phone4}`` / ``{phone}`` (a real phone's last four digits / the whole number), ``{after}`` (a
cursor in the middle of the list).

    .venv/bin/python bench/bench_console.py [--participants 100000] [--requests 40]
                                            [--postgres URL] [--explain]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TARGET_MS = 100.0

# (label, path): every console page of issue 18; other areas' pages answer once their routes exist
PAGES: list[tuple[str, str]] = [
    ("events list /", "/"),
    ("event overview", "/events/{event_id}"),
    ("participants", "/events/{event_id}/participants"),
    ("participants: page in the middle", "/events/{event_id}/participants?after={after}"),
    ("participants htmx results", "/events/{event_id}/participants?q={name2}&hx=1"),
    ("search: 2-char name", "/events/{event_id}/participants?q={name2}"),
    ("search: 3-char name", "/events/{event_id}/participants?q={name3}"),
    ("search: 1-char (surname)", "/events/{event_id}/participants?q={name1}"),
    ("search: email piece", "/events/{event_id}/participants?q={email}"),
    ("search: phone last 4", "/events/{event_id}/participants?q={phone4}"),
    ("search: whole phone", "/events/{event_id}/participants?q={phone}"),
    ("search: no match", "/events/{event_id}/participants?q=zzqqxx"),
    ("filter: inside", "/events/{event_id}/participants?check_in=inside"),
    ("filter: cancelled", "/events/{event_id}/participants?status=cancelled"),
    ("filter: exited + name", "/events/{event_id}/participants?check_in=exited&q={name2}"),
    ("participant page", "/events/{event_id}/participants/{participant_id}"),
    ("add participant form", "/events/{event_id}/participants/new"),
    ("gates", "/events/{event_id}/gates"),
    ("gate edit form", "/events/{event_id}/gates/{gate_id}/edit"),
    ("keys", "/events/{event_id}/keys"),
    ("event edit form", "/events/{event_id}/edit"),
    ("sent mail log", "/events/{event_id}/emails"),
    ("import", "/events/{event_id}/import"),
    ("mail", "/events/{event_id}/mail"),
    ("integrations", "/events/{event_id}/integrations"),
    ("deliveries", "/events/{event_id}/deliveries"),
    ("sagas", "/events/{event_id}/sagas"),
    ("alerts", "/events/{event_id}/alerts"),
    ("dashboard", "/events/{event_id}/dashboard"),
    ("projector", "/events/{event_id}/dashboard/projector"),
]

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "민준",
    "서연",
    "도윤",
    "서윤",
    "시우",
    "지우",
    "하준",
    "하은",
    "주원",
    "지호",
    "지유",
    "예준",
    "수아",
    "준우",
    "채원",
    "현우",
    "지민",
    "건우",
    "윤서",
    "우진",
    "다은",
    "선우",
    "은우",
    "서진",
]


def database(args: argparse.Namespace, workdir: Path) -> str:
    if not args.postgres:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import sqlalchemy as sa

    from turnout.adapters.db.engine import make_engine

    name = f"turnout_bench_console_{os.getpid()}"
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)


def seed(turnout: Any, participants: int, scans: int, rng: random.Random) -> dict[str, Any]:
    from turnout.domain.access import Role
    from turnout.domain.admission import Direction
    from turnout.domain.events import EventStatus, ScanMethod
    from turnout.domain.ids import new_id
    from turnout.services import mail_queue
    from turnout.services.checkin import ScanInput
    from turnout.services.events import change_status, create_event
    from turnout.services.gates import create_gate
    from turnout.services.keys import create_key

    starts = datetime.now(UTC) - timedelta(hours=1)
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="bench",
            name="벤치 행사",
            starts_at=starts,
            ends_at=starts + timedelta(hours=12),
            min_age=0,
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="bench")
        change_status(uow, event_id=event.id, status=EventStatus.LIVE, actor="bench")
        gates = [
            create_gate(uow, actor="bench", event_id=event.id, name=name).id for name in ("정문", "동문")
        ]
        admin = create_key(uow, actor="bench", name="admin", role=Role.ADMIN)
        uow.commit()
    ids: list[str] = []
    phones: list[str] = []
    names: list[str] = []
    emails: list[str] = []
    now = datetime.now(UTC)
    for start in range(0, participants, 5000):
        batch = [new_id() for _ in range(min(5000, participants - start))]
        rows = []
        with turnout.uow() as uow:
            tokens = turnout.tickets.mint_many(uow, event_id=event.id, items=[(pid, 1) for pid in batch])
            for i, (pid, token) in enumerate(zip(batch, tokens, strict=True)):
                number = start + i
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                email = f"user{number}.{rng.randrange(10**6)}@example{number % 50}.com"
                phone = f"+8210{rng.randrange(10**8):08d}"
                names.append(name)
                emails.append(email)
                phones.append(phone)
                rows.append(
                    {
                        "id": pid,
                        "event_id": event.id,
                        "name": name,
                        "email": email,
                        "phone": phone,
                        "birth_date": None,
                        "region": "서울",
                        "organization": None,
                        "gender": None,
                        "locale": "ko",
                        "custom_fields": {},
                        "status": "cancelled" if number % 500 == 7 else "registered",
                        "check_in_status": "not_checked_in",
                        "ticket_version": 1,
                        "token": token,
                        "email_status": "none",
                        "email_error": None,
                        "source": "import",
                        "import_id": None,
                        "first_checked_in_at": None,
                        "last_scan_at": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            uow.participants.insert_many(rows)
            uow.commit()
        ids.extend(batch)
    admitted = list(rng.sample(ids, min(scans, len(ids))))
    records = [
        ScanInput(gate_id=gates[n % 2], method=ScanMethod.MANUAL, participant_id=pid, direction=Direction.IN)
        for n, pid in enumerate(admitted)
    ]
    records += [
        ScanInput(gate_id=gates[0], method=ScanMethod.QR, participant_id=pid, direction=Direction.OUT)
        for pid in admitted[: len(admitted) // 2]
    ]
    for start in range(0, len(records), 5000):
        turnout.checkin.bulk(event_id=event.id, records=records[start : start + 5000], actor="bench")
    with turnout.uow() as uow:
        for pid in [p for n, p in enumerate(ids[:200]) if n % 500 != 7]:
            mail_queue.resend_ticket(
                uow, participant_id=pid, actor="bench", mail_from=turnout.settings.mail_from
            )
        uow.commit()
    return {
        "event_id": event.id,
        "gate_id": gates[0],
        "admin_key": admin.key,
        "ids": ids,
        "names": names,
        "emails": emails,
        "phones": phones,
    }


def fillers(world: dict[str, Any], rng: random.Random) -> dict[str, Callable[[], str]]:
    def pick(items: list[str]) -> str:
        return items[rng.randrange(len(items))]

    return {
        "event_id": lambda: world["event_id"],
        "gate_id": lambda: world["gate_id"],
        "participant_id": lambda: pick(world["ids"]),
        "after": lambda: world["ids"][len(world["ids"]) // 2],
        "name1": lambda: pick(world["names"])[0],
        "name2": lambda: pick(world["names"])[1:3],
        "name3": lambda: pick(world["names"])[:3],
        "email": lambda: pick(world["emails"]).split(".")[0],
        "phone4": lambda: pick(world["phones"])[-4:],
        "phone": lambda: "0" + pick(world["phones"])[3:],
    }


def fill(path: str, values: dict[str, Callable[[], str]]) -> str:
    from urllib.parse import quote

    for key, make in values.items():
        marker = "{" + key + "}"
        if marker in path:
            path = path.replace(marker, quote(make()))
    return path


def page_routes(app: Any) -> set[str]:
    found: set[str] = set()

    def walk(routes: list[Any], prefix: str = "") -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes, prefix + route.original_router.prefix)
            elif "GET" in (getattr(route, "methods", None) or ()):
                found.add(prefix + route.path)

    walk(app.routes)
    return found


def route_of(path: str) -> str:
    """The route template a PAGES path names (its query dropped)."""
    return path.split("?")[0]


def explain(turnout: Any, world: dict[str, Any], rng: random.Random) -> None:
    import sqlalchemy as sa

    from turnout.adapters.db import tables as t
    from turnout.adapters.db.participant_store import event_terms
    from turnout.domain.participants import ParticipantFilter

    values = fillers(world, rng)
    postgres = turnout.engine.dialect.name == "postgresql"
    for label, q in [
        ("2-char name", values["name2"]()),
        ("3-char name", values["name3"]()),
        ("1-char", values["name1"]()),
        ("email", values["email"]()),
        ("phone-4", values["phone4"]()),
        ("phone", values["phone"]()),
    ]:
        where = ParticipantFilter.of(q)
        query = (
            sa.select(t.participants.c.id)
            .where(*event_terms(world["event_id"], where))
            .order_by(t.participants.c.id)
            .limit(51)
        )
        compiled = query.compile(turnout.engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if postgres else "EXPLAIN QUERY PLAN "
        with turnout.engine.connect() as conn:
            plan = [" ".join(str(c) for c in row) for row in conn.exec_driver_sql(prefix + str(compiled))]
        print(f"\n-- {label}: q={q!r}")
        print("\n".join("   " + line for line in plan))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument(
        "--scans", type=int, default=10_000, help="participants checked in (half leave again)"
    )
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--explain", action="store_true", help="print the search queries' plans")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="turnout-bench-console-"))
    url = database(args, workdir)
    os.environ.update(
        {
            "TURNOUT_DATABASE_URL": url,
            "TURNOUT_VAR_DIR": str(workdir / "var"),
            "TURNOUT_SECRET_KEY": "bench-secret-key",
            "TURNOUT_BROKER_URL": "",
        }
    )
    from fastapi.testclient import TestClient

    from turnout.adapters.db.migrate import upgrade
    from turnout.bootstrap import bootstrap
    from turnout.entrypoints.api.app import create_app

    upgrade(url)
    turnout = bootstrap()
    started = time.perf_counter()
    world = seed(turnout, args.participants, args.scans, rng)
    database_kind = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"seeded {args.participants:,} participants, {args.scans:,} check-ins ({database_kind}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if turnout.engine.dialect.name == "postgresql":
        with turnout.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    if args.explain:
        explain(turnout, world, rng)
        print()

    app = create_app(turnout)
    routes = page_routes(app)
    values = fillers(world, rng)
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  ({args.requests} requests each)")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {world['admin_key']}"
        for label, path in PAGES:
            if route_of(path) not in routes:
                print(f"{label:<36} {'(no such page in this build)':>28}")
                continue
            headers = {"HX-Request": "true"} if "hx=1" in path else {}
            for _ in range(3):  # warm-up: templates compiled, caches filled
                client.get(fill(path, values), headers=headers)
            times: list[float] = []
            statuses: set[int] = set()
            for _ in range(args.requests):
                target = fill(path, values)
                begin = time.perf_counter()
                answer = client.get(target, headers=headers)
                times.append((time.perf_counter() - begin) * 1000)
                statuses.add(answer.status_code)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            flag = "" if p95 < TARGET_MS else f"  over {TARGET_MS:.0f} ms"
            odd = "" if statuses <= {200} else f"  status {sorted(statuses)}"
            print(f"{label:<36} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}{flag}{odd}")
    turnout.close()
    drop(args, url, workdir)


def drop(args: argparse.Namespace, url: str, workdir: Path) -> None:
    """Remove the bench's database (the temp SQLite folder, or the database made on the server)."""
    shutil.rmtree(workdir, ignore_errors=True)
    if not args.postgres:
        return
    import sqlalchemy as sa

    from turnout.adapters.db.engine import make_engine

    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
