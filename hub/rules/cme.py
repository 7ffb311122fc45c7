"""Children missing education (CME) and safeguarding escalation of unexplained absence.

Two pure rules, both deterministic so the caller can deduplicate on a natural key:

* `cme_check`: a learner absent without authorisation for 10 continuous school days (both sessions
  of each day G, N or O; configurable) gets ONE `cme_referral` to the LA, due on the 10th day of
  the run, and a concern in the safeguarding system. Key: UPN + first day of the run.
* `safeguarding_escalation`: a looked-after child or a child on a child protection plan with an
  unexplained absence (N or O; configurable) gets a `safeguarding_alert` due within 24 hours, to
  the safeguarding system(s) and, when known, the social worker. Key: UPN + date + session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from hub.rules.calendar import SchoolDays
from hub.rules.returns import (
    RECIPIENT_LA_CME,
    RECIPIENT_SAFEGUARDING,
    RECIPIENT_SOCIAL_WORKER,
    MarksInput,
    PlannedNotification,
    codes_by_session,
    current_run,
    unauthorised_absence,
)
from hub.rules.school_age import is_of_compulsory_school_age
from hub_contracts import AttendanceMark, Jurisdiction, Learner, NotificationKind, Session

__all__ = [
    "CmeFinding",
    "CmePolicy",
    "Escalation",
    "EscalationPolicy",
    "cme_check",
    "safeguarding_escalation",
]


@dataclass(frozen=True, slots=True)
class CmePolicy:
    """When and to whom a suspected child missing education is referred."""

    #: Vale of Glamorgan: "notify the VOG Inclusion Team on the tenth day of school absence"
    #: (seed 001 line 181); Wales reg 12(1)(b) uses the same ten continuous school days.
    cme_referral_after_school_days: int = 10
    referral_recipient: str = RECIPIENT_LA_CME
    #: Vale of Glamorgan: "update your My Concern system" at the referral (seed 001 line 181).
    raise_safeguarding_concern: bool = True
    safeguarding_recipient: str = RECIPIENT_SAFEGUARDING
    #: The LA duty covers children of compulsory school age (Education Act 1996 s436A).
    only_compulsory_school_age: bool = True
    #: Codes that count as unauthorised, unexplained absence; None: the unauthorised,
    #: not-on-site codes of the set in force (G, N, O).
    qualifying_codes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.cme_referral_after_school_days < 1:
            raise ValueError("cme_referral_after_school_days must be at least 1")


@dataclass(frozen=True, slots=True)
class CmeFinding:
    """A suspected child missing education, with the notifications to create."""

    upn: str
    setting_id: str
    run_first_day: dt.date
    run_last_day: dt.date
    school_days: int
    referral_due: dt.date
    notifications: tuple[PlannedNotification, ...]

    @property
    def natural_key(self) -> tuple[str, dt.date]:
        """One referral per learner and run: (UPN, first day of the run)."""
        return (self.upn, self.run_first_day)


def cme_check(
    learner: Learner,
    marks: MarksInput,
    calendar: SchoolDays,
    jurisdiction: Jurisdiction | str,
    today: dt.date,
    policy: CmePolicy | None = None,
) -> CmeFinding | None:
    """The CME finding for the learner's current absence run at one setting, or None.

    ``marks`` are the learner's marks at the setting whose ``calendar`` is given. The current run
    is the run of qualifying days ending on the latest marked school day on or before ``today``
    (a day counts when both sessions qualify; an authorised session, D at the other dual school,
    approved educational activity, any attendance or an unmarked session breaks it, so the reg
    12(2) cases never count). A run of at least the policy's length gives a finding whose
    referral is due on the run's 10th day, however long the run has grown since.
    """
    policy = policy or CmePolicy()
    if policy.only_compulsory_school_age and not is_of_compulsory_school_age(
        learner.date_of_birth, today
    ):
        return None
    codes = codes_by_session(marks)
    qualifies: Callable[[dt.date, str], bool]
    if policy.qualifying_codes is None:
        # Wales reg 12(1)(b)-(2): absence not authorised; reg 12(2) cases excluded (legal-rules.md
        # 1.6); 10 school days (seed 001 line 181)
        qualifies = unauthorised_absence(jurisdiction)
    else:
        wanted = policy.qualifying_codes

        def qualifies(_day: dt.date, code: str) -> bool:
            return code in wanted

    run = current_run(codes, calendar, qualifies, up_to=today)
    needed = policy.cme_referral_after_school_days
    if run is None or run.length < needed:
        return None
    due = run.days[needed - 1]
    full_name = f"{learner.given_name} {learner.family_name}"
    base = f"{learner.upn}:{run.first.isoformat()}"
    payload = {
        "upn": learner.upn,
        "full_name": full_name,
        "address": learner.address,
        "setting_id": calendar.setting_id,
        "run_first_day": run.first.isoformat(),
        "school_days_absent": run.length,
        "as_of": run.last.isoformat(),
    }
    notifications = [
        PlannedNotification(
            kind=NotificationKind.CME_REFERRAL,
            recipient=policy.referral_recipient,
            key=f"cme_referral:{base}",
            upn=learner.upn,
            due_by=due,
            payload=payload,
        )
    ]
    if policy.raise_safeguarding_concern:
        # Vale of Glamorgan: keep a copy "and update your My Concern system" (seed 001 line 181)
        notifications.append(
            PlannedNotification(
                kind=NotificationKind.SAFEGUARDING_ALERT,
                recipient=policy.safeguarding_recipient,
                key=f"safeguarding_alert:cme:{base}",
                upn=learner.upn,
                due_by=due,
                payload={**payload, "category": "children_missing_education"},
            )
        )
    return CmeFinding(
        upn=learner.upn,
        setting_id=calendar.setting_id,
        run_first_day=run.first,
        run_last_day=run.last,
        school_days=run.length,
        referral_due=due,
        notifications=tuple(notifications),
    )


# --- Safeguarding escalation -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Which absences of a child at risk escalate, and how fast."""

    #: Unexplained absence: N (no reason yet) and O (unauthorised, no other code applies).
    unexplained_codes: frozenset[str] = frozenset({"N", "O"})
    #: Vale of Glamorgan: notify "within the first 24 hours of the unauthorised absence"
    #: (seed 001 line 186).
    within: dt.timedelta = dt.timedelta(hours=24)
    safeguarding_recipient: str = RECIPIENT_SAFEGUARDING


