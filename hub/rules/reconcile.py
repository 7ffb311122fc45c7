"""Reconcile one learner's session across settings: dual registration, EOTAS, N codes.

One call judges one (learner, date, session): the learner's registrations on roll that day, the
EOTAS placements active that day, and the *current* mark from every setting involved (schools,
PRUs and EOTAS providers alike; a provider's report is simply a mark whose ``setting_id`` is the
provider's id). It returns the `Finding`\\ s that hold for those facts, at most one per
`DiscrepancyKind`. Pure: no database, no HTTP, no clock (``now`` is passed in).

Findings are a pure function of the facts and ``now``: the same facts give the same findings
whatever order the marks arrived in. The store opens a finding once per `Finding.key`, updates it
when its content changes and resolves it when a later call no longer returns it — which is what
makes the lifecycle idempotent.

The rules themselves live in `hub.rules.dual` (the ``dual_*`` kinds and
``d_without_dual_registration``) and `hub.rules.eotas` (the ``b_*`` kinds); ``n_code_overdue`` is
here. Codes are judged by their category and ``physically_present`` flag in the code set in force
for the setting's jurisdiction on the date (`hub.rules.codes.code_set_for`); only the letters the
law names (D, B, K, N, C) are compared by letter.

Time. "Missing" kinds wait for a deadline: ``dual_missing_mark`` for today's session waits for the
missing setting's registration deadline (`ReconcilePolicy`, default AM 10:00, PM 14:30 local
time) and is judged at once for past sessions; ``b_unconfirmed`` waits for the provider report
deadline (default: the end of the next school day after the session), for past and present
sessions alike. Nothing "missing" is raised for a future session. School days are counted on the
setting's own calendar; where no calendar covers the dates needed, Monday to Friday are counted
and the finding says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from hub.rules import dual, eotas
from hub.rules.calendar import CalendarExhausted, SchoolDays
from hub.rules.codes import code_set_for
from hub.rules.dual import DualAbsenceNotice, MarkRole, mark_role
from hub_contracts import (
    AttendanceMark,
    CodeDefinition,
    CodeSet,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    EotasPlacement,
    Jurisdiction,
    PlacementArranger,
    ProposedAction,
    Registration,
    RegistrationStatus,
    Session,
    Severity,
)

__all__ = [
    "SEVERITY",
    "DualAbsenceNotice",
    "Finding",
    "MarkRole",
    "ReconcilePolicy",
    "RegistrationDeadlines",
    "SessionFacts",
    "SessionView",
    "dual_absence_notices",
    "reconcile_session",
]

K = DiscrepancyKind

#: Severity of each kind. Critical only where the records say the child is at no setting at all.
SEVERITY: Final[Mapping[DiscrepancyKind, Severity]] = MappingProxyType(
    {
        # WG seed 000 lines 565-569: D at both means the child is at neither setting (safeguarding)
        K.DUAL_UNACCOUNTED: Severity.CRITICAL,
        K.DUAL_PRESENT_AT_BOTH: Severity.WARNING,
        K.DUAL_MISSING_MARK: Severity.WARNING,
        K.DUAL_CONFLICT: Severity.WARNING,
        K.DUAL_ABSENCE_NOT_SHARED: Severity.WARNING,
        K.D_WITHOUT_DUAL_REGISTRATION: Severity.WARNING,
        # WG seed 000 line 577: a wrong B "could mask possible safeguarding concerns"
        K.B_PROVIDER_ABSENT: Severity.WARNING,
        K.B_UNSCHEDULED: Severity.WARNING,
        K.B_UNCONFIRMED: Severity.WARNING,
        K.N_CODE_OVERDUE: Severity.WARNING,
    }
)

_KIND_ORDER: Final = {kind: i for i, kind in enumerate(DiscrepancyKind)}
_SEVERITY_ORDER: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

#: Per-setting registration deadlines: a mapping or a function from setting id to (AM, PM) local
#: times; a setting it does not know (``None`` / missing key) gets the policy default.
RegistrationDeadlines = (
    Mapping[str, tuple[dt.time, dt.time]] | Callable[[str], tuple[dt.time, dt.time] | None]
)


def _london() -> dt.tzinfo:
    return ZoneInfo("Europe/London")


# --- Inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """Everything the rules may look at for one (learner, date, session).

    ``registrations`` are the learner's `Registration` records (those not on roll on ``date`` are
    ignored); ``placements`` the learner's `EotasPlacement` records (those not active on ``date``,
    or whose school is not on roll, are ignored). ``marks`` is the CURRENT mark per setting id for
    this session, from schools, PRUs and EOTAS providers alike. ``jurisdiction_of`` must name the
    jurisdiction of every registered setting, placement provider and marking setting (it decides
    the code set); ``calendars`` gives each setting's school days where known.

    ``first_day_caller`` is the setting that owns first-day calling for a dual registration; when
    ``None`` it is the main school (status ``main``), else the earliest registration
    (by start date, then setting id).

    Raises ValueError when a mark is filed under another setting id, or a mark, registration or
    placement is for another learner, date or session.
    """

    upn: str
    date: dt.date
    session: Session
    registrations: Sequence[Registration] = ()
    placements: Sequence[EotasPlacement] = ()
    marks: Mapping[str, AttendanceMark] = field(default_factory=dict)
    jurisdiction_of: Mapping[str, Jurisdiction] = field(default_factory=dict)
    calendars: Mapping[str, SchoolDays] = field(default_factory=dict)
    # WG seed 000 line 405: "the original school should assume responsibility for checking"
    first_day_caller: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.date, dt.datetime):
            raise TypeError("SessionFacts.date takes a date, not a datetime")
        for setting_id, mark in self.marks.items():
            if mark.setting_id != setting_id:
                raise ValueError(f"mark from {mark.setting_id!r} filed under {setting_id!r}")
            if (mark.upn, mark.date, mark.session) != (self.upn, self.date, self.session):
                raise ValueError(
                    f"mark from {setting_id!r} is for {mark.upn} {mark.date} {mark.session}, "
                    f"not {self.upn} {self.date} {self.session}"
                )
        others = [r.upn for r in self.registrations] + [p.upn for p in self.placements]
        if any(upn != self.upn for upn in others):
            raise ValueError(f"a registration or placement is not for learner {self.upn}")
        object.__setattr__(self, "registrations", tuple(self.registrations))
        object.__setattr__(self, "placements", tuple(self.placements))
        object.__setattr__(self, "marks", MappingProxyType(dict(self.marks)))
        object.__setattr__(self, "jurisdiction_of", MappingProxyType(dict(self.jurisdiction_of)))
        object.__setattr__(self, "calendars", MappingProxyType(dict(self.calendars)))


@dataclass(frozen=True)
class ReconcilePolicy:
    """The configurable parts of reconciliation; every default is documented and cited.

    - ``registration_deadlines`` / ``default_registration_deadline``: per setting, the local time
      after which a missing mark for today's AM / PM session is a finding (issue 5 item 4:
      default AM 10:00, PM 14:30). Past sessions are judged at once.
    - ``provider_report_deadline_school_days``: an EOTAS provider's report for a B (or K) session
      is due by the end of this many school days after the session, on the school's calendar
      (default 1: the end of the next school day; 0: the end of the session's own day). The seeds
      say the provider "can notify the school of any absences" and the school checks "on a daily
      basis" (seed 000 lines 405, 581) without a time limit: one school day is the hub's choice.
    - ``n_code_replace_within_school_days`` and ``n_code_deadline_code_sets``: N must be replaced
      within 5 school days after the session (England 2024 regs reg 10(7)-(9); DfE guidance
      para 408, legal-rules.md 3.1); applies only to marks judged in these code sets.
    - ``wales_unscheduled_b_proposal``: the code proposed instead of an unscheduled B in Wales
      (seed 000 lines 577-579: "code C should be used").
    - ``timezone``: local time of every setting (England and Wales: Europe/London).
    """

    registration_deadlines: RegistrationDeadlines = field(default_factory=dict)
    # issue 5 item 4: default registration deadlines AM 10:00, PM 14:30
    default_registration_deadline: tuple[dt.time, dt.time] = (dt.time(10, 0), dt.time(14, 30))
    provider_report_deadline_school_days: int = 1
    # England 2024 regs reg 10(7)-(9): N replaced within 5 school days
    n_code_replace_within_school_days: int = 5
    n_code_deadline_code_sets: frozenset[str] = frozenset({"england-2024"})
    # WG seed 000 lines 577-579: B must not mask a session with no delivery; code C should be used
    wales_unscheduled_b_proposal: str = "C"
    timezone: dt.tzinfo = field(default_factory=_london)

    def __post_init__(self) -> None:
        if self.provider_report_deadline_school_days < 0:
            raise ValueError("provider_report_deadline_school_days must be 0 or more")
        if self.n_code_replace_within_school_days < 1:
            raise ValueError("n_code_replace_within_school_days must be at least 1")

    def registration_deadline(self, setting_id: str, session: Session) -> dt.time:
        """The local time the register for ``session`` at ``setting_id`` closes for this rule."""
        deadlines = self.registration_deadlines
        configured = deadlines(setting_id) if callable(deadlines) else deadlines.get(setting_id)
        am, pm = configured or self.default_registration_deadline
        return am if session is Session.AM else pm


# --- Output --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One discrepancy in one session: what is wrong, where, what to do, and why (the source).

    ``setting_ids`` are sorted; ``proposed_actions`` are ``set_mark`` proposals, each in the
    target setting's code set in force. ``safeguarding_alert_to`` is set only for
    ``dual_unaccounted``: raise a ``safeguarding_alert`` to that setting (the first-day caller).
    ``key`` is the natural key the store opens, updates and resolves the finding by.
    """

    upn: str
    date: dt.date
    session: Session
    kind: DiscrepancyKind
    severity: Severity
    setting_ids: tuple[str, ...]
    detail: str
    citation: str
    proposed_actions: tuple[ProposedAction, ...] = ()
    safeguarding_alert_to: str | None = None

    @property
    def key(self) -> tuple[str, dt.date, Session, DiscrepancyKind]:
        return (self.upn, self.date, self.session, self.kind)

    @property
    def discrepancy_id(self) -> str:
        """A deterministic id from `key` (at most 64 characters)."""
        return f"{self.kind.value}:{self.upn}:{self.date.isoformat()}:{self.session.value}"

    def to_discrepancy(
        self, status: DiscrepancyStatus = DiscrepancyStatus.OPEN, *, discrepancy_id: str = ""
    ) -> Discrepancy:
        """The wire `Discrepancy` (id `discrepancy_id` unless one is given)."""
        return Discrepancy(
            id=discrepancy_id or self.discrepancy_id,
            kind=self.kind,
            severity=self.severity,
            upn=self.upn,
            date=self.date,
            session=self.session,
            setting_ids=self.setting_ids,
            detail=self.detail,
            proposed_actions=self.proposed_actions,
            status=status,
        )


# --- The view the rule modules judge -------------------------------------------------------------


class SessionView:
    """`SessionFacts` with ``now`` and the policy applied: what the rule modules read.

    Internal to `hub.rules.dual` and `hub.rules.eotas`; it classifies each mark once (code set,
    definition, `MarkRole`), answers deadline questions and builds findings.
    """

    def __init__(self, facts: SessionFacts, *, now: dt.datetime, policy: ReconcilePolicy) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        self.facts = facts
        self.policy = policy
        self.now = now
        self.today = now.astimezone(policy.timezone).date()
        self._code_sets: dict[str, CodeSet] = {}

    @property
    def phrase(self) -> str:
        """The session in words, e.g. "the AM session on 2025-10-06"."""
        return f"the {self.facts.session.value} session on {self.facts.date.isoformat()}"

    @cached_property
    def registrations(self) -> Mapping[str, Registration]:
        """Registrations on roll on the date, by setting id (sorted; the earliest start wins)."""
        by_setting: dict[str, Registration] = {}
        for reg in sorted(
            self.facts.registrations, key=lambda r: (r.setting_id, r.start_date, r.status.value)
        ):
            if reg.on_roll(self.facts.date):
                by_setting.setdefault(reg.setting_id, reg)
        return MappingProxyType(by_setting)

    @property
    def registered(self) -> tuple[str, ...]:
        """Setting ids where the learner is on roll on the date, sorted."""
        return tuple(self.registrations)

    @cached_property
    def placements(self) -> tuple[EotasPlacement, ...]:
        """Placements active on the date whose school is on roll, by (school, provider)."""
        active = {
            (
                p.school_id,
                p.provider_id,
                p.start_date,
                p.end_date or dt.date.max,
                p.arranged_by.value,
                tuple(sorted((s.weekday, s.session.value) for s in p.sessions)),
            ): p
            for p in self.facts.placements
            if p.active(self.facts.date) and p.school_id in self.registrations
        }
        return tuple(active[key] for key in sorted(active))

    @cached_property
    def first_day_caller(self) -> str | None:
        """The configured first-day caller, else the main school, else the earliest registration."""
        if self.facts.first_day_caller is not None:
            return self.facts.first_day_caller
        regs = list(self.registrations.values())
        if not regs:
            return None
        # WG seed 000 line 405: the original school checks attendance at both settings daily
        mains = [r for r in regs if r.status is RegistrationStatus.MAIN]
        pick = min(mains or regs, key=lambda r: (r.start_date, r.setting_id))
        return pick.setting_id

    # -- codes --------------------------------------------------------------------------------

    def jurisdiction(self, setting_id: str) -> Jurisdiction:
        try:
            return Jurisdiction(self.facts.jurisdiction_of[setting_id])
        except KeyError:
            raise ValueError(f"no jurisdiction given for setting {setting_id!r}") from None

    def code_set(self, setting_id: str) -> CodeSet:
        """The code set in force for the setting on the date (by its jurisdiction)."""
        found = self._code_sets.get(setting_id)
        if found is None:
            found = code_set_for(self.jurisdiction(setting_id), self.facts.date)
            self._code_sets[setting_id] = found
        return found

    def mark(self, setting_id: str) -> AttendanceMark | None:
        return self.facts.marks.get(setting_id)

    def code(self, setting_id: str) -> str | None:
        mark = self.mark(setting_id)
        return None if mark is None else mark.code

    def definition(self, setting_id: str) -> CodeDefinition | None:
        """The definition of the setting's current code; raises ValueError for a code outside
        the set in force (ingest rejects those, so this is a wiring error)."""
        mark = self.mark(setting_id)
        if mark is None:
            return None
        code_set = self.code_set(setting_id)
        definition = code_set.codes.get(mark.code)
        if definition is None:
            raise ValueError(
                f"mark {mark.code!r} from {setting_id!r} is not in code set {code_set.id}"
            )
        return definition

    def role(self, setting_id: str) -> MarkRole | None:
        """Where the setting's mark says the pupil was; None when it has no mark."""
        mark, definition = self.mark(setting_id), self.definition(setting_id)
        if mark is None or definition is None:
            return None
        return mark_role(mark.code, definition)

    def describe(self, setting_id: str) -> str:
        """The mark in words: "setting X recorded N (its description)"."""
        mark, definition = self.mark(setting_id), self.definition(setting_id)
        if mark is None or definition is None:
            return f"setting {setting_id} has no mark"
        return f"setting {setting_id} recorded {mark.code} ({definition.description_en})"

    def has_code(self, setting_id: str, code: str) -> bool:
        return code in self.code_set(setting_id).codes

    def propose(self, setting_id: str, code: str) -> ProposedAction | None:
        """A ``set_mark`` proposal, or None when ``code`` is not in the setting's code set."""
        if not self.has_code(setting_id, code):
            return None
        return ProposedAction(setting_id=setting_id, code=code)

    def provision_code(self, placement: EotasPlacement) -> str:
        """The code the school records for a session delivered under ``placement``.

        K for LA-arranged provision where the code set has K, else B.
        """
        # England 2024 regs reg 10(3) Table 2: K for LA-arranged provision (s19 1996 Act)
        la_arranged = placement.arranged_by is PlacementArranger.LA
        return "K" if la_arranged and self.has_code(placement.school_id, "K") else "B"

    # -- time ---------------------------------------------------------------------------------

    def local(self, day: dt.date, time: dt.time = dt.time(0)) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.policy.timezone)

    def registration_deadline_passed(self, setting_id: str) -> bool:
        """Past sessions: yes. Today's: at or after the setting's deadline. Future: no."""
        if self.facts.date < self.today:
            return True
        if self.facts.date > self.today:
            return False
        deadline = self.policy.registration_deadline(setting_id, self.facts.session)
        return self.now >= self.local(self.facts.date, deadline)

    def meets(self, setting_id: str) -> bool:
        """Whether the setting meets on the date; True when its calendar cannot say."""
        calendar = self.facts.calendars.get(setting_id)
        if calendar is None:
            return True
        try:
            return calendar.is_school_day(self.facts.date)
        except CalendarExhausted:
            return True

    def nth_school_day_after(self, setting_id: str, n: int) -> tuple[dt.date, str]:
        """The n-th school day after the date on the setting's calendar, with a note.

        n == 0 is the date itself. Without a calendar covering the dates needed, Monday to Friday
        count as school days and the note (else empty) says so, for the finding's detail.
        """
        day = self.facts.date
        if n == 0:
            return day, ""
        calendar = self.facts.calendars.get(setting_id)
        if calendar is not None:
            try:
                return calendar.nth_school_day_after(day, n), ""
            except CalendarExhausted:
                pass
        while n:
            day += dt.timedelta(days=1)
            n -= day.weekday() < 5
        note = (
            f" (no school calendar for setting {setting_id} covers these dates, so Monday to "
            "Friday were counted as school days)"
        )
        return day, note

    def past_end_of(self, day: dt.date) -> bool:
        """Whether ``now`` is at or after local midnight ending ``day``."""
        return self.now >= self.local(day + dt.timedelta(days=1))

    # -- findings -----------------------------------------------------------------------------

    def finding(
        self,
        kind: DiscrepancyKind,
        *,
        settings: Iterable[str],
        detail: str,
        citation: str,
        actions: Iterable[ProposedAction | None] = (),
        alert_to: str | None = None,
    ) -> Finding:
        proposals = {a.setting_id: a for a in actions if a is not None}
        return Finding(
            upn=self.facts.upn,
            date=self.facts.date,
            session=self.facts.session,
            kind=kind,
            severity=SEVERITY[kind],
            setting_ids=tuple(sorted(set(settings))),
            detail=detail,
            citation=citation,
            proposed_actions=tuple(proposals[s] for s in sorted(proposals)),
            safeguarding_alert_to=alert_to,
        )


