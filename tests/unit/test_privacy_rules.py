"""The stand-in birth dates of an erased event keep everyone's age group on its first day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from turnout.domain.privacy import BirthDateBand, birth_date_bands
from turnout.services.statistics import age_group


def stand_in(born: date, bands: list[BirthDateBand]) -> date:
    matching = [
        band
        for band in bands
        if (band.after is None or born > band.after) and (band.up_to is None or born <= band.up_to)
    ]
    assert len(matching) == 1, (born, matching)  # the bands cover every date exactly once
    return matching[0].stand_in


@pytest.mark.parametrize(
    "first_day", [date(2026, 6, 1), date(2028, 2, 29), date(2027, 3, 1), date(2026, 12, 31)]
)
def test_stand_in_birth_dates_keep_the_age_group_when_an_event_is_erased(first_day: date) -> None:
    bands = birth_date_bands(first_day)
    born = first_day + timedelta(days=400)
    stand_ins = set()
    while born > first_day - timedelta(days=365 * 90):
        replaced = stand_in(born, bands)
        assert age_group(replaced, first_day) == age_group(born, first_day), born
        stand_ins.add(replaced)
        born -= timedelta(days=1)
    assert len(stand_ins) == 7  # one date per age group (and one for dates after the first day)
