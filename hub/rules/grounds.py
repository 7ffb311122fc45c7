"""Roll-deletion grounds as data: every ground of the Welsh 2010 and English 2006/2024 regulations.

A ground id is ``<regime>:<regulation reference>`` (DESIGN.md §5), where the regime is the id of
the attendance code set in force for the setting's jurisdiction on the deletion's effective date
(`hub.rules.codes.code_set_for`): ``wales-2010:8(1)(d)``, ``england-2024:9(1)(f)``,
``england-2006:8(1)(h)`` (England before 19 August 2024).

Each `Ground` names the precondition checks the deletion engine (`hub.rules.deletion`) runs, who
must consent, and whether and when a deletion return is due to the LA. The evidence a request may
carry is the closed vocabulary `EVIDENCE`; an unknown key is refused, never ignored.

Source quality: the Welsh grounds other than (a), (b), the opening of (c) and (d) were not
retrieved from the legislation; they follow England 2006 as made (legal-rules.md 1.4). Every
citation that rests on such text says UNVERIFIED, and `DeletionConfig` makes the contested
preconditions configurable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Final

from hub_contracts import Jurisdiction

__all__ = [
    "EVIDENCE",
    "ConsentRule",
    "EvidenceKey",
    "EvidenceKind",
    "Ground",
    "Regime",
    "ReturnDuty",
    "ReturnTiming",
    "catalogue_markdown",
    "england_2006_grounds",
    "england_2024_grounds",
    "ground_catalogue",
    "grounds_for",
    "lookup_ground",
    "wales_2010_grounds",
]


class Regime(StrEnum):
    """A set of pupil registration regulations; equal to the id of its attendance code set."""

    WALES_2010 = "wales-2010"
    ENGLAND_2006 = "england-2006"
    ENGLAND_2024 = "england-2024"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction.WALES if self is Regime.WALES_2010 else Jurisdiction.ENGLAND


class ReturnTiming(StrEnum):
    """When a statutory deletion return is due, relative to the deletion."""

    # Wales reg 12(3): "within the ten school days immediately following" the deletion
    WITHIN_TEN_SCHOOL_DAYS_AFTER = "within_ten_school_days_after"
    # England 2024 reg 13(4) (timing SECONDARY, Torbay form); England 2006 reg 12(3) / 12(6)
    NO_LATER_THAN_DELETION = "no_later_than_deletion"


class ConsentRule(StrEnum):
    """Whose consent a deletion on the ground needs (checked by the engine)."""

    NONE = "none"
    # Wales reg 8(1)(c) (UNVERIFIED); England 2024 reg 9(1)(c)(ii): each other school's proprietor
    EVERY_OTHER_PROPRIETOR = "every_other_proprietor"
    # Wales reg 8(2): the LA (or a Welsh Ministers' direction) for a special-school pupil
    LA_IF_SPECIAL_SCHOOL = "la_if_special_school"
    # Wales reg 9 per seed 000 line 606: the other proprietor OR the LA (UNVERIFIED)
    OTHER_PROPRIETORS_OR_LA = "other_proprietors_or_la"


@dataclass(frozen=True, slots=True)
class ReturnDuty:
    """A statutory deletion return that applies to deletions dated inside its window."""

    timing: ReturnTiming
    effective_from: dt.date
    effective_to: dt.date | None
    # England 2024 reg 13(5) / 2006 reg 12(8): none for a leaver at the end of the final year.
    final_year_leavers_exempt: bool
    citation: str

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class Ground:
    """One prescribed ground for deleting a pupil's name from the admission register."""

    id: str
    regime: Regime
    ref: str
    title: str
    citation: str
    effective_from: dt.date
    effective_to: dt.date | None
    #: Precondition check slugs run by `hub.rules.deletion` (rule id ``<ground id>/<slug>``).
    checks: tuple[str, ...]
    consent: ConsentRule = ConsentRule.NONE
    returns: tuple[ReturnDuty, ...] = ()

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.regime.jurisdiction

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def return_duty_on(self, deletion_date: dt.date) -> ReturnDuty | None:
        """The statutory deletion return for a deletion on ``deletion_date``, if any."""
        return next((duty for duty in self.returns if duty.in_force(deletion_date)), None)


