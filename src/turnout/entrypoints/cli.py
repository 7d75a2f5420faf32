"""The ``turnout`` command.

Every command takes ``--json``; exit 0 on success, 1 on a refusal, 2 on bad usage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from turnout.bootstrap import Turnout, bootstrap
from turnout.domain.access import Role
from turnout.domain.errors import DomainError, ValidationFailed
from turnout.domain.events import DEFAULT_MIN_AGE, EventStatus, GateDirection, ScanMethod
from turnout.i18n import label, pick_locale, translate

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Turnout: registration, tickets and check-in."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys.")
events_app = typer.Typer(no_args_is_help=True, help="Events (the gatherings).")
gates_app = typer.Typer(no_args_is_help=True, help="Gates of an event.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(gates_app, name="gates")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _configured_locale() -> str | None:
    """``TURNOUT_DEFAULT_LOCALE`` when it is set (in the environment or the ``.env`` file)."""
    given = os.environ.get("TURNOUT_DEFAULT_LOCALE")
    if given is None and os.path.exists(".env"):
        from turnout.config import Settings

        try:
            settings = Settings()
        except ValueError:
            return None
        if "default_locale" in settings.model_fields_set:
            given = settings.default_locale
    if given and given.strip().lower()[:2] in ("ko", "en"):
        return given.strip().lower()[:2]
    return None


def cli_locale() -> str:
    """The language of the command line's words: ``TURNOUT_DEFAULT_LOCALE`` when set, else the
    terminal's (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ko_KR.UTF-8`` -> ``ko``), else ``en``."""
    configured = _configured_locale()
    if configured is not None:
        return configured
    lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "ko" if lang.lower().startswith("ko") else pick_locale(os.environ.get("TURNOUT_LANG"), "en")


def t(key: str, /, **params: Any) -> str:
    """The catalogue's ``key`` in the command line's language."""
    return translate(key, cli_locale(), params)


def column(name: str) -> str:
    """A table's column or row name (a JSON key) in the command line's language."""
    return translate(f"cli.column.{name}", cli_locale(), default=name)


#: JSON keys whose values are codes, and the catalogue kind that names them (``label``)
VALUE_KINDS = {
    "status": "event_status",
    "role": "role",
    "direction": "direction",
    "methods": "method",
    "method": "method",
    "state": "saga_state",
    "system": "system",
    "locale": "locale",
}


def shown_value(key: str, value: Any) -> str:
    """A table cell: codes named (``draft`` -> ``준비 중``), booleans as yes/no, lists joined."""
    if value is None:
        return ""
    locale = cli_locale()
    if isinstance(value, bool):
        return t("cli.yes") if value else t("cli.no")
    kind = VALUE_KINDS.get(key)
    if isinstance(value, list | tuple):
        return ", ".join(label(kind, str(v), locale) if kind else str(v) for v in value)
    if kind is not None and isinstance(value, str):
        return label(kind, value, locale)
    return str(value)


def fail(error: DomainError, as_json: bool) -> None:
    locale = cli_locale()  # the message follows the language; with --json, the codes stay English
    message = translate(error.code, locale, error.params)
    details = []
    if isinstance(error, ValidationFailed):
        details = [{**e.as_dict(), "message": translate(e.code, locale, e.params)} for e in error.errors]
    if as_json:
        print(
            json.dumps(
                {"error": {"code": error.code, "message": message, "details": details}}, ensure_ascii=False
            ),
            file=sys.stderr,
        )
    else:
        err.print(f"[red]{error.code}[/red]: {message}", soft_wrap=True)
        for item in details:
            where = label("field", str(item["field"]), cli_locale())
            if "row" in item:
                where = f"{item['row']}: {where}"
            err.print(f"  - {t('cli.field_error', field=where, message=item['message'], code=item['code'])}")
    raise typer.Exit(1)


