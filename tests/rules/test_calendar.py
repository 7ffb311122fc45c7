"""School-day arithmetic across a half-term break, plus property tests on random calendars.

The term is synthetic and obviously so: a Welsh-style autumn term 2025, weekdays only,
1 Sep - 24 Oct, half term 27-31 Oct, then 3 Nov - 19 Dec (40 + 35 = 75 school days).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.rules.calendar import (
    CalendarExhausted,
    Inclusive,
    SchoolDays,
    days_meeting_in_both_sessions,
)
from hub_contracts import SchoolCalendar, Session

D = dt.date
SETTING = "W-SYNTH-001"


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    span = (last - first).days + 1
    days = (first + dt.timedelta(days=i) for i in range(span))
    return [day for day in days if day.weekday() < 5]


AUTUMN_2025 = weekdays(D(2025, 9, 1), D(2025, 10, 24)) + weekdays(D(2025, 11, 3), D(2025, 12, 19))
TERM = SchoolDays.from_calendar(SchoolCalendar(setting_id=SETTING, school_days=tuple(AUTUMN_2025)))


def test_synthetic_term_shape() -> None:
    assert len(TERM) == 75
    assert (TERM.covers_from, TERM.covers_to) == (D(2025, 9, 1), D(2025, 12, 19))
    assert TERM.setting_id == SETTING


# -- stepping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        pytest.param(
            D(2025, 10, 23), 10, D(2025, 11, 13), id="wales-reg12(3)-deleted-thu-before-ht"
        ),
        pytest.param(
            D(2025, 10, 24), 10, D(2025, 11, 14), id="wales-reg12(3)-deleted-last-day-pre-ht"
        ),
        pytest.param(D(2025, 10, 25), 10, D(2025, 11, 14), id="wales-reg12(3)-deleted-sat-in-ht"),
        pytest.param(D(2025, 10, 29), 1, D(2025, 11, 3), id="next-school-day-from-ht-wed"),
        pytest.param(
            D(2025, 10, 20), 5, D(2025, 11, 3), id="eng-2024-reg10(7)-N-within-5-across-ht"
        ),
        pytest.param(D(2025, 9, 5), 1, D(2025, 9, 8), id="friday-to-monday"),
        pytest.param(D(2025, 8, 31), 1, D(2025, 9, 1), id="day-before-coverage-steps-in"),
        pytest.param(D(2025, 12, 12), 5, D(2025, 12, 19), id="exactly-reaches-last-day"),
    ],
)
def test_nth_school_day_after(day: dt.date, n: int, expected: dt.date) -> None:
    assert TERM.nth_school_day_after(day, n) == expected
    assert TERM.school_days_between(day, expected, inclusive="end") == n


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        pytest.param(D(2025, 11, 3), 1, D(2025, 10, 24), id="previous-across-ht"),
        pytest.param(D(2025, 11, 3), 5, D(2025, 10, 20), id="five-back-across-ht"),
        pytest.param(D(2025, 10, 29), 1, D(2025, 10, 24), id="previous-from-inside-ht"),
        pytest.param(D(2025, 12, 20), 1, D(2025, 12, 19), id="day-after-coverage-steps-in"),
    ],
)
def test_nth_school_day_before(day: dt.date, n: int, expected: dt.date) -> None:
    assert TERM.nth_school_day_before(day, n) == expected


def test_next_and_previous_across_half_term() -> None:
    assert TERM.next_school_day(D(2025, 10, 24)) == D(2025, 11, 3)
    assert TERM.previous_school_day(D(2025, 11, 3)) == D(2025, 10, 24)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        pytest.param(
            lambda: TERM.nth_school_day_after(D(2025, 12, 12), 6),
            "fewer than 6",
            id="after-runs-off-end",
        ),
        pytest.param(
            lambda: TERM.nth_school_day_after(D(2025, 12, 19), 1),
            "fewer than 1",
            id="after-last-day",
        ),
        pytest.param(
            lambda: TERM.nth_school_day_after(D(2025, 7, 1), 1),
            "before coverage",
            id="after-from-before-coverage",
        ),
        pytest.param(
            lambda: TERM.nth_school_day_before(D(2025, 9, 5), 5),
            "fewer than 5",
            id="before-runs-off-start",
        ),
        pytest.param(
            lambda: TERM.nth_school_day_before(D(2026, 1, 5), 1),
            "after coverage",
            id="before-from-after-coverage",
        ),
        pytest.param(
            lambda: TERM.is_school_day(D(2026, 1, 5)),
            "cannot tell",
            id="membership-outside-coverage",
        ),
        pytest.param(
            lambda: TERM.school_days_between(D(2025, 12, 1), D(2026, 1, 9), inclusive="both"),
            "cannot count",
            id="count-past-coverage",
        ),
    ],
)
def test_calendar_exhausted_names_the_setting(call: Callable[[], object], fragment: str) -> None:
    with pytest.raises(CalendarExhausted, match=fragment) as info:
        call()
    assert isinstance(info.value, LookupError)
    assert info.value.setting_id == SETTING
    assert SETTING in str(info.value)
    assert "2025-09-01..2025-12-19" in str(info.value)


def test_empty_calendar_is_exhausted_everywhere() -> None:
    empty = SchoolDays([], setting_id=SETTING)
    with pytest.raises(CalendarExhausted, match="is empty"):
        empty.nth_school_day_after(D(2025, 9, 1), 1)
    with pytest.raises(CalendarExhausted):
        empty.is_school_day(D(2025, 9, 1))


def test_explicit_coverage_answers_holidays_outside_the_term() -> None:
    year = SchoolDays(
        AUTUMN_2025, setting_id=SETTING, covers_from=D(2025, 8, 1), covers_to=D(2025, 12, 31)
    )
    assert not year.is_school_day(D(2025, 12, 25))
    assert year.school_days_between(D(2025, 8, 1), D(2025, 12, 31), inclusive="both") == 75
    assert year.nth_school_day_after(D(2025, 8, 1), 1) == D(2025, 9, 1)
    with pytest.raises(CalendarExhausted):
        year.nth_school_day_after(D(2025, 12, 20), 1)


def test_coverage_must_include_every_school_day() -> None:
    with pytest.raises(ValueError, match="must include every school day"):
        SchoolDays(AUTUMN_2025, setting_id=SETTING, covers_from=D(2025, 10, 1))


# -- counting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "inclusive", "expected"),
    [
        pytest.param(
            D(2025, 10, 24), D(2025, 11, 14), "end", 10, id="wales-reg12(3)-elapsed-across-ht"
        ),
        pytest.param(D(2025, 10, 24), D(2025, 11, 14), "both", 11, id="both-ends-across-ht"),
        pytest.param(D(2025, 10, 24), D(2025, 11, 14), "start", 10, id="start-only-across-ht"),
        pytest.param(D(2025, 10, 24), D(2025, 11, 14), "neither", 9, id="neither-across-ht"),
        pytest.param(D(2025, 10, 25), D(2025, 11, 2), "both", 0, id="half-term-has-none"),
        pytest.param(D(2025, 9, 1), D(2025, 12, 19), "both", 75, id="whole-term"),
        pytest.param(D(2025, 10, 27), D(2025, 10, 27), "both", 0, id="single-holiday"),
        pytest.param(D(2025, 11, 3), D(2025, 11, 3), "both", 1, id="single-school-day"),
        pytest.param(D(2025, 11, 3), D(2025, 11, 3), "end", 0, id="empty-half-open"),
        pytest.param(
            D(2025, 8, 31), D(2025, 9, 5), "end", 5, id="half-open-from-day-before-coverage"
        ),
    ],
)
def test_school_days_between(
    start: dt.date, end: dt.date, inclusive: Inclusive, expected: int
) -> None:
    assert TERM.school_days_between(start, end, inclusive=inclusive) == expected
    listed = TERM.list_school_days_between(start, end, inclusive=inclusive)
    assert len(listed) == expected
    assert all(TERM.is_school_day(day) for day in listed)


def test_reversed_range_is_an_error_not_zero() -> None:
    with pytest.raises(ValueError, match="before start"):
        TERM.school_days_between(D(2025, 11, 14), D(2025, 10, 24), inclusive="end")


def test_inclusive_must_be_a_known_convention() -> None:
    with pytest.raises(ValueError, match="inclusive must be one of"):
        TERM.school_days_between(D(2025, 9, 1), D(2025, 9, 5), inclusive="yes")  # type: ignore[arg-type]


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TERM.nth_school_day_after(D(2025, 9, 1), 0)
    with pytest.raises(ValueError, match="at least 1"):
        TERM.nth_school_day_before(D(2025, 9, 1), 0)


# -- continuous runs ----------------------------------------------------------------------------

_IN_TERM = frozenset(AUTUMN_2025)
OCT_13_24 = weekdays(D(2025, 10, 13), D(2025, 10, 24))
#: The ten school days 20 Oct - 7 Nov, skipping half term.
OCT_20_NOV_7 = [d for d in weekdays(D(2025, 10, 20), D(2025, 11, 7)) if d in _IN_TERM]
NOV_3_14 = weekdays(D(2025, 11, 3), D(2025, 11, 14))


@pytest.mark.parametrize(
    ("absent", "lengths"),
    [
        pytest.param(
            OCT_20_NOV_7,
            [10],
            id="wales-reg12(1)(b)-10-continuous-across-ht",
        ),
        pytest.param(
            OCT_13_24 + NOV_3_14, [20], id="wales-reg8(1)(h)-eng-2024-reg9(1)(i)-20-across-ht"
        ),
        pytest.param(
            [d for d in OCT_20_NOV_7 if d != D(2025, 11, 4)],
            [6, 3],
            id="wales-reg12(1)(b)-present-day-breaks-run",
        ),
        pytest.param([D(2025, 9, 1), D(2025, 9, 3), D(2025, 9, 5)], [1, 1, 1], id="alternate-days"),
        pytest.param([], [], id="no-absence"),
    ],
)
def test_continuous_runs(absent: list[dt.date], lengths: list[int]) -> None:
    runs = TERM.continuous_runs(absent)
    assert [run.length for run in runs] == lengths
    assert [day for run in runs for day in run.days] == sorted(absent)


def test_run_spanning_half_term_reports_its_ends_and_trigger_day() -> None:
    (run,) = TERM.continuous_runs(OCT_13_24 + NOV_3_14)
    assert (run.first, run.last, run.length) == (D(2025, 10, 13), D(2025, 11, 14), 20)
    # The 10th continuous day is the day the Wales reg 12(1)(b) threshold is reached.
    assert run.days[9] == D(2025, 10, 24)


def test_run_ending_on_looks_back_only() -> None:
    absent = OCT_13_24 + NOV_3_14
    run = TERM.run_ending_on(absent, D(2025, 11, 3))
    assert run is not None
    assert (run.first, run.last, run.length) == (D(2025, 10, 13), D(2025, 11, 3), 11)
    assert TERM.run_ending_on(absent, D(2025, 11, 17)) is None


def test_run_ending_on_needs_a_school_day() -> None:
    with pytest.raises(ValueError, match="not a school day"):
        TERM.run_ending_on([], D(2025, 10, 28))


def test_condition_on_a_non_school_day_is_a_data_error() -> None:
    with pytest.raises(ValueError, match="2025-10-28 is not a school day"):
        TERM.continuous_runs([D(2025, 10, 24), D(2025, 10, 28)])


def _both_sessions(days: Iterable[dt.date]) -> dict[tuple[dt.date, Session], bool]:
    return {(day, session): True for day in days for session in Session}


def test_half_day_present_breaks_a_continuous_run() -> None:
    # Wales reg 12(1)(b): a day counts only when both sessions are unauthorised absence.
    flags = _both_sessions(OCT_20_NOV_7)
    flags[(D(2025, 11, 4), Session.PM)] = False
    days = days_meeting_in_both_sessions(flags)
    assert D(2025, 11, 4) not in days
    assert [run.length for run in TERM.continuous_runs(days)] == [6, 3]


def test_missing_session_does_not_count_as_absent() -> None:
    flags = {(D(2025, 11, 4), Session.AM): True}
    assert days_meeting_in_both_sessions(flags) == frozenset()


def test_school_days_is_immutable_and_comparable() -> None:
    with pytest.raises(AttributeError, match="immutable"):
        TERM._days = ()
    same = SchoolDays(reversed(AUTUMN_2025), setting_id=SETTING)
    assert same == TERM
    assert hash(same) == hash(TERM)
    assert SchoolDays(AUTUMN_2025, setting_id="W-OTHER") != TERM


def test_datetimes_are_refused() -> None:
    with pytest.raises(TypeError, match=r"datetime\.date"):
        SchoolDays([dt.datetime(2025, 9, 1, 9, 0)], setting_id=SETTING)


# -- properties on random calendars -------------------------------------------------------------

BASE = D(2024, 1, 1)


def _day(offset: int) -> dt.date:
    return BASE + dt.timedelta(days=offset)


calendars = st.sets(st.integers(0, 200), min_size=1, max_size=80).map(
    lambda offsets: SchoolDays((_day(o) for o in offsets), setting_id="P-SYNTH")
)


@st.composite
def calendar_and_subset(draw: st.DrawFn) -> tuple[SchoolDays, frozenset[dt.date]]:
    calendar = draw(calendars)
    subset = draw(st.sets(st.sampled_from(calendar.days)))
    return calendar, frozenset(subset)


@given(calendars, st.integers(-1, 210), st.integers(1, 90))
def test_nth_after_matches_a_brute_force_model(calendar: SchoolDays, offset: int, n: int) -> None:
    day = _day(offset)
    assert calendar.covers_from is not None
    later = [d for d in calendar.days if d > day]
    if day < calendar.covers_from - dt.timedelta(days=1) or n > len(later):
        with pytest.raises(CalendarExhausted):
            calendar.nth_school_day_after(day, n)
        return
    result = calendar.nth_school_day_after(day, n)
    assert result == later[n - 1]
    assert calendar.is_school_day(result)
    assert result > day
    assert calendar.school_days_between(day, result, inclusive="end") == n


@given(calendars, st.integers(-1, 210), st.integers(1, 90))
def test_nth_before_matches_a_brute_force_model(calendar: SchoolDays, offset: int, n: int) -> None:
    day = _day(offset)
    assert calendar.covers_to is not None
    if day > calendar.covers_to + dt.timedelta(days=1):
        with pytest.raises(CalendarExhausted):
            calendar.nth_school_day_before(day, n)
        return
    earlier = [d for d in calendar.days if d < day]
    if n > len(earlier):
        with pytest.raises(CalendarExhausted):
            calendar.nth_school_day_before(day, n)
        return
    result = calendar.nth_school_day_before(day, n)
    assert result == earlier[-n]
    assert result < day
    assert calendar.school_days_between(result, day, inclusive="start") == n


@given(
    calendars,
    st.integers(0, 200),
    st.integers(0, 200),
    st.sampled_from(["both", "end", "start", "neither"]),
)
def test_count_matches_a_brute_force_model(
    calendar: SchoolDays, a: int, b: int, inclusive: Inclusive
) -> None:
    start, end = sorted((_day(a), _day(b)))
    assert calendar.covers_from is not None
    assert calendar.covers_to is not None
    if not calendar.covers_from <= start <= end <= calendar.covers_to:
        if inclusive == "both":
            with pytest.raises(CalendarExhausted):
                calendar.school_days_between(start, end, inclusive=inclusive)
        return
    include_start = inclusive in ("both", "start")
    include_end = inclusive in ("both", "end")
    expected = [
        d
        for d in calendar.days
        if (start < d or (include_start and d == start)) and (d < end or (include_end and d == end))
    ]
    assert calendar.school_days_between(start, end, inclusive=inclusive) == len(expected)
    assert calendar.list_school_days_between(start, end, inclusive=inclusive) == tuple(expected)


@given(calendars, st.lists(st.integers(0, 200), min_size=3, max_size=3))
def test_half_open_counts_add_up(calendar: SchoolDays, offsets: list[int]) -> None:
    assert calendar.covers_from is not None
    assert calendar.covers_to is not None
    a, b, c = sorted(_day(o) for o in offsets)
    if a < calendar.covers_from - dt.timedelta(days=1) or c > calendar.covers_to:
        return
    whole = calendar.school_days_between(a, c, inclusive="end")
    parts = calendar.school_days_between(a, b, inclusive="end") + calendar.school_days_between(
        b, c, inclusive="end"
    )
    assert whole == parts


@given(calendars)
def test_next_and_previous_are_inverses_on_school_days(calendar: SchoolDays) -> None:
    days = calendar.days
    for earlier, later in itertools.pairwise(days):
        assert calendar.next_school_day(earlier) == later
        assert calendar.previous_school_day(later) == earlier
        assert calendar.previous_school_day(calendar.next_school_day(earlier)) == earlier
        assert calendar.next_school_day(calendar.previous_school_day(later)) == later


@given(calendar_and_subset())
def test_runs_partition_the_condition_days(case: tuple[SchoolDays, frozenset[dt.date]]) -> None:
    calendar, condition = case
    runs = calendar.continuous_runs(condition)
    assert [day for run in runs for day in run.days] == sorted(condition)
    position = {day: i for i, day in enumerate(calendar.days)}
    for run in runs:
        # Contiguous in the calendar ...
        assert [position[d] for d in run.days] == list(
            range(position[run.first], position[run.last] + 1)
        )
        # ... and maximal: the neighbouring school days lack the condition.
        before, after = position[run.first] - 1, position[run.last] + 1
        assert before < 0 or calendar.days[before] not in condition
        assert after >= len(calendar.days) or calendar.days[after] not in condition
        ending = calendar.run_ending_on(condition, run.last)
        assert ending == run


@given(
    st.dictionaries(
        st.tuples(st.integers(0, 30).map(_day), st.sampled_from(list(Session))), st.booleans()
    )
)
def test_both_sessions_rule(flags: dict[tuple[dt.date, Session], bool]) -> None:
    days = days_meeting_in_both_sessions(flags)
    for day in {d for d, _ in flags}:
        both = flags.get((day, Session.AM), False) and flags.get((day, Session.PM), False)
        assert (day in days) == both
