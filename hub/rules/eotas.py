"""Off-site provision (EOTAS) for a pupil who stays on a school's roll: B, and K in England 2024.

Wales (seed 000 lines 575-581): for a pupil on a mainstream roll receiving EOTAS "other than at a
registered provider", the school records B where the provision is a supervised approved
educational activity during the session. B "should not be used for any period when there is no
educational delivery by a staff member", as it "could mask possible safeguarding concerns"; where
the pupil is not required to attend, code C is used. The provider must be able to notify the
school of absences so the school records the absence. England: B certifies supervised education
(legal-rules.md 2.3); from 19 August 2024 provision arranged by the local authority is K, not B
(England 2024 regs reg 10(3) Table 2), and K is judged like B here.

The school's B (or K) session is judged against the pupil's active `EotasPlacement`\\ s from that
school and the providers' own marks for the session (a provider's report is its mark), classified
by `hub.rules.dual.mark_role`. In order, the first that applies:

1. ``b_provider_absent``: a provider reports an absence and none reports attendance: propose the
   provider's absence code at the school (when that code exists in the school's code set).
2. ``b_unscheduled``: no provider reports attendance and no placement schedules delivery in the
   session (a provider's closure or other not-counted code also means no delivery). Wales: propose
   C (`ReconcilePolicy.wales_unscheduled_b_proposal`). England: no proposal — England's C is leave
   for exceptional circumstances, not "not required to attend", so the school decides.
   A provider reporting attendance proves delivery even when the schedule does not list the
   session (the schedule is what is out of date), so then no finding.
3. ``b_unscheduled`` also when the code does not match the provision (the hub's choice of kind
   for this case): England 2024, B where the delivering placement is LA-arranged (propose K), or
   K where it is school-arranged (propose B).
4. ``b_unconfirmed``: delivery is scheduled, no provider has reported, and the provider report
   deadline has passed (`ReconcilePolicy.provider_report_deadline_school_days`).

Placements whose school is not on roll that day (EOTAS-only pupils, monitored by the LA: seed 000
line 199) are not judged here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.rules.dual import MarkRole
from hub_contracts import DiscrepancyKind, EotasPlacement, Jurisdiction

if TYPE_CHECKING:
    from hub.rules.reconcile import Finding, SessionView

__all__ = ["OFF_SITE_CODES", "off_site_findings"]

K = DiscrepancyKind

#: The codes a school records for a session of off-site provision (the law names them).
# England 2024 regs reg 10(3) Table 2: B (other approved educational activity), K (LA-arranged)
OFF_SITE_CODES: Final = frozenset({"B", "K"})
_NO_DELIVERY: Final = frozenset({MarkRole.ELSEWHERE, MarkRole.NOT_REQUIRED})


def off_site_findings(view: SessionView) -> list[Finding]:
    """The ``b_*`` findings for every school on roll that records B or K for the session."""
    # WG seed 000 line 575: B only for supervised educational activity in the session
    # WG seed 000 lines 577-579: no B without staff delivery; C if not required
    # WG seed 000 line 581: the provider notifies absences; the school records them
    # England 2024 regs reg 10(3) Table 2: K for LA-arranged provision, B otherwise
    findings: list[Finding] = []
    for school in view.registered:
        code = view.code(school)
        if code in OFF_SITE_CODES:
            finding = _judge(view, school, code)
            if finding is not None:
                findings.append(finding)
    return findings


def _judge(view: SessionView, school: str, code: str) -> Finding | None:
    facts = view.facts
    placements = [p for p in view.placements if p.school_id == school]
    scheduled = [p for p in placements if p.scheduled(facts.date, facts.session)]
    reports = {p.provider_id: view.role(p.provider_id) for p in placements}
    attended = sorted(pid for pid, role in reports.items() if role is MarkRole.ATTENDING)
    absent = sorted(pid for pid, role in reports.items() if role is MarkRole.ABSENT)
    possible = [p for p in scheduled if reports[p.provider_id] not in _NO_DELIVERY]

    if absent and not attended:
        return _provider_absent(view, school, absent)
    if not attended and not possible:
        return _unscheduled(view, school, placements, scheduled)
    delivering = [*scheduled, *(p for p in placements if p.provider_id in attended)]
    if not any(view.provision_code(p) == code for p in delivering):
        return _wrong_provision_code(view, school, delivering[0])
    if attended:
        return None
    due_day, note = view.nth_school_day_after(
        school, view.policy.provider_report_deadline_school_days
    )
    if not view.past_end_of(due_day):
        return None
    providers = sorted({p.provider_id for p in possible})
    return _unconfirmed(view, school, providers, due_day.isoformat() + note)


def _settings(settings: list[str]) -> str:
    return " and ".join(f"setting {s}" for s in settings)


def _provider_absent(view: SessionView, school: str, absent: list[str]) -> Finding:
    # WG seed 000 line 581: the EOTAS provider notifies absences so the school records them
    proposal = next(
        (
            view.propose(school, c)
            for c in (view.code(p) for p in absent)
            if c is not None and view.has_code(school, c)
        ),
        None,
    )
    todo = (
        f"propose {proposal.code} at setting {school}"
        if proposal is not None
        else f"setting {school} records the matching absence code of its own code set"
    )
    reported = " and ".join(view.describe(p) for p in absent)
    detail = (
        f"For {view.phrase}, {view.describe(school)}, but the provider reports the pupil absent: "
        f"{reported}. The school must record the absence, not off-site education: {todo}."
    )
    return view.finding(
        K.B_PROVIDER_ABSENT,
        settings=[school, *absent],
        detail=detail,
        citation="seed 000 line 581 (seed-digest 3, EOTAS not dual registered)",
        actions=[proposal],
    )


def _unscheduled(
    view: SessionView,
    school: str,
    placements: list[EotasPlacement],
    scheduled: list[EotasPlacement],
) -> Finding:
    code = view.code(school)
    if not placements:
        why = f"the pupil has no active off-site placement from setting {school}"
    elif not scheduled:
        providers = sorted({p.provider_id for p in placements})
        why = f"no placement ({_settings(providers)}) schedules delivery in this session"
    else:
        reports = [view.describe(p) for p in sorted({p.provider_id for p in scheduled})]
        why = f"{' and '.join(reports)}, so there was no educational delivery"
    detail = f"For {view.phrase}, {view.describe(school)}, but {why}."
    if view.jurisdiction(school) is Jurisdiction.WALES:
        # WG seed 000 lines 577-579: B never where no staff delivery; code C should be used
        target = view.policy.wales_unscheduled_b_proposal
        proposal = view.propose(school, target)
        detail += (
            f" {code} is only for supervised educational delivery during the session and must not "
            "mask a session with none; where the pupil is not required to attend, the school uses "
            f"code {target}: propose {target} at setting {school}, or the absence code if the "
            "pupil was due somewhere and did not attend."
        )
        return view.finding(
            K.B_UNSCHEDULED,
            settings=[school],
            detail=detail,
            citation="seed 000 lines 575-579 (seed-digest 9 rules 7-8)",
            actions=[proposal],
        )
    # England: legal-rules.md 2.3: B certifies supervised education; not for a pupil at home
    detail += (
        f" {code} certifies supervised education during the session and must not be used where "
        "there is none. In England no code is proposed: C is leave for exceptional circumstances, "
        "so the school records where the pupil actually was (leave for an agreed part-time "
        "timetable, or the relevant absence code)."
    )
    return view.finding(
        K.B_UNSCHEDULED,
        settings=[school],
        detail=detail,
        citation="legal-rules.md 2.3 (B only for supervised education); England 2024 regs reg 10",
    )


def _wrong_provision_code(view: SessionView, school: str, placement: EotasPlacement) -> Finding:
    # England 2024 regs reg 10(3) Table 2: K for provision arranged by the LA under s19 1996 Act
    expected = view.provision_code(placement)
    arranged = "the local authority" if expected == "K" else "the school"
    detail = (
        f"For {view.phrase}, {view.describe(school)}, but the provision by setting "
        f"{placement.provider_id} is arranged by {arranged}: from 19 August 2024 provision the "
        "local authority arranges is recorded K and other supervised off-site education B. "
        f"Propose {expected} at setting {school}."
    )
    return view.finding(
        K.B_UNSCHEDULED,
        settings=[school, placement.provider_id],
        detail=detail,
        citation="England 2024 regs reg 10(3) Table 2 (K: LA-arranged provision)",
        actions=[view.propose(school, expected)],
    )


def _unconfirmed(view: SessionView, school: str, providers: list[str], due: str) -> Finding:
    # WG seed 000 line 405: the original school checks attendance at both settings daily
    # WG seed 000 line 581: the provider can notify the school of absences
    detail = (
        f"For {view.phrase}, {view.describe(school)}, but {_settings(providers)} has not "
        f"reported whether the pupil attended by the end of {due}. The school checks the "
        "pupil's attendance at the provision daily: confirm with the provider, and record the "
        "absence code if the pupil did not attend."
    )
    return view.finding(
        K.B_UNCONFIRMED,
        settings=[school, *providers],
        detail=detail,
        citation="seed 000 lines 405, 581",
    )
