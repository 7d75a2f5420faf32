"""The integration and outbound stores' contract: the same checks on the fakes and on the SQL stores,
on SQLite and PostgreSQL (``any_uows``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.fakes import FakeClock
from tests.mail_support import add_event
from turnout.domain.integrations import Integration, IntegrationSystem
from turnout.ports import OutboundMessage, UnitOfWorkFactory


def integration(event_id: str, system: IntegrationSystem, clock: FakeClock, **changes: object) -> Integration:
    made = Integration(
        event_id=event_id,
        system=system,
        url=f"https://{system.value}.example.com/hooks",
        secret_sealed="sealed-secret",
        enabled=True,
        disabled_reason=None,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def new_event(any_uows: UnitOfWorkFactory) -> str:
    with any_uows() as uow:
        event = add_event(uow)
        uow.commit()
    return event.id


def test_a_put_integration_is_listed_in_system_order_and_replaced_when_put_again(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, other = new_event(any_uows), new_event(any_uows)
    with any_uows() as uow:
        uow.integrations.put(integration(event_id, IntegrationSystem.GATE_MANAGEMENT, clock))
        uow.integrations.put(integration(event_id, IntegrationSystem.ANALYTICS_PLATFORM, clock))
        uow.integrations.put(integration(other, IntegrationSystem.ATTENDEE_APP, clock))
        uow.commit()
    created = clock.now()
    clock.advance(minutes=5)
    with any_uows() as uow:
        uow.integrations.put(
            integration(event_id, IntegrationSystem.GATE_MANAGEMENT, clock, url="https://new.example.com/x")
        )
        uow.commit()
    with any_uows(readonly=True) as uow:
        mine = uow.integrations.list_for_event(event_id)
        gate = uow.integrations.get(event_id, "gate-management")
        missing = uow.integrations.get(event_id, "attendee-app")
    assert [i.system for i in mine] == [
        IntegrationSystem.ANALYTICS_PLATFORM,
        IntegrationSystem.GATE_MANAGEMENT,
    ]
    assert gate is not None
    assert (gate.url, gate.created_at, gate.updated_at) == ("https://new.example.com/x", created, clock.now())
    assert missing is None


def test_disable_turns_an_enabled_integration_off_once_with_its_reason(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id = new_event(any_uows)
    with any_uows() as uow:
        for system in (IntegrationSystem.GATE_MANAGEMENT, IntegrationSystem.ATTENDEE_APP):
            uow.integrations.put(integration(event_id, system, clock))
        uow.commit()
    clock.advance(seconds=30)
    with any_uows() as uow:
        first = uow.integrations.disable(event_id, "attendee-app", reason="410 Gone", now=clock.now())
        again = uow.integrations.disable(event_id, "attendee-app", reason="again", now=clock.now())
        none = uow.integrations.disable(event_id, "alerts", reason="x", now=clock.now())
        uow.commit()
    with any_uows(readonly=True) as uow:
        enabled = uow.integrations.enabled_for(event_id)
        app = uow.integrations.get(event_id, "attendee-app")
    assert (first, again, none) == (True, False, False)
    assert [i.system for i in enabled] == [IntegrationSystem.GATE_MANAGEMENT]
    assert app is not None
    assert (app.enabled, app.disabled_reason, app.updated_at) == (False, "410 Gone", clock.now())


def test_delete_removes_the_integration_and_says_whether_there_was_one(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id = new_event(any_uows)
    with any_uows() as uow:
        uow.integrations.put(integration(event_id, IntegrationSystem.ALERTS, clock))
        uow.commit()
    with any_uows() as uow:
        assert uow.integrations.delete(event_id, "alerts") is True
        assert uow.integrations.delete(event_id, "alerts") is False
        uow.commit()
    with any_uows(readonly=True) as uow:
        assert uow.integrations.list_for_event(event_id) == []


def test_enqueued_deliveries_get_distinct_ids_in_the_order_enqueued(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id = new_event(any_uows)
    messages = [
        OutboundMessage(event_id, "attendee-app", "participant.changed", {"n": n}, ordering_key="p1")
        for n in range(3)
    ]
    with any_uows() as uow:
        ids = uow.outbound.enqueue(messages, now=clock.now())
        uow.commit()
    assert len(ids) == len(set(ids)) == 3
    assert ids == sorted(ids)  # ids sort like the order they were enqueued in


def test_last_enqueued_at_is_when_the_events_latest_message_of_that_type_went_to_that_system(
    any_uows: UnitOfWorkFactory, clock: FakeClock
) -> None:
    event_id, other = new_event(any_uows), new_event(any_uows)
    first = clock.now()
    with any_uows() as uow:
        assert uow.outbound.last_enqueued_at(event_id, "analytics-platform", "analytics.snapshot") is None
        uow.outbound.enqueue(
            [OutboundMessage(event_id, "analytics-platform", "analytics.snapshot", {"n": 1})], now=first
        )
        uow.commit()
    clock.advance(minutes=15)
    with any_uows() as uow:
        uow.outbound.enqueue(
            [
                OutboundMessage(event_id, "analytics-platform", "analytics.snapshot", {"n": 2}),
                OutboundMessage(event_id, "analytics-platform", "event.status.changed", {"n": 3}),
                OutboundMessage(other, "analytics-platform", "analytics.snapshot", {"n": 4}),
            ],
            now=clock.now(),
        )
        uow.outbound.enqueue(
            [OutboundMessage(event_id, "gate-management", "analytics.snapshot", {"n": 5})],
            now=clock.now() + timedelta(minutes=1),
        )
        uow.commit()
    with any_uows(readonly=True) as uow:
        latest = uow.outbound.last_enqueued_at(event_id, "analytics-platform", "analytics.snapshot")
        status = uow.outbound.last_enqueued_at(event_id, "analytics-platform", "event.status.changed")
        none = uow.outbound.last_enqueued_at(event_id, "attendee-app", "analytics.snapshot")
    assert (latest, status, none) == (clock.now(), clock.now(), None)
    assert latest != first
