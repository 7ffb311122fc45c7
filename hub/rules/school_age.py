"""Compulsory school age (England and Wales): when it starts, when it ends, who is of it.

Pure: no clock, the date in question is always passed in.

Start — Education Act 1996 s8(2); Education (Start of Compulsory School Age) Order 1998: a child
becomes of compulsory school age on reaching 5 if the 5th birthday is a prescribed day (31 March,
31 August, 31 December), otherwise at the beginning of the next prescribed day. The hub models
compulsory school age *from that prescribed day*. In practice the duty to attend bites at the start
of the first term after it (seed-digest.md §10.21: WG "31 December, 31 March and 31 August …
following their 5th birthday"; VOG/Wrexham "start of the first term commencing after their fifth
birthday"). That term start depends on the setting's calendar, so callers that need it take the
first school day on or after `compulsory_school_age_start` from that calendar.

End — Education Act 1996 s8(3)-(4); Education (School Leaving Date) Order 1997: a child ceases to be
of compulsory school age at the end of the school leaving date — the last Friday in June — of the
school year (1 September to 31 August) in which they turn 16. The child IS of compulsory school age
on that Friday and is not from the Saturday. seed-digest.md §10.21: all seeds agree.

Birthdays on 29 February: in a common year the anniversary is taken as 1 March (the time of
attaining an age is the start of the anniversary, Family Law Reform Act 1969 s9; 1 March is the
prevailing UK practice and is statutory in Scotland). It never moves the start or the end — 29 Feb
and 1 Mar share a prescribed-day window and a school year — but it does decide `age_on`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

__all__ = [
    "PRESCRIBED_DAYS",
    "CompulsorySchoolAge",
    "age_on",
    "anniversary",
    "compulsory_school_age",
    "compulsory_school_age_end",
    "compulsory_school_age_start",
    "is_of_compulsory_school_age",
    "school_leaving_date",
    "school_year_ending",
]

#: (month, day) of the prescribed days, in calendar order.
# Education (Start of Compulsory School Age) Order 1998; seed-digest.md §10.21
PRESCRIBED_DAYS: Final[tuple[tuple[int, int], ...]] = ((3, 31), (8, 31), (12, 31))

_FRIDAY: Final = 4
# The school year runs 1 September to 31 August (the hub's model of Education Act 1996 s579).
_SCHOOL_YEAR_FIRST_MONTH: Final = 9


@dataclass(frozen=True, slots=True)
class CompulsorySchoolAge:
    """The first and last day (both inclusive) on which a child is of compulsory school age."""

    start: dt.date
    end: dt.date

    def includes(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def anniversary(date_of_birth: dt.date, year: int) -> dt.date:
    """The birthday in ``year``; a 29 February birthday falls on 1 March in a common year."""
    if date_of_birth.month == 2 and date_of_birth.day == 29:
        try:
            return dt.date(year, 2, 29)
        except ValueError:
            # Family Law Reform Act 1969 s9 (anniversary); 1 March by UK practice.
            return dt.date(year, 3, 1)
    return date_of_birth.replace(year=year)


def age_on(date_of_birth: dt.date, on: dt.date) -> int:
    """Age in whole years on ``on``; the age is attained at the start of the birthday."""
    if on < date_of_birth:
        raise ValueError(f"{on} is before the date of birth {date_of_birth}")
    years = on.year - date_of_birth.year
    return years if on >= anniversary(date_of_birth, on.year) else years - 1


def compulsory_school_age_start(date_of_birth: dt.date) -> dt.date:
    """The first day of compulsory school age: the prescribed day on or after the 5th birthday.

    This is the legal start, not the first day the child must attend: that is the start of the
    next term, which depends on the setting's calendar (see the module docstring).
    """
    # Education Act 1996 s8(2); Start of Compulsory School Age Order 1998; seed-digest.md §10.21
    fifth = anniversary(date_of_birth, date_of_birth.year + 5)
    for month, day in PRESCRIBED_DAYS:
        prescribed = dt.date(fifth.year, month, day)
        if prescribed >= fifth:
            return prescribed
    raise AssertionError("31 December is a prescribed day, so one always follows")


def school_leaving_date(year: int) -> dt.date:
    """The school leaving date of a calendar year: its last Friday in June."""
    # Education Act 1996 s8(4); Education (School Leaving Date) Order 1997
    june_30 = dt.date(year, 6, 30)
    return june_30 - dt.timedelta(days=(june_30.weekday() - _FRIDAY) % 7)


def school_year_ending(day: dt.date) -> int:
    """The calendar year in which the school year containing ``day`` ends (1 Sep - 31 Aug)."""
    return day.year + 1 if day.month >= _SCHOOL_YEAR_FIRST_MONTH else day.year


def compulsory_school_age_end(date_of_birth: dt.date) -> dt.date:
    """The last day of compulsory school age: the last Friday in June of the school year in which
    the child turns 16. The child is of compulsory school age on that day and not after it.

    Born 1 Sep 2009 → 16 on 1 Sep 2025 → school year 2025/26 → Friday 26 June 2026.
    Born 31 Aug 2010 → 16 on 31 Aug 2026 → school year 2025/26 → Friday 26 June 2026 (aged 15).
    """
    # Education Act 1996 s8(3)-(4); School Leaving Date Order 1997; seed-digest.md §10.21
    sixteenth = anniversary(date_of_birth, date_of_birth.year + 16)
    return school_leaving_date(school_year_ending(sixteenth))


def compulsory_school_age(date_of_birth: dt.date) -> CompulsorySchoolAge:
    """Both ends of compulsory school age for a child born on ``date_of_birth``."""
    return CompulsorySchoolAge(
        start=compulsory_school_age_start(date_of_birth),
        end=compulsory_school_age_end(date_of_birth),
    )


def is_of_compulsory_school_age(date_of_birth: dt.date, on: dt.date) -> bool:
    """Whether the child is of compulsory school age on ``on`` (both ends inclusive)."""
    return compulsory_school_age(date_of_birth).includes(on)
