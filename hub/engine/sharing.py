"""Why the hub may share learner data, per kind of outbound share, for the audit ledger.

Every delivery of learner data (a notification, a register write-back) is recorded in the
audit ledger with what was shared, with whom, why, and on what lawful basis (DESIGN §6). The
bases below are the ones the research found for each flow (research/legal-rules.md §6 and the
regulations it quotes in §1.6, §3.1 and §4); an LA's data protection officer confirms them in
its record of processing. Where a citation is marked SECONDARY or UNVERIFIED there, it is
marked so here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub_contracts import NotificationKind

__all__ = [
    "OVERRIDE_BASIS",
    "WRITE_MARKS",
    "LawfulBasis",
    "RestrictionCheck",
    "lawful_basis",
    "restricted_destinations",
    "share_record",
]

#: The share kind of a register write-back (not a notification kind).
WRITE_MARKS = "write_marks"

_ICO_SAFEGUARDING = (
    "ICO, sharing information to safeguard children (education sector): 'Data protection law "
    "supports you sharing information in education settings to safeguard children' — "
    "https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/data-sharing/"
    "a-10-step-guide-to-sharing-information-to-safeguard-children"
)
_PUBLIC_TASK = "UK GDPR Art 6(1)(e) public task (official authority of the school / LA)"
_LEGAL_OBLIGATION = "UK GDPR Art 6(1)(c) legal obligation"
_SPECIAL_SAFEGUARDING = (
    "UK GDPR Art 9(2)(g) with DPA 2018 Sch 1 para 18 (safeguarding of children), where "
    "special-category data is shared"
)
_WALES_PRIVACY = (
    "Welsh LA privacy notices cite Art 6(1)(e) and Art 9(2)(g) with DPA 2018 Sch 1 for school "
    "data (SECONDARY, Gwynedd schools privacy notice)"
)


@dataclass(frozen=True)
class LawfulBasis:
    """The UK GDPR basis of one kind of share, the purpose, and the sources relied on."""

    article: str
    purpose: str
    citations: tuple[str, ...]
    statutory: bool
    special_category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "article": self.article,
            "purpose": self.purpose,
            "statutory": self.statutory,
            "special_category": self.special_category,
            "citations": list(self.citations),
        }


_BASES: dict[str, LawfulBasis] = {
    NotificationKind.DELETION_RETURN.value: LawfulBasis(
        article=_LEGAL_OBLIGATION,
        purpose="statutory deletion return to the local authority",
        statutory=True,
        citations=(
            "Wales: Education (Pupil Registration) (Wales) Regulations 2010 reg 12(3), return "
            "within 10 school days after deletion under reg 8(1)(c), (d), (g), (i) or (m)",
            "England: School Attendance (Pupil Registration) (England) Regulations 2024 reg "
            "13(4), deletion return",
        ),
    ),
    NotificationKind.ABSENCE_RETURN.value: LawfulBasis(
        article=_LEGAL_OBLIGATION,
        purpose="periodic return of pupils failing to attend regularly or absent 10+ days",
        statutory=True,
        citations=(
            "Wales: Education (Pupil Registration) (Wales) Regulations 2010 reg 12(1)",
            "England: 2024 Regulations periodic absence return (SECONDARY, Hertfordshire "
            "10-day absence guidance)",
        ),
    ),
    NotificationKind.CME_REFERRAL.value: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="referral of a child who may be missing education to the LA CME team",
        statutory=False,
        special_category=_SPECIAL_SAFEGUARDING,
        citations=(
            "Wales: LA duty since September 2009 to establish the identities of children not "
            "registered at a school and not receiving suitable education (Welsh Government "
            "missing-education guidance)",
            "England: Children missing education, statutory guidance (updated 19 August 2024)",
            _ICO_SAFEGUARDING,
        ),
    ),
    NotificationKind.SAFEGUARDING_ALERT.value: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="safeguarding concern raised with the designated safeguarding system",
        statutory=False,
        special_category=_SPECIAL_SAFEGUARDING,
        citations=(
            _ICO_SAFEGUARDING,
            "ICO FAQ: in safeguarding, legal obligation, public task or legitimate interests "
            "are more appropriate than consent (SECONDARY)",
            "KCSIE: schools and colleges have clear powers to share, hold and use information "
            "to safeguard children (quoted by the ICO)",
        ),
    ),
    NotificationKind.DELETION_NOTICE.value: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="notice of a roll deletion to the LA under local policy (good practice)",
        statutory=False,
        citations=(_WALES_PRIVACY,),
    ),
    NotificationKind.CONSENT_REQUEST.value: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="asking the other setting of a dual-registered learner to agree a deletion",
        statutory=False,
        citations=(_WALES_PRIVACY,),
    ),
    NotificationKind.DUAL_ABSENCE_NOTICE.value: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="telling the partner setting of a dual-registered learner about an absence",
        statutory=False,
        citations=(
            _WALES_PRIVACY,
            "Pupil Information (Wales) Regulations 2011 (named in Welsh LA privacy notices)",
        ),
    ),
    WRITE_MARKS: LawfulBasis(
        article=_PUBLIC_TASK,
        purpose="correcting the attendance register the setting must keep",
        statutory=True,
        citations=(
            "Wales: Education (Pupil Registration) (Wales) Regulations 2010 reg 6 (attendance "
            "register)",
            "England: School Attendance (Pupil Registration) (England) Regulations 2024 reg 10 "
            "(attendance register codes)",
        ),
    ),
}


def lawful_basis(kind: str) -> LawfulBasis:
    """The basis for a notification kind or `WRITE_MARKS`; `KeyError` for an unknown kind, so a
    new kind cannot ship without its row here."""
    return _BASES[kind]


def share_record(
    *,
    kind: str,
    to: str,
    recipient: str | None,
    what: dict[str, Any],
    idempotency_key: str,
    external_ref: str | None,
    worker: str,
    restriction: RestrictionCheck | None = None,
) -> dict[str, Any]:
    """The ledger `detail` of one outbound share: what, to whom, why, on which basis (and, for
    a safeguarding alert sent despite a sharing restriction, the override and its basis)."""
    basis = lawful_basis(kind)
    detail: dict[str, Any] = {
        "kind": kind,
        "to": to,
        "recipient": recipient,
        "what": what,
        "why": basis.purpose,
        "lawful_basis": basis.as_dict(),
        "idempotency_key": idempotency_key,
        "external_ref": external_ref,
        "worker": worker,
    }
    if restriction is not None and restriction.overridden:
        detail["sharing_restriction_override"] = {
            "restricted_settings": list(restriction.restricted),
            "basis": OVERRIDE_BASIS,
        }
    return detail


# --- sharing restrictions (Learner.sharing_restrictions) ---------------------------------------

#: Why a safeguarding alert still goes to a setting the learner's record says not to share with.
OVERRIDE_BASIS = (
    "Safeguarding overrides a sharing restriction: UK GDPR Art 6(1)(e) with Art 9(2)(g) and "
    "DPA 2018 Sch 1 para 18 (safeguarding of children), no consent needed where seeking it "
    "would prejudice the safeguarding; ICO: 'It can be more harmful not to share information "
    "that is needed to protect a child' (research/legal-rules.md §6)"
)


@dataclass(frozen=True)
class RestrictionCheck:
    """One outbound share checked against the learners' `sharing_restrictions`.

    `restricted` lists the settings this share would reach that a learner's record says must not
    receive their data. Every kind of share is then withheld, except a safeguarding alert, which
    is sent and records the override (`OVERRIDE_BASIS`) in the audit ledger.
    """

    kind: str
    restricted: tuple[str, ...] = ()

    @property
    def withheld(self) -> bool:
        return bool(self.restricted) and not self._safeguarding

    @property
    def overridden(self) -> bool:
        return bool(self.restricted) and self._safeguarding

    @property
    def _safeguarding(self) -> bool:
        return self.kind == NotificationKind.SAFEGUARDING_ALERT.value

    def ledger_detail(
        self, *, to: str, recipient: str | None, what: dict[str, Any], worker: str
    ) -> dict[str, Any]:
        """The ledger `detail` of a withheld share: what was not sent, to whom, and why."""
        return {
            "kind": self.kind,
            "to": to,
            "recipient": recipient,
            "what": what,
            "why": "withheld: the learner's sharing_restrictions name the receiving setting",
            "restricted_settings": list(self.restricted),
            "worker": worker,
        }


def restricted_destinations(
    restrictions: Iterable[str],
    *,
    recipient: str | None,
    connection_setting_ids: Iterable[str] = (),
    setting_ids: Iterable[str] = (),
) -> tuple[str, ...]:
    """The settings in `restrictions` that a share would reach.

    A share reaches: the setting it is addressed to (`recipient` ``setting:<id>``); the
    settings of the connection it travels through when that connection serves only restricted
    settings (it is their own system: an MIS); and `setting_ids` (a write-back's target
    registers). A connection that also serves other settings (an LA-wide system) is not, by
    itself, one of the restricted settings.
    """
    barred = set(restrictions)
    if not barred:
        return ()
    reached = set(setting_ids)
    kind, _, target = (recipient or "").partition(":")
    if kind == "setting" and target:
        reached.add(target.split(":", 1)[0])
    served = set(connection_setting_ids)
    if served and served <= barred:
        reached |= served
    return tuple(sorted(reached & barred))
