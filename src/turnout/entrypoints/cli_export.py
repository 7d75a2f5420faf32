"""``turnout export EVENT_ID FILE``: the participant list written to a CSV or XLSX file, filtered
like the list, through the same service and writer as ``GET /api/v1/events/{event_id}/participants/
export``.

The format comes from ``--format`` or else FILE's suffix (``.csv``, ``.xlsx``); headers in
``--lang`` (default: the command line's language) or the column codes with ``--codes``. Prints the
number of participants written and the time taken. Exit 0 on success, 1 on a refusal (an unknown
event: ``event_not_found``; a file that cannot be written), 2 on bad usage.
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Status(StrEnum):
    REGISTERED = "registered"
    CANCELLED = "cancelled"


class CheckIn(StrEnum):
    NOT_CHECKED_IN = "not_checked_in"
    INSIDE = "inside"
    EXITED = "exited"


class Lang(StrEnum):
    KO = "ko"
    EN = "en"


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


def _t(key: str, /, **params: Any) -> str:
    from turnout.entrypoints.cli import t

    return t(key, **params)


def export_command(
    event_id: Annotated[str, typer.Argument(help="the event's id")],
    file: Annotated[Path, typer.Argument(help="the file to write (.csv or .xlsx)", dir_okay=False)],
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="csv or xlsx (default: from FILE's suffix)")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="name, email, phone or its last 4 digits")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="registered or cancelled")] = None,
    check_in: Annotated[
        CheckIn | None, typer.Option("--check-in", help="not_checked_in, inside or exited")
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="the headers' language (ko or en)")] = None,
    codes: Annotated[bool, typer.Option("--codes", help="column codes as headers (for scripts)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Export an event's participants (check-in status, first check-in, last scan, consent) to a
    CSV or XLSX file, filtered like the participant list."""
    from turnout.adapters import participant_export
    from turnout.domain.participants import ParticipantFilter
    from turnout.entrypoints.cli import cli_locale, run_service
    from turnout.services.participants import participants_to_export

    chosen = file_format.value if file_format else file.suffix.lower().lstrip(".")
    if chosen not in participant_export.FORMATS:
        err.print(f"[red]{_t('cli.export.unknown_format', suffix=file.suffix or file.name)}[/red]")
        raise typer.Exit(2)
    locale = None if codes else (lang.value if lang else cli_locale())
    where = ParticipantFilter.of(q, status.value if status else None, check_in.value if check_in else None)
    partial = file.with_name(f".{file.name}.{os.getpid()}.partial")

    def action(turnout: Any) -> tuple[int, float]:
        started = time.perf_counter()
        export = participants_to_export(turnout.uow, event_id=event_id, where=where)
        try:
            rows = participant_export.write_file(export, chosen, locale, str(partial))
            partial.replace(file)  # a reader never sees half a file
        except OSError as problem:
            partial.unlink(missing_ok=True)
            err.print(f"[red]{_t('cli.export.cannot_write', path=str(file), reason=problem.strerror)}[/red]")
            raise typer.Exit(1) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return rows, time.perf_counter() - started

    rows, seconds = run_service(as_json, action)
    if as_json:
        print(
            json.dumps(
                {
                    "event_id": event_id,
                    "file": str(file),
                    "format": chosen,
                    "rows": rows,
                    "seconds": round(seconds, 3),
                }
            )
        )
        return
    out.print(
        _t(
            "cli.export.done",
            rows=f"{rows:,}",
            path=str(file),
            format=chosen.upper(),
            seconds=f"{seconds:.1f}",
        ),
        soft_wrap=True,
    )
