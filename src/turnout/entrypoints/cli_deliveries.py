"""``turnout deliveries list|retry``: an event's outbound delivery log, and sending one again.

Exit 0 on success, 1 on a refusal (an unknown event, system or delivery; a delivery still pending
or being sent), 2 on bad usage. ``--json`` prints the same objects as the API
(``GET /api/v1/events/{event_id}/deliveries``, ``POST /api/v1/deliveries/{id}/retry``), except
that ``payload`` is always null: no output shows a payload (payloads hold tokens).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from turnout.domain.integrations import DeliveryStatus

out = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

deliveries_app = typer.Typer(
    no_args_is_help=True, help="Deliveries to external systems: the log, and sending one again."
)


def register(app: typer.Typer) -> None:
    app.add_typer(deliveries_app, name="deliveries")


def _as_dict(record: Any) -> dict[str, Any]:
    """A delivery as the API shows it, but never with its payload (payloads hold tokens)."""
    from turnout.entrypoints.api.routes.deliveries import DeliveryRead
    from turnout.services.deliveries import delivery_view

    item = DeliveryRead.model_validate(delivery_view(record)).model_dump(mode="json")
    item["payload"] = None
    return item


def _last_answer(item: dict[str, Any]) -> str:
    code = item["last_status_code"]
    error = item["last_error"]
    if code is not None and error:
        return f"{code}: {error}" if not error.startswith(f"HTTP {code}") else error
    if code is not None:
        return str(code)
    return error or ""


@deliveries_app.command("list")
def list_command(
    event_id: Annotated[str, typer.Argument(help="the event's id")],
    system: Annotated[
        str | None,
        typer.Option("--system", help="gate-management, analytics-platform, attendee-app or alerts"),
    ] = None,
    status: Annotated[
        DeliveryStatus | None, typer.Option("--status", help="only deliveries in this state")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="how many (newest first)")] = 50,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="only older ones: a previous page's next_cursor")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """An event's deliveries, newest first, each with its attempts (never a payload)."""
    from turnout.entrypoints.cli import cli_locale, run_service
    from turnout.i18n import translate
    from turnout.services.deliveries import list_deliveries

    def action(turnout: Any) -> tuple[list[Any], dict[str, dict[str, int]]]:
        with turnout.uow(readonly=True) as uow:
            found = list_deliveries(
                uow,
                event_id=event_id,
                system=system,
                status=status.value if status else None,
                before_seq=before,
                limit=limit,
            )
            return found, uow.outbound.counts(event_id)

    found, counts = run_service(as_json, action)
    items = [_as_dict(record) for record in found]
    next_cursor = found[-1].seq if len(found) == limit else None
    if as_json:
        print(json.dumps({"items": items, "next_cursor": next_cursor, "counts": counts}, ensure_ascii=False))
        return
    locale = cli_locale()
    if not items:
        out.print(translate("cli.deliveries.none", locale), soft_wrap=True)
        return
    from turnout.entrypoints.cli import column
    from turnout.i18n import label

    names = ("id", "system", "type", "status", "attempts", "last_error", "created")
    table = Table(*(column(n) for n in names))
    for item in items:
        table.add_row(
            item["id"],
            label("system", item["system"], locale),
            escape(item["type"]),
            label("delivery_status", item["status"], locale),
            str(item["attempts"]),
            escape(_last_answer(item)),
            item["created_at"],
        )
    out.print(table)
    if next_cursor is not None:
        out.print(translate("cli.deliveries.more", locale, {"cursor": next_cursor}), soft_wrap=True)


@deliveries_app.command("retry")
def retry_command(
    delivery_id: Annotated[str, typer.Argument(help="the delivery's id (its webhook-id)")],
    as_json: JsonOpt = False,
) -> None:
    """Send a delivered or dead delivery again, with the same webhook-id (a receiver drops repeats)."""
    from turnout.entrypoints.cli import cli_locale, run_service
    from turnout.i18n import translate
    from turnout.services.deliveries import retry_delivery

    def action(turnout: Any) -> Any:
        with turnout.uow() as uow:
            record = retry_delivery(
                uow,
                delivery_id=delivery_id,
                actor="cli",
                retry_hours=turnout.settings.delivery_retry_hours,
            )
            uow.commit()
        return record

    item = _as_dict(run_service(as_json, action))
    if as_json:
        print(json.dumps(item, ensure_ascii=False))
        return
    out.print(
        translate(
            "cli.deliveries.retried",
            cli_locale(),
            {"delivery_id": item["id"], "system": item["system"], "status": item["status"]},
        ),
        soft_wrap=True,
    )
