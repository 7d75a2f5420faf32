"""``turnout integrations set|list|disable``: an event's integrations with external systems.

Exit 0 on success, 1 on a refusal (an unknown event or system, a bad URL or secret, a private
address), 2 on bad usage. No output ever shows a secret.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
EventArg = Annotated[str, typer.Argument(help="the event's id")]
SystemArg = Annotated[str, typer.Argument(help="gate-management, analytics-platform, attendee-app or alerts")]

DEFAULT_REASON = "disabled by an operator"

integrations_app = typer.Typer(no_args_is_help=True, help="An event's integrations with external systems.")


def register(app: typer.Typer) -> None:
    app.add_typer(integrations_app, name="integrations")


def _as_dict(view: Any) -> dict[str, Any]:
    from turnout.entrypoints.api.routes.integrations import IntegrationRead

    return IntegrationRead.of(view).model_dump(mode="json")


@integrations_app.command("set")
def set_command(
    event_id: EventArg,
    system: SystemArg,
    url: Annotated[str, typer.Option("--url", help="http(s) URL that receives the deliveries")],
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="TURNOUT_INTEGRATION_SECRET",
            show_envvar=True,
            help="Standard Webhooks secret (whsec_ + base64); '-' reads it from stdin; "
            "leave it out to keep the stored one",
        ),
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="store it switched off")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create or replace an event's integration with a system."""
    from turnout.entrypoints.cli import run_service, show
    from turnout.services.integrations import put_integration

    if secret == "-":  # noqa: S105 - "-" means: read it from stdin
        secret = sys.stdin.readline().strip()

    def action(turnout: Any) -> Any:
        return put_integration(
            turnout.uow,
            sealer=turnout.sealer,
            guard=turnout.address_guard,
            actor="cli",
            event_id=event_id,
            system=system,
            url=url,
            secret=secret,
            enabled=not disabled,
        ).view

    show(_as_dict(run_service(as_json, action)), as_json, "integration")


@integrations_app.command("list")
def list_command(event_id: EventArg, as_json: JsonOpt = False) -> None:
    """The event's integrations (URL, enabled, why disabled; never the secret)."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.integrations import list_integrations

    def action(turnout: Any) -> Any:
        with turnout.uow(readonly=True) as uow:
            return list_integrations(uow, event_id=event_id)

    items = [_as_dict(view) for view in run_service(as_json, action)]
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False))
        return
    from turnout.entrypoints.cli import column, shown_value

    keys = ("system", "url", "enabled", "disabled_reason", "updated_at")
    table = Table(*(column(k) for k in keys))
    for item in items:
        table.add_row(*(shown_value(k, item[k]) for k in keys))
    out.print(table)


@integrations_app.command("disable")
def disable_command(
    event_id: EventArg,
    system: SystemArg,
    reason: Annotated[str, typer.Option("--reason", help="why (shown in the console)")] = DEFAULT_REASON,
    as_json: JsonOpt = False,
) -> None:
    """Switch an integration off: nothing more is delivered to it until it is set again."""
    from turnout.entrypoints.cli import run_service, show
    from turnout.services.integrations import disable_integration

    def action(turnout: Any) -> Any:
        with turnout.uow() as uow:
            view = disable_integration(uow, actor="cli", event_id=event_id, system=system, reason=reason)
            uow.commit()
        return view

    show(_as_dict(run_service(as_json, action)), as_json, "integration")