# --- Evidence vocabulary ---------------------------------------------------------------------


class EvidenceKind(StrEnum):
    FLAG = "flag"  # JSON true / false
    DATE = "date"  # ISO date string "YYYY-MM-DD"
    NUMBER = "number"  # JSON number >= 0
    TEXT = "text"  # non-empty string
    CHOICE = "choice"  # one of `EvidenceKey.choices`
    PARENTS = "parents"  # list of {"full_name", "address", "phone"} objects


@dataclass(frozen=True, slots=True)
class EvidenceKey:
    """One key a `RollDeletionRequest.evidence` object may carry."""

    name: str
    kind: EvidenceKind
    meaning: str
    choices: frozenset[str] = frozenset()


#: ``appeal_status`` values after which a permanent exclusion is final (seed 000 lines 600-603).
EXCLUSION_FINAL_STATUSES: Final = frozenset(
    {"waived_in_writing", "expired", "determined", "abandoned"}
)

_F, _D, _N, _T, _C = (
    EvidenceKind.FLAG,
    EvidenceKind.DATE,
    EvidenceKind.NUMBER,
    EvidenceKind.TEXT,
    EvidenceKind.CHOICE,
)
_EVIDENCE_ROWS: Final[tuple[EvidenceKey, ...]] = (
    EvidenceKey("sao_change", _C, "The LA substituted another school in, or revoked, the school "
                "attendance order the pupil is registered under.",
                frozenset({"substituted", "revoked"})),
    EvidenceKey("sao_names_school", _F, "A school attendance order naming this school is in "
                "force."),
    EvidenceKey("mobile_child", _F, "The pupil has no fixed abode and a parent travels for trade "
                "or business (a mobile child)."),
    EvidenceKey("mobile_child_main_school", _F, "The pupil is a mobile child and this school is "
                "their main school."),
    EvidenceKey("admitted_elsewhere_setting_id", _T, "The school that has admitted the pupil, "
                "when the hub holds no registration there."),
    EvidenceKey("destination_start_date", _D, "The date the pupil starts at the new school."),
    EvidenceKey("dual_registration_agreed", _F, "The proprietor agreed that the pupil be "
                "registered at more than one school."),
    EvidenceKey("ceased_to_attend", _F, "The pupil has ceased to attend the school."),
    EvidenceKey("will_not_attend_again", _F, "The proprietor has no reasonable grounds to believe "
                "the pupil will attend the school again."),
    EvidenceKey("parent_written_notice", _F, "The parent has notified the school in writing that "
                "the pupil is (to be) educated otherwise than at school."),
    EvidenceKey("la_consent", _F, "The LA has consented to the deletion."),
    EvidenceKey("welsh_ministers_direction", _F, "The Welsh Ministers directed the deletion after "
                "the LA refused consent (Wales reg 8(2))."),
    EvidenceKey("no_longer_within_reasonable_distance", _F, "The pupil no longer ordinarily "
                "resides within a reasonable distance of the school."),
    EvidenceKey("boarder", _F, "The pupil is a boarder."),
    EvidenceKey("ews_referral_made", _F, "The case was referred to the Education Welfare "
                "Service / Officer for investigation."),
    EvidenceKey("leave_start_date", _D, "First day of the leave of absence granted."),
    EvidenceKey("leave_end_date", _D, "Last day of the leave of absence granted."),
    EvidenceKey("no_sickness_or_unavoidable_cause", _F, "The proprietor has no reasonable grounds "
                "to believe the pupil is unable to attend through sickness or unavoidable cause."),
    EvidenceKey("school_enquiries_failed", _F, "The school failed, after reasonable enquiry, to "
                "find where the pupil is."),
    EvidenceKey("la_enquiries_failed", _F, "The LA failed, after reasonable enquiry, to find "
                "where the pupil is."),
    EvidenceKey("medical_certificate", _F, "The school medical officer certified the pupil "
                "unlikely to be fit to attend before ceasing to be of compulsory school age."),
    EvidenceKey("no_intention_to_continue", _F, "Neither the pupil nor the parent has indicated "
                "an intention to continue at the school (the relevant person says the pupil "
                "will leave)."),
    EvidenceKey("sixth_form_entry_requirements_not_met", _F, "The pupil does not meet the "
                "academic entry requirements for the school's sixth form."),
    EvidenceKey("custody_months", _N, "Length of the custodial order or sentence, in months."),
    EvidenceKey("sentence_of_detention", _F, "The pupil is detained under a sentence of detention "
                "(England 2024 reg 3 list)."),
    EvidenceKey("expected_return", _F, "Whether the proprietor has reasonable grounds to believe "
                "the pupil will return at the end of the custody (must be false to delete)."),
    EvidenceKey("date_of_death_notified", _D, "The date the school was told of the pupil's death."),
    EvidenceKey("ceased_to_be_pupil", _F, "The pupil has ceased to be a pupil of the school."),
    EvidenceKey("appeal_status", _C, "Where the permanent exclusion's appeal / review stands.",
                EXCLUSION_FINAL_STATUSES | {"time_running", "lodged"}),
    EvidenceKey("governing_body_duties_discharged", _F, "The governing body has discharged its "
                "duties (Wales: s66 School Standards and Framework Act 1998) on the exclusion."),
    EvidenceKey("nursery_completed_not_transferring", _F, "Admitted for nursery education, "
                "completed it, and not transferring to reception or higher at the school."),
    EvidenceKey("boarding_fees_unpaid", _F, "Boarding fees due from the parent remain unpaid at "
                "the end of the term."),
    EvidenceKey("final_year_leaver", _F, "Deleted at or after the end of the last term of the "
                "school year in which the pupil is in the school's most senior class."),
    EvidenceKey("parents", EvidenceKind.PARENTS, "Each parent the pupil normally lives with: "
                "full_name, address, phone (England deletion return). [] when there is none."),
    EvidenceKey("new_address", _T, "The pupil's new address, when known."),
    EvidenceKey("new_address_from", _D, "The date the pupil will live at the new address."),
    EvidenceKey("believed_missing", _F, "The school believes the child or family have gone "
                "missing (LA CME procedures apply)."),
    EvidenceKey("cme_checklist_completed", _F, "The Welsh Government CME checklist is completed."),
    EvidenceKey("cme_referral_made", _F, "The child was referred to the LA's CME / inclusion "
                "team."),
    EvidenceKey("la_cme_record_ref", _T, "Reference of the LA's completed and recorded CME "
                "document."),
    EvidenceKey("notes", _T, "Free text for the audit trail; no rule reads it."),
)  # fmt: skip