@contextmanager
def wired() -> Iterator[Turnout]:
    from turnout.config import SecretKeyRequired

    try:
        turnout = bootstrap()
    except SecretKeyRequired as missing:
        err.print(f"[red]{t(missing.code, **missing.params)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        yield turnout
    finally:
        turnout.close()


def run_service(as_json: bool, action: Callable[[Turnout], T]) -> T:
    with wired() as turnout:
        try:
            return action(turnout)
        except DomainError as error:
            fail(error, as_json)
            raise  # unreachable: fail() exits


def show(obj: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(obj, ensure_ascii=False, default=str))
        return
    table = Table(title=translate(f"cli.title.{title}", cli_locale(), default=title), show_header=False)
    for key, value in obj.items():
        table.add_row(column(key), shown_value(key, value))
    out.print(table)


def parse_time(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(t("cli.bad_time", value=repr(value)), param_hint=option) from None


# --- db ---------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply every migration to the configured database."""
    from turnout.adapters.db.migrate import upgrade
    from turnout.config import Settings

    settings = Settings()
    upgrade(settings.database_url)
    if as_json:
        print(json.dumps({"status": "ok", "database": settings.database_url.split("@")[-1]}))
    else:
        out.print(f"[green]{t('cli.db_current')}[/green]")


# --- keys -------------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, staff or gate")],
    name: Annotated[str, typer.Option(help="who or what holds the key")],
    event: Annotated[str | None, typer.Option(help="event id (staff and gate keys)")] = None,
    gate: Annotated[str | None, typer.Option(help="gate id (gate keys)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and never again."""
    from turnout.services.keys import create_key

    def action(turnout: Turnout) -> Any:
        with turnout.uow() as uow:
            issued = create_key(uow, actor="cli", name=name, role=role, event_id=event, gate_id=gate)
            uow.commit()
        return issued

    issued = run_service(as_json, action)
    data = {
        "key": issued.key,
        "id": issued.principal.key_id,
        "role": role.value,
        "event_id": event,
        "gate_id": gate,
        "name": name,
    }
    if as_json:
        print(json.dumps(data))
    else:
        out.print(Panel(issued.key, title=t("cli.key_title", role=role.value, name=name)))


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """List API keys (never their secrets)."""

    def action(turnout: Turnout) -> Any:
        with turnout.uow(readonly=True) as uow:
            return uow.api_keys.list_all()

    items = run_service(as_json, action)
    if as_json:
        print(json.dumps({"items": items}, default=str))
        return
    table = Table(*(column(k) for k in ("id", "name", "role", "event", "gate", "created", "revoked")))
    for item in items:
        table.add_row(
            *(
                shown_value(k, item[k])
                for k in ("id", "name", "role", "event_id", "gate_id", "created_at", "revoked_at")
            )
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id (second part of the key)")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key; it stops working within seconds."""
    from turnout.domain.errors import NotFound

    def action(turnout: Turnout) -> None:
        with turnout.uow() as uow:
            if not uow.api_keys.revoke(key_id, now=uow.clock.now()):
                raise NotFound("not_found", key_id=key_id)
            uow.audit.record(actor="cli", action="key.revoked", subject_type="api_key", subject_id=key_id)
            uow.commit()

    run_service(as_json, action)
    if as_json:
        print(json.dumps({"id": key_id, "revoked": True}))
    else:
        out.print(f"[green]{t('cli.key_revoked')}[/green] {key_id}")


# --- events -----------------------------------------------------------------------------------------


def _event_dict(event: Any) -> dict[str, Any]:
    from turnout.entrypoints.api.schemas import EventRead

    return EventRead.of(event).model_dump(mode="json")


@events_app.command("create")
def events_create(
    name: Annotated[str, typer.Option()],
    starts: Annotated[str, typer.Option(help="ISO 8601; naive times are read in --timezone")],
    ends: Annotated[str, typer.Option(help="ISO 8601")],
    timezone: Annotated[str, typer.Option()] = "Asia/Seoul",
    min_age: Annotated[
        int,
        typer.Option(
            "--min-age",
            help="minimum age on the first day; above 0 the birth date is required; under 14 needs a "
            "legal guardian's consent (0: no age rule)",
        ),
    ] = DEFAULT_MIN_AGE,
    capacity: Annotated[int | None, typer.Option()] = None,
    venue: Annotated[str | None, typer.Option()] = None,
    locale: Annotated[str, typer.Option()] = "ko",
    as_json: JsonOpt = False,
) -> None:
    """Create an event (in draft)."""
    from turnout.services.events import create_event

    starts_at = parse_time(starts, "--starts")
    ends_at = parse_time(ends, "--ends")

    def action(turnout: Turnout) -> Any:
        with turnout.uow() as uow:
            event = create_event(
                uow,
                actor="cli",
                name=name,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                min_age=min_age,
                capacity=capacity,
                venue=venue,
                locale=locale,
            )
            uow.commit()
        return event

    show(_event_dict(run_service(as_json, action)), as_json, "event")


@events_app.command("status")
def events_status(
    event_id: Annotated[str, typer.Argument()],
    status: Annotated[EventStatus, typer.Argument(help="open, live, closed, archived or cancelled")],
    as_json: JsonOpt = False,
) -> None:
    """Move an event to its next lifecycle status."""
    from turnout.services.closing import set_event_status

    def action(turnout: Turnout) -> Any:
        with turnout.uow() as uow:
            event = set_event_status(
                uow,
                sagas=turnout.sagas,
                policy=turnout.saga_policy(),
                event_id=event_id,
                status=status,
                actor="cli",
            )
            uow.commit()
        return event

    show(_event_dict(run_service(as_json, action)), as_json, "event")


@events_app.command("list")
def events_list(as_json: JsonOpt = False) -> None:
    """List events."""
    from turnout.services.events import list_events

    def action(turnout: Turnout) -> Any:
        with turnout.uow(readonly=True) as uow:
            return list_events(uow, after_id=None, limit=1000)

    items = [_event_dict(e) for e in run_service(as_json, action)]
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False))
        return
    keys = ("id", "name", "status", "starts_at")
    table = Table(*(column(k) for k in keys))
    for item in items:
        table.add_row(*(shown_value(k, item[k]) for k in keys))
    out.print(table)


# --- gates ------------------------------------------------------------------------------------------


@gates_app.command("create")
def gates_create(
    event_id: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option()],
    direction: Annotated[GateDirection, typer.Option()] = GateDirection.BOTH,
    methods: Annotated[str, typer.Option(help="comma-separated: qr,ble,manual")] = "qr,ble,manual",
    capacity: Annotated[
        int | None, typer.Option(help="people the gate's area holds (crowd safety)", min=0)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a gate."""
    from turnout.entrypoints.api.schemas import GateRead
    from turnout.services.events import get_event
    from turnout.services.gates import create_gate

    try:
        method_list = tuple(ScanMethod(m.strip()) for m in methods.split(",") if m.strip())
    except ValueError:
        raise typer.BadParameter(t("cli.bad_methods", value=repr(methods)), param_hint="--methods") from None

    def action(turnout: Turnout) -> Any:
        with turnout.uow() as uow:
            gate = create_gate(
                uow,
                actor="cli",
                event_id=event_id,
                name=name,
                direction=direction,
                methods=method_list,
                capacity=capacity,
            )
            timezone = get_event(uow, event_id=event_id).timezone
            uow.commit()
        return gate, timezone

    gate, timezone = run_service(as_json, action)
    show(GateRead.of(gate, timezone).model_dump(mode="json"), as_json, "gate")


# --- serve / worker ---------------------------------------------------------------------------------


def ensure_first_admin(turnout: Turnout, as_json: bool) -> None:
    """On an empty database, create one admin key and print it once."""
    from turnout.services.keys import create_key

    with turnout.uow() as uow:
        if uow.api_keys.count() > 0:
            return
        issued = create_key(uow, actor="system", name="first admin", role=Role.ADMIN)
        uow.commit()
    if as_json:
        print(json.dumps({"first_admin_key": issued.key}))
        return
    base = turnout.settings.base_url
    out.print(Panel(issued.key, title=t("cli.first_admin_title"), expand=False))
    out.print(t("cli.first_admin_help", key=issued.key, base=base), soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    no_background: Annotated[
        bool, typer.Option("--no-background", help="do not start background workers")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Serve the API, the web console and (unless --no-background) the background workers."""
    import uvicorn

    from turnout.adapters import metrics_dir
    from turnout.adapters.db.migrate import is_current
    from turnout.config import Settings

    # Before anything imports prometheus_client: every process of this deployment counts into this
    # directory, emptied for the new deployment, and /metrics adds them up.
    metrics_path = metrics_dir.prepare(Settings(), clean=True)
    with wired() as turnout:
        if not is_current(turnout.settings.database_url):
            err.print(f"[red]{t('cli.db_not_current')}[/red]")
            raise typer.Exit(1)
        turnout.settings.resolve_secret_key()
        ensure_first_admin(turnout, as_json)
    background: subprocess.Popen[bytes] | None = None
    if not no_background:
        background = subprocess.Popen([sys.executable, "-m", "turnout.entrypoints.cli", "worker"])

    def _stopped(signum: int, _frame: object) -> None:
        # uvicorn shuts the server down on SIGTERM, then raises the signal again: without this handler
        # that kills this process before it stops the background worker (left running, orphaned).
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            "turnout.entrypoints.api.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
            proxy_headers=False,  # the app believes only TURNOUT_TRUSTED_PROXIES (ProxyHeadersMiddleware)
        )
    finally:
        if background is not None:
            if background.poll() is None:
                background.terminate()
            try:
                background.wait(timeout=15)
            except subprocess.TimeoutExpired:
                background.kill()
                background.wait()
        metrics_dir.sweep_dead(metrics_path, leaving=os.getpid())  # serve's own, with --workers 1


@app.command()
def worker(
    from_kafka: Annotated[
        bool,
        typer.Option("--from-kafka", help="feed the local handlers from the Kafka topics (consumer group)"),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="run only this loop (repeatable); see --list-loops"),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="run every loop but this one (repeatable)"),
    ] = None,
    list_loops: Annotated[bool, typer.Option("--list-loops", help="print the loops' names and stop")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Background work only: outbox relay, stream publishing, email, imports, deliveries, sagas.
    ``--only``/``--skip`` split the loops between processes (say, the outbound deliveries in a
    process of their own beside one for the rest); several processes running the same loop share
    its work safely (leases)."""
    from turnout.adapters import metrics_dir
    from turnout.config import Settings
    from turnout.entrypoints.workers import LOOPS, run_forever, select_loops

    if list_loops:
        for name, _loop in LOOPS:
            out.print(name)
        return
    try:
        loops = select_loops(only=only or (), skip=skip or ())
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None

    # Alone, or started by ``serve`` (which set the directory up; then only dead processes' files go).
    metrics_dir.prepare(Settings(), clean=False)
    with wired() as turnout:
        if from_kafka:
            if not turnout.settings.broker_url:
                err.print(f"[red]{t('cli.from_kafka_needs_broker')}[/red]")
                raise typer.Exit(2)
            turnout.from_kafka = True
        run_forever(turnout, loops=loops)


def _register_areas() -> None:
    from turnout.entrypoints import cli_demo, cli_intake, cli_messages

    cli_intake.register(app)
    cli_messages.register(app)
    cli_demo.register(app)
    from turnout.entrypoints import cli_integrations

    cli_integrations.register(app)
    from turnout.entrypoints import cli_deliveries

    cli_deliveries.register(app)
    from turnout.entrypoints import cli_sagas

    cli_sagas.register(app)
    from turnout.entrypoints import cli_privacy

    cli_privacy.register(app)
    from turnout.entrypoints import cli_secrets

    cli_secrets.register(app)
    from turnout.entrypoints import cli_export

    cli_export.register(app)


_register_areas()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
