"""``turnout secrets rotate``: seal every sealed secret again under a new ``TURNOUT_SECRET_KEY``.

The sealed secrets are the events' ticket signing keys and the integrations' webhook secrets. The
old key is the one configured now (``TURNOUT_SECRET_KEY`` or ``var/secret_key``) unless
``--old-key`` names it; the new key is ``--new-key`` or a generated one. Keys are best passed by
environment (``TURNOUT_OLD_SECRET_KEY``, ``TURNOUT_NEW_SECRET_KEY``) or ``-`` (a line on stdin),
not on the command line where ``ps`` shows them. Everything is resealed in one transaction.

With a generated key file (SQLite without ``TURNOUT_SECRET_KEY``) the file is replaced by the new
key (atomically, mode 0600; it is written beside as ``secret_key.new`` before the database changes,
so it is never lost). Otherwise the command says to set ``TURNOUT_SECRET_KEY`` to the new key on
every machine and restart, and prints the new key when it generated it.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

secrets_app = typer.Typer(no_args_is_help=True, help="TURNOUT_SECRET_KEY and the secrets it seals.")


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")


def _read(value: str | None) -> str | None:
    if value == "-":
        return sys.stdin.readline().strip()
    return value


@secrets_app.command("rotate")
def rotate_command(
    old_key: Annotated[
        str | None,
        typer.Option(
            "--old-key",
            envvar="TURNOUT_OLD_SECRET_KEY",
            show_envvar=True,
            help="the key the secrets are sealed with now ('-': stdin); default: the configured one",
        ),
    ] = None,
    new_key: Annotated[
        str | None,
        typer.Option(
            "--new-key",
            envvar="TURNOUT_NEW_SECRET_KEY",
            show_envvar=True,
            help="the key to seal them with ('-': read from stdin); default: a new random key",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Seal the ticket signing keys and integration secrets again under a new secret key."""
    from turnout.adapters.db.engine import make_engine
    from turnout.adapters.secrets import reseal_all
    from turnout.config import SecretKeyRequired, Settings, write_secret_file
    from turnout.domain.errors import DomainError
    from turnout.entrypoints.cli import fail, t

    settings = Settings()
    old = _read(old_key)
    if not old:
        try:
            old = settings.resolve_secret_key()
        except SecretKeyRequired as missing:
            err.print(f"[red]{t(missing.code, **missing.params)}[/red] {t('cli.secrets.give_old_key')}")
            raise typer.Exit(1) from None
    given = _read(new_key)
    if given is not None and len(given) < 32:
        err.print(f"[red]{t('cli.secrets.short_key')}[/red]")
        raise typer.Exit(2)
    new = given or secrets.token_urlsafe(48)
    key_file = (
        None
        if settings.secret_key or settings.database_url.startswith("postgresql")
        else (settings.var_dir / "secret_key")
    )
    pending = key_file.with_name("secret_key.new") if key_file is not None else None
    if pending is not None:
        write_secret_file(pending, new, replace=True)
    engine = make_engine(settings.database_url)
    try:
        rotation = reseal_all(engine, old_key=old, new_key=new)
    except DomainError as refused:
        if pending is not None:
            pending.unlink(missing_ok=True)
        fail(refused, as_json)
        raise  # unreachable: fail() exits
    finally:
        engine.dispose()
    if key_file is not None and pending is not None:
        pending.replace(key_file)
        step = t("cli.secrets.step_file", path=str(key_file))
    else:
        step = t("cli.secrets.step_env")
    report: dict[str, Any] = {
        "ticket_keys": rotation.ticket_keys,
        "integration_secrets": rotation.integration_secrets,
        "already_new": rotation.already_new,
        "key_file": str(key_file) if key_file is not None else None,
        "new_key": new if key_file is None and given is None else None,
        "next": step,
    }
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    out.print(
        t(
            "cli.secrets.resealed",
            ticket_keys=rotation.ticket_keys,
            integration_secrets=rotation.integration_secrets,
            already_new=rotation.already_new,
        )
    )
    if report["new_key"]:
        out.print(t("cli.secrets.new_key", key=new))
    out.print(step)
    out.print(t("cli.secrets.sessions_end"))
