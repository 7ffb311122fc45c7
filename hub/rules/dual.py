"""Dual registration: one pupil on the roll of two or more settings, judged one session at a time.

Wales (seed 000 lines 563-569): a pupil registered at a mainstream school and another school or PRU
is registered at both. "Institution X marks the pupil using [...] code D while they are attending
institution Y and vice-versa"; both share responsibility, and "the school where the pupil is
scheduled to be" notifies the other of absences "so that both schools can record the pupil absence
using the relevant absence code". England is assumed the same (legal-rules.md 2.3, SECONDARY).

Each setting's current mark is reduced to a `MarkRole` by its code set in force (category and
``physically_present``), so the rules never hard-code letters other than D:

- ``attending``: physically present (/, \\, L and U, the late-after-close mark), or an approved
  educational activity the setting supervises (B, K, P, V, W, Wales J): the setting vouches for
  the pupil that session;
- ``elsewhere``: D, the pupil is at another setting where registered;
- ``absent``: an authorised or unauthorised absence code (U excepted: the pupil was on site);
- ``not_required``: any other not-counted code (school closed, not on roll, ...).

The findings (one per kind, listing every setting concerned):

- ``dual_present_at_both``: two or more settings vouch for the pupil. No proposal: only the
  settings know which one the pupil attended.
- ``dual_conflict``: one setting vouches for the pupil, another records an absence: propose D there.
- ``dual_missing_mark``: another setting has no mark after its registration deadline (today's
  session; past sessions at once; never when its calendar says it does not meet). Propose D when
  the pupil attended elsewhere; the absence code when the pupil was absent elsewhere (both must
  record it); nothing when the other setting's D says the pupil was at the unmarked one.
- ``dual_absence_not_shared``: an absence at one setting, D at another: propose the absence code
  (when that code exists in the target's code set).
- ``dual_unaccounted`` (critical): every setting records D, or D where the others do not meet or
  record a not-required code — the pupil is at none. Safeguarding alert to the first-day caller.
- ``d_without_dual_registration``: D at the only setting where the pupil is on roll.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from hub.rules.codes import ATTENDANCE_CATEGORIES, is_absence
from hub_contracts import CodeDefinition, DiscrepancyKind, Session

if TYPE_CHECKING:
    from hub.rules.reconcile import Finding, SessionView

__all__ = [
    "DualAbsenceNotice",
    "MarkRole",
    "absence_notices",
    "d_without_dual_registration",
    "dual_registration_findings",
    "mark_role",
]

K = DiscrepancyKind

# WG seed 000 line 565: X marks D while the pupil attends Y, and vice versa
_ONE_PLACE: Final = "seed 000 line 565 (seed-digest 9 rules 1 and 3)"
# WG seed 000 line 569: the scheduled school notifies the other so both record the absence
_SHARE_ABSENCE: Final = "seed 000 lines 567-569 (seed-digest 9 rule 4)"


class MarkRole(StrEnum):
    """Where a setting's mark says the pupil was during the session."""

    ATTENDING = "attending"
    ELSEWHERE = "elsewhere"
    ABSENT = "absent"
    NOT_REQUIRED = "not_required"


def mark_role(code: str, definition: CodeDefinition) -> MarkRole:
    """The `MarkRole` of ``code`` by its definition; D (named by the law) is ``elsewhere``.

    U counts as attending: the pupil arrived after the register closed, but was there.
    """
    # WG seed 000 line 565: D while attending the other institution
    if code == "D":
        return MarkRole.ELSEWHERE
    if definition.physically_present or definition.category in ATTENDANCE_CATEGORIES:
        return MarkRole.ATTENDING
    if is_absence(definition):
        return MarkRole.ABSENT
    return MarkRole.NOT_REQUIRED


@dataclass(frozen=True)
class DualAbsenceNotice:
    """Tell ``recipient`` that the pupil was absent from ``absent_at`` (code ``code``).

    A ``dual_absence_notice`` notification; ``key`` is its natural key (sent once).
    """

    upn: str
    date: dt.date
    session: Session
    absent_at: str
    code: str
    recipient: str
    detail: str
    citation: str

    @property
    def key(self) -> tuple[str, dt.date, Session, str, str]:
        return (self.upn, self.date, self.session, self.absent_at, self.recipient)


