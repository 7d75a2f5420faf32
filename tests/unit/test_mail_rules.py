"""Mail rules without a server: SMTP URL parsing, failure classification, backoff, time formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest

from turnout.adapters.mail import classify, parse_smtp_url
from turnout.services.mail_sending import SenderPolicy
from turnout.services.mail_templates import format_moment


def test_smtp_url_options_are_read_when_given() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.hostname, plain.port, plain.use_tls, plain.start_tls) == (
        "mail.example.com",
        25,
        False,
        True,  # STARTTLS required unless ?starttls=off
    )
    assert parse_smtp_url("smtp://mail.example.com?starttls=off").start_tls is False
    submission = parse_smtp_url("smtp://user%40x.com:p%3Ass@mail.example.com:587?starttls=require")
    assert submission.username == "user@x.com"
    assert submission.password == "p:ss"
    assert submission.start_tls is True
    tls = parse_smtp_url("smtps://u:p@mail.example.com?verify=false&timeout=5")
    assert (tls.port, tls.use_tls, tls.start_tls, tls.validate_certs, tls.timeout) == (
        465,
        True,
        False,
        False,
        5.0,
    )
    with pytest.raises(ValueError, match="smtp"):
        parse_smtp_url("http://mail.example.com")


def test_smtp_url_is_refused_when_starttls_asks_for_a_downgrade_or_an_unknown_mode() -> None:
    for mode in ("auto", "maybe"):
        with pytest.raises(ValueError, match="starttls"):
            parse_smtp_url(f"smtp://mail.example.com?starttls={mode}")


def test_5xx_is_permanent_and_4xx_refused_and_timeouts_are_transient_when_classified() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "mailbox unavailable", "x@example.com")]
    )
    assert classify(refused).permanent is True
    assert classify(refused).code == 550
    assert classify(aiosmtplib.SMTPResponseException(451, "try later")).permanent is False
    assert classify(aiosmtplib.SMTPResponseException(554, "rejected")).permanent is True
    assert classify(ConnectionRefusedError(111, "refused")).permanent is False
    assert classify(aiosmtplib.SMTPTimeoutError("timed out")).permanent is False
    assert classify(TimeoutError()).permanent is False
    assert classify(aiosmtplib.SMTPServerDisconnected("gone")).permanent is False
    assert classify(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")).permanent is False


def test_backoff_doubles_up_to_its_cap_when_attempts_grow() -> None:
    policy = SenderPolicy()
    delays = [policy.backoff(n) for n in range(1, 9)]
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert delays[-1] == timedelta(minutes=30)
    assert sum((policy.backoff(n) for n in range(1, policy.max_attempts)), timedelta()) > timedelta(hours=2)


def test_event_time_is_shown_in_its_timezone_and_language_when_formatted() -> None:
    moment = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)
    assert format_moment(moment, "Asia/Seoul", "ko") == "2026년 6월 1일 (월) 09:30"
    assert format_moment(moment, "Asia/Seoul", "en") == "Mon 1 June 2026, 09:30"
    assert format_moment(moment, "America/New_York", "en") == "Sun 31 May 2026, 20:30"
