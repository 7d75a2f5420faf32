"""Mail delivery: ``SmtpMailer`` (aiosmtplib) and ``DropFolderMailer`` (``.eml`` files).

``TURNOUT_SMTP_URL``:

* ``smtp://[user:pass@]host[:port]`` — SMTP upgraded with STARTTLS, which is required: a server that
  does not offer it is refused (port 25 by default, 587 for submission). ``?starttls=off`` sends in
  the clear (a relay on the same host or a test server), and only then;
* ``smtps://[user:pass@]host[:port]`` — TLS from the first byte (port 465 by default).

Query options: ``starttls=require|off`` (``require`` is the default; there is no "when offered"
mode, which an attacker on the path could downgrade by hiding the offer), ``verify=false`` (accept
self-signed certificates), ``timeout=SECONDS``. User and password are percent-decoded.

Failures become ``DeliveryError``: a 5xx reply is permanent; 4xx replies, refused or dropped
connections, timeouts and rejected credentials (535: the operator fixes the URL, the mail waits)
are transient (the queue retries them later).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from turnout.ports import DeliveryError, OutgoingMail


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool  # True: STARTTLS required (smtp://), False: never (smtps:// or ?starttls=off)
    username: str | None
    password: str | None
    validate_certs: bool
    timeout: float


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("TURNOUT_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("TURNOUT_SMTP_URL needs a host")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    use_tls = parts.scheme == "smtps"
    starttls = options.get("starttls", "require").lower()
    if starttls not in ("require", "off"):
        raise ValueError(
            f"TURNOUT_SMTP_URL: starttls={starttls} is not known; use starttls=require (the default)"
            " or starttls=off (send in the clear)"
        )
    start_tls = not use_tls and starttls == "require"
    return SmtpTarget(
        hostname=parts.hostname,
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        start_tls=start_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        validate_certs=options.get("verify", "true").lower() not in ("false", "0", "no"),
        timeout=float(options.get("timeout", "30")),
    )


def classify(exc: BaseException) -> DeliveryError:
    """An aiosmtplib (or socket) failure as a ``DeliveryError``: 5xx permanent, the rest transient."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS extension not supported" in str(exc):
        # the operator fixes the server or the URL; the mail waits
        return DeliveryError(
            "the SMTP server does not offer STARTTLS: refusing to send in the clear (add ?starttls=off"
            " to TURNOUT_SMTP_URL to allow it, or use smtps://)",
            permanent=False,
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # the server is fine; our credentials are not: keep the mail until the operator fixes them
        return DeliveryError(
            f"{exc.code} authentication failed: {exc.message}", permanent=False, code=exc.code
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return DeliveryError(
            f"{first.code} {first.message} ({first.recipient})", permanent=first.code >= 500, code=first.code
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError
    ):
        code = int(exc.code)
        return DeliveryError(f"{code} {exc.message}", permanent=code >= 500, code=code)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return DeliveryError(f"timeout: {exc}", permanent=False)
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
        return DeliveryError(f"connection failed: {exc}", permanent=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


class SmtpMailer:
    """Keeps a few open connections per event loop (one per concurrent send) and reuses them."""

    def __init__(self, url: str) -> None:
        self.target = parse_smtp_url(url)
        self._idle: dict[asyncio.AbstractEventLoop, list[aiosmtplib.SMTP]] = {}

    def _client(self) -> aiosmtplib.SMTP:
        t = self.target
        return aiosmtplib.SMTP(
            hostname=t.hostname,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            validate_certs=t.validate_certs,
            timeout=t.timeout,
        )

    async def _acquire(self) -> aiosmtplib.SMTP:
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        while idle:
            client = idle.pop()
            if client.is_connected:
                return client
        client = self._client()
        await client.connect()
        return client

    async def send(self, mail: OutgoingMail) -> None:
        try:
            client = await self._acquire()
        except Exception as exc:
            raise classify(exc) from exc
        try:
            await client.sendmail(mail.sender, list(mail.recipients), mail.data)
        except Exception as exc:
            await _quietly_close(client)
            raise classify(exc) from exc
        self._idle.setdefault(asyncio.get_running_loop(), []).append(client)

    async def close(self) -> None:
        idle = self._idle.pop(asyncio.get_running_loop(), [])
        for client in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), timeout=5)
            await _quietly_close(client)


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DropFolderMailer:
    """Writes each message as ``<folder>/<message-id>.eml`` (the embedded default without SMTP).

    The file name comes from the stable Message-ID, so sending a job twice rewrites one file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, mail: OutgoingMail) -> None:
        message_id = mail.message_id.strip("<>") or os.urandom(8).hex()
        name = _UNSAFE.sub("_", message_id)[:150] + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.tmp"
            temporary.write_bytes(mail.data)
            temporary.replace(self.folder / name)
        except OSError as exc:
            raise DeliveryError(f"cannot write {name}: {exc}", permanent=False) from exc

    async def close(self) -> None:
        return None
