"""Settings from the environment (``TURNOUT_*``) and a ``.env`` file. Nothing happens at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
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
        """The configured key, or the one generated into ``var/`` on first start."""
        if self.secret_key:
            return self.secret_key
        import secrets

        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