#: The closed evidence vocabulary, by key.
EVIDENCE: Final[Mapping[str, EvidenceKey]] = MappingProxyType(
    {row.name: row for row in _EVIDENCE_ROWS}
)


# --- The catalogue ---------------------------------------------------------------------------

_WALES_FROM: Final = dt.date(2010, 9, 1)
_ENG06_FROM: Final = dt.date(2006, 9, 1)
_ENG06_TO: Final = dt.date(2024, 8, 18)
_ENG24_FROM: Final = dt.date(2024, 8, 19)
_ENG06_RETURNS_ALL_FROM: Final = dt.date(2016, 9, 1)

_W = "Education (Pupil Registration) (Wales) Regulations 2010"
_E06 = "Education (Pupil Registration) (England) Regulations 2006"
_E24 = "School Attendance (Pupil Registration) (England) Regulations 2024"

_WALES_RETURN = ReturnDuty(
    ReturnTiming.WITHIN_TEN_SCHOOL_DAYS_AFTER,
    _WALES_FROM,
    None,
    final_year_leavers_exempt=False,
    citation=f"{_W} reg 12(3), VERIFIED (legal-rules.md 1.6; seed 000 lines 608-614)",
)
_ENG24_RETURN = ReturnDuty(
    ReturnTiming.NO_LATER_THAN_DELETION,
    _ENG24_FROM,
    None,
    final_year_leavers_exempt=True,
    citation=(
        f"{_E24} reg 13(4)-(5): contents VERIFIED to (4)(e); timing 'no later than the deletion' "
        "and the final-year exemption SECONDARY (legal-rules.md 3.1)"
    ),
)
_ENG06_RETURN_AS_MADE = ReturnDuty(
    ReturnTiming.NO_LATER_THAN_DELETION,
    _ENG06_FROM,
    _ENG06_RETURNS_ALL_FROM - dt.timedelta(days=1),
    final_year_leavers_exempt=False,
    citation=f"{_E06} reg 12(3) as made, VERIFIED (legal-rules.md 3.3)",
)
_ENG06_RETURN_2016 = ReturnDuty(
    ReturnTiming.NO_LATER_THAN_DELETION,
    _ENG06_RETURNS_ALL_FROM,
    _ENG06_TO,
    final_year_leavers_exempt=True,
    citation=f"{_E06} reg 12(6)-(8) as substituted from 1 Sept 2016, VERIFIED (legal-rules.md 3.3)",
)