# --- N codes (England 2024) ----------------------------------------------------------------------


def n_code_overdue(view: SessionView) -> list[Finding]:
    """``n_code_overdue``: an N still on a school register after the 5th school day after it.

    England 2024 only (the code sets in `ReconcilePolicy.n_code_deadline_code_sets`): "the
    correct absence code should be entered as soon as the reason is ascertained, but no more than
    5 school days after the session"; if no reason is established, the mark becomes O. Overdue
    from the day after the 5th school day after the session (setting's calendar). Proposes
    nothing: only the school knows the reason. Marks of EOTAS providers (not registers) are
    not judged.
    """
    # England 2024 regs reg 10(7)-(9): N replaced within 5 school days (DfE guidance para 408)
    policy = view.policy
    overdue: list[str] = []
    notes: list[str] = []
    last_day: dt.date | None = None
    for setting_id in view.registered:
        if view.code(setting_id) != "N":
            continue
        if view.code_set(setting_id).id not in policy.n_code_deadline_code_sets:
            continue
        day, note = view.nth_school_day_after(setting_id, policy.n_code_replace_within_school_days)
        if view.today > day:
            overdue.append(setting_id)
            notes.append(note)
            last_day = day if last_day is None else max(last_day, day)
    if not overdue:
        return []
    where = " and ".join(overdue)
    where = (
        f"Settings {where} still record" if len(overdue) > 1 else f"Setting {where} still records"
    )
    detail = (
        f"{where} N (reason not yet established) for {view.phrase}; the reason "
        f"had to be entered within {policy.n_code_replace_within_school_days} school days, by "
        f"{last_day}{''.join(dict.fromkeys(notes))}. Replace N with the correct absence code, or "
        "with O if no reason could be established."
    )
    return [
        view.finding(
            K.N_CODE_OVERDUE,
            settings=overdue,
            detail=detail,
            citation="England 2024 regs reg 10(7)-(9); DfE guidance para 408 (legal-rules.md 3.1)",
        )
    ]


