"""Ticket email and QR throughput.

1. QR PNGs per second: ``turnout.adapters.qr.png`` for fresh, never-seen tokens (the encoder cache
   is cleared), and again for tokens already encoded (what repeated QR requests cost);
2. emails per second: a temporary SQLite database with PARTICIPANTS registered participants (real
   tokens, queued by the real ``participant.registered`` handler), sent by the real ``MailSender``
   (claim -> render Jinja2 -> QR PNG inline and attached -> aiosmtplib -> record) to a local aiosmtpd
   server in its own process (handler ``Sink``), at the configured concurrency, rate limit lifted.

Targets (issue 5): >= 200 emails/s with the QR attached; >= 1,000 QR PNGs/s.

    .venv/bin/python bench/bench_mail.py [--participants 2000] [--qr 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_qr(count: int) -> None:
    from turnout.adapters import qr

    tokens = [base64.b32encode(os.urandom(99)).decode().rstrip("=") for _ in range(count)]
    qr.encode.cache_clear()
    started = time.perf_counter()
    size = 0
    for token in tokens:
        size += len(qr.png(token))
    cold = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for token in tokens:
        qr.png(token)
    warm = count / (time.perf_counter() - started)
    print(
        f"qr png, new tokens:     {cold:8.0f} /s  ({count} codes, {size / count:.0f} bytes each, 424x424 px)"
    )
    print(f"qr png, cached symbols: {warm:8.0f} /s")


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd in its own process (so the server does not share the sender's GIL), accepting and
    discarding every message."""
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("aiosmtpd did not start")


def bench_mail(participants: int, concurrency: int) -> None:
    from turnout.adapters.db.migrate import upgrade
    from turnout.adapters.mail import SmtpMailer
    from turnout.bootstrap import bootstrap, mail_sender
    from turnout.config import Settings
    from turnout.domain.events import EventStatus
    from turnout.services import mail_queue
    from turnout.services.events import change_status, create_event
    from turnout.services.registration import register_participant

    workdir = Path(tempfile.mkdtemp(prefix="turnout-bench-mail-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        var_dir=workdir / "var",
        secret_key="bench",
        mail_rate_per_second=1_000_000,
        mail_concurrency=concurrency,
        _env_file=None,  # type: ignore[call-arg]
    )
    turnout = bootstrap(settings)
    with turnout.uow() as uow:
        event = create_event(
            uow,
            actor="bench",
            name="벤치마크 컨퍼런스 2026",
            starts_at=datetime(2026, 6, 1, 9),
            ends_at=datetime(2026, 6, 1, 18),
            venue="코엑스",
            min_age=0,  # no age rule: the people have no birth date
        )
        change_status(uow, event_id=event.id, status=EventStatus.OPEN, actor="bench")
        uow.commit()
    started = time.perf_counter()
    for first in range(0, participants, 500):
        with turnout.uow() as uow:
            for i in range(first, min(first + 500, participants)):
                register_participant(
                    uow,
                    tickets=turnout.tickets,
                    event_id=event.id,
                    data={
                        "name": f"참가자 {i}",
                        "email": f"p{i}@example.com",
                        "locale": "ko" if i % 2 else "en",
                        "consents": {"required": True},
                    },
                    source="import",
                    actor="bench",
                )
            uow.commit()
    relay = turnout.relay()
    relay.drain(publish=False)
    relay.close()
    with turnout.uow(readonly=True) as uow:
        queued = mail_queue.count_by_status(uow, event_id=event.id)["queued"]
    print(
        f"setup: {participants} participants registered and {queued} emails queued in "
        f"{time.perf_counter() - started:.1f} s"
    )

    port = free_port()
    server = start_sink(port)
    try:
        sender = mail_sender(
            turnout,
            SmtpMailer(f"smtp://127.0.0.1:{port}?starttls=off"),
            batch_size=max(100, concurrency * 16),
        )

        async def run() -> int:
            try:
                return await sender.drain()
            finally:
                await sender.mailer.close()

        started = time.perf_counter()
        sent = asyncio.run(run())
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    with turnout.uow(readonly=True) as uow:
        counts = mail_queue.count_by_status(uow, event_id=event.id)
    print(
        f"emails with QR inline + attached: {sent / elapsed:8.0f} /s  ({sent} in {elapsed:.1f} s, "
        f"concurrency {concurrency}; jobs {counts})"
    )
    turnout.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--qr", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bench_qr(args.qr)
    bench_mail(args.participants, args.concurrency)


if __name__ == "__main__":
    main()
