"""Erasure requests on fake stores: one open request per person, an ``erasure_requested`` alert
naming only ids, approval (cancel, erase that one person, alert acknowledged) and rejection, each
decided once; only the current, valid ticket may ask; phones shown as a person reads them."""

from __future__ import annotations

import email
from datetime import date

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import open_event, register
from turnout.adapters.signing import KeyVault
from turnout.domain.errors import DomainError
from turnout.domain.participants import Participant, ParticipantStatus, display_phone
from turnout.domain.privacy import REASON_MAX, ErasureRequest, ErasureStatus, erased_email
from turnout.domain.sagas import ALERT_ACKNOWLEDGED, ALERT_OPEN
from turnout.domain.tickets import TicketError
from turnout.services import erasure_requests as erasure
from turnout.services import ticketing
from turnout.services.alerts import alert_mail
from turnout.services.cancellation import cancellation_saga
from turnout.services.sagas import SagaPolicy


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def tickets() -> ticketing.TicketBook:
    return ticketing.TicketBook(KeyVault("test-secret-key"))


@pytest.fixture
def people(uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook) -> list[Participant]:
    event_id = open_event(uows).id
    found = [
        register(uows, tickets, event_id=event_id, name=name, email=email)
        for name, email in (("김민준", "minjun@example.com"), ("이서연", "seoyeon@example.com"))
    ]
    with uows() as uow:  # details the erasure must remove (or keep, for the other person)
        for person in found:
            uow.participants.update_fields(
                person.id,
                {"phone": "+821012345678", "birth_date": date(1990, 7, 1), "organization": "회사"},
            )
        uow.commit()
    return found


def ask(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, token: str, reason: str | None = None
) -> tuple[ErasureRequest, bool]:
    with uows() as uow:
        answer = erasure.request_erasure(uow, tickets=tickets, token=token, reason=reason)
        uow.commit()
    return answer


def approve(uows: FakeUnitOfWorkFactory, request_id: str) -> ErasureRequest:
    with uows() as uow:
        request, _counts = erasure.approve_erasure(
            uow,
            request_id=request_id,
            actor="key:admin",
            cancellation=cancellation_saga(mail_from="t@example.com"),
            policy=SagaPolicy(),
            note="확인함",
        )
        uow.commit()
    return request


