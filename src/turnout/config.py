"""Settings from the environment (``TURNOUT_*``) and a ``.env`` file. Nothing happens at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TURNOUT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/turnout.sqlite3"
    broker_url: str = ""
    smtp_url: str = ""
    mail_from: str = "Turnout <no-reply@localhost>"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    var_dir: Path = Path("var")
    default_locale: str = "en"
    metrics_dir: str = Field(
        default="", description="per-process counter files of one deployment (default <var_dir>/metrics)"
    )

    # background work
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_interval: float = Field(default=0.2, gt=0)
    handler_max_attempts: int = Field(default=8, ge=1)
    relay_lease_seconds: float = Field(default=30.0, gt=0, description="stream publisher lease")
    extra_handlers: str = Field(default="", description="module:function,... subscribed at start")

    # uploads and limits
    import_max_bytes: int | None = Field(
        default=None, ge=1, description="older name of the upload limit, in bytes (wins over max_upload_mb)"
    )
    import_batch_size: int = Field(default=5000, ge=1)
    registration_rate_limit: int = Field(
        default=30, ge=1, description="public registrations per client per minute"
    )
    bulk_batch_size: int = Field(default=100, ge=1)
    ble_debounce_seconds: int = Field(default=60, ge=0)

    # integrations: deliveries to external systems
    allow_private_webhooks: bool = Field(
        default=False, description="let integrations point at loopback/private addresses (tests, labs)"
    )
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_retry_hours: float = Field(default=24.0, gt=0, description="after this a delivery is dead")
    delivery_lease_seconds: float = Field(
        default=120.0, gt=0, description="a stopped worker's deliveries are sent again after this"
    )
    delivery_concurrency: int = Field(default=32, ge=1)
    delivery_backoff_seconds: float = Field(
        default=5.0,
        gt=0,
        description="wait after a delivery's first failure; doubled per attempt, at most 1 h",
    )
    rush_scans_per_second: float = Field(
        default=200.0,
        ge=0,
        description=(
            "gate scans a second (repeats included) from which the gates are in a rush: the"
            " integrations' feeds and deliveries give way (0: only a busy CPU means a rush)"
        ),
    )
    integrations_yield: float = Field(
        default=30.0,
        ge=0,
        description=(
            "during a rush, after each batch of the integrations' feeds, wait this many times as long"
            " as it took (0: no pause)"
        ),
    )
    delivery_yield_in_rush: float = Field(
        default=30.0,
        ge=0,
        description="during a rush the sender waits this many times as long as its last batch took",
    )
    delivery_busy_cpu: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="the CPUs' busy share from which the gates count as in a rush too (0: never)",
    )
    delivery_niceness: int = Field(
        default=19, ge=0, le=19, description="CPU niceness of the delivery sender's threads (0: as the rest)"
    )
    delivery_breaker_failures: int = Field(
        default=5, ge=1, description="failures in a row that open an endpoint's circuit"
    )
    delivery_breaker_cooldown_seconds: float = Field(
        default=30.0, gt=0, description="an open circuit's wait before one probe goes through"
    )
    analytics_interval_seconds: int = Field(
        default=900, ge=10, description="analytics sent to the analytics platform while an event is live"
    )

    # sagas (docs/sagas.md)
    transfer_deadline_seconds: float = Field(
        default=600.0, gt=0, description="a transfer the gate system has not accepted by then is undone"
    )
    saga_undo_attempts: int = Field(
        default=3, ge=1, description="a compensation that fails this often raises an operator alert"
    )
    saga_retry_seconds: float = Field(
        default=5.0, gt=0, description="a retriable step's wait before it runs again"
    )
    saga_lease_seconds: float = Field(
        default=60.0, gt=0, description="a stopped worker's sagas are taken over after this"
    )
    alert_email: str | None = Field(
        default=None, description="operator alerts are emailed here too (by the worker's alert-mail loop)"
    )

    # mail
    mail_rate_per_second: float = Field(default=50.0, gt=0)
    mail_concurrency: int = Field(default=8, ge=1)

    # --- hardening D ---
    retention_days: int = Field(
        default=30,
        ge=1,
        description=(
            "finished outbox messages, message and outbound deliveries (with their attempts),"
            " idempotency keys, email attempts, ended imports' per-row errors and registration"
            " rate-limit windows older than this many days are deleted"
        ),
    )
    retention_interval_seconds: float = Field(
        default=3600.0, gt=0, description="how often the worker's retention loop prunes"
    )
    # --- hardening C ---
    registration_resend_interval_seconds: int = Field(
        default=3600,
        ge=1,
        description=(
            "a public registration with a known email or phone emails the holder's ticket again at"
            " most once per this many seconds"
        ),
    )

    # --- hardening A ---
    # request body limits (MB = 1,048,576 bytes), enforced before the body is read and before the key
    max_body_mb: float = Field(
        default=1.0, gt=0, description="a request body on every route but the two below (JSON, forms)"
    )
    max_bulk_mb: float = Field(default=10.0, gt=0, description="a bulk attendance upload's body")
    max_upload_mb: float = Field(
        default=50.0, gt=0, description="an import upload's file (the request may carry 1 MB more of form)"
    )

    @property
    def upload_max_bytes(self) -> int:
        """The import upload's limit: ``TURNOUT_IMPORT_MAX_BYTES`` if set, else ``TURNOUT_MAX_UPLOAD_MB``."""
        if self.import_max_bytes is not None:
            return self.import_max_bytes
        return int(self.max_upload_mb * MB)

    # --- hardening B ---
    template_render_timeout_seconds: float = Field(
        default=2.0, gt=0, description="a mail template rendering longer than this is stopped and refused"
    )
    template_max_output_chars: int = Field(
        default=256 * 1024, ge=1, description="a mail template rendering to more characters is refused"
    )
    template_memory_bytes: int = Field(
        default=256 * 1024 * 1024, ge=16 * 1024 * 1024, description="memory a template check may use"
    )
    import_max_attempts: int = Field(
        default=3, ge=1, description="runs of an import that may stop unfinished before it is failed"
    )
    import_xlsx_max_uncompressed_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="an XLSX larger than this once unzipped is refused"
    )
    import_xlsx_max_ratio: int = Field(
        default=100,
        ge=1,
        description="an XLSX member compressed more than this (uncompressed/compressed) is refused",
    )
    import_xlsx_max_rows: int = Field(
        default=1_000_000, ge=1, description="rows a worksheet may declare or hold"
    )
    import_xlsx_max_columns: int = Field(default=1000, ge=1, description="columns a worksheet may declare")
    import_xlsx_max_shared_strings_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="the largest xl/sharedStrings.xml (uncompressed)"
    )
    # --- hardening E ---
    trusted_proxies: str = Field(
        default="",
        description=(
            "IPs/CIDRs (comma-separated) of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For"
            " are believed; empty: none (the peer's own address and scheme count)"
        ),
    )
    session_hours: float = Field(default=12.0, gt=0, description="a console sign-in lasts this long")
    signin_attempts_per_address: int = Field(
        default=20, ge=1, description="console/scanner sign-in attempts per client address per minute"
    )
    signin_attempts_per_key: int = Field(
        default=10, ge=1, description="console/scanner sign-in attempts per key id per minute"
    )
    unknown_key_cache_seconds: float = Field(
        default=5.0, ge=0, description="an unknown key id is answered from memory this long"
    )

    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    def resolve_secret_key(self) -> str:
        """The configured key, or (SQLite only) the one generated into ``var/secret_key`` on first start.

        With PostgreSQL several machines share the database, so they must share the key: without
        ``TURNOUT_SECRET_KEY`` this raises ``SecretKeyRequired`` rather than let each machine make
        its own. The generated file is written atomically with mode 0600 (a temporary file linked
        into place), and a process that finds another's key already there uses that one."""
        if self.secret_key:
            return self.secret_key
        if self.database_url.startswith("postgresql"):
            raise SecretKeyRequired(
                "TURNOUT_SECRET_KEY must be set with PostgreSQL: every machine of the deployment needs"
                " the same key (generate one with: python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))')",
                code="secret_key_required",
            )
        path = self.var_dir / "secret_key"
        if not path.exists():
            import secrets

            write_secret_file(path, secrets.token_urlsafe(48), replace=False)
        key = path.read_text().strip()
        if not key:
            raise SecretKeyRequired(
                f"{path} is empty: restore the key or set TURNOUT_SECRET_KEY",
                code="secret_key_file_empty",
                path=str(path),
            )
        return key


class SecretKeyRequired(RuntimeError):
    """Turnout cannot start without a usable ``TURNOUT_SECRET_KEY``; ``code`` and ``params`` name
    the message in the catalogue (the text here is the English one, for logs)."""

    def __init__(self, message: str, *, code: str = "secret_key_required", **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def write_secret_file(path: Path, content: str, *, replace: bool) -> None:
    """Write ``content`` to ``path`` atomically, readable by its owner only (0600 from the start).

    ``replace=False``: when ``path`` exists already (another process was first) it is left as it
    is. ``replace=True``: ``path`` is swapped for the new content in one step."""
    import contextlib
    import os
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):  # the name exists: the first writer wins
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