def _g(
    regime: Regime,
    ref: str,
    title: str,
    citation: str,
    checks: tuple[str, ...],
    consent: ConsentRule = ConsentRule.NONE,
    returns: tuple[ReturnDuty, ...] = (),
    effective_from: dt.date | None = None,
) -> Ground:
    default_from, default_to = {
        Regime.WALES_2010: (_WALES_FROM, None),
        Regime.ENGLAND_2006: (_ENG06_FROM, _ENG06_TO),
        Regime.ENGLAND_2024: (_ENG24_FROM, None),
    }[regime]
    return Ground(
        id=f"{regime.value}:{ref}",
        regime=regime,
        ref=ref,
        title=title,
        citation=citation,
        effective_from=effective_from or default_from,
        effective_to=default_to,
        checks=checks,
        consent=consent,
        returns=returns,
    )


_ENQUIRIES: Final = ("no-sickness-or-unavoidable-cause", "school-and-la-enquiries-failed")


def wales_2010_grounds() -> tuple[Ground, ...]:
    """Wales reg 8(1)(a)-(n) and reg 9 (legal-rules.md 1.4, 1.5, 7.2; seed 000 lines 583-628)."""
    w, ret = Regime.WALES_2010, (_WALES_RETURN,)
    unv = "UNVERIFIED for Wales: England 2006 as-made wording (legal-rules.md 1.4, 7.2)"
    return (
        # Wales reg 8(1)(a), VERIFIED (legal-rules.md 1.4; seed 000 line 589)
        _g(w, "8(1)(a)", "School attendance order substituted or revoked by the LA",
           f"{_W} reg 8(1)(a), VERIFIED (legal-rules.md 1.4; seed 000 line 589)",
           ("sao-substituted-or-revoked",)),
        # Wales reg 8(1)(b), VERIFIED (legal-rules.md 1.4; seed 000 lines 590, 616)
        _g(w, "8(1)(b)", "Registered as a pupil at another school",
           f"{_W} reg 8(1)(b), VERIFIED (legal-rules.md 1.4; seed 000 lines 590, 616)",
           ("admitted-elsewhere", "not-agreed-dual-registration")),
        # Wales reg 8(1)(c): opening VERIFIED, consent limb UNVERIFIED (legal-rules.md 1.4, 1.5)
        _g(w, "8(1)(c)", "Registered at more than one school and ceased to attend this one",
           f"{_W} reg 8(1)(c): opening VERIFIED, consent limb {unv}; seed 000 line 610",
           ("dual-registered", "ceased-to-attend"), ConsentRule.EVERY_OTHER_PROPRIETOR, ret),
        # Wales reg 8(1)(d) and 8(2), SECONDARY (legal-rules.md 1.4; seed 000 lines 591, 611)
        _g(w, "8(1)(d)", "Parent's written notice of education otherwise than at school",
           f"{_W} reg 8(1)(d) (VERIFIED via Education Otherwise) and reg 8(2) special-school LA "
           "consent (SECONDARY) (legal-rules.md 1.4; seed 000 lines 591, 611, 628)",
           ("ceased-to-attend", "parent-written-notice"), ConsentRule.LA_IF_SPECIAL_SCHOOL, ret),
        # Wales reg 8(1)(e), UNVERIFIED; EWS referral is Welsh guidance (seed 000 line 592)
        _g(w, "8(1)(e)", "No longer ordinarily resides within a reasonable distance",
           f"{_W} reg 8(1)(e), {unv}; EWS referral before removal: WG guidance, seed 000 line 592",
           ("ceased-to-attend", "not-within-reasonable-distance", "not-a-boarder",
            "ews-referral")),
        # Wales reg 8(1)(f), UNVERIFIED (legal-rules.md 1.4; seed 000 line 593)
        _g(w, "8(1)(f)", "Did not return within 10 school days after holiday leave",
           f"{_W} reg 8(1)(f), {unv}; seed 000 line 593",
           ("holiday-leave-over-ten-days", "leave-non-return", *_ENQUIRIES)),
        # Wales reg 8(1)(g), UNVERIFIED (legal-rules.md 1.4; seed 000 lines 594, 612)
        _g(w, "8(1)(g)", "Medically certified unfit to attend before ceasing compulsory school age",
           f"{_W} reg 8(1)(g), {unv}; seed 000 lines 594, 612",
           ("medical-certificate", "no-intention-to-continue"), returns=ret),
        # Wales reg 8(1)(h), UNVERIFIED (legal-rules.md 1.4, 4.2; seed 000 line 595)
        _g(w, "8(1)(h)", "Continuously absent for at least 20 school days, whereabouts unknown",
           f"{_W} reg 8(1)(h), {unv}; seed 000 line 595 ('not less than four weeks')",
           ("twenty-day-absence", *_ENQUIRIES)),
        # Wales reg 8(1)(i), UNVERIFIED (legal-rules.md 1.4; seed 000 lines 613, 624)
        _g(w, "8(1)(i)", "Detained under a court order of at least four months",
           f"{_W} reg 8(1)(i), {unv}; seed 000 lines 613, 624",
           ("custody-four-months", "no-expected-return"), returns=ret),
        # Wales reg 8(1)(j), UNVERIFIED (seed 000 line 596)
        _g(w, "8(1)(j)", "The pupil has died", f"{_W} reg 8(1)(j), {unv}; seed 000 line 596",
           ("death-notified",)),
        # Wales reg 8(1)(k), UNVERIFIED pre-2013 wording (legal-rules.md 1.4; seed 000 line 597)
        _g(w, "8(1)(k)", "Will cease compulsory school age before the school next meets",
           f"{_W} reg 8(1)(k), {unv} (pre-2013 form); seed 000 line 597",
           ("ceases-school-age-before-next-meets", "no-intention-to-continue")),
        # Wales reg 8(1)(l), UNVERIFIED (seed 000 line 598)
        _g(w, "8(1)(l)", "Ceased to be a pupil of a school other than a maintained school",
           f"{_W} reg 8(1)(l), {unv}; seed 000 line 598",
           ("not-maintained-school", "ceased-to-be-pupil")),
        # Wales reg 8(1)(m), seed 000 lines 600-603, 614, 1117 (exclusion final)
        _g(w, "8(1)(m)", "Permanently excluded from a maintained school, exclusion final",
           f"{_W} reg 8(1)(m), {unv}; finality per seed 000 lines 600-603, 614",
           ("maintained-school", "governing-body-duties-discharged", "exclusion-final"),
           returns=ret),
        # Wales reg 8(1)(n), UNVERIFIED (seed 000 line 604)
        _g(w, "8(1)(n)", "Nursery pupil not transferring to reception or higher",
           f"{_W} reg 8(1)(n), {unv}; seed 000 line 604", ("nursery-not-transferring",)),
        # Wales reg 9: text NOT retrieved; seed 000 line 606 (legal-rules.md 1.5)
        _g(w, "9", "Mobile child registered at more than one school",
           f"{_W} reg 9, UNVERIFIED (text not retrieved; England 2006 reg 9 model, "
           "legal-rules.md 1.5); consent of the other proprietor or the LA: seed 000 line 606",
           ("dual-registered", "mobile-child", "ceased-to-attend"),
           ConsentRule.OTHER_PROPRIETORS_OR_LA),
    )  # fmt: skip


