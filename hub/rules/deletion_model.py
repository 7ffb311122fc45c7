"""The roll-deletion decision's data: the facts a decision looks at, the checks it records and
the draft it returns (see `hub.rules.deletion` for the engine, `hub.rules.preconditions` for
each ground's checks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Final

from pydantic import JsonValue

from hub.rules.calendar import SchoolDays
from hub.rules.grounds import (
    EVIDENCE,
    EXCLUSION_FINAL_STATUSES,
    EvidenceKind,
    Ground,
)
from hub.rules.returns import (
    MarksInput,
    PlannedNotification,
    codes_by_session,
    setting_recipient,
)
from hub_contracts import (
    DecisionOutcome,
    DecisionReason,
    Jurisdiction,
    Learner,
    Registration,
    RollDeletionRequest,
    Session,
    Setting,
)

#: England 2024 reg 9(1)(i), Wales reg 8(1)(h): "not less than twenty school days".
TWENTY_SCHOOL_DAYS: Final = 20


@dataclass(frozen=True, slots=True)
class DeletionConfig:
    """Settings for the contested or policy-driven parts of the rules. Defaults are the strict
    reading; every field cites why it exists."""

    #: England 2024 9(1)(f): LA consent for a special-school pupil. UNVERIFIED for 2024;
    #: England 2006 reg 8(2) required it (legal-rules.md 3.1, 7.2).
    england_special_school_ehe_needs_la_consent: bool = True
    #: England 2024 9(1)(j): minimum sentence length in months; UNVERIFIED (legal-rules.md 3.1).
    england_2024_detention_min_months: float = 0
    #: England 2024 9(1)(o): wait for the review / IRP to conclude; UNVERIFIED (legal-rules.md 3.1).
    england_2024_exclusion_waits_for_review: bool = True
    #: ``appeal_status`` values after which an exclusion is final (seed 000 lines 600-603).
    exclusion_final_statuses: frozenset[str] = EXCLUSION_FINAL_STATUSES
    #: Wales 8(1)(e): EWS/EWO referral before removal; Welsh guidance, not regulation (seed 000
    #: line 592).
    wales_ews_referral_before_removal: bool = True
    #: Refuse a deletion whose statutory return lacks required contents (address, parents).
    require_complete_return: bool = True
    #: Wales: tell the LA of deletions on grounds without a reg 12(3) return, as good practice
    #: (seed 000 line 616).
    wales_good_practice_notice: bool = True
    #: Where the social worker is told before deletion (England: seed 003 line 545).
    social_worker_notice_in: frozenset[Jurisdiction] = frozenset({Jurisdiction.ENGLAND})
    #: Refuse an effective date before ``today``: a deletion cannot be backdated (legal-rules.md
    #: 3.1, Tes / Bradford "cannot retrospectively delete").
    refuse_backdated: bool = True


@dataclass(frozen=True)
class DeletionFacts:
    """Everything `decide_deletion` may look at. The caller loads it; the rules never fetch."""

    request: RollDeletionRequest
    setting: Setting
    learner: Learner
    #: All the learner's registrations, at any setting (other UPNs are ignored).
    registrations: Sequence[Registration]
    #: Marks at the requesting setting: current code or mark per (date, session), or history.
    marks_at_setting: MarksInput
    #: The requesting setting's school days.
    calendar: SchoolDays
    today: dt.date
    #: Setting ids whose proprietor's consent to this deletion is recorded.
    consents_recorded: frozenset[str] = frozenset()
    #: The LA or another system reports an admission elsewhere the hub holds no registration for.
    other_admission_known: bool = False
    config: DeletionConfig = field(default_factory=DeletionConfig)

    def __post_init__(self) -> None:
        if self.request.setting_id != self.setting.id or self.request.upn != self.learner.upn:
            raise ValueError("the request's setting and learner must be the facts' own")

    @cached_property
    def codes(self) -> dict[tuple[dt.date, Session], str]:
        return codes_by_session(self.marks_at_setting)

    @cached_property
    def own_registrations(self) -> tuple[Registration, ...]:
        return tuple(r for r in self.registrations if r.upn == self.learner.upn)

    def registration_here(self) -> Registration | None:
        """The registration at the requesting setting on the effective date."""
        day = self.request.effective_date
        return next(
            (
                r
                for r in self.own_registrations
                if r.setting_id == self.setting.id and r.on_roll(day)
            ),
            None,
        )

    def other_settings_on_roll(self) -> tuple[str, ...]:
        """Other settings where the learner is registered on the effective date, sorted."""
        day = self.request.effective_date
        return tuple(
            sorted(
                {
                    r.setting_id
                    for r in self.own_registrations
                    if r.setting_id != self.setting.id and r.on_roll(day)
                }
            )
        )

    def other_admission(self) -> str | None:
        """Where the learner is known to be admitted elsewhere (a setting id), or None."""
        day = self.request.effective_date
        for r in sorted(self.own_registrations, key=lambda r: (r.start_date, r.setting_id)):
            if r.setting_id != self.setting.id and (r.end_date is None or r.end_date >= day):
                return r.setting_id
        named = self.request.evidence.get("admitted_elsewhere_setting_id")
        if isinstance(named, str) and named.strip():
            return named
        return "another school (reported to the hub)" if self.other_admission_known else None


class CheckStatus(StrEnum):
    MET = "met"
    FAILED = "failed"
    AWAITING = "awaiting"


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One precondition, evaluated. ``awaiting`` names who must act (recipient roles)."""

    rule: str
    status: CheckStatus
    message: str
    citation: str
    awaiting: tuple[str, ...] = ()

    def reason(self) -> DecisionReason:
        return DecisionReason(rule=self.rule, message=self.message, citation=self.citation)