# --- helpers -------------------------------------------------------------------------------------


def _listing(view: SessionView, settings: Sequence[str]) -> str:
    return " and ".join(view.describe(s) for s in settings)


def _settings(settings: Sequence[str]) -> str:
    return " and ".join(f"setting {s}" for s in settings)


def _deadline_note(view: SessionView, settings: Sequence[str]) -> str:
    if view.facts.date != view.today:
        return ""
    times = sorted(
        {
            view.policy.registration_deadline(s, view.facts.session).strftime("%H:%M")
            for s in settings
        }
    )
    return f" although the register closed at {' / '.join(times)}"


def _absence_code_for(view: SessionView, absent: Sequence[str], target: str) -> str | None:
    """The first absent setting's code (by setting id) that exists in the target's code set."""
    for setting_id in absent:
        code = view.code(setting_id)
        if code is not None and view.has_code(target, code):
            return code
    return None


def _meaning(view: SessionView, setting_id: str) -> str:
    definition = view.definition(setting_id)
    return "" if definition is None else definition.description_en


def _roles(view: SessionView) -> dict[str, MarkRole | None]:
    return {s: view.role(s) for s in view.registered}


def _with(roles: dict[str, MarkRole | None], role: MarkRole) -> list[str]:
    return [s for s, r in roles.items() if r is role]


# --- findings ------------------------------------------------------------------------------------


def dual_registration_findings(view: SessionView) -> list[Finding]:
    """The ``dual_*`` findings for a pupil on roll at two or more settings on the date."""
    # WG seed 000 line 565: X marks D while the pupil attends Y, and vice versa
    # WG seed 000 lines 567-569: both settings record an absence where it was due
    # WG seed 000 line 405: the original school checks attendance at both daily
    if len(view.registered) < 2:
        return []
    roles = _roles(view)
    attending = _with(roles, MarkRole.ATTENDING)
    elsewhere = _with(roles, MarkRole.ELSEWHERE)
    absent = _with(roles, MarkRole.ABSENT)
    unmarked = [s for s, r in roles.items() if r is None and view.meets(s)]
    overdue = [s for s in unmarked if view.registration_deadline_passed(s)]
    pending = [s for s in unmarked if s not in overdue]
    not_meeting = [s for s, r in roles.items() if r is None and s not in unmarked]
    not_required = _with(roles, MarkRole.NOT_REQUIRED)

    findings: list[Finding] = []
    if len(attending) >= 2:
        findings.append(_present_at_both(view, attending))
    if attending:
        if absent:
            findings.append(_conflict(view, attending, absent))
        if overdue:
            findings.append(_missing_after_attendance(view, attending, overdue))
    elif absent:
        if elsewhere:
            findings.append(_absence_not_shared(view, absent, elsewhere))
        if overdue:
            findings.append(_missing_after_absence(view, absent, overdue))
    elif elsewhere:
        if overdue:
            findings.append(_missing_after_d(view, elsewhere, overdue))
        elif not pending:
            findings.append(_unaccounted(view, elsewhere, not_required, not_meeting))
    return findings


def _present_at_both(view: SessionView, attending: list[str]) -> Finding:
    # WG seed 000 lines 565-567: one setting records the attendance, the other D (digest rule 3)
    detail = (
        f"For {view.phrase}, {_listing(view, attending)}: the pupil is recorded as attending "
        "(present, or in an approved educational activity that setting supervises) at more than "
        "one setting at once. Only the setting the pupil attended records the attendance; every "
        "other setting where the pupil is registered records D. Check with the settings where "
        "the pupil actually was."
    )
    return view.finding(
        K.DUAL_PRESENT_AT_BOTH, settings=attending, detail=detail, citation=_ONE_PLACE
    )