def england_2024_grounds() -> tuple[Ground, ...]:
    """England 2024 reg 9(1)(a)-(o) (legal-rules.md 3.1, 7.2)."""
    e, ret = Regime.ENGLAND_2024, (_ENG24_RETURN,)
    ver = "VERIFIED (legal-rules.md 3.1)"
    sec = "SECONDARY, Torbay deletion form (legal-rules.md 3.1)"
    return (
        # England 2024 reg 9(1)(a), VERIFIED (legal-rules.md 3.1)
        _g(e, "9(1)(a)", "Registered at another school",
           f"{_E24} reg 9(1)(a), {ver}",
           ("admitted-elsewhere", "not-agreed-dual-registration", "no-sao-naming-school",
            "not-mobile-child-main-school"), returns=ret),
        # England 2024 reg 9(1)(b), VERIFIED (legal-rules.md 3.1)
        _g(e, "9(1)(b)", "Nursery education completed and not attending again",
           f"{_E24} reg 9(1)(b), {ver}",
           ("nursery-not-transferring", "will-not-attend-again"), returns=ret),
        # England 2024 reg 9(1)(c), VERIFIED: consent of each other school's proprietor
        _g(e, "9(1)(c)", "Also registered elsewhere; every other school consents to deletion here",
           f"{_E24} reg 9(1)(c), {ver}",
           ("dual-registered", "will-not-attend-again", "no-sao-naming-school",
            "not-mobile-child-main-school"), ConsentRule.EVERY_OTHER_PROPRIETOR, ret),
        # England 2024 reg 9(1)(d), VERIFIED (legal-rules.md 3.1)
        _g(e, "9(1)(d)", "School attendance order amended by the LA to name another school",
           f"{_E24} reg 9(1)(d), {ver}", ("sao-substituted",), returns=ret),
        # England 2024 reg 9(1)(e), VERIFIED start (legal-rules.md 3.1)
        _g(e, "9(1)(e)", "School attendance order revoked by the LA (education otherwise)",
           f"{_E24} reg 9(1)(e), VERIFIED start (legal-rules.md 3.1)", ("sao-revoked",),
           returns=ret),
        # England 2024 reg 9(1)(f), SECONDARY; special-school LA consent UNVERIFIED (configurable)
        _g(e, "9(1)(f)", "Parent's written notice of education otherwise than at school",
           f"{_E24} reg 9(1)(f), {sec}; special-school LA consent UNVERIFIED for 2024 "
           "(England 2006 reg 8(2) model; seed 003 line 661)",
           ("parent-written-notice",), ConsentRule.LA_IF_SPECIAL_SCHOOL, ret),
        # England 2024 reg 9(1)(g), SECONDARY; boarder exception UNVERIFIED
        _g(e, "9(1)(g)", "No longer lives within a reasonable distance of the school",
           f"{_E24} reg 9(1)(g), {sec}; not-a-boarder limb UNVERIFIED",
           ("not-within-reasonable-distance", "not-a-boarder"), returns=ret),
        # England 2024 reg 9(1)(h), SECONDARY; 10-day + joint enquiries structure UNVERIFIED
        _g(e, "9(1)(h)", "Did not return after a leave of absence",
           f"{_E24} reg 9(1)(h), {sec}; 10 school days and joint enquiries UNVERIFIED "
           "(England 2006 reg 8(1)(f) model)", ("leave-non-return", *_ENQUIRIES), returns=ret),
        # England 2024 reg 9(1)(i), SECONDARY: every session G, N or O (localgovernmentlawyer)
        _g(e, "9(1)(i)", "Continuously absent for at least 20 school days, whereabouts unknown",
           f"{_E24} reg 9(1)(i), {sec}; G/N/O throughout and joint enquiries per "
           "localgovernmentlawyer.co.uk and the 2016 guidance (legal-rules.md 3.1, 3.3)",
           ("twenty-day-absence", *_ENQUIRIES), returns=ret),
        # England 2024 reg 9(1)(j), SECONDARY; minimum length UNVERIFIED (configurable)
        _g(e, "9(1)(j)", "Detained under a sentence of detention",
           f"{_E24} reg 9(1)(j) and reg 3 'sentence of detention', {sec}; minimum length and "
           "no-expected-return limb UNVERIFIED", ("sentence-of-detention", "no-expected-return"),
           returns=ret),
        # England 2024 reg 9(1)(k), SECONDARY
        _g(e, "9(1)(k)", "The pupil has died", f"{_E24} reg 9(1)(k), {sec}", ("death-notified",),
           returns=ret),
        # England 2024 reg 9(1)(l), SECONDARY; limbs from England 2006 as amended 2013
        _g(e, "9(1)(l)", "Will cease compulsory school age and not continue into the sixth form",
           f"{_E24} reg 9(1)(l), {sec}; limbs UNVERIFIED (England 2006 8(1)(k) as amended 2013)",
           ("ceases-school-age-before-next-meets", "not-continuing-to-sixth-form"), returns=ret),
        # England 2024 reg 9(1)(m), SECONDARY; fees-at-term-end limb UNVERIFIED
        _g(e, "9(1)(m)", "Boarder whose boarding fees are unpaid",
           f"{_E24} reg 9(1)(m), {sec}; 'outstanding at the end of term' UNVERIFIED",
           ("boarding-fees-unpaid",), returns=ret),
        # England 2024 reg 9(1)(n), SECONDARY
        _g(e, "9(1)(n)", "Ceased to be a pupil of an independent or non-maintained special school",
           f"{_E24} reg 9(1)(n), {sec}",
           ("independent-or-non-maintained-special", "ceased-to-be-pupil"), returns=ret),
        # England 2024 reg 9(1)(o), SECONDARY; waiting for the review / IRP UNVERIFIED
        _g(e, "9(1)(o)", "Permanently excluded, exclusion final",
           f"{_E24} reg 9(1)(o), {sec}; waiting for the review / IRP to conclude UNVERIFIED",
           ("exclusion-final",), returns=ret),
    )  # fmt: skip


