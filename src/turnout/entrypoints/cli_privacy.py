"""``turnout privacy erase|prune|requests|approve|reject``: a closed event's personal data erased;
old records pruned; participants' erasure requests listed and decided.

Exit 0 on success, 1 on a refusal (an unknown event; an event not closed: ``event_not_closed``; an
unknown request: ``erasure_request_not_found``; one decided already: ``erasure_request_decided``),
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
    no_args_is_help=True,
    help="Personal data: erase a closed event's, prune old records, decide erasure requests.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


def _t(key: str, /, **params: Any) -> str:
    from turnout.entrypoints.cli import t

    return t(key, **params)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    from turnout.entrypoints.cli import cli_locale
    from turnout.i18n import translate

    locale = cli_locale()
    table = Table(_t("cli.privacy.column.table"), _t("cli.privacy.column.rows"), title=title)
    for name, count in counts.items():
        table.add_row(translate(f"db_table.{name}", locale, default=name), str(count))
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
    _print_counts(_t("cli.privacy.erased", event_id=event_id), result["counts"])


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
    _print_counts(_t("cli.privacy.pruned"), counts)


# --- participants' erasure requests -----------------------------------------------------------------


def _request_dict(request: Any) -> dict[str, Any]:
    return {
        "id": request.id,
        "event_id": request.event_id,
        "participant_id": request.participant_id,
        "status": request.status.value,
        "reason": request.reason,
        "requested_at": request.requested_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "decided_by": request.decided_by,
        "decision_note": request.decision_note,
        "alert_id": request.alert_id,
    }


@privacy_app.command("requests")
def requests_command(
    event_id: Annotated[str | None, typer.Option("--event", help="only this event's")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="requested, rejected or done (default: every one)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Participants' erasure requests, oldest first."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.erasure_requests import list_requests

    if status is not None and status not in ("requested", "approved", "rejected", "done"):
        raise typer.BadParameter(f"unknown status {status!r}", param_hint="--status")

    def action(turnout: Any) -> list[dict[str, Any]]:
        with turnout.uow(readonly=True) as uow:
            found = list_requests(uow, event_id=event_id, status=status, limit=limit)
        return [_request_dict(r) for r in found]

    items = run_service(as_json, action)
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False))
        return
    from turnout.entrypoints.cli import cli_locale, column
    from turnout.i18n import label

    table = Table(
        column("id"),
        column("event"),
        _t("cli.privacy.column.participant"),
        column("status"),
        _t("cli.privacy.column.requested"),
        _t("cli.privacy.column.decided"),
        title=_t("cli.privacy.requests"),
    )
    for item in items:
        table.add_row(
            item["id"],
            item["event_id"],
            item["participant_id"],
            label("erasure_status", item["status"], cli_locale()),
            item["requested_at"],
            item["decided_at"] or "",
        )
    out.print(table)


@privacy_app.command("approve")
def approve_command(
    request_id: Annotated[str, typer.Argument(help="the erasure request's id")],
    note: Annotated[str | None, typer.Option("--note", help="the organiser's note")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve: cancel the registration if still active, erase that person's personal data."""
    from turnout.domain.sagas import SagaKind
    from turnout.entrypoints.cli import run_service
    from turnout.services.erasure_requests import approve_erasure

    def action(turnout: Any) -> dict[str, Any]:
        with turnout.uow() as uow:
            request, counts = approve_erasure(
                uow,
                request_id=request_id,
                actor="cli",
                cancellation=turnout.sagas[SagaKind.CANCELLATION],
                policy=turnout.saga_policy(),
                note=note,
            )
            uow.commit()
        return {**_request_dict(request), "counts": counts}

    result = run_service(as_json, action)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _print_counts(_t("cli.privacy.done", id=request_id), result["counts"])


@privacy_app.command("reject")
def reject_command(
    request_id: Annotated[str, typer.Argument(help="the erasure request's id")],
    note: Annotated[str | None, typer.Option("--note", help="why (kept with the request)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject the request (the participant's data stays); its alert is acknowledged."""
    from turnout.entrypoints.cli import run_service
    from turnout.services.erasure_requests import reject_erasure

    def action(turnout: Any) -> dict[str, Any]:
        with turnout.uow() as uow:
            request = reject_erasure(uow, request_id=request_id, actor="cli", note=note)
            uow.commit()
        return _request_dict(request)

    result = run_service(as_json, action)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(_t("cli.privacy.rejected", id=request_id))
