"""SmtpMailer against aiosmtpd with STARTTLS + AUTH, and with TLS from the first byte (smtps)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.smtp_support import RecordingHandler, free_port, self_signed_context
from turnout.adapters.mail import SmtpMailer
from turnout.ports import DeliveryError, OutgoingMail

MAIL = OutgoingMail(
    sender="no-reply@localhost",
    recipients=("someone@example.com",),
    message_id="<m1@localhost>",
    data=(
        b"From: no-reply@localhost\r\nTo: someone@example.com\r\nSubject: hi\r\n"
        b"Message-ID: <m1@localhost>\r\n\r\nhello\r\n"
    ),
)


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"tickets", b"s3cret:pw")
    return AuthResult(success=ok)


def send(url: str) -> None:
    async def run() -> None:
        mailer = SmtpMailer(url)
        try:
            await mailer.send(MAIL)
        finally:
            await mailer.close()

    asyncio.run(run())


def test_starttls_and_auth_deliver_when_the_server_requires_both(tmp_path: Path) -> None:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=self_signed_context(tmp_path),
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        send(f"smtp://tickets:s3cret%3Apw@127.0.0.1:{port}?starttls=require&verify=false&timeout=5")
        with pytest.raises(DeliveryError) as info:
            send(f"smtp://tickets:wrong@127.0.0.1:{port}?starttls=require&verify=false&timeout=2")
    finally:
        controller.stop()
    assert [m["Message-ID"] for m in handler.messages] == ["<m1@localhost>"]
    # a wrong password is fixed by the operator: the mail is kept for later (535, or aiosmtpd stalls
    # on the next mechanism aiosmtplib tries and the attempt times out)
    assert info.value.permanent is False


def test_smtps_delivers_when_the_server_speaks_tls_from_the_start(tmp_path: Path) -> None:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=self_signed_context(tmp_path)
    )
    controller.start()
    try:
        send(f"smtps://127.0.0.1:{port}?verify=false&timeout=5")
    finally:
        controller.stop()
    assert [m["Subject"] for m in handler.messages] == ["hi"]


def test_certificate_is_checked_when_verify_is_left_on(tmp_path: Path) -> None:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=self_signed_context(tmp_path)
    )
    controller.start()
    try:
        with pytest.raises(DeliveryError) as info:
            send(f"smtps://127.0.0.1:{port}?timeout=5")
    finally:
        controller.stop()
    assert handler.messages == []
    assert info.value.permanent is False


def test_plain_server_is_refused_when_the_url_does_not_say_starttls_off() -> None:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)  # offers no STARTTLS
    controller.start()
    try:
        with pytest.raises(DeliveryError) as info:
            send(f"smtp://127.0.0.1:{port}?timeout=5")
        assert handler.messages == []
        send(f"smtp://127.0.0.1:{port}?starttls=off&timeout=5")
    finally:
        controller.stop()
    assert "STARTTLS" in str(info.value)
    assert "starttls=off" in str(info.value)
    assert info.value.permanent is False  # the operator fixes the server or the URL; the mail waits
    assert [m["Subject"] for m in handler.messages] == ["hi"]
