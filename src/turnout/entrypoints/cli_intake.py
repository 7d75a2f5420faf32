"""``turnout import EVENT_ID FILE``: import participants with a progress bar and a summary.

Exit 0 when the file was read and its valid rows saved (refused rows are counted and listed);
1 when the file as a whole is refused (nothing saved); 2 on bad usage.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from turnout.i18n import translate

out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)


def import_command(
    event_id: Annotated[str, typer.Argument(help="the event to import into")],
    file: Annotated[Path, typer.Argument(help="CSV, TSV, TXT or XLSX file", exists=True, dir_okay=False)],
    on_duplicate: Annotated[
        str, typer.Option("--on-duplicate", help="skip (default, reported), update or fail")
    ] = "skip",
    mapping: Annotated[
        list[str] | None,
        typer.Option("--mapping", help="COLUMN=FIELD (name, email, phone, birth_date, ..., custom, ignore)"),
    ] = None,
    errors_file: Annotated[
        Path | None, typer.Option("--errors", help="write refused rows and reasons to this CSV")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="override detection (e.g. cp949)")
    ] = None,
    consent_collected_elsewhere: Annotated[
        bool,
        typer.Option(
            "--consent-collected-elsewhere",
            help="confirm the people in the file consented elsewhere (needed without a consent column)",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import participants from a file (resumes a killed run of the same file). The file carries a
    consent column, or --consent-collected-elsewhere confirms consent was collected elsewhere."""
    from turnout.adapters.errors_csv import error_report
    from turnout.domain.columns import ColumnsRefused, parse_mapping
    from turnout.domain.errors import DomainError
    from turnout.domain.imports import OnDuplicate
    from turnout.entrypoints.cli import cli_locale, fail, t, wired
    from turnout.services.import_jobs import get_import

    if on_duplicate not in {p.value for p in OnDuplicate}:
        raise typer.BadParameter(t("cli.bad_on_duplicate"), param_hint="--on-duplicate")
    try:
        columns = parse_mapping(mapping or [])
    except ColumnsRefused as exc:
        message = translate(exc.code, cli_locale(), exc.params)
        raise typer.BadParameter(message, param_hint="--mapping") from None
    show_bar = not as_json and sys.stderr.isatty()
    size = file.stat().st_size
    with wired() as turnout:
        try:
            run = functools.partial(
                turnout.importer.import_file,
                event_id=event_id,
                path=str(file.resolve()),
                filename=file.name,
                actor="cli",
                on_duplicate=on_duplicate,
                mapping=columns,
                encoding=encoding,
                consent_basis="collected_elsewhere" if consent_collected_elsewhere else None,
            )
            if show_bar:
                with Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TextColumn("{task.fields[rows]}"),
                    TimeElapsedColumn(),
                    console=err,
                    transient=False,
                ) as bar:
                    task = bar.add_task(file.name, total=size, rows=t("cli.import.rows", rows=0))

                    def progress(job: Any, position: int) -> None:
                        rows = t("cli.import.rows", rows=job.rows_processed)
                        bar.update(task, completed=min(position, size), rows=rows)

                    job = run(progress=progress)
                    bar.update(task, completed=size)
            else:
                job = run()
        except DomainError as error:
            fail(error, as_json)
            return
        if errors_file is not None:
            with turnout.uow(readonly=True) as uow:
                job = get_import(uow, import_id=job.id)
                with errors_file.open("w", encoding="utf-8", newline="") as handle:
                    for chunk in error_report(uow, import_id=job.id, locale=cli_locale()):
                        handle.write(chunk)
    if job.error_code:
        fail(DomainError(job.error_code, **(job.error_params or {})), as_json)
        return
    summary = job.summary()
    if as_json:
        print(json.dumps({"import_id": job.id, "status": job.status.value, **summary}, ensure_ascii=False))
        return
    table = Table(title=t("cli.title.import"), caption=job.id, show_header=False)
    for key, value in summary.items():
        table.add_row(translate(f"cli.import.{key}", cli_locale(), default=key), str(value))
    out.print(table)
    if summary["duplicates"] or summary["invalid"]:
        count = summary["duplicates"] + summary["invalid"]
        if errors_file:
            err.print(t("cli.import.not_saved_listed", count=count, path=str(errors_file)), soft_wrap=True)
        else:
            err.print(t("cli.import.not_saved", count=count), soft_wrap=True)
