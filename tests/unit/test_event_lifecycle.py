from datetime import UTC, datetime

import pytest

from turnout.domain.errors import InvalidTransition, ValidationFailed
from turnout.domain.events import Event, EventStatus, allowed_transitions, validate_event

S = EventStatus


def make_event(status: EventStatus = S.DRAFT) -> Event:
    return Event(
        id="e1",
        name="x",
        starts_at=datetime(2026, 6, 1, tzinfo=UTC),
        ends_at=datetime(2026, 6, 2, tzinfo=UTC),
        status=status,
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DRAFT, S.OPEN),
        (S.OPEN, S.LIVE),
        (S.LIVE, S.CLOSED),
        (S.CLOSED, S.ARCHIVED),
        (S.DRAFT, S.CANCELLED),
        (S.OPEN, S.CANCELLED),
        (S.LIVE, S.CANCELLED),
        (S.CLOSED, S.CANCELLED),
        (S.CANCELLED, S.ARCHIVED),
    ],
)
def test_transition_succeeds_when_step_is_in_lifecycle(current: EventStatus, target: EventStatus) -> None:
    assert make_event(current).transition(target).status is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DRAFT, S.LIVE),
        (S.DRAFT, S.ARCHIVED),
        (S.OPEN, S.DRAFT),
        (S.LIVE, S.OPEN),
        (S.CLOSED, S.LIVE),
        (S.ARCHIVED, S.CANCELLED),
        (S.ARCHIVED, S.DRAFT),
        (S.CANCELLED, S.OPEN),
        (S.OPEN, S.OPEN),
    ],
)
def test_transition_refused_with_code_when_step_skips_or_goes_back(
    current: EventStatus, target: EventStatus
) -> None:
    with pytest.raises(InvalidTransition) as info:
        make_event(current).transition(target)
    assert info.value.code == "invalid_transition"
    assert info.value.params["current"] == current.value
    assert info.value.params["target"] == target.value


def test_archived_is_terminal() -> None:
    assert allowed_transitions(S.ARCHIVED) == frozenset()


def test_validate_event_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_event(
            name=" ",
            starts_at=datetime(2026, 6, 2, tzinfo=UTC),
            ends_at=datetime(2026, 6, 1, tzinfo=UTC),
            timezone="Mars/Olympus",
            capacity=-1,
            min_age=200,
            locale="fr",
        )
    codes = {(e.field, e.code) for e in info.value.errors}
    assert codes == {
        ("name", "missing_field"),
        ("ends_at", "ends_before_start"),
        ("timezone", "invalid_timezone"),
        ("capacity", "negative_capacity"),
        ("min_age", "invalid_min_age"),
        ("locale", "invalid_locale"),
    }


def test_validate_event_refuses_a_capacity_the_database_could_not_store() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_event(
            name="x",
            starts_at=datetime(2026, 6, 1, tzinfo=UTC),
            ends_at=datetime(2026, 6, 2, tzinfo=UTC),
            timezone="UTC",
            capacity=2**40,
            min_age=14,
            locale="ko",
        )
    assert [(e.field, e.code) for e in info.value.errors] == [("capacity", "too_large")]
