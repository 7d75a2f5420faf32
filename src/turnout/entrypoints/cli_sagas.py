"""``turnout sagas list|show|retry``: an event's sagas (ticket transfers), one saga with its steps,
and looking at one again now.

Exit 0 on success, 1 on a refusal (an unknown saga; a finished one retried), 2 on bad usage.
``--json`` prints the same objects as the API (``GET /api/v1/events/{event_id}/sagas``,
``GET /api/v1/sagas/{saga_id}``, ``POST /api/v1/sagas/{saga_id}/retry``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from turnout.domain.sagas import SagaState

out = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

sagas_app = typer.Typer(no_args_is_help=True, help="Sagas (ticket transfers): list, show, retry.")


def register(app: typer.Typer) -> None:
    app.add_typer(sagas_app, name="sagas")


def _as_dict(saga: Any) -> dict[str, Any]:
    from turnout.entrypoints.api.routes.sagas import SagaRead

    item: dict[str, Any] = SagaRead.of(saga).model_dump(mode="json")
    return item


def _print_saga(item: dict[str, Any]) -> None:
    from turnout.entrypoints.cli import column, shown_value

    state = shown_value("state", item["state"])
    out.print(
        f"[bold]{item['kind']}[/bold] {item['id']}  {state}  {escape(item['resource'])}",
        soft_wrap=True,
    )
    if item["error"]:
        out.print(escape(item["error"]), soft_wrap=True)
    table = Table("#", *(column(n) for n in ("step", "kind", "state", "attempts", "error", "delivery")))
    for step in item["steps"]:
        table.add_row(
            str(step["position"]),
            step["name"],
            step["kind"],
            step["state"],
            str(step["attempts"]),
            escape(step["error"] or ""),
            step["delivery_id"] or "",
        )
    out.print(table)


@sagas_app.command("list")
def list_command(
    event_id: Annotated[str, typer.Argument(help="the event's id")],
    state: Annotated[SagaState | None, typer.Option("--state", help="only sagas in this state")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="how many (newest first)")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """An event's sagas, newest first."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.sagas import list_sagas

    def action(turnout: Any) -> list[Any]:
        with turnout.uow(readonly=True) as uow:
            return list_sagas(uow, event_id=event_id, states=(state.value,) if state else (), limit=limit)

    items = [_as_dict(s) for s in run_service(as_json, action)]
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False))
        return
    from turnout.entrypoints.cli import column, shown_value

    table = Table(*(column(n) for n in ("id", "kind", "state", "resource", "error", "created")))
    for item in items:
        table.add_row(
            item["id"],
            item["kind"],
            shown_value("state", item["state"]),
            escape(item["resource"]),
            escape(item["error"] or ""),
            item["created_at"],
        )
    out.print(table)


@sagas_app.command("show")
def show_command(
    saga_id: Annotated[str, typer.Argument(help="the saga's id")], as_json: JsonOpt = False
) -> None:
    """One saga with every step's state, attempts and error."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.sagas import get_saga

    def action(turnout: Any) -> Any:
        with turnout.uow(readonly=True) as uow:
            return get_saga(uow, saga_id=saga_id)

    item = _as_dict(run_service(as_json, action))
    if as_json:
        print(json.dumps(item, ensure_ascii=False))
        return
    _print_saga(item)


@sagas_app.command("retry")
def retry_command(
    saga_id: Annotated[str, typer.Argument(help="the saga's id")], as_json: JsonOpt = False
) -> None:
    """Look at the saga again now (a failed compensation is tried once more); the worker goes on."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.sagas import retry_saga

    def action(turnout: Any) -> Any:
        with turnout.uow() as uow:
            saga = retry_saga(uow, saga_id=saga_id, actor="cli")
            uow.commit()
        return saga

    item = _as_dict(run_service(as_json, action))
    if as_json:
        print(json.dumps(item, ensure_ascii=False))
        return
    _print_saga(item)
