"""One's wire records (as this plugin assumes them, see README.md) <-> hub contracts.

Vendor DTOs are validated with pydantic before they are trusted; a record that does not fit
becomes `ContractViolation` naming the record's One id and the field, never its values (they
are pupil data). Outbound, a notification becomes a One submission carrying the minimum a
matching needs (UPN, name, date of birth when the hub knows it) plus the notification's payload,
which the hub's rules already limited to what the statutory return or referral requires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from hub.sdk import ContractViolation, PermanentError
from hub_contracts import (
    DeliveryReceipt,
    EotasPlacement,
    Notification,
    NotificationKind,
    PlacementArranger,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    Session,
    UpnError,
    describe_validation_error,
    validate_upn,
)

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "SUBMISSION_ROUTES",
    "CmeEnquiryOutcome",
    "Listing",
    "MatchOutcome",
    "OneCmeEnquiry",
    "OnePing",
    "OnePlacement",
    "OneRegistration",
    "SubmissionAck",
    "cme_outcome_from_one",
    "placement_from_one",
    "receipt_detail",
    "receipt_from_ack",
    "registration_from_one",
    "submission_body",
    "validate_dto",
]


class _Dto(BaseModel):
    # Vendors add fields over time: ignore the unknown ones, validate the ones we use.
    model_config = ConfigDict(extra="ignore", frozen=True)


def validate_dto(model: type[M], data: Any, what: str) -> M:
    """`model.model_validate(data)`, or `ContractViolation` naming `what` and the fields
    (pydantic's messages name the rule broken, not the value)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in describe_validation_error(exc)[:5])
        raise ContractViolation(f"{what} does not fit: {problems}") from None


# --- check -------------------------------------------------------------------------------------


class OnePing(_Dto):
    system: Literal["one"]
    la_code: Annotated[str, Field(pattern=r"^[0-9]{3}$")]
    api_version: str


# --- listings ----------------------------------------------------------------------------------


class Listing(_Dto):
    """One page of a One listing; items are validated one by one by the caller."""

    items: list[dict[str, JsonValue]]
    cursor: str | None = None
    has_more: bool


class EnrolmentStatus(StrEnum):
    """DfE Common Basic Data Set (CBDS) enrolment status, as the MIS and One hold it."""

    CURRENT = "C"  # current, single registration at this school
    MAIN = "M"  # current main (dual registration)
    SUBSIDIARY = "S"  # current subsidiary (dual registration)
    # Not an admission-register entry the hub models: skipped by `registration_from_one`.
    GUEST = "G"  # attends some sessions, not registered here
    FE_COLLEGE = "F"
    OTHER_PROVIDER = "O"
    # The assumed contract keeps a leaver's C/M/S with an end_date, so P carries no status.
    PREVIOUS = "P"


_REGISTRATION_STATUS: Mapping[EnrolmentStatus, RegistrationStatus] = {
    EnrolmentStatus.CURRENT: RegistrationStatus.SINGLE,
    EnrolmentStatus.MAIN: RegistrationStatus.MAIN,
    EnrolmentStatus.SUBSIDIARY: RegistrationStatus.SUBSIDIARY,
}


class OneRegistration(_Dto):
    registration_id: str
    upn: str
    base_id: str
    enrolment_status: EnrolmentStatus
    start_date: dt.date
    end_date: dt.date | None = None
    # One records the reason for leaving; the assumed contract carries the hub's ground id.
    removal_ground: str | None = None


class OnePlacement(_Dto):
    placement_id: str
    upn: str
    school_base_id: str
    provider_base_id: str
    # One's timetable slots: "MON-AM", "TUE-PM", ...
    sessions: list[str] = Field(default_factory=list)
    start_date: dt.date
    end_date: dt.date | None = None
    arranged_by: Literal["school", "la"] = "school"


class OneCmeEnquiry(_Dto):
    enquiry_id: str
    referral_ack_id: str | None = None
    upn: str
    status: Literal["open", "located", "closed"]
    outcome: str | None = None
    outcome_date: dt.date | None = None
    located_base_id: str | None = None
    updated_at: dt.datetime


_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def registration_from_one(dto: OneRegistration) -> Registration | None:
    """The registration One holds, or None for enrolments that are not a current or ended
    single / dual registration (G, F, O, P)."""
    status = _REGISTRATION_STATUS.get(dto.enrolment_status)
    if status is None:
        return None
    return validate_dto(
        Registration,
        {
            "upn": dto.upn,
            "setting_id": dto.base_id,
            "status": status,
            "start_date": dto.start_date,
            "end_date": dto.end_date,
            "deletion_ground": dto.removal_ground,
        },
        f"One registration {dto.registration_id}",
    )


def _slot(value: str, what: str) -> ScheduledSession:
    day, sep, half = value.strip().upper().partition("-")
    if not sep or day not in _WEEKDAYS or half not in (Session.AM, Session.PM):
        raise ContractViolation(f"{what}: timetable slot is not DAY-AM / DAY-PM")
    return ScheduledSession(weekday=_WEEKDAYS.index(day), session=Session(half))


def placement_from_one(dto: OnePlacement) -> EotasPlacement:
    what = f"One placement {dto.placement_id}"
    slots = sorted({_slot(s, what) for s in dto.sessions}, key=lambda s: (s.weekday, s.session))
    return validate_dto(
        EotasPlacement,
        {
            "upn": dto.upn,
            "school_id": dto.school_base_id,
            "provider_id": dto.provider_base_id,
            "sessions": slots,
            "start_date": dto.start_date,
            "end_date": dto.end_date,
            "arranged_by": PlacementArranger(dto.arranged_by),
        },
        what,
    )


@dataclass(frozen=True)
class CmeEnquiryOutcome:
    """The LA's CME enquiry about a referred child, as One records it.

    Not a hub contract (contracts v1 has no CME enquiry record): returned by the One-only
    `OneAdapter.read_cme_outcomes`. `referral_ack_id` is the `external_ref` of the referral's
    `DeliveryReceipt`, so the core can tie the outcome to the referral it sent.
    """

    enquiry_id: str
    referral_ack_id: str | None
    upn: str
    status: Literal["open", "located", "closed"]
    outcome: str | None
    outcome_date: dt.date | None
    located_setting_id: str | None
    updated_at: dt.datetime


def cme_outcome_from_one(dto: OneCmeEnquiry) -> CmeEnquiryOutcome:
    try:
        upn = validate_upn(dto.upn)
    except UpnError as exc:
        raise ContractViolation(f"One CME enquiry {dto.enquiry_id}: upn: {exc}") from None
    if dto.updated_at.tzinfo is None:
        raise ContractViolation(f"One CME enquiry {dto.enquiry_id}: updated_at has no time zone")
    try:
        updated_at = dto.updated_at.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+23:00: before year 1 once in UTC
        raise ContractViolation(
            f"One CME enquiry {dto.enquiry_id}: updated_at is out of range"
        ) from None
    return CmeEnquiryOutcome(
        enquiry_id=dto.enquiry_id,
        referral_ack_id=dto.referral_ack_id,
        upn=upn,
        status=dto.status,
        outcome=dto.outcome,
        outcome_date=dto.outcome_date,
        located_setting_id=dto.located_base_id,
        updated_at=updated_at,
    )


# --- submissions (returns, referrals, notices) -------------------------------------------------

#: Which One collection takes each notification kind, and the submission `type` it is sent as.
SUBMISSION_ROUTES: Mapping[NotificationKind, tuple[str, str]] = {
    NotificationKind.DELETION_RETURN: ("returns", "deletion_return"),
    NotificationKind.ABSENCE_RETURN: ("returns", "absence_return"),
    NotificationKind.CME_REFERRAL: ("referrals", "cme_referral"),
    NotificationKind.DELETION_NOTICE: ("notices", "deletion_notice"),
    NotificationKind.CONSENT_REQUEST: ("notices", "consent_request"),
}

#: Payload keys that identify the learner; sent in the submission's `learners`, not `details`.
_IDENTITY_KEYS = frozenset({"upn", "full_name", "given_name", "family_name", "date_of_birth"})


def _text(value: JsonValue | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _learner_entry(upn: str, source: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    name = _text(source.get("full_name"))
    if name is None:
        parts = [_text(source.get("given_name")), _text(source.get("family_name"))]
        name = " ".join(p for p in parts if p) or None
    return {"upn": upn, "name": name, "dob": _text(source.get("date_of_birth"))}


def _learners(notification: Notification) -> list[dict[str, JsonValue]]:
    payload = notification.payload
    if notification.upn is not None:
        return [_learner_entry(notification.upn, payload)]
    # A return listing many learners (the periodic absence return): one entry per line.
    entries = payload.get("entries")
    learners: list[dict[str, JsonValue]] = []
    if isinstance(entries, list):
        for index, entry in enumerate(entries):
            upn = _text(entry.get("upn")) if isinstance(entry, dict) else None
            if upn is None or not isinstance(entry, dict):
                raise PermanentError(
                    f"notification {notification.id}: payload entries[{index}] has no upn"
                )
            learners.append(_learner_entry(upn, entry))
    return learners


def submission_body(notification: Notification, la_code: str) -> dict[str, JsonValue]:
    """The One submission for `notification` (kinds in `SUBMISSION_ROUTES` only)."""
    _, submission_type = SUBMISSION_ROUTES[notification.kind]
    details: dict[str, JsonValue] = {
        key: value for key, value in notification.payload.items() if key not in _IDENTITY_KEYS
    }
    learners: list[JsonValue] = list(_learners(notification))
    return {
        "type": submission_type,
        "hub_notification_id": notification.id,
        "la_code": la_code,
        "due_by": notification.due_by.isoformat() if notification.due_by else None,
        "learners": learners,
        "details": details,
    }


class MatchOutcome(StrEnum):
    """One's B2B:Student matching of an incoming learner, ordered by how much it needs a human."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    CONFLICT = "conflict"


_SEVERITY = {MatchOutcome.MATCHED: 0, MatchOutcome.UNMATCHED: 1, MatchOutcome.CONFLICT: 2}


class LearnerMatch(_Dto):
    upn: str
    outcome: MatchOutcome
    conflicting_fields: list[str] = Field(default_factory=list)


class SubmissionAck(_Dto):
    ack_id: Annotated[str, Field(min_length=1, max_length=200)]
    type: str
    received_at: dt.datetime
    duplicate: bool = False
    matches: list[LearnerMatch] = Field(default_factory=list)


def receipt_detail(matches: Sequence[LearnerMatch]) -> str:
    """The receipt's `detail`: One's match outcome, in a `key=value; ...` form the core parses.

    - no learner (a nil return): ``match=none``;
    - one learner: ``match=<outcome>``, plus ``conflict_fields=name,dob`` on a conflict;
    - several: ``match=<worst outcome>; matched=N; unmatched=N; conflict=N``, plus
      ``unmatched_upns=...`` and ``conflict_upns=...`` (comma-separated) when there are any.
    """
    if not matches:
        return "match=none"
    if len(matches) == 1:
        only = matches[0]
        detail = f"match={only.outcome.value}"
        if only.outcome is MatchOutcome.CONFLICT and only.conflicting_fields:
            detail += "; conflict_fields=" + ",".join(sorted(only.conflicting_fields))
        return detail
    worst = max((m.outcome for m in matches), key=_SEVERITY.__getitem__)
    parts = [f"match={worst.value}"]
    parts += [f"{o.value}={sum(m.outcome is o for m in matches)}" for o in MatchOutcome]
    for outcome in (MatchOutcome.UNMATCHED, MatchOutcome.CONFLICT):
        upns = sorted(m.upn for m in matches if m.outcome is outcome)
        if upns:
            parts.append(f"{outcome.value}_upns=" + ",".join(upns))
    return "; ".join(parts)


def receipt_from_ack(
    notification: Notification, idempotency_key: str, ack: SubmissionAck
) -> DeliveryReceipt:
    if ack.received_at.tzinfo is None:
        raise ContractViolation(f"One acknowledgement {ack.ack_id}: received_at has no time zone")
    return DeliveryReceipt(
        notification_id=notification.id,
        recipient=notification.recipient,
        idempotency_key=idempotency_key,
        external_ref=ack.ack_id,
        delivered_at=ack.received_at,
        detail=receipt_detail(ack.matches),
    )