def england_2006_grounds() -> tuple[Ground, ...]:
    """England 2006 reg 8(1)(a)-(o), revoked 19 Aug 2024 (legal-rules.md 1.4, 3.3, 7.2)."""
    e = Regime.ENGLAND_2006
    with_return = (_ENG06_RETURN_AS_MADE, _ENG06_RETURN_2016)
    all_only = (_ENG06_RETURN_2016,)
    v, s = "VERIFIED (legal-rules.md 1.4)", "SECONDARY (legal-rules.md 1.4)"
    return (
        # England 2006 reg 8(1)(a)-(f), VERIFIED (legal-rules.md 1.4)
        _g(e, "8(1)(a)", "School attendance order substituted or revoked by the LA",
           f"{_E06} reg 8(1)(a), {v}", ("sao-substituted-or-revoked",), returns=all_only),
        _g(e, "8(1)(b)", "Registered as a pupil at another school", f"{_E06} reg 8(1)(b), {v}",
           ("admitted-elsewhere", "not-agreed-dual-registration"), returns=all_only),
        _g(e, "8(1)(c)", "Registered at more than one school and ceased to attend this one",
           f"{_E06} reg 8(1)(c), {v}", ("dual-registered", "ceased-to-attend"),
           ConsentRule.EVERY_OTHER_PROPRIETOR, all_only),
        _g(e, "8(1)(d)", "Parent's written notice of education otherwise than at school",
           f"{_E06} reg 8(1)(d), {v}; reg 8(2) special-school LA consent UNVERIFIED wording",
           ("ceased-to-attend", "parent-written-notice"), ConsentRule.LA_IF_SPECIAL_SCHOOL,
           with_return),
        _g(e, "8(1)(e)", "No longer ordinarily resides within a reasonable distance",
           f"{_E06} reg 8(1)(e), {v}",
           ("ceased-to-attend", "not-within-reasonable-distance", "not-a-boarder"),
           returns=with_return),
        # England 2006 reg 8(1)(f) as amended 2013 (no 10-day holiday threshold) is applied to
        # every date: the pre-2013 threshold is not modelled (legal-rules.md 3.3)
        _g(e, "8(1)(f)", "Did not return within 10 school days after leave of absence",
           f"{_E06} reg 8(1)(f) as amended 2013, {v}; joint enquiries per the 2016 guidance",
           ("leave-non-return", *_ENQUIRIES), returns=all_only),
        # England 2006 reg 8(1)(g), UNVERIFIED, from memory (legal-rules.md 1.4)
        _g(e, "8(1)(g)", "Medically certified unfit to attend before ceasing compulsory school age",
           f"{_E06} reg 8(1)(g), UNVERIFIED (legal-rules.md 1.4)",
           ("medical-certificate", "no-intention-to-continue"), returns=with_return),
        # England 2006 reg 8(1)(h)-(n), SECONDARY (legal-rules.md 1.4)
        _g(e, "8(1)(h)", "Continuously absent for at least 20 school days, whereabouts unknown",
           f"{_E06} reg 8(1)(h), {s}", ("twenty-day-absence", *_ENQUIRIES), returns=all_only),
        _g(e, "8(1)(i)", "Detained under a court order of at least four months",
           f"{_E06} reg 8(1)(i), {s}", ("custody-four-months", "no-expected-return"),
           returns=with_return),
        _g(e, "8(1)(j)", "The pupil has died", f"{_E06} reg 8(1)(j), {s}", ("death-notified",),
           returns=all_only),
        _g(e, "8(1)(k)", "Will cease compulsory school age before the school next meets",
           f"{_E06} reg 8(1)(k) as amended 2013, {s}",
           ("ceases-school-age-before-next-meets", "not-continuing-to-sixth-form"),
           returns=all_only),
        _g(e, "8(1)(l)", "Ceased to be a pupil of a school other than a maintained school",
           f"{_E06} reg 8(1)(l), UNVERIFIED (legal-rules.md 1.4)",
           ("not-maintained-school", "ceased-to-be-pupil"), returns=all_only),
        _g(e, "8(1)(m)", "Permanently excluded, exclusion final", f"{_E06} reg 8(1)(m), {s}",
           ("exclusion-final",), returns=with_return),
        _g(e, "8(1)(n)", "Nursery pupil not transferring to reception or higher",
           f"{_E06} reg 8(1)(n), {s}", ("nursery-not-transferring",), returns=all_only),
        # England 2006 reg 8(1)(o), added 2011; commencement date 2011-09-01 UNVERIFIED
        _g(e, "8(1)(o)", "Boarder whose boarding fees remain unpaid at the end of term",
           f"{_E06} reg 8(1)(o) added 2011, SECONDARY (legal-rules.md 3.3); from-date UNVERIFIED",
           ("boarding-fees-unpaid",), returns=all_only, effective_from=dt.date(2011, 9, 1)),
    )  # fmt: skip


