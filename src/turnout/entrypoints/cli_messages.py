"""``turnout messages stats|dead|replay``: look at the message bus and give dead deliveries another go."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
IdOpt = Annotated[str | None, typer.Option("--id", help="one message id")]
TypeOpt = Annotated[str | None, typer.Option("--type", help="message type, e.g. attendance.recorded")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="ISO 8601 time (UTC when naive) or an age: 30m, 24h, 7d")
]

messages_app = typer.Typer(no_args_is_help=True, help="The message bus: outbox, handlers, dead letters.")


def register(app: typer.Typer) -> None:
    app.add_typer(messages_app, name="messages")


def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    age = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if age:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(age.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        from turnout.entrypoints.cli import t

        raise typer.BadParameter(t("cli.bad_age", value=repr(value)), param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@messages_app.command("stats")
def stats_command(as_json: JsonOpt = False) -> None:
    """Outbox size, each consumer's progress and lag, pending and dead deliveries."""
    from turnout.entrypoints.cli import column, run_service, t
    from turnout.services.messaging import message_stats

    def action(turnout: Any) -> dict[str, Any]:
        with turnout.uow(readonly=True) as uow:
            return message_stats(uow, consumers=turnout.bus_consumers())

    data = run_service(as_json, action)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    summary = t(
        "cli.messages.summary",
        messages=data["outbox_messages"],
        newest=data["outbox_newest_seq"],
        lag=data["lag"],
        pending=data["pending"],
        dead=data["dead"],
    )
    out.print(summary, soft_wrap=True)
    names = ("consumer", "position", "handled", "behind", "pending", "done", "dead")
    table = Table(*(column(n) for n in names))
    for row in data["consumers"]:
        name = (
            row["consumer"]
            if row["subscribed"]
            else t("cli.messages.not_subscribed", consumer=row["consumer"])
        )
        table.add_row(
            name,
            *(str(row[k]) for k in ("position", "handled", "behind", "pending", "done", "dead")),
        )
    out.print(table)


@messages_app.command("dead")
def dead_command(
    message_id: IdOpt = None,
    message_type: TypeOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Deliveries given up on, with their last error (newest first)."""
    from turnout.entrypoints.cli import column, run_service
    from turnout.services.messaging import dead_letters

    moment = parse_since(since)

    def action(turnout: Any) -> list[dict[str, Any]]:
        with turnout.uow(readonly=True) as uow:
            return dead_letters(
                uow, message_id=message_id, message_type=message_type, since=moment, limit=limit
            )

    items = run_service(as_json, action)
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False, default=str))
        return
    table = Table(*(column(n) for n in ("message", "type", "handler", "attempts", "last_failed", "error")))
    for item in items:
        table.add_row(
            item["message_id"],
            item["type"],
            item["handler"],
            str(item["attempts"]),
            item["last_failed_at"],
            item["error"] or "",
        )
    out.print(table)


@messages_app.command("replay")
def replay_command(
    message_id: IdOpt = None,
    message_type: TypeOpt = None,
    since: SinceOpt = None,
    handler: Annotated[str | None, typer.Option("--handler", help="only this handler")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Give dead deliveries a fresh set of attempts; the worker runs them at once."""
    from turnout.entrypoints.cli import run_service, t
    from turnout.services.messaging import replay

    moment = parse_since(since)

    def action(turnout: Any) -> int:
        with turnout.uow() as uow:
            count = replay(
                uow, message_id=message_id, message_type=message_type, since=moment, handler=handler
            )
            uow.commit()
        return count

    count = run_service(as_json, action)
    if as_json:
        print(json.dumps({"replayed": count}))
    else:
        out.print(t("cli.messages.replayed", count=count))
