"""Why the hub may share learner data, per kind of outbound share, for the audit ledger.

Every delivery of learner data (a notification, a register write-back) is recorded in the
audit ledger with what was shared, with whom, why, and on what lawful basis (DESIGN §6). The
bases below are the ones the research found for each flow (research/legal-rules.md §6 and the
regulations it quotes in §1.6, §3.1 and §4); an LA's data protection officer confirms them in
its record of processing. Where a citation is marked SECONDARY or UNVERIFIED there, it is
marked so here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub_contracts import NotificationKind

__all__ = ["WRITE_MARKS", "LawfulBasis", "lawful_basis", "share_record"]

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
) -> dict[str, Any]:
    """The ledger `detail` of one outbound share: what, to whom, why, on which basis."""
    basis = lawful_basis(kind)
    return {
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
