"""Compulsory school age: prescribed-day starts, last-Friday-in-June ends, leap-day birthdays.

All dates of birth are synthetic.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.rules.school_age import (
    PRESCRIBED_DAYS,
    age_on,
    anniversary,
    compulsory_school_age,
    compulsory_school_age_end,
    compulsory_school_age_start,
    is_of_compulsory_school_age,
    school_leaving_date,
    school_year_ending,
)

D = dt.date
ONE_DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("date_of_birth", "expected"),
    [
        pytest.param(D(2020, 12, 31), D(2025, 12, 31), id="EA1996-s8(2)-5th-bday-on-31Dec"),
        pytest.param(D(2021, 1, 1), D(2026, 3, 31), id="EA1996-s8(2)-5th-bday-1Jan-to-31Mar"),
        pytest.param(D(2021, 3, 30), D(2026, 3, 31), id="EA1996-s8(2)-5th-bday-30Mar-to-31Mar"),
        pytest.param(D(2021, 3, 31), D(2026, 3, 31), id="EA1996-s8(2)-5th-bday-on-31Mar"),
        pytest.param(D(2021, 4, 1), D(2026, 8, 31), id="EA1996-s8(2)-5th-bday-1Apr-to-31Aug"),
        pytest.param(D(2021, 8, 31), D(2026, 8, 31), id="EA1996-s8(2)-5th-bday-on-31Aug"),
        pytest.param(D(2021, 9, 1), D(2026, 12, 31), id="EA1996-s8(2)-5th-bday-1Sep-to-31Dec"),
        pytest.param(D(2016, 2, 29), D(2021, 3, 31), id="EA1996-s8(2)-leap-bday-5th-on-1Mar"),
        pytest.param(D(2020, 2, 29), D(2025, 3, 31), id="EA1996-s8(2)-leap-bday-2020"),
    ],
)
def test_compulsory_school_age_start(date_of_birth: dt.date, expected: dt.date) -> None:
    assert compulsory_school_age_start(date_of_birth) == expected


@pytest.mark.parametrize(
    ("date_of_birth", "expected"),
    [
        pytest.param(
            D(2009, 9, 1), D(2026, 6, 26), id="EA1996-s8(3)(c)-16-on-1Sep-2025-ends-Jun-2026"
        ),
        pytest.param(
            D(2010, 8, 31), D(2026, 6, 26), id="EA1996-s8(3)(a)-16-on-31Aug-2026-ends-Jun-2026"
        ),
        pytest.param(
            D(2009, 8, 31), D(2025, 6, 27), id="EA1996-s8(3)(a)-16-on-31Aug-2025-ends-Jun-2025"
        ),
        pytest.param(
            D(2010, 9, 1), D(2027, 6, 25), id="EA1996-s8(3)(c)-16-on-1Sep-2026-ends-Jun-2027"
        ),
        pytest.param(D(2010, 6, 26), D(2026, 6, 26), id="EA1996-s8(3)(b)-16-on-the-leaving-date"),
        pytest.param(
            D(2010, 6, 27), D(2026, 6, 26), id="EA1996-s8(3)(a)-16-day-after-leaving-date"
        ),
        pytest.param(
            D(2010, 6, 25), D(2026, 6, 26), id="EA1996-s8(3)(c)-16-day-before-leaving-date"
        ),
        pytest.param(D(2008, 2, 29), D(2024, 6, 28), id="EA1996-s8(3)-leap-bday-16-in-leap-year"),
        pytest.param(D(2084, 2, 29), D(2100, 6, 25), id="EA1996-s8(3)-leap-bday-16-on-1Mar-2100"),
    ],
)
def test_compulsory_school_age_end(date_of_birth: dt.date, expected: dt.date) -> None:
    end = compulsory_school_age_end(date_of_birth)
    assert end == expected
    assert end.weekday() == 4


@pytest.mark.parametrize(
    ("date_of_birth", "on", "expected"),
    [
        pytest.param(D(2010, 8, 31), D(2026, 6, 26), True, id="EA1996-s8(3)-of-age-on-last-friday"),
        pytest.param(D(2010, 8, 31), D(2026, 6, 27), False, id="EA1996-s8(3)-not-the-day-after"),
        pytest.param(
            D(2009, 9, 1), D(2026, 6, 26), True, id="EA1996-s8(3)-16yo-still-of-age-on-friday"
        ),
        pytest.param(
            D(2009, 9, 1), D(2026, 6, 27), False, id="EA1996-s8(3)-16yo-not-the-day-after"
        ),
        pytest.param(
            D(2021, 1, 1), D(2026, 3, 31), True, id="EA1996-s8(2)-of-age-on-prescribed-day"
        ),
        pytest.param(D(2021, 1, 1), D(2026, 3, 30), False, id="EA1996-s8(2)-not-the-day-before"),
        pytest.param(D(2021, 1, 1), D(2026, 1, 1), False, id="EA1996-s8(2)-not-on-5th-birthday"),
        pytest.param(
            D(2020, 12, 31), D(2025, 12, 31), True, id="EA1996-s8(2)-5th-bday-is-prescribed"
        ),
    ],
)
def test_is_of_compulsory_school_age(date_of_birth: dt.date, on: dt.date, expected: bool) -> None:
    assert is_of_compulsory_school_age(date_of_birth, on) is expected


@pytest.mark.parametrize(
    ("date_of_birth", "on", "expected"),
    [
        pytest.param(
            D(2008, 2, 29), D(2025, 2, 28), 16, id="FLRA1969-s9-leap-bday-not-yet-in-common-year"
        ),
        pytest.param(
            D(2008, 2, 29), D(2025, 3, 1), 17, id="FLRA1969-s9-leap-bday-on-1Mar-common-year"
        ),
        pytest.param(D(2008, 2, 29), D(2024, 2, 29), 16, id="FLRA1969-s9-leap-bday-in-leap-year"),
        pytest.param(D(2008, 2, 29), D(2024, 2, 28), 15, id="FLRA1969-s9-day-before-leap-bday"),
        pytest.param(D(2010, 9, 1), D(2026, 9, 1), 16, id="FLRA1969-s9-age-from-start-of-birthday"),
        pytest.param(D(2010, 9, 1), D(2026, 8, 31), 15, id="FLRA1969-s9-day-before-birthday"),
    ],
)
def test_age_on(date_of_birth: dt.date, on: dt.date, expected: int) -> None:
    assert age_on(date_of_birth, on) == expected


def test_anniversary_of_leap_day() -> None:
    assert anniversary(D(2008, 2, 29), 2025) == D(2025, 3, 1)
    assert anniversary(D(2008, 2, 29), 2028) == D(2028, 2, 29)
    assert anniversary(D(2010, 9, 1), 2026) == D(2026, 9, 1)


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the date of birth"):
        age_on(D(2010, 9, 1), D(2010, 8, 31))


def test_school_year_boundary_is_1_september() -> None:
    assert school_year_ending(D(2025, 8, 31)) == 2025
    assert school_year_ending(D(2025, 9, 1)) == 2026


# -- properties ---------------------------------------------------------------------------------

births = st.dates(min_value=D(1950, 1, 1), max_value=D(2150, 12, 31))
PRESCRIBED = frozenset(PRESCRIBED_DAYS)


@given(births)
def test_start_is_the_first_prescribed_day_on_or_after_the_5th_birthday(dob: dt.date) -> None:
    start = compulsory_school_age_start(dob)
    fifth = anniversary(dob, dob.year + 5)
    assert (start.month, start.day) in PRESCRIBED
    assert start >= fifth
    assert age_on(dob, start) == 5
    # No prescribed day is skipped between the birthday and the start.
    day = fifth
    while day < start:
        assert (day.month, day.day) not in PRESCRIBED
        day += ONE_DAY


@given(births)
def test_end_is_a_june_friday_when_the_child_is_15_or_16(dob: dt.date) -> None:
    end = compulsory_school_age_end(dob)
    assert end.month == 6
    assert end.weekday() == 4
    assert end.day >= 24
    assert end == school_leaving_date(end.year)
    assert age_on(dob, end) in (15, 16)
    # The 16th birthday falls in the school year (1 Sep - 31 Aug) that ends in end.year.
    sixteenth = anniversary(dob, dob.year + 16)
    assert D(end.year - 1, 9, 1) <= sixteenth <= D(end.year, 8, 31)


@given(births)
def test_of_age_exactly_from_start_to_end(dob: dt.date) -> None:
    span = compulsory_school_age(dob)
    assert span.start < span.end
    assert is_of_compulsory_school_age(dob, span.start)
    assert is_of_compulsory_school_age(dob, span.end)
    assert not is_of_compulsory_school_age(dob, span.start - ONE_DAY)
    assert not is_of_compulsory_school_age(dob, span.end + ONE_DAY)


@given(st.integers(1900, 2200))
def test_leaving_date_is_the_last_friday_in_june(year: int) -> None:
    friday = school_leaving_date(year)
    assert (friday.month, friday.weekday()) == (6, 4)
    assert (friday + dt.timedelta(days=7)).month == 7
