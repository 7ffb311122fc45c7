"""School-day arithmetic on one setting's own calendar.

Every statutory period counted in school days ("within 10 school days after the deletion",
"10 continuous school days of unauthorised absence") is counted on the calendar of the setting
concerned (DESIGN.md §3, `SchoolCalendar`). This module is pure: no clock, no I/O; every date
is passed in.

Coverage: a calendar is authoritative only over the window it *covers* — by default from its first
to its last school day, or a wider window given explicitly. Inside the window a date that is not
listed is definitely not a school day; outside it nothing is known, so every query that would have
to look outside raises `CalendarExhausted` instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, NoReturn, get_args

from hub_contracts import SchoolCalendar, Session

__all__ = [
    "CalendarExhausted",
    "Inclusive",
    "SchoolDayRun",
    "SchoolDays",
    "days_meeting_in_both_sessions",
]

#: Which ends of a ``start``..``end`` range count. Always passed by keyword, never defaulted.
Inclusive = Literal["both", "end", "start", "neither"]
_INCLUSIVE_VALUES: Final = frozenset(get_args(Inclusive))


class CalendarExhausted(LookupError):
    """The setting's calendar does not cover the dates a question needs.

    Raised instead of guessing whether an unlisted date outside the covered window is a school day.
    """

    def __init__(
        self,
        setting_id: str,
        reason: str,
        *,
        covers_from: dt.date | None,
        covers_to: dt.date | None,
    ) -> None:
        window = "is empty" if covers_from is None else f"covers {covers_from}..{covers_to}"
        super().__init__(f"school calendar for setting {setting_id!r} {window}: {reason}")
        self.setting_id = setting_id
        self.reason = reason
        self.covers_from = covers_from
        self.covers_to = covers_to


@dataclass(frozen=True, slots=True)
class SchoolDayRun:
    """A maximal run of consecutive school days (consecutive in the setting's calendar)."""

    days: tuple[dt.date, ...]

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("a run has at least one school day")

    @property
    def first(self) -> dt.date:
        return self.days[0]

    @property
    def last(self) -> dt.date:
        return self.days[-1]

    @property
    def length(self) -> int:
        """Length in school days (weekends and holidays inside the run are not counted)."""
        return len(self.days)


def days_meeting_in_both_sessions(
    session_flags: Mapping[tuple[dt.date, Session], bool],
) -> frozenset[dt.date]:
    """Reduce per-session booleans to the days on which BOTH sessions meet the condition.

    For continuous-absence runs (Wales reg 12(1)(b), reg 8(1)(h); England 2024 reg 9(1)(i)) a
    school day counts only when the AM and the PM session both meet the condition. A day with
    only one session flagged True, or with a session missing from the mapping, does not count —
    an unrecorded session is not evidence of absence, so it breaks a run. If a session should be
    neutral (e.g. not a possible session because of a planned closure), the caller decides that
    and flags it True before calling.
    """
    am_days = {
        day for (day, session), met in session_flags.items() if met and session is Session.AM
    }
    return frozenset(
        day
        for (day, session), met in session_flags.items()
        if met and session is Session.PM and day in am_days
    )


class SchoolDays:
    """An immutable, indexed view of one setting's school days.

    Built from a `SchoolCalendar` (`SchoolDays.from_calendar`) or any iterable of dates. Dates are
    kept as a sorted tuple plus a date→position map, so membership is O(1) and counting and
    stepping are O(log n) (bisect), whatever the calendar's length.

    Counting convention — `school_days_between(start, end, *, inclusive=...)` takes a required
    keyword saying which ends count:

    * ``"end"``: school days d with start < d <= end — "school days elapsed after start".
      This is the convention of `nth_school_day_after`: for r = nth_school_day_after(d, n),
      school_days_between(d, r, inclusive="end") == n.
    * ``"both"``: start <= d <= end. ``"start"``: start <= d < end. ``"neither"``: start < d < end.

    ``end`` before ``start`` is a caller error (`ValueError`), never an empty count.
    """

    __slots__ = ("_covers_from", "_covers_to", "_days", "_position", "_setting_id")

    _days: tuple[dt.date, ...]
    _position: dict[dt.date, int]
    _setting_id: str
    _covers_from: dt.date | None
    _covers_to: dt.date | None

    def __init__(
        self,
        days: Iterable[dt.date],
        *,
        setting_id: str,
        covers_from: dt.date | None = None,
        covers_to: dt.date | None = None,
    ) -> None:
        """Index ``days`` (any order, duplicates ignored).

        ``covers_from`` / ``covers_to`` widen the authoritative window beyond the first / last
        school day, e.g. to the 1 September and 31 August of the school years the calendar is for.
        """
        ordered = tuple(sorted(set(days)))
        for day in ordered:
            if type(day) is not dt.date:
                raise TypeError(f"school days must be datetime.date, got {type(day).__name__}")
        if ordered:
            covers_from = ordered[0] if covers_from is None else covers_from
            covers_to = ordered[-1] if covers_to is None else covers_to
            if covers_from > ordered[0] or covers_to < ordered[-1]:
                raise ValueError(
                    f"coverage {covers_from}..{covers_to} must include every school day "
                    f"({ordered[0]}..{ordered[-1]})"
                )
        elif (covers_from is None) != (covers_to is None):
            raise ValueError("give both covers_from and covers_to, or neither")
        if covers_from is not None and covers_to is not None and covers_from > covers_to:
            raise ValueError(f"covers_from {covers_from} is after covers_to {covers_to}")
        object.__setattr__(self, "_days", ordered)
        object.__setattr__(self, "_position", {day: i for i, day in enumerate(ordered)})
        object.__setattr__(self, "_setting_id", setting_id)
        object.__setattr__(self, "_covers_from", covers_from)
        object.__setattr__(self, "_covers_to", covers_to)

    @classmethod
    def from_calendar(
        cls,
        calendar: SchoolCalendar,
        *,
        covers_from: dt.date | None = None,
        covers_to: dt.date | None = None,
    ) -> SchoolDays:
        return cls(
            calendar.school_days,
            setting_id=calendar.setting_id,
            covers_from=covers_from,
            covers_to=covers_to,
        )

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return (
            f"SchoolDays(setting_id={self._setting_id!r}, {len(self._days)} school days, "
            f"covers {self._covers_from}..{self._covers_to})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SchoolDays):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (self._setting_id, self._days, self._covers_from, self._covers_to)

    def __len__(self) -> int:
        return len(self._days)

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self._days)

    # -- properties ---------------------------------------------------------------------------

    @property
    def setting_id(self) -> str:
        return self._setting_id

    @property
    def days(self) -> tuple[dt.date, ...]:
        """All school days, sorted, unique."""
        return self._days

    @property
    def covers_from(self) -> dt.date | None:
        """First date of the authoritative window (None for an empty calendar)."""
        return self._covers_from

    @property
    def covers_to(self) -> dt.date | None:
        """Last date of the authoritative window (None for an empty calendar)."""
        return self._covers_to

    def covers(self, day: dt.date) -> bool:
        """Whether the calendar can say if ``day`` is a school day."""
        return (
            self._covers_from is not None
            and self._covers_to is not None
            and self._covers_from <= day <= self._covers_to
        )

    # -- membership ---------------------------------------------------------------------------

    def is_school_day(self, day: dt.date) -> bool:
        """Whether the setting meets on ``day``. Raises `CalendarExhausted` outside coverage."""
        if day in self._position:
            return True
        if not self.covers(day):
            self._exhausted(f"cannot tell whether {day} is a school day")
        return False

    # -- counting -----------------------------------------------------------------------------

    def school_days_between(self, start: dt.date, end: dt.date, *, inclusive: Inclusive) -> int:
        """Count school days from ``start`` to ``end``; ``inclusive`` says which ends count.

        ``inclusive="end"`` (start < d <= end) counts school days elapsed after ``start``, the
        convention `nth_school_day_after` inverts. See the class docstring for the other values.
        Every date in the examined range must be covered, else `CalendarExhausted`.
        """
        lo, hi = self._index_range(start, end, inclusive)
        return hi - lo

    def list_school_days_between(
        self, start: dt.date, end: dt.date, *, inclusive: Inclusive
    ) -> tuple[dt.date, ...]:
        """The school days `school_days_between` counts, in order."""
        lo, hi = self._index_range(start, end, inclusive)
        return self._days[lo:hi]

    def _index_range(self, start: dt.date, end: dt.date, inclusive: Inclusive) -> tuple[int, int]:
        if inclusive not in _INCLUSIVE_VALUES:
            raise ValueError(
                f"inclusive must be one of {sorted(_INCLUSIVE_VALUES)}, not {inclusive!r}"
            )
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        include_start = inclusive in ("both", "start")
        include_end = inclusive in ("both", "end")
        # Ordinals, not date arithmetic: start/end may be date.min/date.max.
        first_examined = start.toordinal() + (0 if include_start else 1)
        last_examined = end.toordinal() - (0 if include_end else 1)
        if first_examined > last_examined:
            return 0, 0
        if (
            self._covers_from is None
            or self._covers_to is None
            or first_examined < self._covers_from.toordinal()
            or last_examined > self._covers_to.toordinal()
        ):
            self._exhausted(f"cannot count school days from {start} to {end} ({inclusive=})")
        lo = bisect_left(self._days, start) if include_start else bisect_right(self._days, start)
        hi = bisect_right(self._days, end) if include_end else bisect_left(self._days, end)
        return lo, hi

    # -- stepping -----------------------------------------------------------------------------

    def nth_school_day_after(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th school day strictly after ``day`` (n >= 1); ``day`` need not be one.

        A deadline "within N school days after X" is ``nth_school_day_after(X, N)``, the last day
        still within time (Wales reg 12(3); England 2024 reg 10 N-code replacement).
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if self._covers_from is None or day.toordinal() + 1 < self._covers_from.toordinal():
            self._exhausted(f"cannot step {n} school day(s) after {day}: starts before coverage")
        target = bisect_right(self._days, day) + n - 1
        if target >= len(self._days):
            self._exhausted(f"fewer than {n} school day(s) after {day}")
        return self._days[target]

    def nth_school_day_before(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th school day strictly before ``day`` (n >= 1); ``day`` need not be one."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if self._covers_to is None or day.toordinal() - 1 > self._covers_to.toordinal():
            self._exhausted(f"cannot step {n} school day(s) before {day}: starts after coverage")
        target = bisect_left(self._days, day) - n
        if target < 0:
            self._exhausted(f"fewer than {n} school day(s) before {day}")
        return self._days[target]

    def next_school_day(self, day: dt.date) -> dt.date:
        """The first school day strictly after ``day``."""
        return self.nth_school_day_after(day, 1)

    def previous_school_day(self, day: dt.date) -> dt.date:
        """The last school day strictly before ``day``."""
        return self.nth_school_day_before(day, 1)

    # -- continuous runs ----------------------------------------------------------------------

    def continuous_runs(self, condition_days: Iterable[dt.date]) -> tuple[SchoolDayRun, ...]:
        """Split the school days meeting a condition into maximal continuous runs, in date order.

        Consecutive means consecutive in this calendar: weekends and holidays between two school
        days do not break a run; a school day without the condition does. The runs partition
        ``condition_days``. Every condition day must be a school day (`ValueError` otherwise),
        since a mark on a day the setting did not meet is a data error, not a gap.
        For "10 / 20 continuous school days" (Wales reg 12(1)(b), reg 8(1)(h); England 2024
        reg 9(1)(i)) pass the whole days from `days_meeting_in_both_sessions`.
        """
        positions = sorted(self._positions_of(condition_days))
        runs: list[SchoolDayRun] = []
        start = 0
        for i in range(1, len(positions) + 1):
            if i == len(positions) or positions[i] != positions[i - 1] + 1:
                runs.append(SchoolDayRun(self._days[positions[start] : positions[i - 1] + 1]))
                start = i
        return tuple(runs)

    def run_ending_on(self, condition_days: Iterable[dt.date], day: dt.date) -> SchoolDayRun | None:
        """The continuous run of condition days that ends on school day ``day``, or None.

        Only days up to ``day`` are considered, so this answers "as of ``day``, how many
        continuous school days has the condition held?". None when ``day`` lacks the condition.
        """
        if not self.is_school_day(day):
            raise ValueError(f"{day} is not a school day for setting {self._setting_id!r}")
        positions = self._positions_of(condition_days)
        end = self._position[day]
        if end not in positions:
            return None
        start = end
        while start - 1 in positions:
            start -= 1
        return SchoolDayRun(self._days[start : end + 1])

    def _positions_of(self, days: Iterable[dt.date]) -> set[int]:
        positions: set[int] = set()
        for day in days:
            position = self._position.get(day)
            if position is None:
                raise ValueError(f"{day} is not a school day for setting {self._setting_id!r}")
            positions.add(position)
        return positions

    def _exhausted(self, reason: str) -> NoReturn:
        raise CalendarExhausted(
            self._setting_id, reason, covers_from=self._covers_from, covers_to=self._covers_to
        )
