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
from collections.abc import Iterable

from hub.rules.codes import UnknownCodeSetError, code_set_for
from hub.rules.deletion_model import (
    CheckStatus,
    DeletionConfig,
    DeletionDecisionDraft,
    DeletionFacts,
    DeletionRule,
    PolicyViolation,
    RuleCheck,
    evidence_problems,
)
from hub.rules.grounds import (
    ConsentRule,
    Ground,
    Regime,
    ReturnDuty,
    lookup_ground,
)
from hub.rules.preconditions import CHECK_SLUGS, CHECKS, CheckContext
from hub.rules.returns import (
    RECIPIENT_LA,
    RECIPIENT_SOCIAL_WORKER,
    PlannedNotification,
    deletion_return_contents,
    deletion_return_due_or_estimate,
    setting_recipient,
)
from hub_contracts import (
    DecisionOutcome,
    NotificationKind,
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
        draft = draft.add_check(CHECKS[slug](CheckContext(ground, facts, slug)))
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