@cache
def ground_catalogue() -> Mapping[str, Ground]:
    """Every ground the hub knows, by id, in regulation order within each regime."""
    rows = (*wales_2010_grounds(), *england_2024_grounds(), *england_2006_grounds())
    return MappingProxyType({ground.id: ground for ground in rows})


def lookup_ground(ground_id: str) -> Ground | None:
    """The ground with this id, or None when the hub does not know it."""
    return ground_catalogue().get(ground_id)


def grounds_for(regime: Regime | str) -> tuple[Ground, ...]:
    """The grounds of one regime, in regulation order."""
    wanted = Regime(regime)
    return tuple(g for g in ground_catalogue().values() if g.regime is wanted)


def catalogue_markdown() -> str:
    """The ground catalogue and the evidence vocabulary as Markdown tables, for docs/rules.md."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "### Roll deletion grounds\n",
        "Rule ids are `<ground id>/<check>`. LA return: when a statutory deletion return is due.\n",
        "| ground | title | checks | consent | LA return | source |",
        "|---|---|---|---|---|---|",
    ]
    for g in ground_catalogue().values():
        returns = "; ".join(
            f"{d.timing.value} from {d.effective_from}" + (" (not final-year leavers)"
            if d.final_year_leavers_exempt else "")
            for d in g.returns
        )  # fmt: skip
        lines.append(
            f"| `{g.id}` | {cell(g.title)} | {', '.join(g.checks)} | {g.consent.value} | "
            f"{returns or 'none'} | {cell(g.citation)} |"
        )
    lines += ["", "### Deletion evidence keys\n", "| key | kind | meaning |", "|---|---|---|"]
    for key in EVIDENCE.values():
        kind = key.kind.value + (f" ({', '.join(sorted(key.choices))})" if key.choices else "")
        lines.append(f"| `{key.name}` | {kind} | {cell(key.meaning)} |")
    return "\n".join(lines) + "\n"
