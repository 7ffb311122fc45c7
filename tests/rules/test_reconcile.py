"""Reconciliation of one learner-session: every discrepancy kind, raised and near-missed.

Synthetic and obviously so: settings W-SCH-1 / W-PRU-1 / W-EOTAS-1 (Wales) and E-SCH-1 / E-PRU-1 /
E-EOTAS-1 (England); one made-up UPN; autumn term 2025 (half term 27-31 Oct) and summer 2024.
Each row's id names its source (seed line or regulation). The expected outcome of a row is the
exact set of kinds raised, each with its exact proposals (setting, code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.rules.calendar import SchoolDays
from hub.rules.codes import code_set_for
from hub.rules.reconcile import (
    SEVERITY,
    Finding,
    ReconcilePolicy,
    SessionFacts,
    dual_absence_notices,
    reconcile_session,
)
from hub_contracts import (
    AttendanceMark,
    DiscrepancyKind,
    DiscrepancyStatus,
    EotasPlacement,
    Jurisdiction,
    PlacementArranger,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    Session,
    Severity,
    make_upn,
)

K = DiscrepancyKind
AM, PM = Session.AM, Session.PM
LONDON = ZoneInfo("Europe/London")
UPN = make_upn("999000000001")

WS, WP, WE = "W-SCH-1", "W-PRU-1", "W-EOTAS-1"
ES, EP, EE = "E-SCH-1", "E-PRU-1", "E-EOTAS-1"
JURISDICTION = {
    **dict.fromkeys((WS, WP, WE), Jurisdiction.WALES),
    **dict.fromkeys((ES, EP, EE), Jurisdiction.ENGLAND),
}


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    span = (last - first).days + 1
    return [d for d in (first + dt.timedelta(days=i) for i in range(span)) if d.weekday() < 5]


D = dt.date
SCHOOL_DAYS = (
    weekdays(D(2024, 6, 3), D(2024, 7, 19))
    + weekdays(D(2025, 9, 1), D(2025, 10, 24))
    + weekdays(D(2025, 11, 3), D(2025, 12, 19))
)
MON = D(2025, 10, 6)  # autumn 2025, a Monday
FRI = D(2025, 10, 10)
OLD_MON = D(2024, 6, 3)  # England 2006 code set still in force


def calendar(setting: str, *, closed: Sequence[dt.date] = ()) -> SchoolDays:
    return SchoolDays([d for d in SCHOOL_DAYS if d not in closed], setting_id=setting)


CALENDARS = {s: calendar(s) for s in JURISDICTION}


def at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


PAST = at(D(2025, 10, 9), "12:00")  # MON is past; 3 school days later, before any N deadline
OLD_PAST = at(D(2024, 6, 6), "12:00")

MAIN, SUB, SINGLE = (
    RegistrationStatus.MAIN,
    RegistrationStatus.SUBSIDIARY,
    RegistrationStatus.SINGLE,
)
DUAL_W = ((WS, MAIN), (WP, SUB))
DUAL_E = ((ES, MAIN), (EP, SUB))


def reg(setting: str, status: RegistrationStatus, *, ended: bool = False) -> Registration:
    end = D(2025, 9, 30) if ended else None
    return Registration(
        upn=UPN, setting_id=setting, status=status, start_date=D(2024, 1, 8), end_date=end
    )


def place(
    school: str,
    provider: str,
    *,
    when: Sequence[tuple[int, Session]] = ((0, AM),),
    la: bool = False,
) -> EotasPlacement:
    return EotasPlacement(
        upn=UPN,
        school_id=school,
        provider_id=provider,
        sessions=tuple(ScheduledSession(weekday=w, session=s) for w, s in when),
        start_date=D(2024, 1, 8),
        arranged_by=PlacementArranger.LA if la else PlacementArranger.SCHOOL,
    )


def mark(setting: str, code: str, day: dt.date = MON, session: Session = AM) -> AttendanceMark:
    return AttendanceMark(
        upn=UPN,
        setting_id=setting,
        date=day,
        session=session,
        code=code,
        source="synthetic",
        recorded_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )


def facts(
    marks: Mapping[str, str],
    *,
    regs: Sequence[tuple[str, RegistrationStatus]] = DUAL_W,
    placements: Sequence[EotasPlacement] = (),
    day: dt.date = MON,
    session: Session = AM,
    first_day_caller: str | None = None,
    calendars: Mapping[str, SchoolDays] = CALENDARS,
    ended: Sequence[str] = (),
) -> SessionFacts:
    return SessionFacts(
        upn=UPN,
        date=day,
        session=session,
        registrations=tuple(reg(s, status, ended=s in ended) for s, status in regs),
        placements=tuple(placements),
        marks={s: mark(s, c, day, session) for s, c in marks.items()},
        jurisdiction_of=JURISDICTION,
        calendars=calendars,
        first_day_caller=first_day_caller,
    )


Expect = dict[DiscrepancyKind, tuple[tuple[str, str], ...]]


def outcome(findings: Sequence[Finding]) -> Expect:
    return {f.kind: tuple((a.setting_id, a.code) for a in f.proposed_actions) for f in findings}


def row(
    id: str,
    marks: Mapping[str, str],
    expect: Expect,
    *,
    now: dt.datetime = PAST,
    policy: ReconcilePolicy | None = None,
    **kwargs: Any,
) -> Any:
    return pytest.param(facts(marks, **kwargs), now, policy or ReconcilePolicy(), expect, id=id)


SINGLE_W = ((WS, SINGLE),)
SINGLE_E = ((ES, SINGLE),)
W_PLACED = (place(WS, WE),)  # school-arranged, Monday AM
E_PLACED = (place(ES, EE),)
E_LA_PLACED = (place(ES, EE, la=True),)
W_TUESDAYS = (place(WS, WE, when=((1, AM),)),)

CASES = [
    # --- dual_present_at_both ------------------------------------------------------------------
    row("wales-seed000-l565-present-at-both", {WS: "/", WP: "L"}, {K.DUAL_PRESENT_AT_BOTH: ()}),
    row(
        "wales-seed000-l565-U-is-physically-present",
        {WS: "U", WP: "/"},
        {K.DUAL_PRESENT_AT_BOTH: ()},
    ),
    row(
        "england-legal-rules-2.3-present-and-trip-at-other",
        {ES: "/", EP: "V"},
        {K.DUAL_PRESENT_AT_BOTH: ()},
        regs=DUAL_E,
    ),
    row("near-miss-wales-seed000-l565-present-and-D", {WS: "/", WP: "D"}, {}),
    row("near-miss-england-seed000-l565-D-and-late", {ES: "D", EP: "L"}, {}, regs=DUAL_E),
    row("near-miss-wales-seed000-l565-U-and-D", {WS: "U", WP: "D"}, {}),
    # --- dual_unaccounted ----------------------------------------------------------------------
    row("wales-seed000-l565-569-D-at-both", {WS: "D", WP: "D"}, {K.DUAL_UNACCOUNTED: ()}),
    row(
        "england-seed000-l565-D-at-both",
        {ES: "D", EP: "D"},
        {K.DUAL_UNACCOUNTED: ()},
        regs=DUAL_E,
    ),
    row("wales-seed000-l565-D-and-other-closed", {WS: "D", WP: "#"}, {K.DUAL_UNACCOUNTED: ()}),
    row(
        "wales-seed000-l565-D-and-other-not-meeting",
        {WS: "D"},
        {K.DUAL_UNACCOUNTED: ()},
        calendars={**CALENDARS, WP: calendar(WP, closed=[MON])},
    ),
    row(
        "near-miss-wales-seed000-l565-D-other-not-marked-before-deadline",
        {WS: "D"},
        {},
        now=at(MON, "09:30"),
    ),
    # --- dual_missing_mark ---------------------------------------------------------------------
    row(
        "wales-seed000-l565-present-other-unmarked-past",
        {WS: "/"},
        {K.DUAL_MISSING_MARK: ((WP, "D"),)},
    ),
    row(
        "issue5-item4-today-after-AM-deadline",
        {WS: "/"},
        {K.DUAL_MISSING_MARK: ((WP, "D"),)},
        now=at(MON, "10:00"),
    ),
    row("near-miss-issue5-item4-today-before-AM-deadline", {WS: "/"}, {}, now=at(MON, "09:59")),
    row(
        "near-miss-issue5-item4-today-PM-before-1430",
        {WS: "\\"},
        {},
        session=PM,
        now=at(MON, "14:29"),
    ),
    row(
        "issue5-item4-today-PM-after-1430",
        {WS: "\\"},
        {K.DUAL_MISSING_MARK: ((WP, "D"),)},
        session=PM,
        now=at(MON, "14:30"),
    ),
    row(
        "issue5-item4-per-setting-deadline-0915",
        {ES: "/"},
        {K.DUAL_MISSING_MARK: ((EP, "D"),)},
        regs=DUAL_E,
        now=at(MON, "09:20"),
        policy=ReconcilePolicy(registration_deadlines={EP: (dt.time(9, 15), dt.time(13, 45))}),
    ),
    row(
        "near-miss-issue5-item4-callable-deadline-1100",
        {ES: "/"},
        {},
        regs=DUAL_E,
        now=at(MON, "10:30"),
        policy=ReconcilePolicy(
            registration_deadlines=lambda s: (dt.time(11), dt.time(15)) if s == EP else None
        ),
    ),
    row("near-miss-future-session-never-missing", {WS: "/"}, {}, now=at(D(2025, 10, 3), "12:00")),
    row(
        "near-miss-seed000-l565-other-setting-does-not-meet",
        {WS: "/"},
        {},
        calendars={**CALENDARS, WP: calendar(WP, closed=[MON])},
    ),
    row("wales-seed000-l565-D-other-unmarked", {WS: "D"}, {K.DUAL_MISSING_MARK: ()}),
    row(
        "wales-seed000-l569-absent-other-unmarked-propose-absence",
        {WS: "N"},
        {K.DUAL_MISSING_MARK: ((WP, "N"),)},
    ),
    # --- dual_conflict -------------------------------------------------------------------------
    row(
        "wales-seed000-l565-present-and-absent", {WS: "/", WP: "N"}, {K.DUAL_CONFLICT: ((WP, "D"),)}
    ),
    row(
        "england-seed000-l565-late-and-ill",
        {ES: "I", EP: "L"},
        {K.DUAL_CONFLICT: ((ES, "D"),)},
        regs=DUAL_E,
    ),
    row(
        "wales-seed000-l565-B-supervised-and-absent",
        {WS: "B", WP: "O"},
        {
            K.DUAL_CONFLICT: ((WP, "D"),),
            K.B_UNSCHEDULED: ((WS, "C"),),
        },
    ),
    row("near-miss-wales-seed000-l569-absent-at-both", {WS: "N", WP: "N"}, {}),
    # --- dual_absence_not_shared ---------------------------------------------------------------
    row(
        "wales-seed000-l569-absent-and-D",
        {WS: "D", WP: "O"},
        {K.DUAL_ABSENCE_NOT_SHARED: ((WS, "O"),)},
    ),
    row(
        "england-seed000-l569-ill-and-D",
        {ES: "I", EP: "D"},
        {K.DUAL_ABSENCE_NOT_SHARED: ((EP, "I"),)},
        regs=DUAL_E,
    ),
    row(
        "cross-border-seed000-l569-code-in-both-sets",
        {ES: "I", WP: "D"},
        {K.DUAL_ABSENCE_NOT_SHARED: ((WP, "I"),)},
        regs=((ES, MAIN), (WP, SUB)),
    ),
    row(
        "cross-border-seed000-l569-F-not-in-england-2024-no-proposal",
        {WS: "F", EP: "D"},
        {K.DUAL_ABSENCE_NOT_SHARED: ()},
        regs=((WS, MAIN), (EP, SUB)),
    ),
    row("near-miss-wales-seed000-l569-absence-shared", {WS: "I", WP: "I"}, {}),
    # --- d_without_dual_registration ----------------------------------------------------------
    row(
        "wales-seed000-l563-565-D-single-roll",
        {WS: "D"},
        {K.D_WITHOUT_DUAL_REGISTRATION: ()},
        regs=SINGLE_W,
    ),
    row(
        "wales-seed000-l563-565-D-with-placement-propose-B",
        {WS: "D", WE: "/"},
        {K.D_WITHOUT_DUAL_REGISTRATION: ((WS, "B"),)},
        regs=SINGLE_W,
        placements=W_PLACED,
    ),
    row(
        "england-2024-reg10-D-with-LA-placement-propose-K",
        {ES: "D"},
        {K.D_WITHOUT_DUAL_REGISTRATION: ((ES, "K"),)},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
    ),
    row(
        "legal-rules-2.3-D-after-other-registration-ended",
        {WS: "D"},
        {K.D_WITHOUT_DUAL_REGISTRATION: ()},
        ended=[WP],
    ),
    row("near-miss-seed000-l563-D-dual-registered", {WS: "D", WP: "/"}, {}),
    # --- b_provider_absent ---------------------------------------------------------------------
    row(
        "wales-seed000-l581-provider-reports-absence",
        {WS: "B", WE: "N"},
        {K.B_PROVIDER_ABSENT: ((WS, "N"),)},
        regs=SINGLE_W,
        placements=W_PLACED,
    ),
    row(
        "england-seed000-l581-provider-reports-illness",
        {ES: "B", EE: "I"},
        {K.B_PROVIDER_ABSENT: ((ES, "I"),)},
        regs=SINGLE_E,
        placements=E_PLACED,
    ),
    row(
        "england-2024-K-like-B-provider-absent",
        {ES: "K", EE: "O"},
        {K.B_PROVIDER_ABSENT: ((ES, "O"),)},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
    ),
    row(
        "near-miss-seed000-l575-provider-reports-present",
        {WS: "B", WE: "/"},
        {},
        regs=SINGLE_W,
        placements=W_PLACED,
    ),
    row(
        "near-miss-seed000-l581-provider-U-is-present",
        {WS: "B", WE: "U"},
        {},
        regs=SINGLE_W,
        placements=W_PLACED,
    ),
    # --- b_unscheduled -------------------------------------------------------------------------
    row(
        "wales-seed000-l577-579-B-unscheduled-propose-C",
        {WS: "B"},
        {K.B_UNSCHEDULED: ((WS, "C"),)},
        regs=SINGLE_W,
        placements=W_TUESDAYS,
    ),
    row(
        "wales-seed000-l577-579-B-no-placement-propose-C",
        {WS: "B"},
        {K.B_UNSCHEDULED: ((WS, "C"),)},
        regs=SINGLE_W,
    ),
    row(
        "wales-seed000-l577-provider-closed-no-delivery",
        {WS: "B", WE: "#"},
        {K.B_UNSCHEDULED: ((WS, "C"),)},
        regs=SINGLE_W,
        placements=W_PLACED,
    ),
    row(
        "england-legal-rules-2.3-B-unscheduled-no-C-proposal",
        {ES: "B"},
        {K.B_UNSCHEDULED: ()},
        regs=SINGLE_E,
        placements=(place(ES, EE, when=((1, AM),)),),
    ),
    row(
        "england-2006-legal-rules-2.3-B-no-placement",
        {ES: "B"},
        {K.B_UNSCHEDULED: ()},
        regs=SINGLE_E,
        day=OLD_MON,
        now=OLD_PAST,
    ),
    row(
        "near-miss-seed000-l575-unscheduled-but-provider-reports-present",
        {WS: "B", WE: "/"},
        {},
        regs=SINGLE_W,
        placements=W_TUESDAYS,
    ),
    row(
        "near-miss-seed000-l575-scheduled-PM-session",
        {WS: "B", WE: "\\"},
        {},
        regs=SINGLE_W,
        placements=(place(WS, WE, when=((0, PM),)),),
        session=PM,
    ),
    # --- England 2024: K, not B, for LA-arranged provision -------------------------------------
    row(
        "england-2024-reg10-Table2-B-for-LA-provision-propose-K",
        {ES: "B", EE: "/"},
        {K.B_UNSCHEDULED: ((ES, "K"),)},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
    ),
    row(
        "near-miss-england-2024-reg10-Table2-K-for-LA-provision",
        {ES: "K", EE: "/"},
        {},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
    ),
    row(
        "england-2024-reg10-Table2-K-for-school-provision-propose-B",
        {ES: "K", EE: "/"},
        {K.B_UNSCHEDULED: ((ES, "B"),)},
        regs=SINGLE_E,
        placements=E_PLACED,
    ),
    row(
        "near-miss-england-2006-B-for-LA-provision-before-2024-08-19",
        {ES: "B", EE: "/"},
        {},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
        day=OLD_MON,
        now=OLD_PAST,
    ),
    row(
        "near-miss-wales-B-for-LA-provision-no-K-in-wales",
        {WS: "B", WE: "/"},
        {},
        regs=SINGLE_W,
        placements=(place(WS, WE, la=True),),
    ),
    # --- b_unconfirmed -------------------------------------------------------------------------
    row(
        "wales-seed000-l405-581-no-provider-report-next-day-ended",
        {WS: "B"},
        {K.B_UNCONFIRMED: ()},
        regs=SINGLE_W,
        placements=W_PLACED,
        now=at(D(2025, 10, 8), "00:00"),
    ),
    row(
        "near-miss-seed000-l581-provider-deadline-not-yet",
        {WS: "B"},
        {},
        regs=SINGLE_W,
        placements=W_PLACED,
        now=at(D(2025, 10, 7), "23:59"),
    ),
    row(
        "near-miss-seed000-l581-today-session",
        {WS: "B"},
        {},
        regs=SINGLE_W,
        placements=W_PLACED,
        now=at(MON, "15:00"),
    ),
    row(
        "england-2024-K-like-B-unconfirmed",
        {ES: "K"},
        {K.B_UNCONFIRMED: ()},
        regs=SINGLE_E,
        placements=E_LA_PLACED,
    ),
    row(
        "near-miss-seed000-l581-friday-deadline-is-monday",
        {WS: "B"},
        {},
        regs=SINGLE_W,
        placements=(place(WS, WE, when=((4, AM),)),),
        day=FRI,
        now=at(D(2025, 10, 13), "18:00"),
    ),
    row(
        "seed000-l581-friday-session-unconfirmed-tuesday",
        {WS: "B"},
        {K.B_UNCONFIRMED: ()},
        regs=SINGLE_W,
        placements=(place(WS, WE, when=((4, AM),)),),
        day=FRI,
        now=at(D(2025, 10, 14), "00:00"),
    ),
    row(
        "near-miss-seed000-l581-deadline-across-half-term",
        {WS: "B"},
        {},
        regs=SINGLE_W,
        placements=(place(WS, WE, when=((4, AM),)),),
        day=D(2025, 10, 24),
        now=at(D(2025, 10, 31), "12:00"),
    ),
    row(
        "policy-provider-deadline-same-day",
        {WS: "B"},
        {K.B_UNCONFIRMED: ()},
        regs=SINGLE_W,
        placements=W_PLACED,
        now=at(D(2025, 10, 7), "00:00"),
        policy=ReconcilePolicy(provider_report_deadline_school_days=0),
    ),
    # --- n_code_overdue ------------------------------------------------------------------------
    row(
        "england-2024-reg10(7)-(9)-N-after-5-school-days",
        {ES: "N"},
        {K.N_CODE_OVERDUE: ()},
        regs=SINGLE_E,
        now=at(D(2025, 10, 14), "08:00"),
    ),
    row(
        "near-miss-england-2024-reg10(7)-(9)-N-on-5th-school-day",
        {ES: "N"},
        {},
        regs=SINGLE_E,
        now=at(D(2025, 10, 13), "23:59"),
    ),
    row(
        "near-miss-england-2024-reg10(7)-N-across-half-term",
        {ES: "N"},
        {},
        regs=SINGLE_E,
        day=D(2025, 10, 22),
        now=at(D(2025, 11, 4), "12:00"),
    ),
    row(
        "england-2024-reg10(7)-N-across-half-term-overdue",
        {ES: "N"},
        {K.N_CODE_OVERDUE: ()},
        regs=SINGLE_E,
        day=D(2025, 10, 22),
        now=at(D(2025, 11, 6), "08:00"),
    ),
    row(
        "near-miss-wales-N-no-5-day-rule",
        {WS: "N"},
        {},
        regs=SINGLE_W,
        now=at(D(2025, 12, 1), "08:00"),
    ),
    row(
        "near-miss-england-2006-N-no-5-day-rule",
        {ES: "N"},
        {},
        regs=SINGLE_E,
        day=OLD_MON,
        now=at(D(2024, 7, 1), "08:00"),
    ),
    row(
        "near-miss-england-2024-reg10(9)-replaced-by-O",
        {ES: "O"},
        {},
        regs=SINGLE_E,
        now=at(D(2025, 11, 6), "08:00"),
    ),
    row(
        "england-2024-reg10(7)-dual-N-overdue-and-shared",
        {ES: "N", EP: "N"},
        {K.N_CODE_OVERDUE: ()},
        regs=DUAL_E,
        now=at(D(2025, 10, 20), "08:00"),
    ),
    # --- nothing to reconcile ------------------------------------------------------------------
    row("no-registration-no-findings", {WE: "N"}, {}, regs=(), placements=W_PLACED),
    row("single-registration-present", {WS: "/"}, {}, regs=SINGLE_W),
]


@pytest.mark.parametrize(("session_facts", "now", "policy", "expect"), CASES)
def test_reconcile_session(
    session_facts: SessionFacts, now: dt.datetime, policy: ReconcilePolicy, expect: Expect
) -> None:
    findings = reconcile_session(session_facts, now=now, policy=policy)
    assert outcome(findings) == expect
    for finding in findings:
        assert finding.severity is SEVERITY[finding.kind]
        assert finding.citation
        assert finding.setting_ids == tuple(sorted(set(finding.setting_ids)))
        for setting_id in finding.setting_ids:
            assert setting_id in finding.detail, (setting_id, finding.detail)
        for action in finding.proposed_actions:
            assert action.setting_id in finding.setting_ids
            assert action.code in finding.detail
        assert finding.key == (UPN, session_facts.date, session_facts.session, finding.kind)


# --- details the attendance officer reads -----------------------------------------------------


def test_unaccounted_is_critical_and_alerts_the_main_school() -> None:
    # seed 000 line 405: the original (main) school owns first-day calling by default
    (finding,) = reconcile_session(facts({WS: "D", WP: "D"}), now=PAST)
    assert finding.kind is K.DUAL_UNACCOUNTED
    assert finding.severity is Severity.CRITICAL
    assert finding.safeguarding_alert_to == WS
    assert finding.setting_ids == (WP, WS)
    assert "D" in finding.detail


def test_unaccounted_alert_goes_to_the_configured_first_day_caller() -> None:
    # issue 5 item 2: first-day calling configurable per dual registration
    (finding,) = reconcile_session(facts({WS: "D", WP: "D"}, first_day_caller=WP), now=PAST)
    assert finding.safeguarding_alert_to == WP


def test_unaccounted_without_a_main_registration_alerts_the_earliest() -> None:
    later = Registration(upn=UPN, setting_id="A-LATER", status=SUB, start_date=D(2025, 9, 1))
    earlier = Registration(upn=UPN, setting_id="Z-EARLIER", status=SUB, start_date=D(2025, 1, 6))
    session_facts = SessionFacts(
        upn=UPN,
        date=MON,
        session=AM,
        registrations=(later, earlier),
        marks={s: mark(s, "D") for s in ("A-LATER", "Z-EARLIER")},
        jurisdiction_of=dict.fromkeys(("A-LATER", "Z-EARLIER"), Jurisdiction.WALES),
    )
    (finding,) = reconcile_session(session_facts, now=PAST)
    assert finding.safeguarding_alert_to == "Z-EARLIER"


def test_only_unaccounted_raises_a_safeguarding_alert() -> None:
    for case in CASES:
        session_facts, now, policy, _ = case.values
        for finding in reconcile_session(session_facts, now=now, policy=policy):
            alerted = finding.safeguarding_alert_to is not None
            assert alerted == (finding.kind is K.DUAL_UNACCOUNTED), case.id


def test_wales_b_unscheduled_says_why_and_cites_the_seed() -> None:
    (finding,) = reconcile_session(facts({WS: "B"}, regs=SINGLE_W, placements=W_TUESDAYS), now=PAST)
    assert "no placement (setting W-EOTAS-1) schedules delivery" in finding.detail
    assert finding.citation.startswith("seed 000 lines 575-579")


def test_england_b_unscheduled_explains_why_there_is_no_c_proposal() -> None:
    (finding,) = reconcile_session(facts({ES: "B"}, regs=SINGLE_E), now=PAST)
    assert finding.proposed_actions == ()
    assert "no code is proposed" in finding.detail


def test_b_for_la_provision_names_the_2024_rule() -> None:
    (finding,) = reconcile_session(
        facts({ES: "B", EE: "/"}, regs=SINGLE_E, placements=E_LA_PLACED), now=PAST
    )
    assert "19 August 2024" in finding.detail
    assert "reg 10(3)" in finding.citation


def test_deadline_without_a_calendar_counts_weekdays_and_says_so() -> None:
    session_facts = facts({WS: "B"}, regs=SINGLE_W, placements=W_PLACED, calendars={})
    (finding,) = reconcile_session(session_facts, now=at(D(2025, 10, 8), "00:00"))
    assert finding.kind is K.B_UNCONFIRMED
    assert "Monday to Friday" in finding.detail


def test_n_code_overdue_detail_names_the_deadline_and_o() -> None:
    (finding,) = reconcile_session(
        facts({ES: "N"}, regs=SINGLE_E), now=at(D(2025, 10, 14), "08:00")
    )
    assert "2025-10-13" in finding.detail
    assert " O " in finding.detail
    assert "reg 10(7)-(9)" in finding.citation


def test_one_finding_per_kind_lists_every_setting() -> None:
    # Both schools record B with no placement: one b_unscheduled naming both (Wales: C at each);
    # both also vouch for the pupil in the same session (dual_present_at_both).
    both, finding = reconcile_session(facts({WS: "B", WP: "B"}), now=PAST)
    assert both.kind is K.DUAL_PRESENT_AT_BOTH
    assert finding.kind is K.B_UNSCHEDULED
    assert finding.setting_ids == (WP, WS)
    assert [(a.setting_id, a.code) for a in finding.proposed_actions] == [(WP, "C"), (WS, "C")]


def test_finding_becomes_a_discrepancy_with_a_deterministic_id() -> None:
    (finding,) = reconcile_session(facts({WS: "/", WP: "N"}), now=PAST)
    discrepancy = finding.to_discrepancy()
    assert discrepancy.id == f"dual_conflict:{UPN}:2025-10-06:AM"
    assert len(discrepancy.id) <= 64
    assert discrepancy.status is DiscrepancyStatus.OPEN
    assert discrepancy.setting_ids == finding.setting_ids
    assert discrepancy.proposed_actions == finding.proposed_actions
    resolved = finding.to_discrepancy(DiscrepancyStatus.RESOLVED, discrepancy_id="x1")
    assert (resolved.id, resolved.status) == ("x1", DiscrepancyStatus.RESOLVED)


# --- dual_absence_notice ------------------------------------------------------------------------

NOTICES = [
    pytest.param({WS: "N", WP: "D"}, [(WS, WP, "N")], id="seed000-l569-absent-partner-D"),
    pytest.param({WS: "I"}, [(WS, WP, "I")], id="seed000-l569-absent-partner-not-marked-yet"),
    pytest.param({WS: "N", WP: "N"}, [], id="near-miss-seed000-l569-partner-already-absent"),
    pytest.param({WS: "/", WP: "N"}, [], id="near-miss-seed000-l565-attending-elsewhere"),
    pytest.param({WS: "N", WP: "#"}, [], id="near-miss-partner-closed"),
    pytest.param({WS: "D", WP: "D"}, [], id="near-miss-no-absence-recorded"),
]


@pytest.mark.parametrize(("marks", "expected"), NOTICES)
def test_dual_absence_notices(marks: dict[str, str], expected: list[tuple[str, str, str]]) -> None:
    notices = dual_absence_notices(facts(marks))
    assert [(n.absent_at, n.recipient, n.code) for n in notices] == expected
    for notice in notices:
        assert notice.key == (UPN, MON, AM, notice.absent_at, notice.recipient)
        assert notice.absent_at in notice.detail and notice.recipient in notice.detail
        assert notice.citation.startswith("seed 000")


def test_no_notice_for_a_single_registration() -> None:
    assert dual_absence_notices(facts({WS: "N"}, regs=SINGLE_W)) == ()


# --- inputs are checked -------------------------------------------------------------------------


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        reconcile_session(facts({WS: "/"}), now=dt.datetime(2025, 10, 9, 12))


def test_a_setting_without_jurisdiction_is_an_error() -> None:
    session_facts = SessionFacts(
        upn=UPN, date=MON, session=AM, registrations=(reg(WS, SINGLE),), marks={WS: mark(WS, "D")}
    )
    with pytest.raises(ValueError, match="no jurisdiction"):
        reconcile_session(session_facts, now=PAST)


def test_a_code_outside_the_set_in_force_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in code set wales-2010"):
        reconcile_session(facts({WS: "K"}, regs=SINGLE_W), now=PAST)


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        pytest.param({WP: mark(WS, "/")}, "filed under", id="wrong-key"),
        pytest.param({WS: mark(WS, "/", day=FRI)}, "not", id="wrong-date"),
        pytest.param({WS: mark(WS, "/", session=PM)}, "not", id="wrong-session"),
    ],
)
def test_marks_must_belong_to_the_session(marks: dict[str, AttendanceMark], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SessionFacts(upn=UPN, date=MON, session=AM, marks=marks)


def test_records_must_belong_to_the_learner() -> None:
    other = Registration(upn=make_upn("999000000002"), setting_id=WS, status=SINGLE, start_date=MON)
    with pytest.raises(ValueError, match="not for learner"):
        SessionFacts(upn=UPN, date=MON, session=AM, registrations=(other,))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"provider_report_deadline_school_days": -1}, id="negative-provider-days"),
        pytest.param({"n_code_replace_within_school_days": 0}, id="zero-n-code-days"),
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ReconcilePolicy(**kwargs)


def test_policy_defaults() -> None:
    policy = ReconcilePolicy()
    assert policy.registration_deadline("any", AM) == dt.time(10, 0)
    assert policy.registration_deadline("any", PM) == dt.time(14, 30)
    assert policy.provider_report_deadline_school_days == 1
    assert policy.n_code_replace_within_school_days == 5
    assert policy.wales_unscheduled_b_proposal == "C"


# --- property: a pure function of the facts ----------------------------------------------------

_DAYS = [OLD_MON, MON, D(2025, 10, 7), FRI]
_NOWS = ["09:00", "10:30", "15:00", "+1", "+3", "+14"]


def _instant(day: dt.date, spec: str) -> dt.datetime:
    if spec.startswith("+"):
        return at(day + dt.timedelta(days=int(spec[1:])), "08:00")
    return at(day, spec)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[SessionFacts, SessionFacts, dt.datetime]:
    day = draw(st.sampled_from(_DAYS))
    session = draw(st.sampled_from([AM, PM]))
    school, pru, provider = "X-SCH", "X-PRU", "X-EOTAS"
    jurisdiction = {s: draw(st.sampled_from(list(Jurisdiction))) for s in (school, pru, provider)}
    statuses = [(school, MAIN)] + ([(pru, SUB)] if draw(st.booleans()) else [])
    registrations = [reg(s, status) for s, status in statuses]
    placements = [
        EotasPlacement(
            upn=UPN,
            school_id=draw(st.sampled_from([school, pru])),
            provider_id=provider,
            sessions=tuple(
                ScheduledSession(weekday=w, session=s)
                for w, s in draw(
                    st.lists(st.tuples(st.integers(0, 4), st.sampled_from([AM, PM])), max_size=3)
                )
            ),
            start_date=D(2024, 1, 8),
            arranged_by=draw(st.sampled_from(list(PlacementArranger))),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    marks = {}
    for setting in (school, pru, provider):
        codes = sorted(code_set_for(jurisdiction[setting], day).codes)
        code = draw(st.none() | st.sampled_from(codes))
        if code is not None:
            marks[setting] = mark(setting, code, day, session)
    calendars = {s: calendar(s) for s in draw(st.sets(st.sampled_from([school, pru])))}
    first_day_caller = draw(st.none() | st.sampled_from([school, pru]))

    def build(
        order: Sequence[str], regs: Sequence[Registration], places: Sequence[EotasPlacement]
    ) -> SessionFacts:
        return SessionFacts(
            upn=UPN,
            date=day,
            session=session,
            registrations=tuple(regs),
            placements=tuple(places),
            marks={s: marks[s] for s in order},
            jurisdiction_of=jurisdiction,
            calendars=calendars,
            first_day_caller=first_day_caller,
        )

    original = build(list(marks), registrations, placements)
    shuffled = build(
        draw(st.permutations(list(marks))),
        draw(st.permutations(registrations)),
        draw(st.permutations(placements)),
    )
    now = _instant(day, draw(st.sampled_from(_NOWS)))
    return original, shuffled, now


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_reconcile_is_pure_and_order_independent(
    scenario: tuple[SessionFacts, SessionFacts, dt.datetime],
) -> None:
    original, shuffled, now = scenario
    findings = reconcile_session(original, now=now)
    # Same facts, any order, any number of times: the same findings.
    assert reconcile_session(original, now=now) == findings
    assert reconcile_session(shuffled, now=now) == findings
    assert dual_absence_notices(shuffled) == dual_absence_notices(original)

    kinds = [f.kind for f in findings]
    assert kinds == sorted(set(kinds), key=list(DiscrepancyKind).index)
    registered = {r.setting_id for r in original.registrations}
    for finding in findings:
        assert finding.severity is SEVERITY[finding.kind]
        assert finding.setting_ids == tuple(sorted(set(finding.setting_ids)))
        assert (finding.safeguarding_alert_to is not None) == (finding.kind is K.DUAL_UNACCOUNTED)
        for action in finding.proposed_actions:
            # Proposals only ever correct a register, in the code set in force there.
            assert action.setting_id in registered
            in_force = code_set_for(original.jurisdiction_of[action.setting_id], original.date)
            assert action.code in in_force.codes
