"""The roll-deletion decision: may this pupil's name leave this register on this ground and date?

`decide_deletion(facts)` checks the request against the ground catalogue (`hub.rules.grounds`)
and the hub's own data (registrations, marks, calendar, age) plus the request's evidence, and
returns a `DeletionDecisionDraft`: ``allowed``, ``refused`` or ``pending`` (waiting for consents),
with every check it ran, the reasons to show, and the notifications to create. Nothing is
written or sent here; ``dry_run`` does not change the decision (the caller skips side effects).

Outcome: any failed check → ``refused``; else any check awaiting someone → ``pending``; else
``allowed``. A reason's ``rule`` is stable: ``<ground id>/<check>`` for a ground's preconditions,
``deletion/...`` and ``ground/...`` for the checks every request gets, ``la-policy:...`` for LA
rule packs. An unlawful deletion ("off-rolling") must be impossible through the hub, so when in
doubt a check fails and names the evidence key that would satisfy it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Final

from pydantic import JsonValue

from hub.rules.calendar import CalendarExhausted, SchoolDays
from hub.rules.codes import ATTENDANCE_CATEGORIES, UnknownCodeSetError, code_set_for
from hub.rules.grounds import (
    EVIDENCE,
    EXCLUSION_FINAL_STATUSES,
    ConsentRule,
    EvidenceKind,
    Ground,
    Regime,
    ReturnDuty,
    lookup_ground,
)
from hub.rules.returns import (
    RECIPIENT_LA,
    RECIPIENT_SOCIAL_WORKER,
    MarksInput,
    PlannedNotification,
    codes_by_session,
    current_run,
    deletion_return_contents,
    deletion_return_due_or_estimate,
    setting_recipient,
    unauthorised_absence,
)
from hub.rules.school_age import compulsory_school_age_end
from hub_contracts import (
    DecisionOutcome,
    DecisionReason,
    Jurisdiction,
    Learner,
    NotificationKind,
    Registration,
    RegistrationStatus,
    RollDeletionRequest,
    Session,
    Setting,
    SettingKind,
)

__all__ = [
    "CHECK_SLUGS",
    "CheckStatus",
    "DeletionConfig",
    "DeletionDecisionDraft",
    "DeletionFacts",
    "DeletionRule",
    "PolicyViolation",
    "RuleCheck",
    "decide_deletion",
    "evidence_problems",
]

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


# --- The engine ------------------------------------------------------------------------------


def decide_deletion(
    facts: DeletionFacts, policies: Iterable[DeletionRule] = ()
) -> DeletionDecisionDraft:
    """Decide a roll deletion request; then apply LA ``policies`` (which may only add).

    Raises `PolicyViolation` if a policy drops or alters a statutory check.
    """
    request = facts.request
    ground = lookup_ground(request.ground)
    if ground is None:
        # DESIGN.md 5: "Unknown ground or jurisdiction mismatch -> refused with a reason"
        return DeletionDecisionDraft(None).add_failed(
            "ground/unknown",
            f"{request.ground} is not a deletion ground the hub knows. Deletion is lawful only on "
            "a prescribed ground (Wales reg 8, England 2024 reg 9).",
            "DESIGN.md 5; legal-rules.md 4.1 (off-rolling), 7.2",
        )
    regime_problem = _regime_problem(ground, facts)
    if regime_problem is not None:
        return DeletionDecisionDraft(ground).add_failed(
            "ground/regime", regime_problem, f"DESIGN.md 5; {ground.citation}"
        )
    draft = DeletionDecisionDraft(ground)
    for check in _common_checks(ground, facts):
        draft = draft.add_check(check)
    for slug in ground.checks:
        draft = draft.add_check(_CHECKS[slug](_Ctx(ground, facts, slug)))
    draft = _consent(ground, facts, draft)
    draft = _statutory_notifications(ground, facts, draft)
    for policy in policies:
        before = draft.checks
        draft = policy(facts, draft)
        if draft.checks[: len(before)] != before:
            raise PolicyViolation(f"policy {policy!r} removed or changed a statutory check")
    return draft


def _regime_problem(ground: Ground, facts: DeletionFacts) -> str | None:
    setting, day = facts.setting, facts.request.effective_date
    try:
        in_force = Regime(code_set_for(setting.jurisdiction, day).id)
    except (UnknownCodeSetError, ValueError):
        return (
            f"No pupil registration regulations are modelled for {setting.jurisdiction} on {day}."
        )
    if ground.jurisdiction is not setting.jurisdiction:
        return (
            f"{ground.id} is a ground of {ground.jurisdiction.value.title()}; {setting.name} is in "
            f"{setting.jurisdiction.value.title()} (use a {in_force.value} ground)."
        )
    if ground.regime is not in_force or not ground.in_force(day):
        return (
            f"{ground.id} is not in force on {day}: the regulations then in force are "
            f"{in_force.value} (England 2024 regulations from 2024-08-19)."
        )
    return None


def _common_checks(ground: Ground, facts: DeletionFacts) -> Iterable[RuleCheck]:
    request, day = facts.request, facts.request.effective_date
    problems = evidence_problems(request.evidence)
    # The evidence vocabulary is closed, so a misspelt key cannot silently drop a precondition
    yield RuleCheck(
        "deletion/evidence",
        CheckStatus.FAILED if problems else CheckStatus.MET,
        "Evidence not accepted: " + "; ".join(problems) if problems else "Evidence keys accepted.",
        "hub evidence vocabulary (hub.rules.grounds.EVIDENCE)",
    )
    here = facts.registration_here()
    yield RuleCheck(
        "deletion/on-roll",
        CheckStatus.MET if here else CheckStatus.FAILED,
        f"On roll at {facts.setting.name} on {day}."
        if here
        else f"The learner is not on the roll of {facts.setting.name} on {day}.",
        "DESIGN.md 5 (allowed ends the registration at effective_date)",
    )
    later = sorted(d for (d, _s) in facts.codes if d > day)
    # No retrospective deletion: the register runs up to the deletion (legal-rules.md 3.1,
    # Tes quoting the statutory guidance; Bradford)
    yield RuleCheck(
        "deletion/retrospective",
        CheckStatus.FAILED if later else CheckStatus.MET,
        f"Sessions up to {later[-1]} are already marked at this setting; a deletion cannot take "
        f"effect before a marked session (the register runs up to the deletion)."
        if later
        else "No session after the effective date is marked.",
        "legal-rules.md 3.1 ('a school cannot retrospectively delete a pupil's name')",
    )
    if facts.config.refuse_backdated:
        backdated = day < facts.today
        yield RuleCheck(
            "deletion/backdated",
            CheckStatus.FAILED if backdated else CheckStatus.MET,
            f"The effective date {day} is before today ({facts.today}); deletions cannot be "
            "backdated."
            if backdated
            else "The effective date is not in the past.",
            "legal-rules.md 3.1 ('cannot retrospectively delete'); DeletionConfig.refuse_backdated",
        )
    yield from _return_contents_check(ground, facts)


def _return_contents_check(ground: Ground, facts: DeletionFacts) -> Iterable[RuleCheck]:
    day = facts.request.effective_date
    statutory = ground.return_duty_on(day)
    if (
        statutory is not None
        and statutory.final_year_leavers_exempt
        and facts.request.evidence.get("final_year_leaver") is True
    ):
        # England 2024 reg 13(5): the exemption is for a deletion at or after the end of the last
        # term of the school year (legal-rules.md 3.1); a school day later that year disproves it
        year_end = dt.date(day.year if day.month < 9 else day.year + 1, 8, 31)
        later = [d for d in facts.calendar.days if day < d <= year_end]
        yield RuleCheck(
            f"{ground.id}/final-year-leaver",
            CheckStatus.FAILED if later else CheckStatus.MET,
            f"`final_year_leaver` is claimed, but the school meets again on {later[0]} in the "
            "same school year: the exemption is only for leaving at the end of the year."
            if later
            else "A leaver at the end of the school's final year: no deletion return is due.",
            statutory.citation,
        )
    duty = _return_duty(ground, facts)
    if duty is None or not facts.config.require_complete_return:
        return
    request = facts.request
    contents = deletion_return_contents(
        ground, facts.learner, facts.setting, request.effective_date, request.evidence
    )
    yield RuleCheck(
        f"{ground.id}/deletion-return-contents",
        CheckStatus.FAILED if contents.missing else CheckStatus.MET,
        "The statutory deletion return cannot be completed; missing: "
        + ", ".join(contents.missing)
        + " (learner address, or evidence `parents`)."
        if contents.missing
        else "The deletion return to the LA has the contents the regulation lists.",
        duty.citation,
    )


def _return_duty(ground: Ground, facts: DeletionFacts) -> ReturnDuty | None:
    duty = ground.return_duty_on(facts.request.effective_date)
    if duty is None:
        return None
    if duty.final_year_leavers_exempt and facts.request.evidence.get("final_year_leaver") is True:
        # England 2024 reg 13(5): no return for a leaver at the end of the most senior year
        # (SECONDARY, Bradford; legal-rules.md 3.1)
        return None
    return duty


def _consent(
    ground: Ground, facts: DeletionFacts, draft: DeletionDecisionDraft
) -> DeletionDecisionDraft:
    rule, cite = f"{ground.id}/consent", ground.citation
    ev, setting = facts.request.evidence, facts.setting
    if ground.consent is ConsentRule.LA_IF_SPECIAL_SCHOOL:
        # Wales reg 8(2): a special-school pupil's EHE deletion needs the LA's consent or the
        # Welsh Ministers' direction (legal-rules.md 1.4); England 2024: UNVERIFIED, configurable
        needed = setting.kind is SettingKind.SPECIAL and (
            ground.regime is not Regime.ENGLAND_2024
            or facts.config.england_special_school_ehe_needs_la_consent
        )
        if not needed:
            return draft.add_met(rule, "No LA consent is needed: not a special school.", cite)
        if ev.get("la_consent") is True or (
            ground.regime is Regime.WALES_2010 and ev.get("welsh_ministers_direction") is True
        ):
            return draft.add_met(rule, "The LA has consented (special school).", cite)
        return draft.add_failed(
            rule,
            "Missing evidence `la_consent`: a pupil of a special school may be deleted for "
            "education otherwise than at school only with the LA's consent"
            + (" (or `welsh_ministers_direction`)." if ground.regime is Regime.WALES_2010 else "."),
            cite,
        )
    if ground.consent is ConsentRule.NONE:
        return draft
    if ground.consent is ConsentRule.OTHER_PROPRIETORS_OR_LA and ev.get("la_consent") is True:
        # Wales reg 9: permission of the LA or the other proprietor (seed 000 line 606)
        return draft.add_met(rule, "The LA has consented.", cite)
    others = facts.other_settings_on_roll()
    if not others:
        return draft  # the dual-registered check has already failed
    # Wales reg 8(1)(c) (UNVERIFIED: read as every other school); England 2024 reg 9(1)(c)(ii)
    # "the proprietor of each other school where the pupil is registered has consented"
    missing = [s for s in others if s not in facts.consents_recorded]
    if not missing:
        return draft.add_met(
            rule, "Consent recorded from every other school: " + ", ".join(others) + ".", cite
        )
    draft = draft.add_awaiting(
        rule,
        "Waiting for the consent of the proprietor of every other school where the pupil is "
        "registered: " + ", ".join(missing) + ".",
        cite,
        awaiting=tuple(setting_recipient(s) for s in missing),
    )
    request = facts.request
    for other in missing:
        draft = draft.add_notification(
            PlannedNotification(
                kind=NotificationKind.CONSENT_REQUEST,
                recipient=setting_recipient(other),
                key=f"consent_request:{request.upn}:{setting.id}:{request.ground}:"
                f"{request.effective_date.isoformat()}:{other}",
                upn=request.upn,
                due_by=request.effective_date,
                payload={
                    "upn": request.upn,
                    "requesting_setting_id": setting.id,
                    "requesting_setting_name": setting.name,
                    "consenting_setting_id": other,
                    "ground": ground.id,
                    "ground_title": ground.title,
                    "effective_date": request.effective_date.isoformat(),
                },
                when=DecisionOutcome.PENDING,
            )
        )
    return draft


def _statutory_notifications(
    ground: Ground, facts: DeletionFacts, draft: DeletionDecisionDraft
) -> DeletionDecisionDraft:
    request, learner = facts.request, facts.learner
    day = request.effective_date
    base_key = f"{request.upn}:{facts.setting.id}:{ground.id}:{day.isoformat()}"
    duty = _return_duty(ground, facts)
    if duty is not None:
        due, estimated = deletion_return_due_or_estimate(ground, day, facts.calendar)
        contents = deletion_return_contents(ground, learner, facts.setting, day, request.evidence)
        draft = draft.add_notification(
            PlannedNotification(
                kind=NotificationKind.DELETION_RETURN,
                recipient=RECIPIENT_LA,
                key=f"deletion_return:{base_key}",
                upn=request.upn,
                due_by=due,
                due_by_is_estimate=estimated,
                payload=contents.payload,
                when=DecisionOutcome.ALLOWED,
            )
        )
    elif ground.regime is Regime.WALES_2010 and facts.config.wales_good_practice_notice:
        # Wales: other deletions "should as a matter of good practice" be notified to the LA
        # (seed 000 line 616); no statutory deadline
        draft = draft.add_notification(
            PlannedNotification(
                kind=NotificationKind.DELETION_NOTICE,
                recipient=RECIPIENT_LA,
                key=f"deletion_notice:{base_key}",
                upn=request.upn,
                payload={
                    **deletion_return_contents(
                        ground, learner, facts.setting, day, request.evidence
                    ).payload,
                    "regulation": "none: good-practice notice (WG guidance, seed 000 line 616)",
                },
                when=DecisionOutcome.ALLOWED,
            )
        )
    flags = learner.flags
    has_social_worker = (
        flags.looked_after or flags.child_protection_plan or flags.social_worker_email is not None
    )
    if has_social_worker and ground.jurisdiction in facts.config.social_worker_notice_in:
        # England: the social worker is told "if the child's name is to be deleted from the
        # register" (seed 003 line 545), so due no later than the deletion
        draft = draft.add_notification(
            PlannedNotification(
                kind=NotificationKind.DELETION_NOTICE,
                recipient=RECIPIENT_SOCIAL_WORKER,
                key=f"deletion_notice:{base_key}:{RECIPIENT_SOCIAL_WORKER}",
                upn=request.upn,
                due_by=day,
                payload={
                    "upn": request.upn,
                    "full_name": f"{learner.given_name} {learner.family_name}",
                    "social_worker_email": flags.social_worker_email,
                    "looked_after": flags.looked_after,
                    "child_protection_plan": flags.child_protection_plan,
                    "setting_id": facts.setting.id,
                    "ground": ground.id,
                    "deletion_date": day.isoformat(),
                },
                when=DecisionOutcome.ALLOWED,
            )
        )
    return draft


# --- Ground preconditions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ctx:
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


Check = Callable[[_Ctx], RuleCheck]


def _sao(*allowed: str) -> Check:
    def check(c: _Ctx) -> RuleCheck:
        value = c.ev.get("sao_change")
        return c.result(
            value in allowed,
            f"The LA has {value} the school attendance order.",
            "Missing evidence `sao_change` (" + " or ".join(allowed) + "): the LA must have "
            "changed the school attendance order.",
        )

    return check


def _admitted_elsewhere(c: _Ctx) -> RuleCheck:
    where = c.facts.other_admission()
    return c.result(
        where is not None,
        f"Admitted at {where}.",
        "No admission at another school is known: the hub holds no registration elsewhere and "
        "evidence `admitted_elsewhere_setting_id` is missing.",
        "seed 000 line 616 (confirm the new school first)",
    )


def _not_agreed_dual(c: _Ctx) -> RuleCheck:
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


def _dual_registered(c: _Ctx) -> RuleCheck:
    others = c.facts.other_settings_on_roll()
    return c.result(
        bool(others),
        "Also registered at " + ", ".join(others) + ".",
        f"The pupil is not registered at any other school on {c.day}.",
    )


def _holiday_leave_over_ten_days(c: _Ctx) -> RuleCheck:
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


def _leave_non_return(c: _Ctx) -> RuleCheck:
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


def _enquiries_failed(c: _Ctx) -> RuleCheck:
    # Both the school AND the LA failed after reasonable enquiry (England 2006 Explanatory Note;
    # 2016 guidance "jointly"; seed 000 line 595) (legal-rules.md 1.4, 3.3)
    return c.flags(
        "school_enquiries_failed",
        "la_enquiries_failed",
        what="both the school and the LA failed, after reasonable enquiry, to find the pupil",
    )


def _twenty_day_absence(c: _Ctx) -> RuleCheck:
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


def _custody_four_months(c: _Ctx) -> RuleCheck:
    months = _as_number(c.ev.get("custody_months"))
    # Wales 8(1)(i): order "for a period of not less than 4 months" (seed 000 lines 613, 624)
    return c.result(
        months is not None and months >= 4,
        f"Custody order of {months:g} months." if months is not None else "",
        "Evidence `custody_months` must show an order of at least 4 months.",
    )


def _sentence_of_detention(c: _Ctx) -> RuleCheck:
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


def _no_expected_return(c: _Ctx) -> RuleCheck:
    value = c.ev.get("expected_return")
    return c.result(
        value is False,
        "No reasonable grounds to believe the pupil will return after custody.",
        "Evidence `expected_return` must be false: the proprietor must have no reasonable "
        "grounds to believe the pupil will return.",
    )


def _death_notified(c: _Ctx) -> RuleCheck:
    notified = _as_date(c.ev.get("date_of_death_notified"))
    return c.result(
        notified is not None and notified <= c.facts.today,
        f"The school was told of the death on {notified}.",
        "Missing evidence `date_of_death_notified` (a date not in the future).",
    )


def _ceases_school_age(c: _Ctx) -> RuleCheck:
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


def _not_continuing_to_sixth_form(c: _Ctx) -> RuleCheck:
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


def _exclusion_final(c: _Ctx) -> RuleCheck:
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


def _boarding_fees_unpaid(c: _Ctx) -> RuleCheck:
    return c.flags(
        "boarder", "boarding_fees_unpaid", what="a boarder whose boarding fees are unpaid"
    )


def _ews_referral(c: _Ctx) -> RuleCheck:
    if not c.facts.config.wales_ews_referral_before_removal:
        return c.result(True, "EWS referral not required (configuration).", "")
    return c.flags(
        "ews_referral_made",
        what="the case was referred to the Education Welfare Service for investigation before "
        "removal",
        source="seed 000 line 592 (Welsh guidance)",
    )


_CHECKS: Final[Mapping[str, Check]] = {
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
CHECK_SLUGS: Final = frozenset(_CHECKS)
