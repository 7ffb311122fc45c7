"""Roll deletion decisions: one allowed and one refused row per ground, plus the checks every
request gets (unknown / wrong-jurisdiction ground, retrospective, not on roll), consents, returns.

Everything is synthetic: a Welsh-style autumn term 2025 (half term 27-31 Oct), made-up settings
with LA codes 998 / 999, and a UPN from the test range.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

import pytest
from _pytest.mark import ParameterSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

from hub.rules.calendar import SchoolDays
from hub.rules.deletion import (
    CHECK_SLUGS,
    CheckStatus,
    DeletionConfig,
    DeletionDecisionDraft,
    DeletionFacts,
    PolicyViolation,
    decide_deletion,
    evidence_problems,
)
from hub.rules.grounds import (
    EVIDENCE,
    Regime,
    catalogue_markdown,
    ground_catalogue,
    grounds_for,
    lookup_ground,
)
from hub.rules.returns import current_run, unauthorised_absence
from hub_contracts import (
    DecisionOutcome,
    Jurisdiction,
    Learner,
    LearnerFlags,
    NotificationKind,
    Registration,
    RegistrationStatus,
    RollDeletionRequest,
    Session,
    Setting,
    SettingKind,
    make_upn,
)

D = dt.date
ALLOWED, REFUSED, PENDING = (
    DecisionOutcome.ALLOWED,
    DecisionOutcome.REFUSED,
    DecisionOutcome.PENDING,
)
SINGLE, MAIN, SUBSIDIARY = (
    RegistrationStatus.SINGLE,
    RegistrationStatus.MAIN,
    RegistrationStatus.SUBSIDIARY,
)


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    span = (last - first).days + 1
    return [d for d in (first + dt.timedelta(days=i) for i in range(span)) if d.weekday() < 5]


AUTUMN = SchoolDays(
    weekdays(D(2025, 9, 1), D(2025, 10, 24)) + weekdays(D(2025, 11, 3), D(2025, 12, 19)),
    setting_id="SYNTH",
)
# Summer term 2026 ending Wed 24 June, then the first days of the next school year.
SUMMER = SchoolDays(
    weekdays(D(2026, 4, 20), D(2026, 6, 24)) + weekdays(D(2026, 9, 2), D(2026, 9, 11)),
    setting_id="SYNTH",
)
SUMMER_2024 = SchoolDays(weekdays(D(2024, 4, 15), D(2024, 7, 19)), setting_id="SYNTH")
EFFECTIVE = D(2025, 11, 20)
TERM_START = D(2025, 9, 1)


def setting(
    sid: str, jurisdiction: Jurisdiction, kind: SettingKind = SettingKind.MAINSTREAM, **kw: bool
) -> Setting:
    la = "999" if jurisdiction is Jurisdiction.WALES else "998"
    return Setting(
        id=sid,
        name=f"Synthetic {kind.value} {sid}",
        kind=kind,
        jurisdiction=jurisdiction,
        la_code=la,
        maintained=kw.get("maintained", True),
    )


W = setting("W-SYNTH-001", Jurisdiction.WALES)
W_SPECIAL = setting("W-SYNTH-SP1", Jurisdiction.WALES, SettingKind.SPECIAL)
W_INDEPENDENT = setting(
    "W-SYNTH-IN1", Jurisdiction.WALES, SettingKind.INDEPENDENT, maintained=False
)
E = setting("E-SYNTH-001", Jurisdiction.ENGLAND)
E_SPECIAL = setting("E-SYNTH-SP1", Jurisdiction.ENGLAND, SettingKind.SPECIAL)
E_INDEPENDENT = setting(
    "E-SYNTH-IN1", Jurisdiction.ENGLAND, SettingKind.INDEPENDENT, maintained=False
)

UPN = make_upn("999000120001")
LEARNER = Learner(
    upn=UPN,
    given_name="Testy",
    family_name="Synthetic",
    date_of_birth=D(2014, 5, 1),
    address="1 Synthetic Street, Testtown",
)
LEAVER = LEARNER.model_copy(update={"date_of_birth": D(2010, 3, 10)})  # CSA ends 2026-06-26
PARENTS: JsonValue = [
    {"full_name": "Parent Synthetic", "address": "1 Synthetic Street", "phone": "01000 000000"}
]


def last_school_days(calendar: SchoolDays, n: int, ending: dt.date) -> list[dt.date]:
    return [d for d in calendar.days if d <= ending][-n:]


def both(days: list[dt.date], code: str) -> dict[tuple[dt.date, Session], str]:
    return {(d, s): code for d in days for s in Session}


ABSENT_20 = both(last_school_days(AUTUMN, 20, EFFECTIVE), "O")
ABSENT_20_TO_19 = both(last_school_days(AUTUMN, 20, D(2025, 11, 19)), "O")
ABSENT_19 = both(last_school_days(AUTUMN, 19, EFFECTIVE), "O")
# 20 days of N/G/O, with one authorised session (C) in the middle.
ABSENT_20_WITH_C = {
    **both(last_school_days(AUTUMN, 20, EFFECTIVE), "N"),
    (D(2025, 11, 10), Session.PM): "C",
}
ENQUIRIES: dict[str, JsonValue] = {
    "no_sickness_or_unavoidable_cause": True,
    "school_enquiries_failed": True,
    "la_enquiries_failed": True,
}
# Leave 22 Sep - 10 Oct (15 school days); absent the 10 school days after (13-24 Oct) and on.
LEAVE: dict[str, JsonValue] = {"leave_start_date": "2025-09-22", "leave_end_date": "2025-10-10"}
MOVED_AWAY: dict[str, JsonValue] = {
    "ceased_to_attend": True,
    "no_longer_within_reasonable_distance": True,
}
AFTER_LEAVE = both([d for d in AUTUMN.days if D(2025, 10, 13) <= d <= EFFECTIVE], "G")


@dataclass(frozen=True)
class Case:
    ground: str
    evidence: dict[str, JsonValue] = field(default_factory=dict)
    setting: Setting = W
    others: tuple[tuple[str, RegistrationStatus], ...] = ()
    other_start: dt.date = TERM_START
    here_status: RegistrationStatus = SINGLE
    codes: dict[tuple[dt.date, Session], str] = field(default_factory=dict)
    learner: Learner = LEARNER
    calendar: SchoolDays = AUTUMN
    effective: dt.date = EFFECTIVE
    today: dt.date | None = None
    consents: frozenset[str] = frozenset()
    with_parents: bool = True
    config: DeletionConfig = field(default_factory=DeletionConfig)
    #: For a refused row: a check (rule suffix) that must be among the failures.
    fails: str | None = None


def facts_for(case: Case, **request_kw: object) -> DeletionFacts:
    evidence = dict(case.evidence)
    if case.setting.jurisdiction is Jurisdiction.ENGLAND and case.with_parents:
        evidence.setdefault("parents", PARENTS)
    request = RollDeletionRequest(
        upn=case.learner.upn,
        setting_id=case.setting.id,
        ground=case.ground,
        effective_date=case.effective,
        evidence=evidence,
        **request_kw,  # type: ignore[arg-type]
    )
    start = min(D(2025, 9, 1), case.effective - dt.timedelta(days=60))
    registrations = [
        Registration(
            upn=case.learner.upn, setting_id=case.setting.id, status=case.here_status,
            start_date=start,
        ),
        *(
            Registration(
                upn=case.learner.upn, setting_id=sid, status=status,
                start_date=min(case.other_start, start) if case.other_start <= case.effective
                else case.other_start,
            )
            for sid, status in case.others
        ),
    ]  # fmt: skip
    return DeletionFacts(
        request=request,
        setting=case.setting,
        learner=case.learner,
        registrations=registrations,
        marks_at_setting=case.codes,
        calendar=case.calendar,
        today=case.today or case.effective,
        consents_recorded=case.consents,
        config=case.config,
    )


def failed_rules(draft: DeletionDecisionDraft) -> list[str]:
    return [c.rule for c in draft.checks if c.status is CheckStatus.FAILED]


WG = "wales-2010:"
EG = "england-2024:"
DUAL_W = (("W-SYNTH-002", SUBSIDIARY),)
DUAL_E = (("E-SYNTH-002", SUBSIDIARY),)

ALLOWED_ROWS = [
    # --- Wales 2010 reg 8(1) and reg 9 -------------------------------------------------------
    pytest.param(Case(WG + "8(1)(a)", {"sao_change": "revoked"}),
                 id="wales-reg8(1)(a)-sao-revoked"),
    pytest.param(
        Case(WG + "8(1)(b)", others=(("W-SYNTH-009", SINGLE),), other_start=D(2025, 11, 24)),
        id="wales-reg8(1)(b)-admitted-elsewhere-registration",
    ),
    pytest.param(
        Case(WG + "8(1)(c)", {"ceased_to_attend": True}, others=DUAL_W, here_status=MAIN,
             consents=frozenset({"W-SYNTH-002"})),
        id="wales-reg8(1)(c)-dual-consented",
    ),
    pytest.param(
        Case(WG + "8(1)(d)", {"ceased_to_attend": True, "parent_written_notice": True}),
        id="wales-reg8(1)(d)-ehe-written-notice",
    ),
    pytest.param(
        Case(WG + "8(1)(d)", {"ceased_to_attend": True, "parent_written_notice": True,
                              "la_consent": True}, setting=W_SPECIAL),
        id="wales-reg8(2)-special-school-ehe-with-la-consent",
    ),
    pytest.param(
        Case(WG + "8(1)(e)", {**MOVED_AWAY, "ews_referral_made": True}),
        id="wales-reg8(1)(e)-moved-away-ews-referred-seed000-592",
    ),
    pytest.param(
        Case(WG + "8(1)(f)", {**LEAVE, **ENQUIRIES}, codes=AFTER_LEAVE),
        id="wales-reg8(1)(f)-no-return-10-days-after-holiday",
    ),
    pytest.param(
        Case(WG + "8(1)(g)", {"medical_certificate": True, "no_intention_to_continue": True}),
        id="wales-reg8(1)(g)-medical-certificate",
    ),
    pytest.param(Case(WG + "8(1)(h)", ENQUIRIES, codes=ABSENT_20), id="wales-reg8(1)(h)-20-days"),
    pytest.param(
        Case(WG + "8(1)(h)", ENQUIRIES, codes={**ABSENT_20_TO_19, (EFFECTIVE, Session.AM): "N"}),
        id="wales-reg8(1)(h)-20-days-then-today-am-only",
    ),
    pytest.param(
        Case(WG + "8(1)(i)", {"custody_months": 6, "expected_return": False}),
        id="wales-reg8(1)(i)-custody-6-months",
    ),
    pytest.param(
        Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-19"}), id="wales-reg8(1)(j)-death"
    ),
    pytest.param(
        Case(WG + "8(1)(k)", {"no_intention_to_continue": True}, learner=LEAVER, calendar=SUMMER,
             effective=D(2026, 6, 24)),
        id="wales-reg8(1)(k)-csa-ends-before-school-next-meets",
    ),
    pytest.param(
        Case(WG + "8(1)(l)", {"ceased_to_be_pupil": True}, setting=W_INDEPENDENT),
        id="wales-reg8(1)(l)-independent-school",
    ),
    pytest.param(
        Case(WG + "8(1)(m)", {"governing_body_duties_discharged": True,
                              "appeal_status": "waived_in_writing"}),
        id="wales-reg8(1)(m)-exclusion-appeal-waived-seed000-600",
    ),
    pytest.param(
        Case(WG + "8(1)(n)", {"nursery_completed_not_transferring": True}),
        id="wales-reg8(1)(n)-nursery-not-transferring",
    ),
    pytest.param(
        Case(WG + "9", {"mobile_child": True, "ceased_to_attend": True, "la_consent": True},
             others=DUAL_W, here_status=MAIN),
        id="wales-reg9-mobile-child-la-consent-seed000-606",
    ),
    # --- England 2024 reg 9(1) ---------------------------------------------------------------
    pytest.param(
        Case(EG + "9(1)(a)", setting=E, others=(("E-SYNTH-009", SINGLE),),
             other_start=D(2025, 11, 24)),
        id="eng2024-reg9(1)(a)-registered-elsewhere",
    ),
    pytest.param(
        Case(EG + "9(1)(a)", {"admitted_elsewhere_setting_id": "OUT-OF-AREA-1"}, setting=E),
        id="eng2024-reg9(1)(a)-admission-named-in-evidence",
    ),
    pytest.param(
        Case(EG + "9(1)(b)", {"nursery_completed_not_transferring": True,
                              "will_not_attend_again": True}, setting=E),
        id="eng2024-reg9(1)(b)-nursery",
    ),
    pytest.param(
        Case(EG + "9(1)(c)", {"will_not_attend_again": True}, setting=E, others=DUAL_E,
             here_status=MAIN, consents=frozenset({"E-SYNTH-002"})),
        id="eng2024-reg9(1)(c)-dual-every-consent",
    ),
    pytest.param(Case(EG + "9(1)(d)", {"sao_change": "substituted"}, setting=E),
                 id="eng2024-reg9(1)(d)-sao-amended"),
    pytest.param(Case(EG + "9(1)(e)", {"sao_change": "revoked"}, setting=E),
                 id="eng2024-reg9(1)(e)-sao-revoked"),
    pytest.param(Case(EG + "9(1)(f)", {"parent_written_notice": True}, setting=E),
                 id="eng2024-reg9(1)(f)-ehe-written-notice-seed003-661"),
    pytest.param(
        Case(EG + "9(1)(g)", {"no_longer_within_reasonable_distance": True}, setting=E),
        id="eng2024-reg9(1)(g)-moved-away",
    ),
    pytest.param(
        Case(EG + "9(1)(h)", {"leave_end_date": "2025-10-10", **ENQUIRIES}, setting=E,
             codes=AFTER_LEAVE),
        id="eng2024-reg9(1)(h)-no-return-after-leave",
    ),
    pytest.param(Case(EG + "9(1)(i)", ENQUIRIES, setting=E, codes=ABSENT_20),
                 id="eng2024-reg9(1)(i)-20-days-GNO"),
    pytest.param(
        Case(EG + "9(1)(j)", {"sentence_of_detention": True, "expected_return": False}, setting=E),
        id="eng2024-reg9(1)(j)-detention",
    ),
    pytest.param(Case(EG + "9(1)(k)", {"date_of_death_notified": "2025-11-18"}, setting=E),
                 id="eng2024-reg9(1)(k)-death"),
    pytest.param(
        Case(EG + "9(1)(l)", {"sixth_form_entry_requirements_not_met": True}, setting=E,
             learner=LEAVER, calendar=SUMMER, effective=D(2026, 6, 24)),
        id="eng2024-reg9(1)(l)-leaves-at-csa-end",
    ),
    pytest.param(
        Case(EG + "9(1)(m)", {"boarder": True, "boarding_fees_unpaid": True}, setting=E),
        id="eng2024-reg9(1)(m)-boarding-fees",
    ),
    pytest.param(
        Case(EG + "9(1)(n)", {"ceased_to_be_pupil": True}, setting=E_INDEPENDENT),
        id="eng2024-reg9(1)(n)-independent",
    ),
    pytest.param(Case(EG + "9(1)(o)", {"appeal_status": "determined"}, setting=E),
                 id="eng2024-reg9(1)(o)-exclusion-final"),
    # --- England 2006 (before 19 Aug 2024) ---------------------------------------------------
    pytest.param(
        Case("england-2006:8(1)(j)", {"date_of_death_notified": "2024-07-01"}, setting=E,
             calendar=SUMMER_2024, effective=D(2024, 7, 2)),
        id="eng2006-reg8(1)(j)-death-before-2024-regs",
    ),
    pytest.param(
        Case("england-2006:8(1)(h)", ENQUIRIES, setting=E, calendar=SUMMER_2024,
             effective=D(2024, 7, 19),
             codes=both(last_school_days(SUMMER_2024, 20, D(2024, 7, 19)), "N")),
        id="eng2006-reg8(1)(h)-20-days",
    ),
]  # fmt: skip

REFUSED_ROWS = [
    # --- Wales 2010 --------------------------------------------------------------------------
    pytest.param(Case(WG + "8(1)(a)", fails="sao-substituted-or-revoked"),
                 id="wales-reg8(1)(a)-no-sao-change"),
    pytest.param(Case(WG + "8(1)(b)", fails="admitted-elsewhere"),
                 id="wales-reg8(1)(b)-no-admission-known-seed000-616"),
    pytest.param(
        Case(WG + "8(1)(b)", others=DUAL_W, here_status=MAIN, fails="not-agreed-dual-registration"),
        id="wales-reg8(1)(b)-agreed-dual-use-(c)",
    ),
    pytest.param(Case(WG + "8(1)(c)", {"ceased_to_attend": True}, fails="dual-registered"),
                 id="wales-reg8(1)(c)-not-dual-registered"),
    pytest.param(Case(WG + "8(1)(d)", {"ceased_to_attend": True}, fails="parent-written-notice"),
                 id="wales-reg8(1)(d)-no-written-notice"),
    pytest.param(
        Case(WG + "8(1)(d)", {"ceased_to_attend": True, "parent_written_notice": True},
             setting=W_SPECIAL, fails="consent"),
        id="wales-reg8(2)-special-school-ehe-without-la-consent",
    ),
    pytest.param(
        Case(WG + "8(1)(e)", MOVED_AWAY, fails="ews-referral"),
        id="wales-reg8(1)(e)-no-ews-referral-seed000-592",
    ),
    pytest.param(
        Case(WG + "8(1)(f)", {**LEAVE, **ENQUIRIES},
             codes={**AFTER_LEAVE, (D(2025, 10, 15), Session.AM): "/"}, fails="leave-non-return"),
        id="wales-reg8(1)(f)-attended-within-10-days",
    ),
    pytest.param(
        Case(WG + "8(1)(f)", {"leave_start_date": "2025-10-06", "leave_end_date": "2025-10-10",
                              **ENQUIRIES}, codes=AFTER_LEAVE, fails="holiday-leave-over-ten-days"),
        id="wales-reg8(1)(f)-leave-not-over-10-days",
    ),
    pytest.param(Case(WG + "8(1)(g)", {"no_intention_to_continue": True},
                      fails="medical-certificate"), id="wales-reg8(1)(g)-no-certificate"),
    pytest.param(Case(WG + "8(1)(h)", ENQUIRIES, codes=ABSENT_19, fails="twenty-day-absence"),
                 id="wales-reg8(1)(h)-only-19-days"),
    pytest.param(
        Case(WG + "8(1)(h)", ENQUIRIES, codes={**ABSENT_20_TO_19, (EFFECTIVE, Session.AM): "/"},
             fails="twenty-day-absence"),
        id="wales-reg8(1)(h)-present-this-morning",
    ),
    pytest.param(
        Case(WG + "8(1)(h)", {"no_sickness_or_unavoidable_cause": True,
                              "school_enquiries_failed": True}, codes=ABSENT_20,
             fails="school-and-la-enquiries-failed"),
        id="wales-reg8(1)(h)-la-enquiries-missing",
    ),
    pytest.param(Case(WG + "8(1)(i)", {"custody_months": 3, "expected_return": False},
                      fails="custody-four-months"), id="wales-reg8(1)(i)-custody-3-months"),
    pytest.param(Case(WG + "8(1)(j)", fails="death-notified"), id="wales-reg8(1)(j)-no-notice"),
    pytest.param(Case(WG + "8(1)(k)", {"no_intention_to_continue": True},
                      fails="ceases-school-age-before-next-meets"),
                 id="wales-reg8(1)(k)-still-of-school-age"),
    pytest.param(Case(WG + "8(1)(l)", {"ceased_to_be_pupil": True}, fails="not-maintained-school"),
                 id="wales-reg8(1)(l)-maintained-school"),
    pytest.param(
        Case(WG + "8(1)(m)", {"governing_body_duties_discharged": True,
                              "appeal_status": "time_running"}, fails="exclusion-final"),
        id="wales-reg8(1)(m)-appeal-time-running-seed000-601",
    ),
    pytest.param(Case(WG + "8(1)(n)", fails="nursery-not-transferring"),
                 id="wales-reg8(1)(n)-no-evidence"),
    pytest.param(
        Case(WG + "9", {"ceased_to_attend": True, "la_consent": True}, others=DUAL_W,
             here_status=MAIN, fails="mobile-child"),
        id="wales-reg9-not-a-mobile-child",
    ),
    # --- England 2024 ------------------------------------------------------------------------
    pytest.param(
        Case(EG + "9(1)(a)", {"sao_names_school": True}, setting=E,
             others=(("E-SYNTH-009", SINGLE),), fails="no-sao-naming-school"),
        id="eng2024-reg9(1)(a)(i)-sao-names-school",
    ),
    pytest.param(
        Case(EG + "9(1)(b)", {"nursery_completed_not_transferring": True}, setting=E,
             fails="will-not-attend-again"),
        id="eng2024-reg9(1)(b)(ii)-may-attend-again",
    ),
    pytest.param(
        Case(EG + "9(1)(c)", {"will_not_attend_again": True, "mobile_child_main_school": True},
             setting=E, others=DUAL_E, here_status=MAIN, consents=frozenset({"E-SYNTH-002"}),
             fails="not-mobile-child-main-school"),
        id="eng2024-reg9(1)(c)(iv)-mobile-child-main-school",
    ),
    pytest.param(Case(EG + "9(1)(d)", {"sao_change": "revoked"}, setting=E,
                      fails="sao-substituted"), id="eng2024-reg9(1)(d)-not-amended"),
    pytest.param(Case(EG + "9(1)(e)", {"sao_change": "substituted"}, setting=E,
                      fails="sao-revoked"), id="eng2024-reg9(1)(e)-not-revoked"),
    pytest.param(Case(EG + "9(1)(f)", setting=E, fails="parent-written-notice"),
                 id="eng2024-reg9(1)(f)-no-written-notice"),
    pytest.param(
        Case(EG + "9(1)(f)", {"parent_written_notice": True}, setting=E_SPECIAL, fails="consent"),
        id="eng2024-reg9(1)(f)-special-school-no-la-consent-UNVERIFIED",
    ),
    pytest.param(
        Case(EG + "9(1)(g)", {"no_longer_within_reasonable_distance": True, "boarder": True},
             setting=E, fails="not-a-boarder"),
        id="eng2024-reg9(1)(g)-boarder",
    ),
    pytest.param(
        Case(EG + "9(1)(h)", {"leave_end_date": "2025-11-14", **ENQUIRIES}, setting=E,
             fails="leave-non-return"),
        id="eng2024-reg9(1)(h)-10-days-not-yet-elapsed",
    ),
    pytest.param(
        Case(EG + "9(1)(i)", ENQUIRIES, setting=E, codes=ABSENT_20_WITH_C,
             fails="twenty-day-absence"),
        id="eng2024-reg9(1)(i)-authorised-session-in-run",
    ),
    pytest.param(
        Case(EG + "9(1)(j)", {"sentence_of_detention": True, "expected_return": True}, setting=E,
             fails="no-expected-return"),
        id="eng2024-reg9(1)(j)-return-expected",
    ),
    pytest.param(
        Case(EG + "9(1)(k)", {"date_of_death_notified": "2025-12-01"}, setting=E,
             fails="death-notified"),
        id="eng2024-reg9(1)(k)-date-in-future",
    ),
    pytest.param(
        Case(EG + "9(1)(l)", setting=E, learner=LEAVER, calendar=SUMMER,
             effective=D(2026, 6, 24), fails="not-continuing-to-sixth-form"),
        id="eng2024-reg9(1)(l)-may-continue-to-sixth-form",
    ),
    pytest.param(Case(EG + "9(1)(m)", {"boarder": True}, setting=E, fails="boarding-fees-unpaid"),
                 id="eng2024-reg9(1)(m)-fees-paid"),
    pytest.param(
        Case(EG + "9(1)(n)", {"ceased_to_be_pupil": True}, setting=E,
             fails="independent-or-non-maintained-special"),
        id="eng2024-reg9(1)(n)-maintained-school",
    ),
    pytest.param(Case(EG + "9(1)(o)", {"appeal_status": "lodged"}, setting=E,
                      fails="exclusion-final"), id="eng2024-reg9(1)(o)-review-lodged"),
    # --- generic checks ----------------------------------------------------------------------
    pytest.param(Case(WG + "8(1)(z)", fails="ground/unknown"), id="DESIGN5-unknown-ground"),
    pytest.param(Case(EG + "9(1)(k)", {"date_of_death_notified": "2025-11-18"},
                      fails="ground/regime"), id="DESIGN5-england-ground-at-welsh-school"),
    pytest.param(Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-18"}, setting=E,
                      fails="ground/regime"), id="DESIGN5-welsh-ground-at-english-school"),
    pytest.param(
        Case("england-2006:8(1)(j)", {"date_of_death_notified": "2025-11-18"}, setting=E,
             fails="ground/regime"),
        id="eng2024-in-force-2024-08-19-2006-ground-refused",
    ),
    pytest.param(
        Case(EG + "9(1)(k)", {"date_of_death_notified": "2024-07-01"}, setting=E,
             calendar=SUMMER_2024, effective=D(2024, 7, 2), fails="ground/regime"),
        id="eng2024-ground-before-2024-08-19-refused",
    ),
    pytest.param(
        Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-18"},
             codes={(D(2025, 11, 21), Session.AM): "N"}, fails="deletion/retrospective"),
        id="legal-rules-3.1-no-retrospective-deletion",
    ),
    pytest.param(
        Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-18"}, today=D(2025, 11, 21),
             fails="deletion/backdated"),
        id="legal-rules-3.1-no-backdating",
    ),
    pytest.param(
        Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-18", "date_of_death": "x"},
             fails="deletion/evidence"),
        id="evidence-unknown-key-refused",
    ),
    pytest.param(
        Case(WG + "8(1)(i)", {"custody_months": "six", "expected_return": False},
             fails="deletion/evidence"),
        id="evidence-wrong-type-refused",
    ),
    pytest.param(
        Case(EG + "9(1)(k)", {"date_of_death_notified": "2025-11-18"}, setting=E,
             with_parents=False, fails="deletion-return-contents"),
        id="eng2024-reg13(4)-return-needs-parents",
    ),
    pytest.param(
        Case(WG + "8(1)(d)", {"ceased_to_attend": True, "parent_written_notice": True},
             learner=LEARNER.model_copy(update={"address": None}),
             fails="deletion-return-contents"),
        id="wales-reg12(3)-return-needs-address",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", ALLOWED_ROWS)
def test_allowed(case: Case) -> None:
    draft = decide_deletion(facts_for(case))
    assert failed_rules(draft) == []
    assert draft.decision is ALLOWED, [r.message for r in draft.reasons]
    assert draft.reasons and all(r.citation for r in draft.reasons)
    assert draft.awaiting_consent_from == ()


@pytest.mark.parametrize("case", REFUSED_ROWS)
def test_refused(case: Case) -> None:
    draft = decide_deletion(facts_for(case))
    assert draft.decision is REFUSED
    assert case.fails is not None
    assert any(rule.endswith(case.fails) for rule in failed_rules(draft)), failed_rules(draft)
    # Only failures are given as reasons; each is cited and readable.
    assert {r.rule for r in draft.reasons} == set(failed_rules(draft))
    assert all(r.citation and r.message for r in draft.reasons)
    assert draft.notifications == ()
    # Every evidence key a message names is in the documented vocabulary.
    for reason in draft.reasons:
        for key in re.findall(r"`([a-z_]+)`", reason.message):
            assert key in EVIDENCE or key == "date_of_death", (key, reason.message)


def case_of(row: ParameterSet) -> Case:
    case = row.values[0]
    assert isinstance(case, Case)
    return case


def test_every_ground_has_an_allowed_and_a_refused_row() -> None:
    statutory = {g.id for g in (*grounds_for("wales-2010"), *grounds_for("england-2024"))}
    assert statutory <= {case_of(row).ground for row in ALLOWED_ROWS}
    assert statutory <= {case_of(row).ground for row in REFUSED_ROWS}


@pytest.mark.parametrize("case", [*ALLOWED_ROWS, *REFUSED_ROWS][::7])
def test_dry_run_does_not_change_the_decision(case: Case) -> None:
    assert decide_deletion(facts_for(case, dry_run=True)) == decide_deletion(facts_for(case))


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_has_every_ground() -> None:
    letters = "abcdefghijklmno"
    assert [g.ref for g in grounds_for(Regime.WALES_2010)] == [
        *(f"8(1)({x})" for x in letters[:14]),
        "9",
    ]
    assert [g.ref for g in grounds_for(Regime.ENGLAND_2024)] == [f"9(1)({x})" for x in letters]
    assert [g.ref for g in grounds_for(Regime.ENGLAND_2006)] == [f"8(1)({x})" for x in letters]
    pattern = re.compile(r"^[a-z]+-[0-9]{4}:[0-9]+(?:\([0-9a-z]+\))*$")  # contracts GroundId
    for ground in ground_catalogue().values():
        assert pattern.match(ground.id) and len(ground.id) <= 40
        assert set(ground.checks) <= CHECK_SLUGS, ground.id
        assert ground.citation and ground.title


@pytest.mark.parametrize(
    ("regime", "with_return"),
    [
        pytest.param(Regime.WALES_2010, {"8(1)(c)", "8(1)(d)", "8(1)(g)", "8(1)(i)", "8(1)(m)"},
                     id="wales-reg12(3)-five-grounds"),
        pytest.param(Regime.ENGLAND_2024, {f"9(1)({x})" for x in "abcdefghijklmno"},
                     id="eng2024-reg13(4)-every-ground"),
    ],
)  # fmt: skip
def test_which_grounds_need_a_statutory_return(regime: Regime, with_return: set[str]) -> None:
    day = D(2025, 11, 20)
    assert {g.ref for g in grounds_for(regime) if g.return_duty_on(day)} == with_return


def test_england_2006_returns_changed_in_2016() -> None:
    # England 2006 reg 12(3) as made: (d),(e),(g),(i),(m); from 1 Sept 2016 every ground
    ground = lookup_ground("england-2006:8(1)(j)")
    assert ground is not None
    assert ground.return_duty_on(D(2015, 6, 1)) is None
    assert ground.return_duty_on(D(2017, 6, 1)) is not None
    ehe = lookup_ground("england-2006:8(1)(d)")
    assert ehe is not None and ehe.return_duty_on(D(2015, 6, 1)) is not None


def test_unverified_welsh_grounds_say_so() -> None:
    for ref in "efghijklmn":
        ground = lookup_ground(f"wales-2010:8(1)({ref})")
        assert ground is not None and "UNVERIFIED" in ground.citation


def test_evidence_problems_lists_each() -> None:
    problems = evidence_problems(
        {"parent_written_notice": "yes", "appeal_status": "won", "typo_key": True}
    )
    assert len(problems) == 3
    assert evidence_problems({"custody_months": 4.5, "leave_end_date": "2025-10-10"}) == ()


# --- consent workflow (dual registration) ----------------------------------------------------

DUAL_TWO = (("W-SYNTH-002", SUBSIDIARY), ("W-SYNTH-003", SUBSIDIARY))


@pytest.mark.parametrize(
    ("consents", "decision", "awaiting"),
    [
        pytest.param(frozenset(), PENDING, ("W-SYNTH-002", "W-SYNTH-003"),
                     id="wales-reg8(1)(c)-no-consents-pending"),
        pytest.param(frozenset({"W-SYNTH-003"}), PENDING, ("W-SYNTH-002",),
                     id="wales-reg8(1)(c)-one-of-two-pending"),
        pytest.param(frozenset({"W-SYNTH-002", "W-SYNTH-003"}), ALLOWED, (),
                     id="wales-reg8(1)(c)-every-consent-allowed"),
    ],
)  # fmt: skip
def test_dual_registered_deletion_waits_for_every_consent(
    consents: frozenset[str], decision: DecisionOutcome, awaiting: tuple[str, ...]
) -> None:
    case = Case(WG + "8(1)(c)", {"ceased_to_attend": True}, others=DUAL_TWO, here_status=MAIN,
                consents=consents)  # fmt: skip
    draft = decide_deletion(facts_for(case))
    assert draft.decision is decision
    assert draft.awaiting_consent_from == awaiting
    kinds = [(n.kind, n.recipient) for n in draft.notifications]
    if decision is PENDING:
        assert kinds == [(NotificationKind.CONSENT_REQUEST, f"setting:{s}") for s in awaiting]
        assert [r.rule for r in draft.reasons] == ["wales-2010:8(1)(c)/consent"]
        assert all(n.due_by == EFFECTIVE for n in draft.notifications)
    else:
        # Wales reg 12(3): return within 10 school days after the deletion: 4 Dec 2025
        assert kinds == [(NotificationKind.DELETION_RETURN, "la")]
        assert draft.notifications[0].due_by == D(2025, 12, 4)


def test_pending_with_a_failure_is_refused_without_consent_requests() -> None:
    case = Case(WG + "8(1)(c)", others=DUAL_TWO, here_status=MAIN)  # no ceased_to_attend
    draft = decide_deletion(facts_for(case))
    assert draft.decision is REFUSED
    assert draft.notifications == () and draft.awaiting_consent_from == ()


# --- notifications on allowed ----------------------------------------------------------------


def test_wales_return_due_across_half_term() -> None:
    # Wales reg 12(3): deleted Thu 23 Oct, half term 27-31 Oct -> due Thu 13 Nov
    case = Case(WG + "8(1)(g)", {"medical_certificate": True, "no_intention_to_continue": True},
                effective=D(2025, 10, 23))  # fmt: skip
    (ret,) = decide_deletion(facts_for(case)).notifications
    assert (ret.kind, ret.recipient, ret.due_by) == (
        NotificationKind.DELETION_RETURN,
        "la",
        D(2025, 11, 13),
    )
    assert not ret.due_by_is_estimate
    assert ret.payload["full_name"] == "Testy Synthetic"
    assert ret.payload["address"] == LEARNER.address


def test_wales_return_due_at_term_end_is_a_safe_estimate() -> None:
    case = Case(WG + "8(1)(g)", {"medical_certificate": True, "no_intention_to_continue": True},
                effective=D(2025, 12, 12))  # fmt: skip
    (ret,) = decide_deletion(facts_for(case)).notifications
    # 5 school days left in the calendar (15-19 Dec), then weekdays: never later than the law
    assert ret.due_by == D(2025, 12, 26) and ret.due_by_is_estimate


def test_wales_other_grounds_get_a_good_practice_notice() -> None:
    # Wales: other deletions notified to the LA "as a matter of good practice" (seed 000 616)
    draft = decide_deletion(facts_for(Case(WG + "8(1)(a)", {"sao_change": "substituted"})))
    (notice,) = draft.notifications
    assert (notice.kind, notice.recipient, notice.due_by) == (
        NotificationKind.DELETION_NOTICE,
        "la",
        None,
    )
    off = replace(Case(WG + "8(1)(a)", {"sao_change": "substituted"}),
                  config=DeletionConfig(wales_good_practice_notice=False))  # fmt: skip
    assert decide_deletion(facts_for(off)).notifications == ()


def test_england_return_due_no_later_than_deletion_with_reg13_contents() -> None:
    case = Case(EG + "9(1)(f)", {"parent_written_notice": True, "new_address": "2 Elsewhere Road"},
                setting=E)  # fmt: skip
    (ret,) = decide_deletion(facts_for(case)).notifications
    assert (ret.kind, ret.recipient, ret.due_by) == (
        NotificationKind.DELETION_RETURN,
        "la",
        EFFECTIVE,
    )
    for item in ("full_name", "address", "parents", "ground", "destination"):
        assert item in ret.payload
    assert ret.payload["destination"] == {"new_address": "2 Elsewhere Road"}


@pytest.mark.parametrize(
    ("flags", "jurisdiction_setting", "expected"),
    [
        pytest.param(LearnerFlags(looked_after=True), E, True, id="seed003-545-looked-after"),
        pytest.param(LearnerFlags(child_protection_plan=True, social_worker_email="sw@example.org"),
                     E, True, id="seed003-545-cp-plan"),
        pytest.param(LearnerFlags(), E, False, id="seed003-545-no-social-worker"),
        pytest.param(LearnerFlags(looked_after=True), W, False, id="wales-not-configured"),
    ],
)  # fmt: skip
def test_social_worker_told_before_deletion(
    flags: LearnerFlags, jurisdiction_setting: Setting, expected: bool
) -> None:
    learner = LEARNER.model_copy(update={"flags": flags})
    ground = "england-2024:9(1)(k)" if jurisdiction_setting is E else "wales-2010:8(1)(j)"
    case = Case(ground, {"date_of_death_notified": "2025-11-18"}, setting=jurisdiction_setting,
                learner=learner)  # fmt: skip
    draft = decide_deletion(facts_for(case))
    assert draft.decision is ALLOWED
    to_sw = [n for n in draft.notifications if n.recipient == "social_worker"]
    assert bool(to_sw) is expected
    if to_sw:
        assert to_sw[0].kind is NotificationKind.DELETION_NOTICE
        assert to_sw[0].due_by == EFFECTIVE


@pytest.mark.parametrize(
    ("effective", "decision"),
    [
        pytest.param(D(2026, 6, 24), ALLOWED, id="eng2024-reg13(5)-end-of-final-year-no-return"),
        pytest.param(D(2026, 5, 20), REFUSED, id="eng2024-reg13(5)-claim-mid-year-refused"),
    ],
)
def test_final_year_leaver_exemption(effective: dt.date, decision: DecisionOutcome) -> None:
    case = Case(EG + "9(1)(a)", {"final_year_leaver": True, "admitted_elsewhere_setting_id": "S2"},
                setting=E, calendar=SUMMER, effective=effective, with_parents=False)  # fmt: skip
    draft = decide_deletion(facts_for(case))
    assert draft.decision is decision
    assert all(n.kind is not NotificationKind.DELETION_RETURN for n in draft.notifications)


def test_term_end_csa_check_without_next_term_calendar_is_refused_clearly() -> None:
    short = SchoolDays(weekdays(D(2026, 4, 20), D(2026, 6, 24)), setting_id="SYNTH")
    case = Case(WG + "8(1)(k)", {"no_intention_to_continue": True}, learner=LEAVER,
                calendar=short, effective=D(2026, 6, 24))  # fmt: skip
    draft = decide_deletion(facts_for(case))
    assert draft.decision is REFUSED
    assert "does not show when the school next meets" in draft.reasons[0].message


def test_not_on_roll_is_refused() -> None:
    facts = facts_for(Case(WG + "8(1)(j)", {"date_of_death_notified": "2025-11-18"}))
    ended = replace(
        facts,
        registrations=[
            Registration(upn=UPN, setting_id=W.id, status=SINGLE, start_date=D(2025, 9, 1),
                         end_date=D(2025, 10, 1))
        ],
    )  # fmt: skip
    assert "deletion/on-roll" in failed_rules(decide_deletion(ended))


def test_marks_as_history_use_the_latest_entry() -> None:
    from hub_contracts import AttendanceMark

    at = dt.datetime(2025, 11, 21, 9, tzinfo=dt.UTC)
    days = last_school_days(AUTUMN, 20, EFFECTIVE)
    history = [
        AttendanceMark(upn=UPN, setting_id=W.id, date=d, session=s, code=code, source="test",
                       recorded_at=at + dt.timedelta(minutes=i))
        for d in days for s in Session for i, code in enumerate(("N", "O"))
    ]  # fmt: skip
    facts = replace(facts_for(Case(WG + "8(1)(h)", ENQUIRIES)), marks_at_setting=history)
    assert decide_deletion(facts).decision is ALLOWED
    # An amendment (I, authorised) recorded later replaces the last O: the run is broken.
    amendment = history[-1].model_copy(update={"code": "I", "recorded_at": at + dt.timedelta(1)})
    amended = [*history, amendment]
    assert decide_deletion(replace(facts, marks_at_setting=amended)).decision is REFUSED


def test_facts_must_match_the_request() -> None:
    case = Case(WG + "8(1)(j)")
    facts = facts_for(case)
    with pytest.raises(ValueError, match="facts' own"):
        replace(facts, setting=E)


def test_configurable_england_special_school_consent() -> None:
    config = DeletionConfig(england_special_school_ehe_needs_la_consent=False)
    case = Case(EG + "9(1)(f)", {"parent_written_notice": True}, setting=E_SPECIAL, config=config)
    assert decide_deletion(facts_for(case)).decision is ALLOWED


def test_a_policy_may_not_drop_statutory_checks() -> None:
    def relaxing(facts: DeletionFacts, draft: DeletionDecisionDraft) -> DeletionDecisionDraft:
        return DeletionDecisionDraft(draft.ground).add_met("la-policy:bad/x", "ok", "none")

    with pytest.raises(PolicyViolation):
        decide_deletion(facts_for(Case(WG + "8(1)(j)")), [relaxing])


# --- properties ------------------------------------------------------------------------------

CASES = [case_of(row) for row in (*ALLOWED_ROWS, *REFUSED_ROWS)]
OTHER_SETTINGS = ["W-SYNTH-002", "W-SYNTH-003", "E-SYNTH-002", "W-SYNTH-009"]
ANY_VALUE = st.one_of(
    st.booleans(),
    st.integers(min_value=-1, max_value=12),
    st.sampled_from(
        ["2025-10-10", "2025-11-18", "2026-01-01", "substituted", "revoked", "expired", "lodged",
         "S-X", "", "not-a-date"]
    ),
    st.just(PARENTS),
)  # fmt: skip
CODES = ["G", "N", "O", "C", "/", "D", "U", "I", "B", "Z", "#"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_allowed_never_carries_a_failed_precondition(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(CASES))
    evidence = dict(case.evidence)
    for key in data.draw(st.sets(st.sampled_from(sorted(evidence)))) if evidence else ():
        if data.draw(st.booleans()):
            del evidence[key]
        elif isinstance(evidence[key], bool):
            evidence[key] = not evidence[key]
    for key, value in data.draw(
        st.dictionaries(st.sampled_from([*sorted(EVIDENCE), "typo"]), ANY_VALUE, max_size=3)
    ).items():
        evidence[key] = value
    codes = dict(case.codes)
    for day, session, code in data.draw(
        st.lists(
            st.tuples(st.sampled_from(case.calendar.days), st.sampled_from(Session),
                      st.sampled_from(CODES)),
            max_size=4,
        )
    ):  # fmt: skip
        codes[(day, session)] = code
    effective = case.effective + dt.timedelta(days=data.draw(st.integers(-3, 3)))
    mutated = replace(
        case,
        ground=data.draw(
            st.one_of(st.just(case.ground), st.sampled_from(sorted(ground_catalogue())))
        ),
        evidence=evidence,
        codes=codes,
        effective=effective,
        today=effective + dt.timedelta(days=data.draw(st.integers(-2, 2))),
        consents=frozenset(data.draw(st.sets(st.sampled_from(OTHER_SETTINGS)))),
        with_parents=data.draw(st.booleans()),
    )
    draft = decide_deletion(facts_for(mutated))
    statuses = {check.status for check in draft.checks}
    reason_rules = {reason.rule for reason in draft.reasons}
    if draft.decision is ALLOWED:
        assert statuses == {CheckStatus.MET}
        assert reason_rules == {c.rule for c in draft.checks}
    elif draft.decision is PENDING:
        assert CheckStatus.FAILED not in statuses and CheckStatus.AWAITING in statuses
        assert draft.awaiting and all(n.when is PENDING for n in draft.notifications)
    else:
        failed = set(failed_rules(draft))
        assert failed and reason_rules == failed and draft.notifications == ()
    assert decide_deletion(facts_for(mutated, dry_run=True)) == draft


def brute_force_run(codes: dict[tuple[dt.date, Session], str], up_to: dt.date) -> int:
    def unauthorised(day: dt.date, s: Session) -> bool:
        return codes.get((day, s)) in {"G", "N", "O"}

    marked = [d for d in AUTUMN.days if d <= up_to and any((d, s) in codes for s in Session)]
    if not marked:
        return 0
    last = marked[-1]
    on_last = [s for s in Session if (last, s) in codes]
    if len(on_last) == 1 and unauthorised(last, on_last[0]):
        last = max([d for d in AUTUMN.days if d < last], default=D(1, 1, 1))
    count = 0
    for day in reversed([d for d in AUTUMN.days if d <= last]):
        if not all(unauthorised(day, s) for s in Session):
            break
        count += 1
    return count


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(
        st.tuples(*[st.sampled_from(["G", "N", "O"] * 8 + ["C", "/", "D", "U", "I", None])] * 2),
        min_size=len(AUTUMN),
        max_size=len(AUTUMN),
    ),
    up_to=st.dates(min_value=D(2025, 9, 1), max_value=D(2025, 12, 21)),
    setting_=st.sampled_from([W, E]),
)
def test_twenty_day_check_agrees_with_brute_force(
    pattern: list[tuple[str | None, str | None]], up_to: dt.date, setting_: Setting
) -> None:
    codes = {
        (day, session): code
        for day, pair in zip(AUTUMN.days, pattern, strict=True)
        for session, code in zip(Session, pair, strict=True)
        if code is not None
    }
    expected = brute_force_run(codes, up_to)
    run = current_run(codes, AUTUMN, unauthorised_absence(setting_.jurisdiction), up_to=up_to)
    assert (run.length if run else 0) == expected
    ground = "wales-2010:8(1)(h)" if setting_ is W else "england-2024:9(1)(i)"
    case = Case(ground, ENQUIRIES, setting=setting_, codes=codes, effective=up_to)
    draft = decide_deletion(facts_for(case))
    (check,) = [c for c in draft.checks if c.rule == f"{ground}/twenty-day-absence"]
    assert (check.status is CheckStatus.MET) is (expected >= 20)


def test_catalogue_markdown_lists_every_ground_and_evidence_key() -> None:
    text = catalogue_markdown()
    for ground_id in ground_catalogue():
        assert f"| `{ground_id}` |" in text
    for key in EVIDENCE:
        assert f"| `{key}` |" in text