def _conflict(view: SessionView, attending: list[str], absent: list[str]) -> Finding:
    # WG seed 000 line 565: X marks D while the pupil attends Y
    detail = (
        f"For {view.phrase}, {_listing(view, attending)}, but {_listing(view, absent)}, an "
        "absence. A dual-registered pupil who attends one setting is marked D at the other: "
        f"propose D at {_settings(absent)}."
    )
    return view.finding(
        K.DUAL_CONFLICT,
        settings=[*attending, *absent],
        detail=detail,
        citation=_ONE_PLACE,
        actions=[view.propose(s, "D") for s in absent],
    )


def _missing_after_attendance(
    view: SessionView, attending: list[str], missing: list[str]
) -> Finding:
    # WG seed 000 line 565: X marks D while the pupil attends Y
    detail = (
        f"For {view.phrase}, {_listing(view, attending)}, but {_settings(missing)} has no "
        f"mark{_deadline_note(view, missing)}. The pupil attended another setting where "
        f"registered: propose D at {_settings(missing)}."
    )
    return view.finding(
        K.DUAL_MISSING_MARK,
        settings=[*attending, *missing],
        detail=detail,
        citation=_ONE_PLACE,
        actions=[view.propose(s, "D") for s in missing],
    )


def _missing_after_absence(view: SessionView, absent: list[str], missing: list[str]) -> Finding:
    # WG seed 000 line 569: both schools record the absence with the relevant absence code
    proposals = {s: _absence_code_for(view, absent, s) for s in missing}
    detail = (
        f"For {view.phrase}, {_listing(view, absent)}, and {_settings(missing)} has no "
        f"mark{_deadline_note(view, missing)}. Unless the pupil attended there, both settings "
        f"must record the absence: {_proposal_text(proposals)}."
    )
    return view.finding(
        K.DUAL_MISSING_MARK,
        settings=[*absent, *missing],
        detail=detail,
        citation=_SHARE_ABSENCE,
        actions=[view.propose(s, c) for s, c in proposals.items() if c is not None],
    )


def _missing_after_d(view: SessionView, elsewhere: list[str], missing: list[str]) -> Finding:
    # WG seed 000 line 565: D only while attending the other institution
    detail = (
        f"For {view.phrase}, {_listing(view, elsewhere)} (attending another setting where the "
        f"pupil is registered), but {_settings(missing)} has no "
        f"mark{_deadline_note(view, missing)}. {_settings(missing).capitalize()} must record "
        "whether the pupil attended; if the pupil was not there, the pupil is unaccounted for."
    )
    return view.finding(
        K.DUAL_MISSING_MARK, settings=[*elsewhere, *missing], detail=detail, citation=_ONE_PLACE
    )


def _proposal_text(proposals: dict[str, str | None]) -> str:
    parts = [
        f"propose {code} at setting {s}"
        if code is not None
        else f"setting {s} records the matching absence code of its own code set"
        for s, code in proposals.items()
    ]
    return "; ".join(parts)


def _absence_not_shared(view: SessionView, absent: list[str], elsewhere: list[str]) -> Finding:
    # WG seed 000 lines 567-569: both schools record the absence; D at the other is inconsistent
    proposals = {s: _absence_code_for(view, absent, s) for s in elsewhere}
    detail = (
        f"For {view.phrase}, {_listing(view, absent)}, but {_listing(view, elsewhere)}. The "
        f"pupil was due at {_settings(absent)} and did not attend, so D (attending the other "
        "setting) is not true: both settings must record the absence with the relevant code; "
        f"{_proposal_text(proposals)}."
    )
    return view.finding(
        K.DUAL_ABSENCE_NOT_SHARED,
        settings=[*absent, *elsewhere],
        detail=detail,
        citation=_SHARE_ABSENCE,
        actions=[view.propose(s, c) for s, c in proposals.items() if c is not None],
    )


