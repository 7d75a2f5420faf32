"""``turnout privacy erase|prune``: a closed event's personal data erased; old records pruned.

Exit 0 on success, 1 on a refusal (an unknown event; an event not closed: ``event_not_closed``),
2 on bad usage. ``--json`` prints what was changed per table (as ``POST
/api/v1/events/{event_id}/privacy/erase`` answers).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

privacy_app = typer.Typer(
    no_args_is_help=True, help="Personal data: erase a closed event's, prune old records."
)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table("table", "rows", title=title)
    for name, count in counts.items():
        table.add_row(name, str(count))
    out.print(table)


@privacy_app.command("erase")
def erase_command(
    event_id: Annotated[str, typer.Argument(help="the closed event's id")], as_json: JsonOpt = False
) -> None:
    """Remove the personal data of a closed event's people; its statistics and analytics stay."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.privacy import erase_event

    def action(turnout: Any) -> dict[str, Any]:
        with turnout.uow() as uow:
            result = erase_event(uow, event_id=event_id, actor="cli")
            uow.commit()
        return result

    result = run_service(as_json, action)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _print_counts(f"personal data erased: event {event_id}", result["counts"])


@privacy_app.command("prune")
def prune_command(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="older than this (default TURNOUT_RETENTION_DAYS)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete finished records older than the retention period now (the worker does it hourly)."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.privacy import prune_all_expired

    def action(turnout: Any) -> dict[str, int]:
        retention_days = days if days is not None else turnout.settings.retention_days
        return prune_all_expired(turnout.uow, retention_days=retention_days)

    counts = run_service(as_json, action)
    if as_json:
        print(json.dumps({"deleted": counts}, ensure_ascii=False))
        return
    _print_counts("records pruned", counts)
