"""Returns and notices to the LA: deletion returns, the periodic absence return, LA policies.

Pure: everything here takes dates, marks and calendars in and returns plans out. A
`PlannedNotification` is what the caller must create (persist, then deliver through the outbox);
nothing is sent from here. ``due_by`` is a date (the duty is met if done by the end of that day);
``due_at`` is an exact instant, used only for hour-based deadlines (safeguarding, 24 hours).

Recipients are roles, resolved by the caller to connections: ``"la"`` (the setting's LA),
``"la:cme"`` (the LA's children-missing-education team), ``"setting:<id>"``, ``"social_worker"``,
``"safeguarding"`` (the safeguarding system(s) of the setting).

Continuous absence runs (10 school days for Wales reg 12(1)(b), the CME referral and the England
return; 20 for the deletion grounds) are counted here, on the setting's own calendar: a school day
counts only when BOTH sessions qualify, and an unmarked session breaks a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from pydantic import JsonValue

from hub.rules.calendar import SchoolDayRun, SchoolDays, days_meeting_in_both_sessions
from hub.rules.codes import ATTENDANCE_CATEGORIES, UnknownCodeSetError, code_set_for
from hub.rules.grounds import Ground, Regime, ReturnTiming
from hub.rules.school_age import is_of_compulsory_school_age
from hub_contracts import (
    AttendanceMark,
    CodeCategory,
    DecisionOutcome,
    Jurisdiction,
    Learner,
    NotificationKind,
    Session,
    Setting,
)

if TYPE_CHECKING:
    from hub.rules.deletion import DeletionDecisionDraft, DeletionFacts

__all__ = [
    "BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM",
    "EXAMPLE_DELETION_POLICIES",
    "RECIPIENT_LA",
    "RECIPIENT_LA_CME",
    "RECIPIENT_SAFEGUARDING",
    "RECIPIENT_SOCIAL_WORKER",
    "VALE_OF_GLAMORGAN_CME_CHECKLIST_FIRST",
    "WREXHAM_ADMITTED_OR_CME_RECORDED",
    "AbsenceReturnEntry",
    "AbsenceReturnPolicy",
    "AbsenceReturnPupil",
    "CodesBySession",
    "DeletionPolicy",
    "MarksInput",
    "PlannedNotification",
    "ReturnContents",
    "absence_return_entries",
    "cme_checklist_before_removal",
    "codes_by_session",
    "current_run",
    "deletion_return_contents",
    "deletion_return_due",
    "deletion_return_due_or_estimate",
    "keep_until_admitted_or_cme_recorded",
    "notify_cme_team_of_every_removal",
    "qualifying_days",
    "setting_recipient",
    "unauthorised_absence",
]

RECIPIENT_LA: Final = "la"
RECIPIENT_LA_CME: Final = "la:cme"
RECIPIENT_SOCIAL_WORKER: Final = "social_worker"
RECIPIENT_SAFEGUARDING: Final = "safeguarding"


def setting_recipient(setting_id: str) -> str:
    return f"setting:{setting_id}"


@dataclass(frozen=True, slots=True)
class PlannedNotification:
    """A notification the caller must create. ``key`` is its deterministic idempotency key."""

    kind: NotificationKind
    recipient: str
    key: str
    upn: str | None
    due_by: dt.date | None = None
    due_at: dt.datetime | None = None
    #: True when the calendar ran out and ``due_by`` is a safe (never later) weekday estimate.
    due_by_is_estimate: bool = False
    payload: Mapping[str, JsonValue] = field(default_factory=dict)
    #: In a deletion draft: the decision under which it is sent (None: always).
    when: DecisionOutcome | None = None


# --- Marks and continuous absence ------------------------------------------------------------

#: The current statutory code per (date, session) at one setting.
CodesBySession = Mapping[tuple[dt.date, Session], str]
#: Marks as the callers hold them: current code per session, current marks, or mark history.
MarksInput = (
    CodesBySession | Mapping[tuple[dt.date, Session], AttendanceMark] | Iterable[AttendanceMark]
)


def codes_by_session(marks: MarksInput) -> dict[tuple[dt.date, Session], str]:
    """Normalise marks to the current code per (date, session).

    From a sequence that holds amendments (the register keeps history), the mark recorded last
    for a session is the current one; ties keep the later one in the sequence.
    """
    if isinstance(marks, Mapping):
        return {
            key: value.code if isinstance(value, AttendanceMark) else value
            for key, value in marks.items()
        }
    latest: dict[tuple[dt.date, Session], AttendanceMark] = {}
    for mark in marks:
        key = (mark.date, mark.session)
        held = latest.get(key)
        if held is None or mark.recorded_at >= held.recorded_at:
            latest[key] = mark
    return {key: mark.code for key, mark in latest.items()}


def unauthorised_absence(jurisdiction: Jurisdiction | str) -> Callable[[dt.date, str], bool]:
    """Whether a code on a date is absence not authorised: unauthorised and not on site.

    G, N and O in every packaged set; U (late after the register closed) is unauthorised but
    the pupil is present, so it is not absence (hub/rules/codesets). A code outside the set in
    force does not qualify, so it breaks a run rather than extending it.
    """
    # Wales reg 12(1)(b) "absence not treated as authorised"; England 2024 reg 9(1)(i): G, N, O
    # only (legal-rules.md 3.1, localgovernmentlawyer.co.uk)

    def qualifies(day: dt.date, code: str) -> bool:
        try:
            definition = code_set_for(jurisdiction, day).codes.get(code)
        except UnknownCodeSetError:
            return False
        return (
            definition is not None
            and definition.category is CodeCategory.UNAUTHORISED
            and not definition.physically_present
        )

    return qualifies


def qualifying_days(
    codes: CodesBySession,
    calendar: SchoolDays,
    qualifies: Callable[[dt.date, str], bool],
    *,
    up_to: dt.date,
) -> frozenset[dt.date]:
    """School days up to ``up_to`` on which both sessions carry a qualifying code.

    Marks on dates the calendar does not list as school days are ignored (neither counted nor
    breaking a run): the caller's mark validation reports them.
    """
    school_days = set(calendar.days)
    flags = {
        key: qualifies(key[0], code)
        for key, code in codes.items()
        if key[0] <= up_to and key[0] in school_days
    }
    return days_meeting_in_both_sessions(flags)


def current_run(
    codes: CodesBySession,
    calendar: SchoolDays,
    qualifies: Callable[[dt.date, str], bool],
    *,
    up_to: dt.date,
) -> SchoolDayRun | None:
    """The qualifying run that ends on the last marked school day on or before ``up_to``.

    "Continuously absent" is judged as of the latest register entry: a run the pupil has since
    broken by attending (or by any non-qualifying code) is not current. When the last marked day
    is still in progress (one session marked, and qualifying), the run is judged as of the school
    day before it. None when there is no marked school day, or the run is broken.
    """
    school_days = calendar.days
    known = set(school_days)
    marked = [day for (day, _session) in codes if day <= up_to and day in known]
    if not marked:
        return None
    last = max(marked)
    on_last = [codes[(last, s)] for s in Session if (last, s) in codes]
    if len(on_last) < len(Session) and all(qualifies(last, code) for code in on_last):
        # The register for the rest of that day is not taken yet: it neither counts nor breaks
        earlier = [day for day in school_days if day < last]
        if not earlier:
            return None
        last = earlier[-1]
    days = qualifying_days(codes, calendar, qualifies, up_to=up_to)
    return calendar.run_ending_on(days, last)


# --- Deletion returns ------------------------------------------------------------------------


def deletion_return_due(
    ground: Ground, deletion_date: dt.date, calendar: SchoolDays
) -> dt.date | None:
    """The last day a statutory deletion return is in time, or None when none is due.

    Raises `CalendarExhausted` when the calendar does not reach far enough (e.g. a Welsh deletion
    on the last day of the summer term before next year's calendar is loaded); see
    `deletion_return_due_or_estimate`. Does not apply the final-year-leaver exemption (evidence).
    """
    duty = ground.return_duty_on(deletion_date)
    if duty is None:
        return None
    if duty.timing is ReturnTiming.WITHIN_TEN_SCHOOL_DAYS_AFTER:
        # Wales reg 12(3): within the ten school days immediately following the deletion
        # (legal-rules.md 1.6), counted on the setting's own calendar
        return calendar.nth_school_day_after(deletion_date, 10)
    # England 2024 reg 13(4) / 2006 reg 12(6): no later than the deletion (legal-rules.md 3.1)
    return deletion_date


def deletion_return_due_or_estimate(
    ground: Ground, deletion_date: dt.date, calendar: SchoolDays
) -> tuple[dt.date | None, bool]:
    """`deletion_return_due`, but never raising: ``(due, is_estimate)``.

    Past the end of the calendar it keeps counting weekdays. Schools do not meet at weekends, so
    the n-th weekday is never later than the n-th school day: an estimate can only be early,
    never late. The caller shows ``due_by_is_estimate`` and may recompute once the calendar grows.
    """
    duty = ground.return_duty_on(deletion_date)
    if duty is None or duty.timing is not ReturnTiming.WITHIN_TEN_SCHOOL_DAYS_AFTER:
        return deletion_return_due(ground, deletion_date, calendar), False
    known = [day for day in calendar.days if day > deletion_date][:10]
    if len(known) == 10:
        return known[-1], False
    cursor = max([deletion_date, *known, *([calendar.covers_to] if calendar.covers_to else [])])
    remaining = 10 - len(known)
    while remaining:
        cursor += dt.timedelta(days=1)
        if cursor.weekday() < 5:
            remaining -= 1
    return cursor, True


@dataclass(frozen=True, slots=True)
class ReturnContents:
    """A deletion return's payload, and the items the law requires that the hub lacks."""

    payload: dict[str, JsonValue]
    missing: tuple[str, ...]


def deletion_return_contents(
    ground: Ground,
    learner: Learner,
    setting: Setting,
    deletion_date: dt.date,
    evidence: Mapping[str, JsonValue],
) -> ReturnContents:
    """Build the deletion return for the jurisdiction of ``ground``.

    Wales reg 12(3): full name and address. England 2024 reg 13(4): full name, address, each
    parent the pupil normally lives with (name, address, an emergency phone), the reg 8(3)
    particulars if any, and the ground. Both add the UPN, setting, ground and date so the LA can
    match the return.
    """
    payload: dict[str, JsonValue] = {
        "upn": learner.upn,
        "full_name": f"{learner.given_name} {learner.family_name}",
        "address": learner.address,
        "setting_id": setting.id,
        "setting_name": setting.name,
        "la_code": setting.la_code,
        "ground": ground.id,
        "ground_title": ground.title,
        "deletion_date": deletion_date.isoformat(),
    }
    missing: list[str] = []
    if learner.address is None:
        # Wales reg 12(3) "full name and address"; England 2024 reg 13(4)(b) "address"
        missing.append("address")
    if ground.regime is Regime.WALES_2010:
        payload["regulation"] = "Education (Pupil Registration) (Wales) Regulations 2010 reg 12(3)"
        return ReturnContents(payload, tuple(missing))
    # England 2024 reg 13(4)(a)-(e), VERIFIED; the remainder (destination, ground) UNVERIFIED,
    # taken from England 2006 reg 12(7) (legal-rules.md 3.1, 3.3)
    payload["regulation"] = (
        "School Attendance (Pupil Registration) (England) Regulations 2024 reg 13(4)"
        if ground.regime is Regime.ENGLAND_2024
        else "Education (Pupil Registration) (England) Regulations 2006 reg 12"
    )
    parents = evidence.get("parents")
    if not isinstance(parents, list):
        missing.append("parents")
        payload["parents"] = []
    else:
        payload["parents"] = parents
        for i, parent in enumerate(parents):
            for item in ("full_name", "address", "phone"):
                value = parent.get(item) if isinstance(parent, dict) else None
                if not isinstance(value, str) or not value.strip():
                    missing.append(f"parents[{i}].{item}")
    destination = {
        key: evidence[key]
        for key in ("admitted_elsewhere_setting_id", "destination_start_date", "new_address",
                    "new_address_from")
        if key in evidence
    }  # fmt: skip
    payload["destination"] = destination
    return ReturnContents(payload, tuple(missing))


# --- Periodic absence return (Wales reg 12(1); England equivalent) ---------------------------


@dataclass(frozen=True, slots=True)
class AbsenceReturnPolicy:
    """The LA's agreed thresholds for the periodic return (the law leaves "regularly" open)."""

    #: "Fails to attend regularly": attendance below this percentage of possible sessions.
    # England persistent absence 10% (seed 003 line 606); Wales proposes it (seed 000 line 123)
    irregular_attendance_below_pct: float = 90.0
    # Wales reg 12(1)(b) / England 2006 reg 12(1)(b): not less than ten school days
    continuous_unauthorised_school_days: int = 10
    #: Fewer possible sessions than this in the period: too little data to call it irregular.
    min_possible_sessions: int = 10
    #: Codes the LA treats as reg 12(2) cases for the regularity test, e.g. {"I"} where sickness
    #: is always certified. D and approved educational activity are never absences anyway.
    excluded_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AbsenceReturnPupil:
    """One registered pupil of the reporting setting, with their marks there."""

    learner: Learner
    marks: MarksInput
    #: The cause of absence if known to the proprietor (reg 12(1)).
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class AbsenceReturnEntry:
    """One line of the periodic return: name, address, why listed, cause if known."""

    upn: str
    full_name: str
    address: str | None
    reasons: tuple[str, ...]  # "irregular_attendance", "continuous_unauthorised_absence"
    attendance_pct: float | None
    possible_sessions: int
    run_first_day: dt.date | None
    run_school_days: int
    cause: str | None


def absence_return_entries(
    pupils: Iterable[AbsenceReturnPupil],
    calendar: SchoolDays,
    jurisdiction: Jurisdiction | str,
    period_start: dt.date,
    period_end: dt.date,
    policy: AbsenceReturnPolicy | None = None,
) -> tuple[AbsenceReturnEntry, ...]:
    """The pupils the periodic return lists for ``period_start``..``period_end``, sorted by UPN.

    A pupil is listed when of compulsory school age on ``period_end`` and either attends below
    the policy's threshold in the period, or has a run of at least ten continuous school days of
    unauthorised absence that reaches into the period. The reg 12(2) cases (certified sickness,
    leave, attendance at the other dual school, approved educational activity) are authorised,
    D or attendance codes, so they never extend a run.
    """
    policy = policy or AbsenceReturnPolicy()
    qualifies = unauthorised_absence(jurisdiction)
    entries: list[AbsenceReturnEntry] = []
    for pupil in pupils:
        learner = pupil.learner
        # Wales reg 12(1): "every registered pupil of compulsory school age" (legal-rules.md 1.6)
        if not is_of_compulsory_school_age(learner.date_of_birth, period_end):
            continue
        codes = codes_by_session(pupil.marks)
        in_period = {k: c for k, c in codes.items() if period_start <= k[0] <= period_end}
        possible, attended = _attendance(in_period, jurisdiction, policy.excluded_codes)
        pct = round(100.0 * attended / possible, 1) if possible else None
        reasons: list[str] = []
        # Wales reg 12(1)(a): "fails to attend the school regularly" (threshold agreed with LA)
        if (
            pct is not None
            and possible >= policy.min_possible_sessions
            and pct < policy.irregular_attendance_below_pct
        ):
            reasons.append("irregular_attendance")
        # Wales reg 12(1)(b): >= 10 continuous school days not authorised (legal-rules.md 1.6)
        days = qualifying_days(codes, calendar, qualifies, up_to=period_end)
        runs = [
            run
            for run in calendar.continuous_runs(days)
            if run.last >= period_start and run.length >= policy.continuous_unauthorised_school_days
        ]
        longest = max(runs, key=lambda run: (run.length, run.first), default=None)
        if longest is not None:
            reasons.append("continuous_unauthorised_absence")
        if reasons:
            entries.append(
                AbsenceReturnEntry(
                    upn=learner.upn,
                    full_name=f"{learner.given_name} {learner.family_name}",
                    address=learner.address,
                    reasons=tuple(reasons),
                    attendance_pct=pct,
                    possible_sessions=possible,
                    run_first_day=longest.first if longest else None,
                    run_school_days=longest.length if longest else 0,
                    cause=pupil.cause,
                )
            )
    return tuple(sorted(entries, key=lambda entry: entry.upn))


def _attendance(
    codes: CodesBySession, jurisdiction: Jurisdiction | str, excluded: frozenset[str]
) -> tuple[int, int]:
    possible = attended = 0
    for (day, _session), code in codes.items():
        try:
            definition = code_set_for(jurisdiction, day).codes.get(code)
        except UnknownCodeSetError:
            continue
        if definition is None or not definition.counts_as_possible or code in excluded:
            continue
        possible += 1
        attended += definition.category in ATTENDANCE_CATEGORIES
    return possible, attended


# --- LA deletion policies (rule packs) --------------------------------------------------------


@dataclass(frozen=True)
class DeletionPolicy:
    """An LA's own deletion rule on top of the statutory ones (a rule pack's behaviour).

    ``apply`` may only add checks and notifications to the draft (through its ``add_*``
    methods); `hub.rules.deletion.decide_deletion` refuses a policy that drops a statutory check.
    ``la_codes`` None means every LA of ``jurisdiction``: bind the examples to your LA with
    `for_las` (the hub does not guess LA codes).
    """

    name: str
    description: str
    citation: str
    jurisdiction: Jurisdiction
    apply: Callable[[DeletionFacts, DeletionDecisionDraft], DeletionDecisionDraft]
    la_codes: frozenset[str] | None = None

    def applies_to(self, setting: Setting) -> bool:
        return setting.jurisdiction is self.jurisdiction and (
            self.la_codes is None or setting.la_code in self.la_codes
        )

    def for_las(self, *la_codes: str) -> DeletionPolicy:
        return replace(self, la_codes=frozenset(la_codes))

    def __call__(self, facts: DeletionFacts, draft: DeletionDecisionDraft) -> DeletionDecisionDraft:
        return self.apply(facts, draft) if self.applies_to(facts.setting) else draft


def _rule(policy: str, slug: str) -> str:
    return f"la-policy:{policy}/{slug}"


def notify_cme_team_of_every_removal(
    facts: DeletionFacts, draft: DeletionDecisionDraft
) -> DeletionDecisionDraft:
    """Tell the CME team of every removal, no later than the removal date."""
    # Barking and Dagenham CME procedures via Valence: "inform the Children Missing Education
    # Team of all removals ... no later than the date the child is removed" (seed 003 line 659)
    request = facts.request
    citation = "Barking and Dagenham CME procedures, seed 003 line 659"
    rule = _rule("barking-and-dagenham", "notify-cme-team")
    return draft.add_met(
        rule, "The CME team will be told of this removal no later than the removal date.", citation
    ).add_notification(
        PlannedNotification(
            kind=NotificationKind.DELETION_NOTICE,
            recipient=RECIPIENT_LA_CME,
            key=f"deletion_notice:{request.upn}:{request.setting_id}:{request.ground}:"
            f"{request.effective_date.isoformat()}:{RECIPIENT_LA_CME}",
            upn=request.upn,
            due_by=request.effective_date,
            payload={
                "upn": request.upn,
                "full_name": f"{facts.learner.given_name} {facts.learner.family_name}",
                "setting_id": request.setting_id,
                "ground": request.ground,
                "deletion_date": request.effective_date.isoformat(),
                "policy": rule,
            },
            when=DecisionOutcome.ALLOWED,
        )
    )


#: Wrexham grounds that cannot leave a child missing education: death, leaving school age.
_WREXHAM_EXEMPT: Final = frozenset({"wales-2010:8(1)(j)", "wales-2010:8(1)(k)"})


def keep_until_admitted_or_cme_recorded(
    facts: DeletionFacts, draft: DeletionDecisionDraft
) -> DeletionDecisionDraft:
    """Keep the pupil on roll until admitted elsewhere or the LA has recorded the CME document."""
    # Wrexham: "not removed from the school register until the pupil has been admitted to another
    # school/PRU or until the CME document has been completed and recorded by the LA" (seed 002
    # line 352); grounds (j) death and (k) leaving school age are exempt (hub's reading)
    if draft.ground is None or draft.ground.id in _WREXHAM_EXEMPT:
        return draft
    citation = "Wrexham attendance policy, seed 002 line 352"
    rule = _rule("wrexham", "admitted-elsewhere-or-cme-recorded")
    elsewhere = facts.other_admission()
    recorded = facts.request.evidence.get("la_cme_record_ref")
    if elsewhere is not None:
        return draft.add_met(rule, f"The pupil is admitted at {elsewhere}.", citation)
    if isinstance(recorded, str) and recorded.strip():
        return draft.add_met(rule, f"The LA recorded the CME document ({recorded}).", citation)
    request = facts.request
    return draft.add_awaiting(
        rule,
        "Wrexham keeps the pupil on roll until they are admitted elsewhere or the LA has "
        "completed and recorded the CME document (evidence `la_cme_record_ref`).",
        citation,
        awaiting=(RECIPIENT_LA_CME,),
    ).add_notification(
        PlannedNotification(
            kind=NotificationKind.CME_REFERRAL,
            recipient=RECIPIENT_LA_CME,
            key=f"cme_referral:{request.upn}:deletion:{request.setting_id}:"
            f"{request.effective_date.isoformat()}",
            upn=request.upn,
            due_by=request.effective_date,
            payload={
                "upn": request.upn,
                "full_name": f"{facts.learner.given_name} {facts.learner.family_name}",
                "setting_id": request.setting_id,
                "ground": request.ground,
                "requested": "complete and record the CME document before removal",
                "policy": rule,
            },
            when=DecisionOutcome.PENDING,
        )
    )


#: Vale of Glamorgan: grounds where the child is, by definition, missing.
_VOG_MISSING_GROUNDS: Final = frozenset({"wales-2010:8(1)(f)", "wales-2010:8(1)(h)"})


def cme_checklist_before_removal(
    facts: DeletionFacts, draft: DeletionDecisionDraft
) -> DeletionDecisionDraft:
    """A child believed missing stays on roll until the CME checklist is done and referred."""
    # Vale of Glamorgan: do NOT remove a child believed missing "without first completing the CME
    # checklist procedures ... Appendix 9 and then referring to the Inclusion Team" (seed 001 177)
    evidence = facts.request.evidence
    missing_ground = draft.ground is not None and draft.ground.id in _VOG_MISSING_GROUNDS
    if not (missing_ground or evidence.get("believed_missing") is True):
        return draft
    citation = "Vale of Glamorgan CME procedure, seed 001 lines 176-181"
    for key, slug, what in (
        ("cme_checklist_completed", "cme-checklist", "the Welsh Government CME checklist"),
        ("cme_referral_made", "inclusion-team-referral", "the referral to the Inclusion Team"),
    ):
        rule = _rule("vale-of-glamorgan", slug)
        if evidence.get(key) is True:
            draft = draft.add_met(rule, f"Done before removal: {what}.", citation)
        else:
            draft = draft.add_failed(
                rule,
                f"Missing evidence `{key}`: a child believed missing is not removed before "
                f"{what} is completed.",
                citation,
            )
    return draft


BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM: Final = DeletionPolicy(
    name="barking-and-dagenham-notify-cme-team",
    description="Notify the CME team of all removals, no later than the removal date.",
    citation="seed 003 line 659",
    jurisdiction=Jurisdiction.ENGLAND,
    apply=notify_cme_team_of_every_removal,
)
WREXHAM_ADMITTED_OR_CME_RECORDED: Final = DeletionPolicy(
    name="wrexham-admitted-or-cme-recorded",
    description="Not removed until admitted elsewhere or the CME document is recorded by the LA.",
    citation="seed 002 line 352",
    jurisdiction=Jurisdiction.WALES,
    apply=keep_until_admitted_or_cme_recorded,
)
VALE_OF_GLAMORGAN_CME_CHECKLIST_FIRST: Final = DeletionPolicy(
    name="vale-of-glamorgan-cme-checklist-first",
    description="A child believed missing: CME checklist completed and referred before removal.",
    citation="seed 001 lines 176-181",
    jurisdiction=Jurisdiction.WALES,
    apply=cme_checklist_before_removal,
)
#: The seeds' LA policies, shipped as examples (unbound to any LA code).
EXAMPLE_DELETION_POLICIES: Final = (
    BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM,
    WREXHAM_ADMITTED_OR_CME_RECORDED,
    VALE_OF_GLAMORGAN_CME_CHECKLIST_FIRST,
)
