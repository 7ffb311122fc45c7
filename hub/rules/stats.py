"""Attendance statistics for one learner: possible sessions, attendance, persistent absence.

Every mark is judged by the code set in force for its setting's jurisdiction on its date
(`hub.rules.codes.code_set_for`), by the code's category and ``counts_as_possible`` flag — never
by letter. Definitions (the fields of `AttendanceSummary`):

- possible sessions: marks whose code counts as a possible session. D (attending the other
  setting where the pupil is dual registered) and the other not-counted codes (school closed,
  not on roll, not of compulsory school age, unable to attend ...) are outside possible sessions,
  so a dual-registered pupil's session counts once, at the setting the pupil attended;
- present: category present (/, \\, L). U (arrived after the register closed) is an
  unauthorised absence in both jurisdictions, although the pupil was on site;
- aea: approved educational activity (B, K, P, V, W; Wales J), counted as attendance;
- authorised / unauthorised: absence categories; not_counted: the not-counted codes;
- attendance_pct: (present + aea) / possible x 100, rounded half up to 1 decimal place; None with
  no possible sessions;
- persistent_absence: (authorised + unauthorised) / possible against the jurisdiction's threshold
  (`PersistenceThreshold`): England 10% or more; Wales more than 10% by default. Never with no
  possible sessions. Marks from settings of both jurisdictions: flagged if either threshold is met.

Only the current mark of each (setting, date, session) counts: where several are given (history),
the one recorded last wins. Pure: marks in, numbers out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Final

from hub.rules.codes import code_set_for
from hub_contracts import AttendanceMark, CodeCategory, Jurisdiction, Session

__all__ = [
    "ENGLAND_PERSISTENT_ABSENCE",
    "WALES_PERSISTENT_ABSENCE",
    "AttendanceSummary",
    "PersistenceThreshold",
    "StatsPolicy",
    "attendance_summary",
]


@dataclass(frozen=True)
class PersistenceThreshold:
    """Persistent absence: share of possible sessions missed at (``inclusive``) or over a percent.

    ``percent`` is exact (a Decimal), so 10% of 380 sessions is exactly 38.
    """

    percent: Decimal
    inclusive: bool

    def __post_init__(self) -> None:
        if not Decimal(0) < self.percent <= Decimal(100):
            raise ValueError(f"persistent absence percent must be in (0, 100], not {self.percent}")

    def met(self, missed: int, possible: int) -> bool:
        """Whether ``missed`` of ``possible`` sessions meets it (never with 0 possible)."""
        if possible <= 0:
            return False
        share = Decimal(missed) * 100
        limit = self.percent * possible
        return share >= limit if self.inclusive else share > limit

    def describe(self) -> str:
        return f"{'at least' if self.inclusive else 'more than'} {self.percent}% of sessions"


#: England: "misses 10% or more" (seed 003 line 606); DfE: "greater than or equal to 10"
# England, seed 003 line 606; legal-rules.md 5.1 (DfE definition since 2015/16)
ENGLAND_PERSISTENT_ABSENCE: Final = PersistenceThreshold(Decimal(10), inclusive=True)

#: Wales: "over 10% of sessions" — WG changed the statistical definition from over 20% to
#: 10% with the October 2023 guidance; the WG statistics release states "more than 10%".
# Wales, seed 000 line 123 ("over 20%", proposed "over 10%"); legal-rules.md 5.1 (changed Oct 2023);
# gov.wales persistent absenteeism release 2022/23: "absent for more than 10% of school sessions"
WALES_PERSISTENT_ABSENCE: Final = PersistenceThreshold(Decimal(10), inclusive=False)


def _default_thresholds() -> Mapping[Jurisdiction, PersistenceThreshold]:
    return MappingProxyType(
        {
            Jurisdiction.ENGLAND: ENGLAND_PERSISTENT_ABSENCE,
            Jurisdiction.WALES: WALES_PERSISTENT_ABSENCE,
        }
    )


@dataclass(frozen=True)
class StatsPolicy:
    """Per-jurisdiction persistent-absence thresholds (configurable; defaults cited above).

    A Welsh LA that wants the former definition sets
    ``PersistenceThreshold(Decimal(20), inclusive=False)`` (seed 000 line 123).
    """

    # England: seed 003 line 606 and legal-rules.md 5.1, at least 10% of possible sessions
    # Wales: seed 000 line 123 and legal-rules.md 5.1, more than 10% (changed from 20%, Oct 2023)
    persistent_absence: Mapping[Jurisdiction, PersistenceThreshold] = field(
        default_factory=_default_thresholds
    )

    def threshold(self, jurisdiction: Jurisdiction) -> PersistenceThreshold:
        try:
            return self.persistent_absence[jurisdiction]
        except KeyError:
            raise ValueError(f"no persistent-absence threshold for {jurisdiction.value}") from None


@dataclass(frozen=True)
class AttendanceSummary:
    """The counts behind ``GET /v1/learners/{upn}/attendance`` (definitions: module docstring)."""

    possible_sessions: int
    present: int
    aea: int
    authorised: int
    unauthorised: int
    not_counted: int
    attendance_pct: float | None
    persistent_absence: bool

    @property
    def absent(self) -> int:
        """Sessions missed: authorised plus unauthorised absence."""
        return self.authorised + self.unauthorised


_ONE_DP: Final = Decimal("0.1")


def _percent(part: int, whole: int) -> float | None:
    if whole <= 0:
        return None
    exact = Decimal(part) * 100 / Decimal(whole)
    return float(exact.quantize(_ONE_DP, rounding=ROUND_HALF_UP))


def _current(marks: Iterable[AttendanceMark]) -> list[AttendanceMark]:
    """One mark per (setting, date, session): the one recorded last (ties: the greater code)."""
    latest: dict[tuple[str, str, dt.date, Session], AttendanceMark] = {}
    for mark in marks:
        slot = (mark.upn, mark.setting_id, mark.date, mark.session)
        kept = latest.get(slot)
        if kept is None or (mark.recorded_at, mark.code) > (kept.recorded_at, kept.code):
            latest[slot] = mark
    return list(latest.values())


def attendance_summary(
    marks: Iterable[AttendanceMark],
    *,
    jurisdiction_of: Mapping[str, Jurisdiction],
    policy: StatsPolicy | None = None,
) -> AttendanceSummary:
    """Count ``marks`` by category and flag persistent absence (definitions: module docstring).

    ``jurisdiction_of`` maps each marking setting to its jurisdiction. Raises ValueError for a
    setting with no jurisdiction or a code outside the set in force for its setting and date.
    """
    # Both, legal-rules.md 2.2: D is not counted in possible sessions (the other school records it)
    # England 2024 regs reg 10 Table 3: U is unauthorised absence, although on site
    policy = policy or StatsPolicy()
    counts = dict.fromkeys(CodeCategory, 0)
    possible = 0
    jurisdictions: set[Jurisdiction] = set()
    for mark in _current(marks):
        try:
            jurisdiction = Jurisdiction(jurisdiction_of[mark.setting_id])
        except KeyError:
            raise ValueError(f"no jurisdiction given for setting {mark.setting_id!r}") from None
        code_set = code_set_for(jurisdiction, mark.date)
        definition = code_set.codes.get(mark.code)
        if definition is None:
            raise ValueError(f"code {mark.code!r} is not in code set {code_set.id}")
        jurisdictions.add(jurisdiction)
        counts[definition.category] += 1
        possible += definition.counts_as_possible
    missed = counts[CodeCategory.AUTHORISED] + counts[CodeCategory.UNAUTHORISED]
    return AttendanceSummary(
        possible_sessions=possible,
        present=counts[CodeCategory.PRESENT],
        aea=counts[CodeCategory.AEA],
        authorised=counts[CodeCategory.AUTHORISED],
        unauthorised=counts[CodeCategory.UNAUTHORISED],
        not_counted=counts[CodeCategory.NOT_COUNTED],
        attendance_pct=_percent(counts[CodeCategory.PRESENT] + counts[CodeCategory.AEA], possible),
        persistent_absence=any(
            policy.threshold(j).met(missed, possible) for j in sorted(jurisdictions)
        ),
    )
