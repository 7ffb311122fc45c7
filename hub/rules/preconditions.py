"""Each deletion ground's preconditions, one small check per condition, keyed by slug.

A ground in the catalogue (`hub.rules.grounds`) names the slugs it needs; the engine
(`hub.rules.deletion`) runs them. A check never fetches: it reads the facts and the request's
evidence and returns a `RuleCheck` naming the evidence key that would satisfy it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import JsonValue

from hub.rules.calendar import CalendarExhausted
from hub.rules.codes import ATTENDANCE_CATEGORIES, UnknownCodeSetError, code_set_for
from hub.rules.deletion_model import (
    TWENTY_SCHOOL_DAYS,
    CheckStatus,
    DeletionFacts,
    RuleCheck,
    _as_date,
    _as_number,
)
from hub.rules.grounds import (
    Ground,
    Regime,
)
from hub.rules.returns import (
    current_run,
    unauthorised_absence,
)
from hub.rules.school_age import compulsory_school_age_end
from hub_contracts import (
    Jurisdiction,
    RegistrationStatus,
    Setting,
    SettingKind,
)

# --- Ground preconditions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckContext:
    ground: Ground
    facts: DeletionFacts
    slug: str

    @property
    def ev(self) -> Mapping[str, JsonValue]:
        return self.facts.request.evidence

    @property
    def day(self) -> dt.date:
        return self.facts.request.effective_date

    def result(self, ok: bool, met: str, failed: str, source: str = "") -> RuleCheck:
        citation = f"{self.ground.citation}; {source}" if source else self.ground.citation
        return RuleCheck(
            f"{self.ground.id}/{self.slug}",
            CheckStatus.MET if ok else CheckStatus.FAILED,
            met if ok else failed,
            citation,
        )

    def flags(self, *keys: str, what: str, source: str = "") -> RuleCheck:
        """Met when every key is JSON true; else name the missing keys."""
        missing = [key for key in keys if self.ev.get(key) is not True]
        names = ", ".join(f"`{key}`" for key in missing)
        return self.result(
            not missing, f"Recorded: {what}.", f"Missing evidence {names}: {what}.", source
        )

    def not_flag(self, key: str, what: str) -> RuleCheck:
        """Met unless the key is JSON true (the hub holds no such fact otherwise)."""
        return self.result(
            self.ev.get(key) is not True,
            f"No record that {what}.",
            f"Evidence `{key}` records that {what}: this ground does not apply.",
        )


Check = Callable[[CheckContext], RuleCheck]


def _sao(*allowed: str) -> Check:
    def check(c: CheckContext) -> RuleCheck:
        value = c.ev.get("sao_change")
        return c.result(
            value in allowed,
            f"The LA has {value} the school attendance order.",
            "Missing evidence `sao_change` (" + " or ".join(allowed) + "): the LA must have "
            "changed the school attendance order.",
        )

    return check


def _admitted_elsewhere(c: CheckContext) -> RuleCheck:
    where = c.facts.other_admission()
    return c.result(
        where is not None,
        f"Admitted at {where}.",
        "No admission at another school is known: the hub holds no registration elsewhere and "
        "evidence `admitted_elsewhere_setting_id` is missing.",
        "seed 000 line 616 (confirm the new school first)",
    )


def _not_agreed_dual(c: CheckContext) -> RuleCheck:
    here = c.facts.registration_here()
    dual = (here is not None and here.status is not RegistrationStatus.SINGLE) or c.ev.get(
        "dual_registration_agreed"
    ) is True
    return c.result(
        not dual,
        "Not an agreed dual registration.",
        "The pupil is dual-registered by agreement: use the dual-registration ground with the "
        "other school's consent instead.",
    )


def _dual_registered(c: CheckContext) -> RuleCheck:
    others = c.facts.other_settings_on_roll()
    return c.result(
        bool(others),
        "Also registered at " + ", ".join(others) + ".",
        f"The pupil is not registered at any other school on {c.day}.",
    )


def _holiday_leave_over_ten_days(c: CheckContext) -> RuleCheck:
    start, end = _as_date(c.ev.get("leave_start_date")), _as_date(c.ev.get("leave_end_date"))
    if start is None or end is None or end < start:
        return c.result(False, "", "Missing evidence `leave_start_date` / `leave_end_date`.")
    try:
        days = c.facts.calendar.school_days_between(start, end, inclusive="both")
    except CalendarExhausted as exc:
        return c.result(False, "", f"The school calendar cannot count the leave: {exc}.")
    # Wales reg 8(1)(f) (UNVERIFIED): leave "exceeding ten school days for the purpose of a
    # holiday" under reg 7(3) (England 2006 as made; seed 000 line 593)
    return c.result(
        days > 10,
        f"Leave of {days} school days was granted.",
        f"The leave was {days} school days; this ground needs leave exceeding 10 school days.",
    )


def _leave_non_return(c: CheckContext) -> RuleCheck:
    end = _as_date(c.ev.get("leave_end_date"))
    if end is None:
        return c.result(False, "", "Missing evidence `leave_end_date`.")
    try:
        tenth = c.facts.calendar.nth_school_day_after(end, 10)
    except CalendarExhausted as exc:
        return c.result(False, "", f"The school calendar cannot count 10 school days: {exc}.")
    attended = sorted(
        d
        for (d, _s), code in c.facts.codes.items()
        if end < d <= tenth and _is_attendance(c.facts.setting.jurisdiction, d, code)
    )
    # Wales 8(1)(f)(i) / England 2006 8(1)(f)(i): failed to attend within the ten school days
    # immediately following the end of the leave (legal-rules.md 1.4)
    if attended:
        return c.result(
            False,
            "",
            f"The pupil attended on {attended[0]}, within the 10 school days after the leave.",
        )
    return c.result(
        tenth <= c.day and tenth <= c.facts.today,
        f"No attendance in the 10 school days after the leave ended ({end}), through {tenth}.",
        f"The 10 school days after the leave ended on {end} run to {tenth}; delete no earlier.",
    )


def _is_attendance(jurisdiction: Jurisdiction, day: dt.date, code: str) -> bool:
    try:
        definition = code_set_for(jurisdiction, day).codes.get(code)
    except UnknownCodeSetError:
        return False
    # U (late after the register closed) is unauthorised, but the pupil did attend
    return definition is not None and (
        definition.category in ATTENDANCE_CATEGORIES or definition.physically_present
    )


def _enquiries_failed(c: CheckContext) -> RuleCheck:
    # Both the school AND the LA failed after reasonable enquiry (England 2006 Explanatory Note;
    # 2016 guidance "jointly"; seed 000 line 595) (legal-rules.md 1.4, 3.3)
    return c.flags(
        "school_enquiries_failed",
        "la_enquiries_failed",
        what="both the school and the LA failed, after reasonable enquiry, to find the pupil",
    )


def _twenty_day_absence(c: CheckContext) -> RuleCheck:
    facts = c.facts
    qualifies = unauthorised_absence(facts.setting.jurisdiction)
    run = current_run(facts.codes, facts.calendar, qualifies, up_to=c.day)
    length = run.length if run else 0
    # Wales 8(1)(h) / England 2024 9(1)(i): continuously absent >= 20 school days, no session
    # authorised (England: every session G, N or O) (legal-rules.md 1.4, 3.1)
    return c.result(
        length >= TWENTY_SCHOOL_DAYS,
        f"Absent without authorisation for {length} continuous school days "
        f"({run.first if run else ''} to {run.last if run else ''}).",
        f"The current run of unauthorised absence (both sessions G, N or O) is {length} school "
        f"day(s) up to {c.day}; this ground needs at least {TWENTY_SCHOOL_DAYS}, with no "
        "authorised or present session in it.",
    )


def _custody_four_months(c: CheckContext) -> RuleCheck:
    months = _as_number(c.ev.get("custody_months"))
    # Wales 8(1)(i): order "for a period of not less than 4 months" (seed 000 lines 613, 624)
    return c.result(
        months is not None and months >= 4,
        f"Custody order of {months:g} months." if months is not None else "",
        "Evidence `custody_months` must show an order of at least 4 months.",
    )


def _sentence_of_detention(c: CheckContext) -> RuleCheck:
    minimum = c.facts.config.england_2024_detention_min_months
    months = _as_number(c.ev.get("custody_months"))
    long_enough = minimum <= 0 or (months is not None and months >= minimum)
    return c.result(
        c.ev.get("sentence_of_detention") is True and long_enough,
        "Detained under a sentence of detention.",
        "Missing evidence `sentence_of_detention`"
        + (f" and `custody_months` >= {minimum:g}" if minimum > 0 else "")
        + ": the pupil must be detained under a sentence of detention.",
    )


def _no_expected_return(c: CheckContext) -> RuleCheck:
    value = c.ev.get("expected_return")
    return c.result(
        value is False,
        "No reasonable grounds to believe the pupil will return after custody.",
        "Evidence `expected_return` must be false: the proprietor must have no reasonable "
        "grounds to believe the pupil will return.",
    )


def _death_notified(c: CheckContext) -> RuleCheck:
    notified = _as_date(c.ev.get("date_of_death_notified"))
    return c.result(
        notified is not None and notified <= c.facts.today,
        f"The school was told of the death on {notified}.",
        "Missing evidence `date_of_death_notified` (a date not in the future).",
    )


def _ceases_school_age(c: CheckContext) -> RuleCheck:
    end = compulsory_school_age_end(c.facts.learner.date_of_birth)
    if end <= c.day:
        return c.result(True, f"Compulsory school age ended on {end}.", "")
    try:
        next_meets = c.facts.calendar.next_school_day(c.day)
    except CalendarExhausted:
        return c.result(
            False,
            "",
            f"Compulsory school age ends on {end}, after {c.day}; the school calendar does not "
            "show when the school next meets, so this cannot be confirmed.",
        )
    # Wales 8(1)(k) / England 2024 9(1)(l): ceases compulsory school age before the school next
    # meets (Education Act 1996 s8; hub.rules.school_age)
    return c.result(
        end < next_meets,
        f"Compulsory school age ends on {end}, before the school next meets on {next_meets}.",
        f"Compulsory school age ends on {end}, not before the school next meets on {next_meets}.",
    )


def _not_continuing_to_sixth_form(c: CheckContext) -> RuleCheck:
    ok = (
        c.ev.get("no_intention_to_continue") is True
        or c.ev.get("sixth_form_entry_requirements_not_met") is True
    )
    return c.result(
        ok,
        "Not continuing into the sixth form.",
        "Missing evidence `no_intention_to_continue` or `sixth_form_entry_requirements_not_met`.",
        "England 2006 reg 8(1)(k) as amended 2013 (legal-rules.md 3.3)",
    )


def _setting_is(ok: Callable[[Setting], bool], met: str, failed: str) -> Check:
    return lambda c: c.result(ok(c.facts.setting), met, failed)


def _exclusion_final(c: CheckContext) -> RuleCheck:
    config = c.facts.config
    if (
        c.ground.regime is Regime.ENGLAND_2024
        and not config.england_2024_exclusion_waits_for_review
    ):
        return c.result(True, "Permanent exclusion (review not awaited, by configuration).", "")
    status = c.ev.get("appeal_status")
    # Wales 8(1)(m): only once the appeal is waived in writing, time-expired, determined or
    # abandoned (seed 000 lines 600-603, 1117)
    return c.result(
        isinstance(status, str) and status in config.exclusion_final_statuses,
        f"The exclusion is final (appeal {status}).",
        "Evidence `appeal_status` must be one of "
        + ", ".join(sorted(config.exclusion_final_statuses))
        + f" (got {status!r}): the pupil stays on roll until the exclusion is final.",
        "seed 000 lines 600-603",
    )


def _boarding_fees_unpaid(c: CheckContext) -> RuleCheck:
    return c.flags(
        "boarder", "boarding_fees_unpaid", what="a boarder whose boarding fees are unpaid"
    )


def _ews_referral(c: CheckContext) -> RuleCheck:
    if not c.facts.config.wales_ews_referral_before_removal:
        return c.result(True, "EWS referral not required (configuration).", "")
    return c.flags(
        "ews_referral_made",
        what="the case was referred to the Education Welfare Service for investigation before "
        "removal",
        source="seed 000 line 592 (Welsh guidance)",
    )


CHECKS: Final[Mapping[str, Check]] = {
    "sao-substituted-or-revoked": _sao("substituted", "revoked"),
    "sao-substituted": _sao("substituted"),
    "sao-revoked": _sao("revoked"),
    "admitted-elsewhere": _admitted_elsewhere,
    "not-agreed-dual-registration": _not_agreed_dual,
    "no-sao-naming-school": lambda c: c.not_flag(
        "sao_names_school", "a school attendance order naming this school is in force"
    ),
    "not-mobile-child-main-school": lambda c: c.not_flag(
        "mobile_child_main_school", "this is the mobile child's main school"
    ),
    "dual-registered": _dual_registered,
    "ceased-to-attend": lambda c: c.flags(
        "ceased_to_attend", what="the pupil has ceased to attend"
    ),
    "will-not-attend-again": lambda c: c.flags(
        "will_not_attend_again",
        what="the school has no reasonable grounds to believe the pupil will attend again",
    ),
    "parent-written-notice": lambda c: c.flags(
        "parent_written_notice",
        what="the parent's written notice of education otherwise than at school",
        source="seed 003 line 661 (written intention required)",
    ),
    "not-within-reasonable-distance": lambda c: c.flags(
        "no_longer_within_reasonable_distance",
        what="the pupil no longer lives within a reasonable distance of the school",
    ),
    "not-a-boarder": lambda c: c.not_flag("boarder", "the pupil is a boarder"),
    "ews-referral": _ews_referral,
    "holiday-leave-over-ten-days": _holiday_leave_over_ten_days,
    "leave-non-return": _leave_non_return,
    "no-sickness-or-unavoidable-cause": lambda c: c.flags(
        "no_sickness_or_unavoidable_cause",
        what="no reasonable grounds to believe the pupil cannot attend through sickness or an "
        "unavoidable cause",
    ),
    "school-and-la-enquiries-failed": _enquiries_failed,
    "medical-certificate": lambda c: c.flags(
        "medical_certificate",
        what="the school medical officer's certificate that the pupil is unlikely to be fit to "
        "attend before ceasing to be of compulsory school age",
    ),
    "no-intention-to-continue": lambda c: c.flags(
        "no_intention_to_continue",
        what="neither pupil nor parent has indicated an intention to continue at the school",
    ),
    "twenty-day-absence": _twenty_day_absence,
    "custody-four-months": _custody_four_months,
    "sentence-of-detention": _sentence_of_detention,
    "no-expected-return": _no_expected_return,
    "death-notified": _death_notified,
    "ceases-school-age-before-next-meets": _ceases_school_age,
    "not-continuing-to-sixth-form": _not_continuing_to_sixth_form,
    "not-maintained-school": _setting_is(
        lambda s: not s.maintained,
        "The school is not a maintained school.",
        "This ground applies only to a school other than a maintained school.",
    ),
    "independent-or-non-maintained-special": _setting_is(
        lambda s: (
            s.kind is SettingKind.INDEPENDENT
            or (s.kind is SettingKind.SPECIAL and not s.maintained)
        ),
        "The school is independent or a non-maintained special school.",
        "This ground applies only to an independent or non-maintained special school.",
    ),
    "ceased-to-be-pupil": lambda c: c.flags(
        "ceased_to_be_pupil", what="the pupil has ceased to be a pupil of the school"
    ),
    "maintained-school": _setting_is(
        lambda s: s.maintained,
        "The school is maintained.",
        "This ground applies only to a maintained school.",
    ),
    "governing-body-duties-discharged": lambda c: c.flags(
        "governing_body_duties_discharged",
        what="the governing body has discharged its duties on the exclusion",
        source="seed 000 line 600 (s66 School Standards and Framework Act 1998)",
    ),
    "exclusion-final": _exclusion_final,
    "nursery-not-transferring": lambda c: c.flags(
        "nursery_completed_not_transferring",
        what="nursery education completed without transfer to reception or higher",
    ),
    "boarding-fees-unpaid": _boarding_fees_unpaid,
    "mobile-child": lambda c: c.flags("mobile_child", what="the pupil is a mobile child"),
}

#: Every precondition check slug the engine implements (a ground may name only these).
CHECK_SLUGS: Final = frozenset(CHECKS)