@dataclass(frozen=True, slots=True)
class DeletionDecisionDraft:
    """The decision before it is stored. The outcome is derived from the checks, so adding a
    failed check can only make it stricter."""

    ground: Ground | None
    checks: tuple[RuleCheck, ...] = ()
    planned: tuple[PlannedNotification, ...] = ()

    @property
    def decision(self) -> DecisionOutcome:
        statuses = {check.status for check in self.checks}
        if CheckStatus.FAILED in statuses or not self.checks:
            return DecisionOutcome.REFUSED
        if CheckStatus.AWAITING in statuses:
            return DecisionOutcome.PENDING
        return DecisionOutcome.ALLOWED

    @property
    def reasons(self) -> tuple[DecisionReason, ...]:
        """Refused: the failed checks. Pending: what it waits for. Allowed: what was satisfied."""
        wanted = {
            DecisionOutcome.REFUSED: CheckStatus.FAILED,
            DecisionOutcome.PENDING: CheckStatus.AWAITING,
            DecisionOutcome.ALLOWED: CheckStatus.MET,
        }[self.decision]
        return tuple(check.reason() for check in self.checks if check.status is wanted)

    @property
    def notifications(self) -> tuple[PlannedNotification, ...]:
        """The notifications to create for this outcome."""
        decision = self.decision
        return tuple(n for n in self.planned if n.when is None or n.when is decision)

    @property
    def awaiting(self) -> tuple[str, ...]:
        """Everyone a pending decision waits for (recipient roles), in order."""
        if self.decision is not DecisionOutcome.PENDING:
            return ()
        return tuple(dict.fromkeys(who for check in self.checks for who in check.awaiting))

    @property
    def awaiting_consent_from(self) -> tuple[str, ...]:
        """Setting ids whose consent a pending decision waits for."""
        prefix = setting_recipient("")
        return tuple(w.removeprefix(prefix) for w in self.awaiting if w.startswith(prefix))

    def add_check(self, check: RuleCheck) -> DeletionDecisionDraft:
        return replace(self, checks=(*self.checks, check))

    def add_met(self, rule: str, message: str, citation: str) -> DeletionDecisionDraft:
        return self.add_check(RuleCheck(rule, CheckStatus.MET, message, citation))

    def add_failed(self, rule: str, message: str, citation: str) -> DeletionDecisionDraft:
        return self.add_check(RuleCheck(rule, CheckStatus.FAILED, message, citation))

    def add_awaiting(
        self, rule: str, message: str, citation: str, *, awaiting: tuple[str, ...]
    ) -> DeletionDecisionDraft:
        return self.add_check(RuleCheck(rule, CheckStatus.AWAITING, message, citation, awaiting))

    def add_notification(self, notification: PlannedNotification) -> DeletionDecisionDraft:
        return replace(self, planned=(*self.planned, notification))


#: An LA rule pack's deletion behaviour (`hub.rules.returns.DeletionPolicy` is one).
DeletionRule = Callable[[DeletionFacts, DeletionDecisionDraft], DeletionDecisionDraft]


class PolicyViolation(ValueError):
    """An LA policy removed or changed a statutory check: rule packs may only add."""


def evidence_problems(evidence: Mapping[str, JsonValue]) -> tuple[str, ...]:
    """Unknown keys and values of the wrong type in a request's evidence, as messages."""
    problems: list[str] = []
    for key, value in sorted(evidence.items()):
        spec = EVIDENCE.get(key)
        if spec is None:
            problems.append(f"`{key}` is not an evidence key the hub knows")
            continue
        kind = spec.kind
        ok = (
            (kind is EvidenceKind.FLAG and isinstance(value, bool))
            or (kind is EvidenceKind.DATE and _as_date(value) is not None)
            or (kind is EvidenceKind.NUMBER and _as_number(value) is not None)
            or (kind is EvidenceKind.TEXT and isinstance(value, str) and bool(value.strip()))
            or (kind is EvidenceKind.CHOICE and isinstance(value, str) and value in spec.choices)
            or (kind is EvidenceKind.PARENTS and isinstance(value, list))
        )
        if not ok:
            expected = sorted(spec.choices) if kind is EvidenceKind.CHOICE else kind.value
            problems.append(f"`{key}` must be {expected}, got {value!r}")
    return tuple(problems)


def _as_date(value: JsonValue) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _as_number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)