# --- Entry points --------------------------------------------------------------------------------


def _merge(findings: Sequence[Finding]) -> Finding:
    """One finding per kind: several (e.g. one per school) become one, listing them all."""
    if len(findings) == 1:
        return findings[0]
    first = findings[0]
    actions = {a.setting_id: a for f in findings for a in f.proposed_actions}
    return Finding(
        upn=first.upn,
        date=first.date,
        session=first.session,
        kind=first.kind,
        severity=max((f.severity for f in findings), key=_SEVERITY_ORDER.__getitem__),
        setting_ids=tuple(sorted({s for f in findings for s in f.setting_ids})),
        detail=" ".join(dict.fromkeys(f.detail for f in findings)),
        citation="; ".join(dict.fromkeys(f.citation for f in findings)),
        proposed_actions=tuple(actions[s] for s in sorted(actions)),
        safeguarding_alert_to=next(
            (f.safeguarding_alert_to for f in findings if f.safeguarding_alert_to), None
        ),
    )


def reconcile_session(
    facts: SessionFacts, *, now: dt.datetime, policy: ReconcilePolicy | None = None
) -> tuple[Finding, ...]:
    """Every finding for one (learner, date, session), at most one per kind, in kind order.

    A pure function of ``facts``, ``now`` (aware) and ``policy``; independent of the order the
    marks arrived in. A session with no registration on roll gives no findings. Raises
    ValueError for a naive ``now``, a setting with no jurisdiction, or a mark whose code is not in
    its setting's code set in force.
    """
    view = SessionView(facts, now=now, policy=policy or ReconcilePolicy())
    if not view.registered:
        return ()
    raw = [
        *dual.dual_registration_findings(view),
        *dual.d_without_dual_registration(view),
        *eotas.off_site_findings(view),
        *n_code_overdue(view),
    ]
    by_kind: dict[DiscrepancyKind, list[Finding]] = {}
    for finding in raw:
        by_kind.setdefault(finding.kind, []).append(finding)
    return tuple(_merge(by_kind[kind]) for kind in sorted(by_kind, key=_KIND_ORDER.__getitem__))


def dual_absence_notices(facts: SessionFacts) -> tuple[DualAbsenceNotice, ...]:
    """The ``dual_absence_notice`` notifications this session calls for (see `hub.rules.dual`).

    Separate from findings because a notice is due as soon as the absence is recorded, whether
    or not anything is inconsistent yet (the partner may not have marked). Each notice has a
    natural `DualAbsenceNotice.key`, so the store sends it once.
    """
    # Notices do not depend on the time of day: any ``now`` gives the same answer.
    noon = dt.datetime.combine(facts.date, dt.time(12), tzinfo=dt.UTC)
    view = SessionView(facts, now=noon, policy=ReconcilePolicy())
    return dual.absence_notices(view)
