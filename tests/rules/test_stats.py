"""Attendance statistics: possible sessions, categories, percentage and persistent absence.

Synthetic: one made-up UPN, settings W-SCH-1 / W-PRU-1 (Wales) and E-SCH-1 (England). Marks are
laid on consecutive weekday sessions from 1 September 2025 (AM then PM), so no two share a slot.
Row ids cite the definition they check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import pytest

from hub.rules.stats import (
    ENGLAND_PERSISTENT_ABSENCE,
    WALES_PERSISTENT_ABSENCE,
    AttendanceSummary,
    PersistenceThreshold,
    StatsPolicy,
    attendance_summary,
)
from hub_contracts import AttendanceMark, Jurisdiction, Session, make_upn

UPN = make_upn("999000000001")
WS, WP, ES = "W-SCH-1", "W-PRU-1", "E-SCH-1"
JURISDICTION = {WS: Jurisdiction.WALES, WP: Jurisdiction.WALES, ES: Jurisdiction.ENGLAND}
RECORDED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def slots(start: dt.date = dt.date(2025, 9, 1)) -> Iterable[tuple[dt.date, Session]]:
    day = start
    while True:
        if day.weekday() < 5:
            yield day, Session.AM
            yield day, Session.PM
        day += dt.timedelta(days=1)


def mark(
    setting: str,
    code: str,
    day: dt.date,
    session: Session,
    recorded_at: dt.datetime = RECORDED,
) -> AttendanceMark:
    return AttendanceMark(
        upn=UPN,
        setting_id=setting,
        date=day,
        session=session,
        code=code,
        source="synthetic",
        recorded_at=recorded_at,
    )


def register(
    setting: str, spec: dict[str, int], start: dt.date = dt.date(2025, 9, 1)
) -> list[AttendanceMark]:
    """``spec`` maps code -> number of sessions, laid on consecutive sessions from ``start``."""
    codes = [code for code, n in spec.items() for _ in range(n)]
    return [
        mark(setting, code, day, session)
        for code, (day, session) in zip(codes, slots(start), strict=False)
    ]


def summary(
    possible: int,
    present: int,
    aea: int,
    authorised: int,
    unauthorised: int,
    not_counted: int,
    pct: float | None,
    persistent: bool,
) -> AttendanceSummary:
    return AttendanceSummary(
        possible_sessions=possible,
        present=present,
        aea=aea,
        authorised=authorised,
        unauthorised=unauthorised,
        not_counted=not_counted,
        attendance_pct=pct,
        persistent_absence=persistent,
    )


CASES = [
    # England: persistent absence at 10% or more of possible sessions (seed 003 line 606).
    pytest.param(
        register(ES, {"/": 90, "I": 4, "N": 6}),
        summary(100, 90, 0, 4, 6, 0, 90.0, True),
        id="england-seed003-l606-exactly-10pct-is-persistent",
    ),
    pytest.param(
        register(ES, {"/": 91, "I": 9}),
        summary(100, 91, 0, 9, 0, 0, 91.0, False),
        id="england-seed003-l606-9pct-is-not",
    ),
    pytest.param(
        register(ES, {"/": 9, "N": 1}),
        summary(10, 9, 0, 0, 1, 0, 90.0, True),
        id="england-seed003-l606-1-of-10",
    ),
    # Wales: more than 10% by default (seed 000 line 123; legal-rules 5.1).
    pytest.param(
        register(WS, {"/": 90, "I": 10}),
        summary(100, 90, 0, 10, 0, 0, 90.0, False),
        id="wales-seed000-l123-exactly-10pct-is-not",
    ),
    pytest.param(
        register(WS, {"/": 89, "O": 11}),
        summary(100, 89, 0, 0, 11, 0, 89.0, True),
        id="wales-seed000-l123-11pct-is-persistent",
    ),
    # D and other not-counted codes are outside possible sessions (legal-rules 2.2).
    pytest.param(
        register(WS, {"/": 9, "N": 1, "D": 5, "#": 2}),
        summary(10, 9, 0, 0, 1, 7, 90.0, False),
        id="wales-legal-rules-2.2-D-outside-possible",
    ),
    pytest.param(
        register(ES, {"/": 9, "N": 1, "D": 20, "Y1": 1, "X": 1}),
        summary(10, 9, 0, 0, 1, 22, 90.0, True),
        id="england-2024-reg10-D-and-Y-outside-possible",
    ),
    pytest.param(
        register(WS, {"D": 4}),
        summary(0, 0, 0, 0, 0, 4, None, False),
        id="wales-only-D-no-possible-sessions",
    ),
    pytest.param([], summary(0, 0, 0, 0, 0, 0, None, False), id="no-marks"),
    # U is an unauthorised absence although the pupil was on site (reg 10 Table 3).
    pytest.param(
        register(ES, {"/": 9, "U": 1}),
        summary(10, 9, 0, 0, 1, 0, 90.0, True),
        id="england-2024-reg10-U-is-unauthorised",
    ),
    # Approved educational activity counts as attendance (K, B, V).
    pytest.param(
        register(ES, {"/": 5, "K": 2, "B": 1, "V": 1, "M": 1}),
        summary(10, 5, 4, 1, 0, 0, 90.0, True),
        id="england-2024-reg10-Table2-aea-is-attendance",
    ),
    # attendance_pct: rounded half up to 1 decimal place.
    pytest.param(
        register(WS, {"/": 2, "I": 1}),
        summary(3, 2, 0, 1, 0, 0, 66.7, True),
        id="pct-two-thirds-66.7",
    ),
    pytest.param(
        register(WS, {"/": 15, "I": 1}),
        summary(16, 15, 0, 1, 0, 0, 93.8, False),
        id="pct-93.75-rounds-half-up",
    ),
    pytest.param(
        register(WS, {"/": 1, "I": 15}),
        summary(16, 1, 0, 15, 0, 0, 6.3, True),
        id="pct-6.25-rounds-half-up",
    ),
    # A dual-registered pupil across two settings: each session counts once (D at the other).
    pytest.param(
        register(WS, {"/": 8, "D": 2}) + register(WP, {"D": 8, "/": 1, "N": 1}),
        summary(10, 9, 0, 0, 1, 10, 90.0, False),
        id="wales-seed000-l565-dual-registered-both-settings",
    ),
    # England code set in force by date: the 2006 set before 2024-08-19 (F, H existed).
    pytest.param(
        register(ES, {"/": 9, "H": 1}, start=dt.date(2024, 6, 3)),
        summary(10, 9, 0, 1, 0, 0, 90.0, True),
        id="england-2006-regs-code-set-by-date",
    ),
]


@pytest.mark.parametrize(("marks", "expected"), CASES)
def test_attendance_summary(marks: list[AttendanceMark], expected: AttendanceSummary) -> None:
    assert attendance_summary(marks, jurisdiction_of=JURISDICTION) == expected


@pytest.mark.parametrize(
    ("threshold", "missed", "possible", "met"),
    [
        pytest.param(ENGLAND_PERSISTENT_ABSENCE, 38, 380, True, id="england-38-of-380"),
        pytest.param(ENGLAND_PERSISTENT_ABSENCE, 37, 380, False, id="england-37-of-380"),
        pytest.param(WALES_PERSISTENT_ABSENCE, 38, 380, False, id="wales-38-of-380"),
        pytest.param(WALES_PERSISTENT_ABSENCE, 39, 380, True, id="wales-39-of-380"),
        pytest.param(ENGLAND_PERSISTENT_ABSENCE, 0, 0, False, id="no-possible-sessions"),
        pytest.param(
            PersistenceThreshold(Decimal(20), inclusive=False), 77, 380, True, id="wales-former-20"
        ),
        pytest.param(
            PersistenceThreshold(Decimal(20), inclusive=False),
            76,
            380,
            False,
            id="wales-former-20-boundary",
        ),
        pytest.param(
            PersistenceThreshold(Decimal("33.3"), inclusive=True),
            333,
            1000,
            True,
            id="decimal-exact",
        ),
    ],
)
def test_threshold_boundaries(
    threshold: PersistenceThreshold, missed: int, possible: int, met: bool
) -> None:
    assert threshold.met(missed, possible) is met


def test_wales_threshold_is_configurable() -> None:
    # seed 000 line 123: the former Welsh definition, over 20% of sessions
    marks = register(WS, {"/": 85, "I": 15})
    former = StatsPolicy({Jurisdiction.WALES: PersistenceThreshold(Decimal(20), inclusive=False)})
    assert attendance_summary(marks, jurisdiction_of=JURISDICTION).persistent_absence
    assert not attendance_summary(
        marks, jurisdiction_of=JURISDICTION, policy=former
    ).persistent_absence


def test_mixed_jurisdictions_flag_when_either_threshold_is_met() -> None:
    # 10 of 100 missed: England (at least 10%) flags, Wales (more than 10%) alone would not.
    marks = register(WS, {"/": 50, "I": 5}) + register(ES, {"/": 40, "N": 5})
    result = attendance_summary(marks, jurisdiction_of=JURISDICTION)
    assert (result.possible_sessions, result.absent) == (100, 10)
    assert result.persistent_absence


def test_only_the_latest_mark_of_a_slot_counts() -> None:
    day, session = dt.date(2025, 9, 1), Session.AM
    original = mark(ES, "N", day, session, RECORDED)
    amended = mark(ES, "I", day, session, RECORDED + dt.timedelta(hours=2))
    for order in ([original, amended], [amended, original]):
        result = attendance_summary(order, jurisdiction_of=JURISDICTION)
        assert (result.possible_sessions, result.authorised, result.unauthorised) == (1, 1, 0)


def test_a_setting_without_jurisdiction_is_an_error() -> None:
    with pytest.raises(ValueError, match="no jurisdiction"):
        attendance_summary(register("X-UNKNOWN", {"/": 1}), jurisdiction_of=JURISDICTION)


def test_a_code_outside_the_set_in_force_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in code set wales-2010"):
        attendance_summary(register(WS, {"K": 1}), jurisdiction_of=JURISDICTION)


def test_a_jurisdiction_without_threshold_is_an_error() -> None:
    policy = StatsPolicy({Jurisdiction.ENGLAND: ENGLAND_PERSISTENT_ABSENCE})
    with pytest.raises(ValueError, match="no persistent-absence threshold for wales"):
        attendance_summary(register(WS, {"/": 1}), jurisdiction_of=JURISDICTION, policy=policy)


@pytest.mark.parametrize("percent", [Decimal(0), Decimal(-5), Decimal(101)])
def test_threshold_percent_must_be_a_share(percent: Decimal) -> None:
    with pytest.raises(ValueError, match="percent"):
        PersistenceThreshold(percent, inclusive=True)
