"""Public registration tells nothing: a known email or phone gets the same answer as a new one (the
holder is emailed their ticket again, at most once per interval), the rate limit counts an IPv6
client by its /64 and is shared by every Turnout on the database, and a refused attempt takes no
write transaction. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.consent_support import REQUIRED, consenting
from tests.fakes import FakeClock
from tests.smtp_support import SmtpServer, smtp_server_fixture  # noqa: F401  (fixture)
from tests.ticket_support import deliver, open_event
from turnout.adapters.mail import SmtpMailer
from turnout.bootstrap import Turnout, bootstrap, mail_sender
from turnout.config import Settings
from turnout.entrypoints.api.app import create_app
from turnout.services.registration import RateLimited, register_publicly

PERSON = {"name": "김민준", "email": "minjun@example.com", "phone": "010-1234-5678"}


def send_all(turnout: Turnout, server: SmtpServer) -> None:
    sender = mail_sender(turnout, SmtpMailer(server.url))

    async def run() -> None:
        try:
            await sender.drain()
        finally:
            await sender.mailer.close()

    deliver(turnout)
    asyncio.run(run())


def mail_to(server: SmtpServer, address: str) -> list[Any]:
    return [m for m in server.handler.messages if m["To"].addresses[0].addr_spec == address]


def shape(body: Any) -> Any:
    """The JSON's keys and value types, recursively."""
    if isinstance(body, dict):
        return {k: shape(v) for k, v in body.items()}
    return type(body).__name__


def test_known_email_gets_the_same_answer_as_a_new_one_and_the_ticket_again_when_registering_publicly(
    turnout: Turnout, app_client: TestClient, smtp_server: SmtpServer
) -> None:
    event_id = open_event(turnout)
    url = f"/api/v1/events/{event_id}/registrations"
    new = app_client.post(url, json=consenting(PERSON))
    send_all(turnout, smtp_server)  # the first ticket email
    known = app_client.post(
        url, json=consenting({**PERSON, "email": "MinJun@Example.com", "name": "다른 이름"})
    )
    fresh = app_client.post(
        url, json=consenting({**PERSON, "email": "seoyeon@example.com", "phone": "010-9999-0000"})
    )
    assert new.status_code == known.status_code == fresh.status_code == 201
    assert shape(known.json()) == shape(new.json()) == shape(fresh.json())
    assert known.headers.keys() == new.headers.keys()
    # nothing of the holder's comes back: the name is the request's, the id is no one's
    assert known.json()["name"] == "다른 이름"
    assert known.json()["id"] != new.json()["id"]
    assert "already" not in known.text
    send_all(turnout, smtp_server)
    again = app_client.post(url, json=consenting(PERSON))  # within the interval: no third email
    assert again.status_code == 201
    send_all(turnout, smtp_server)
    to_holder = mail_to(smtp_server, PERSON["email"])
    assert len(to_holder) == 2
    assert to_holder[0]["Subject"] == to_holder[1]["Subject"]
    assert to_holder[0]["Message-ID"] != to_holder[1]["Message-ID"]
    with turnout.uow(readonly=True) as uow:
        assert len(uow.participants.ids_by_email(event_id, [PERSON["email"]])) == 1
    turnout.clock.advance(seconds=turnout.settings.registration_resend_interval_seconds)  # type: ignore[attr-defined]
    app_client.post(url, json=consenting(PERSON))
    send_all(turnout, smtp_server)
    assert len(mail_to(smtp_server, PERSON["email"])) == 3


def test_known_phone_gets_the_same_page_as_a_new_person_when_the_form_is_used(
    turnout: Turnout, app_client: TestClient
) -> None:
    event_id = open_event(turnout, dedup_by_phone=True)
    url = f"/events/{event_id}/register?lang=en"
    first = app_client.post(
        url, data={**PERSON, "submission_id": "s1", "consent_required": "on", "consent_optional": "on"}
    )
    # the same email on another submission, and the same phone with another email
    known_email = app_client.post(
        url, data={**PERSON, "submission_id": "s2", "consent_required": "on", "consent_optional": "on"}
    )
    known_phone = app_client.post(
        url,
        data={
            **PERSON,
            "email": "minjun@example.com",
            "submission_id": "s3",
            "consent_required": "on",
            "consent_optional": "on",
        },
    )
    assert first.status_code == known_email.status_code == known_phone.status_code == 201
    assert known_email.content == first.content
    assert known_phone.content == first.content