def _unaccounted(
    view: SessionView, elsewhere: list[str], not_required: list[str], not_meeting: list[str]
) -> Finding:
    # WG seed 000 lines 565-569: D only while attending the other; one school follows up absence
    # WG seed 000 line 405: the original school checks attendance at both settings daily
    others = [view.describe(s) for s in not_required]
    others += [f"setting {s} does not meet that day (school calendar)" for s in not_meeting]
    also = f", and {' and '.join(others)}" if others else ""
    caller = view.first_day_caller
    detail = (
        f"For {view.phrase}, {_listing(view, elsewhere)}{also}: every setting where the pupil "
        "is registered says the pupil was at another, so no setting has the pupil. Find out "
        "where the pupil was now: a safeguarding alert goes to "
        f"setting {caller}, which owns first-day calling for this dual registration."
    )
    return view.finding(
        K.DUAL_UNACCOUNTED,
        settings=[*elsewhere, *not_required, *not_meeting],
        detail=detail,
        citation="seed 000 lines 565-569; seed 000 line 405 (first-day caller)",
        alert_to=caller,
    )


def d_without_dual_registration(view: SessionView) -> list[Finding]:
    """``d_without_dual_registration``: D at the only setting where the pupil is on roll.

    An EOTAS placement is not a registration: when one is scheduled for the session, propose its
    code (B, or K for LA-arranged provision in England 2024) instead; otherwise propose nothing.
    """
    # WG seed 000 lines 563-565: D only for a pupil registered at both (seed-digest 9 rule 2)
    # England: legal-rules.md 2.3: both schools must admit the pupil to their registers
    if len(view.registered) != 1:
        return []
    (setting_id,) = view.registered
    if view.code(setting_id) != "D":
        return []
    scheduled = [
        p
        for p in view.placements
        if p.school_id == setting_id and p.scheduled(view.facts.date, view.facts.session)
    ]
    detail = (
        f"For {view.phrase}, {view.describe(setting_id)}, but on {view.facts.date} the pupil is "
        "on no other setting's admission register: D is only for a pupil registered at both "
        "settings."
    )
    actions = []
    if scheduled:
        code = view.provision_code(scheduled[0])
        detail += (
            f" Off-site provision by setting {scheduled[0].provider_id} is scheduled for this "
            f"session: propose {code} if it took place."
        )
        actions.append(view.propose(setting_id, code))
    else:
        detail += " Record where the pupil actually was."
    return [
        view.finding(
            K.D_WITHOUT_DUAL_REGISTRATION,
            settings=[setting_id],
            detail=detail,
            citation="seed 000 lines 563-565; legal-rules.md 2.3",
            actions=actions,
        )
    ]


# --- notices -------------------------------------------------------------------------------------


def absence_notices(view: SessionView) -> tuple[DualAbsenceNotice, ...]:
    """The ``dual_absence_notice``\\ s due: absent at one setting, tell each partner that has not.

    Due when a dual-registered pupil is recorded absent at a setting (which says the pupil was
    due there) and no setting vouches for the pupil. Each partner whose mark is D, or which has
    no mark yet and meets that day, is told; partners that already record an absence, or do not
    require attendance (closed), are not. Sent as soon as the absence is recorded — no deadline.
    """
    # WG seed 000 line 569: the school where the pupil is scheduled notifies the other school
    if len(view.registered) < 2:
        return ()
    roles = _roles(view)
    if _with(roles, MarkRole.ATTENDING):
        return ()
    notices: list[DualAbsenceNotice] = []
    for absent_at in _with(roles, MarkRole.ABSENT):
        code = view.code(absent_at) or ""
        for recipient, role in roles.items():
            due = role is MarkRole.ELSEWHERE or (role is None and view.meets(recipient))
            if recipient == absent_at or not due:
                continue
            same = view.has_code(recipient, code)
            record = f"code {code}" if same else "the matching absence code of its own code set"
            instead = ", instead of D" if role is MarkRole.ELSEWHERE else ""
            notices.append(
                DualAbsenceNotice(
                    upn=view.facts.upn,
                    date=view.facts.date,
                    session=view.facts.session,
                    absent_at=absent_at,
                    code=code,
                    recipient=recipient,
                    detail=(
                        f"The pupil was absent from setting {absent_at} for {view.phrase}, "
                        f"where it records {code} ({_meaning(view, absent_at)}). Setting "
                        f"{recipient} should record the absence too, with {record}{instead}."
                    ),
                    citation=_SHARE_ABSENCE,
                )
            )
    return tuple(notices)