@dataclass(frozen=True, slots=True)
class Escalation:
    """An unexplained absence of a child at risk, with the alerts to create."""

    upn: str
    setting_id: str
    date: dt.date
    session: Session
    code: str
    due_at: dt.datetime
    notifications: tuple[PlannedNotification, ...]

    @property
    def natural_key(self) -> tuple[str, dt.date, Session]:
        """One escalation per learner and session, whatever the code is amended to."""
        return (self.upn, self.date, self.session)


def safeguarding_escalation(
    learner: Learner,
    mark: AttendanceMark,
    now: dt.datetime,
    policy: EscalationPolicy | None = None,
) -> Escalation | None:
    """The escalation an unexplained absence of a looked-after / child-protection child needs.

    Due 24 hours from the earlier of when the mark was recorded and ``now`` (the absence begins
    at registration; a late sync must not push the deadline back). ``now`` must be aware.
    """
    policy = policy or EscalationPolicy()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if mark.upn != learner.upn:
        raise ValueError("the mark is not the learner's")
    flags = learner.flags
    # Vale of Glamorgan: child protection plan and / or looked after -> within 24 hours (seed
    # 001 lines 185-188); England: the social worker is told of unexplained absence (seed 003
    # line 545)
    if not (flags.looked_after or flags.child_protection_plan):
        return None
    if mark.code not in policy.unexplained_codes:
        return None
    due_at = (min(mark.recorded_at, now) + policy.within).astimezone(dt.UTC)
    base = f"{learner.upn}:{mark.setting_id}:{mark.date.isoformat()}:{mark.session.value}"
    payload = {
        "upn": learner.upn,
        "full_name": f"{learner.given_name} {learner.family_name}",
        "setting_id": mark.setting_id,
        "date": mark.date.isoformat(),
        "session": mark.session.value,
        "code": mark.code,
        "looked_after": flags.looked_after,
        "child_protection_plan": flags.child_protection_plan,
        "category": "unexplained_absence_child_at_risk",
    }
    notifications = [
        PlannedNotification(
            kind=NotificationKind.SAFEGUARDING_ALERT,
            recipient=policy.safeguarding_recipient,
            key=f"safeguarding_alert:{base}:{policy.safeguarding_recipient}",
            upn=learner.upn,
            due_by=due_at.date(),
            due_at=due_at,
            payload=payload,
        )
    ]
    if flags.social_worker_email is not None:
        notifications.append(
            PlannedNotification(
                kind=NotificationKind.SAFEGUARDING_ALERT,
                recipient=RECIPIENT_SOCIAL_WORKER,
                key=f"safeguarding_alert:{base}:{RECIPIENT_SOCIAL_WORKER}",
                upn=learner.upn,
                due_by=due_at.date(),
                due_at=due_at,
                payload={**payload, "social_worker_email": flags.social_worker_email},
            )
        )
    return Escalation(
        upn=learner.upn,
        setting_id=mark.setting_id,
        date=mark.date,
        session=mark.session,
        code=mark.code,
        due_at=due_at,
        notifications=tuple(notifications),
    )