def test_two_addresses_of_one_ipv6_64_share_a_budget_when_registering(turnout: Turnout) -> None:
    event_id = open_event(turnout)

    def attempt(client: str, n: int) -> None:
        register_publicly(
            turnout.uow,
            tickets=turnout.tickets,
            rate_limit=2,
            event_id=event_id,
            data={"name": "김민준", "email": f"p{n}@example.com", "consents": REQUIRED},
            client=client,
        )

    attempt("2001:db8:1:2::1", 1)
    attempt("2001:db8:1:2:ffff:eeee:dddd:cccc", 2)
    with pytest.raises(RateLimited):
        attempt("2001:db8:1:2::99", 3)
    attempt("2001:db8:1:3::1", 4)  # the next /64 has its own budget
    attempt("192.0.2.1", 5)
    attempt("192.0.2.2", 6)  # IPv4: per address
    attempt("192.0.2.1", 7)
    with pytest.raises(RateLimited):
        attempt("::ffff:192.0.2.1", 8)  # an IPv4-mapped address is that IPv4 address


@pytest.fixture
def second_turnout(settings: Settings, clock: FakeClock) -> Iterator[Turnout]:
    """Another Turnout (another process's bootstrap) on the same database."""
    wired = bootstrap(settings.model_copy(), clock=clock)
    yield wired
    wired.close()


def test_limit_is_shared_when_two_turnouts_serve_one_database(
    turnout: Turnout, second_turnout: Turnout
) -> None:
    event_id = open_event(turnout)
    turnout.settings.registration_rate_limit = 3
    second_turnout.settings.registration_rate_limit = 3
    answers = []
    with (
        TestClient(create_app(turnout), raise_server_exceptions=False) as one,
        TestClient(create_app(second_turnout), raise_server_exceptions=False) as two,
    ):
        for n, client in enumerate([one, two, one, two, one]):
            body = {"name": "김민준", "email": f"p{n}@example.com", "consents": REQUIRED}
            answers.append(client.post(f"/api/v1/events/{event_id}/registrations", json=body).status_code)
    assert answers == [201, 201, 201, 429, 429]


class WriteSpy:
    """Wraps a Turnout's unit-of-work factory and records each unit's ``readonly``."""

    def __init__(self, turnout: Turnout) -> None:
        self.turnout = turnout
        self.writes = 0

    def __call__(self, *, readonly: bool = False) -> Any:
        if not readonly:
            self.writes += 1
        return self.turnout.uow(readonly=readonly)


def test_refused_attempts_open_no_write_transaction_when_rate_limited_or_known(turnout: Turnout) -> None:
    event_id = open_event(turnout)
    spy = WriteSpy(turnout)

    def attempt(email: str, client: str = "198.51.100.7") -> None:
        register_publicly(
            spy,
            tickets=turnout.tickets,
            rate_limit=2,
            event_id=event_id,
            data={"name": "김민준", "email": email, "consents": REQUIRED},
            client=client,
        )

    attempt("a@example.com")
    attempt("a@example.com")  # known: the ticket is queued again (one write per interval)
    writes = spy.writes
    attempt("a@example.com", client="198.51.100.8")  # known again within the interval
    assert spy.writes == writes
    with pytest.raises(RateLimited):
        attempt("b@example.com")  # the client's budget of 2 is used up
    assert spy.writes == writes


def test_refused_attempt_is_answered_while_a_writer_holds_sqlite(sqlite_url: str, tmp_path: Any) -> None:
    """On SQLite a refused attempt answers at once while another connection holds the write lock
    (it would wait for the busy timeout if it asked for the lock)."""
    import sqlite3
    import time

    settings = Settings(
        database_url=sqlite_url, var_dir=tmp_path / "var", secret_key="k", smtp_url="", _env_file=None
    )
    wired = bootstrap(settings, clock=FakeClock())
    try:
        event_id = open_event(wired)
        for n in range(2):
            register_publicly(
                wired.uow,
                tickets=wired.tickets,
                rate_limit=2,
                event_id=event_id,
                data={"name": "김민준", "email": f"p{n}@example.com", "consents": REQUIRED},
                client="203.0.113.5",
            )
        path = re.sub(r"^sqlite:///", "", sqlite_url)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            with pytest.raises(RateLimited):
                register_publicly(
                    wired.uow,
                    tickets=wired.tickets,
                    rate_limit=2,
                    event_id=event_id,
                    data={"name": "김민준", "email": "p9@example.com"},
                    client="203.0.113.5",
                )
            assert time.monotonic() - started < 1.0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        wired.close()