def test_a_repeat_request_answers_the_open_one_when_one_is_open(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    token = people[0].token
    assert token is not None
    first, created = ask(uows, tickets, token, "  더 이상 참가하지 않습니다  ")
    again, created_again = ask(uows, tickets, token, "another reason")
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert first.reason == "더 이상 참가하지 않습니다"
    with uows(readonly=True) as uow:
        assert len(uow.privacy.find_erasure_requests(first.event_id)) == 1
        alerts = uow.alerts.find(event_id=first.event_id)
    assert [(a.code, a.state) for a in alerts] == [("erasure_requested", ALERT_OPEN)]
    assert alerts[0].details == {"erasure_request_id": first.id, "participant_id": people[0].id}
    assert "minjun" not in alerts[0].message
    assert "김민준" not in alerts[0].message


def test_a_reason_longer_than_the_limit_is_cut_to_it_when_stored(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    assert people[0].token is not None
    request, _ = ask(uows, tickets, people[0].token, "가" * (REASON_MAX + 50))
    assert request.reason == "가" * REASON_MAX


def test_approval_cancels_erases_only_that_person_and_acknowledges_the_alert_when_approved(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    asker, other = people
    assert asker.token is not None
    request, _ = ask(uows, tickets, asker.token)
    done = approve(uows, request.id)
    assert (done.status, done.decided_by, done.decision_note) == (ErasureStatus.DONE, "key:admin", "확인함")
    with uows(readonly=True) as uow:
        erased = uow.participants.get(asker.id)
        kept = uow.participants.get(other.id)
        alert = uow.alerts.get(request.alert_id or "")
        revoked = uow.tickets.revocations(asker.event_id)
    assert erased is not None
    assert kept is not None
    assert alert is not None
    assert erased.status == ParticipantStatus.CANCELLED
    assert (erased.name, erased.email, erased.phone, erased.organization, erased.token) == (
        "",
        erased_email(asker.id),
        None,
        None,
        None,
    )
    assert erased.birth_date == date(1996, 6, 1)  # 35 on 2026-06-01: the 30s group's stand-in
    assert (kept.name, kept.email, kept.phone, kept.birth_date) == (
        "이서연",
        "seoyeon@example.com",
        "+821012345678",
        date(1990, 7, 1),
    )
    assert alert.state == ALERT_ACKNOWLEDGED
    assert [r.participant_id for r in revoked] == [asker.id]
    with uows() as uow, pytest.raises(TicketError):
        erasure.person_record(uow, tickets=tickets, token=asker.token)


def test_a_decided_request_is_refused_with_erasure_request_decided_when_decided_again(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    assert people[0].token is not None
    assert people[1].token is not None
    approved, _ = ask(uows, tickets, people[0].token)
    approve(uows, approved.id)
    rejected, _ = ask(uows, tickets, people[1].token)
    with uows() as uow:
        decided = erasure.reject_erasure(uow, request_id=rejected.id, actor="cli", note="행사 진행 중")
        uow.commit()
    assert decided.status == ErasureStatus.REJECTED
    for request_id in (approved.id, rejected.id):
        with uows() as uow:
            with pytest.raises(DomainError) as again:
                erasure.reject_erasure(uow, request_id=request_id, actor="cli")
            assert again.value.code == "erasure_request_decided"
            with pytest.raises(DomainError) as approve_again:
                erasure.approve_erasure(
                    uow,
                    request_id=request_id,
                    actor="cli",
                    cancellation=cancellation_saga(mail_from="t@example.com"),
                    policy=SagaPolicy(),
                )
            assert approve_again.value.code == "erasure_request_decided"
    with uows(readonly=True) as uow:
        kept = uow.participants.get(people[1].id)
        assert kept is not None
        assert kept.email == "seoyeon@example.com"
        assert all(a.state == ALERT_ACKNOWLEDGED for a in uow.alerts.find())


def test_a_new_request_may_be_made_when_the_last_was_rejected(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    assert people[0].token is not None
    first, _ = ask(uows, tickets, people[0].token)
    with uows() as uow:
        erasure.reject_erasure(uow, request_id=first.id, actor="cli")
        uow.commit()
    second, created = ask(uows, tickets, people[0].token)
    assert created
    assert second.id != first.id


def test_an_unknown_request_is_refused_with_erasure_request_not_found(uows: FakeUnitOfWorkFactory) -> None:
    with uows() as uow, pytest.raises(DomainError) as refused:
        erasure.reject_erasure(uow, request_id="nope", actor="cli")
    assert refused.value.code == "erasure_request_not_found"


def test_a_cancelled_participants_token_may_not_ask_or_see_when_revoked(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    token = people[0].token
    assert token is not None
    with uows() as uow:
        ticketing.cancel_participant(uow, participant_id=people[0].id, actor="t")
        uow.commit()
    with uows() as uow:
        with pytest.raises(TicketError):
            erasure.request_erasure(uow, tickets=tickets, token=token, reason=None)
        with pytest.raises(TicketError):
            erasure.person_record(uow, tickets=tickets, token=token)


def test_display_phone_shows_korean_numbers_nationally_and_others_internationally() -> None:
    assert display_phone("+821012345678") == "010-1234-5678"
    assert display_phone("+82212345678") == "02-1234-5678"
    assert display_phone("+16502530000") == "+1 650-253-0000"
    assert display_phone("+447911123456") == "+44 7911 123456"
    assert display_phone(None) == ""
    assert display_phone("not a phone") == "not a phone"


def test_the_alert_email_names_the_commands_that_decide_the_request_and_no_personal_data(
    uows: FakeUnitOfWorkFactory, tickets: ticketing.TicketBook, people: list[Participant]
) -> None:
    assert people[0].token is not None
    request, _ = ask(uows, tickets, people[0].token, "개인 사유 김민준")
    with uows(readonly=True) as uow:
        alert = uow.alerts.get(request.alert_id or "")
    assert alert is not None
    mail = alert_mail(alert, to="ops@example.com", mail_from="turnout@example.com").data.decode()
    text = email.message_from_string(mail).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"turnout privacy approve {request.id}" in text
    assert "turnout sagas show" not in text
    for personal in ("김민준", "minjun@example.com", "개인 사유"):
        assert personal not in text
