"""A hub notification -> a MyConcern concern (the assumed contract of README.md), and back.

Only what a designated safeguarding lead needs to act is sent (UK GDPR data minimisation; ICO:
share what is "necessary and proportionate"): the learner match (UPN, name, date of birth when
the hub has it), a category, an urgency and a short factual summary built from an allow-list of
payload fields. Addresses, parents' details and social workers' e-mail addresses stay in the hub.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from hub.sdk import ContractViolation, PermanentError
from hub_contracts import DeliveryReceipt, Notification, NotificationKind, describe_validation_error

__all__ = [
    "CONCERN_KINDS",
    "DEFAULT_CATEGORIES",
    "STATUS",
    "Concern",
    "concern_body",
    "hub_status",
    "receipt_from_concern",
    "urgency_of",
    "validate_dto",
]

M = TypeVar("M", bound=BaseModel)

#: The notification kinds that raise a concern.
CONCERN_KINDS = frozenset({NotificationKind.SAFEGUARDING_ALERT, NotificationKind.CME_REFERRAL})

#: Hub category (the payload's `category`, else the kind) -> MyConcern category name.
#: Schools configure their own category list in MyConcern; `MyConcernConfig.categories`
#: overrides these per school.
DEFAULT_CATEGORIES: Mapping[str, str] = {
    "unexplained_absence_child_at_risk": "Attendance",
    "children_missing_education": "Children Missing Education",
    NotificationKind.CME_REFERRAL.value: "Children Missing Education",
    NotificationKind.SAFEGUARDING_ALERT.value: "Attendance",
}

#: MyConcern's concern workflow -> the status the hub reports from `concern_status`.
STATUS: Mapping[str, str] = {
    "awaiting_review": "open",
    "under_review": "acknowledged",
    "closed": "closed",
}

Urgency = Literal["standard", "high", "immediate"]


def validate_dto(model: type[M], data: Any, what: str) -> M:
    """`model.model_validate(data)`, or `ContractViolation` naming `what` and the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in describe_validation_error(exc)[:5])
        raise ContractViolation(f"{what} does not fit: {problems}") from None


class _Dto(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Concern(_Dto):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    external_reference: str
    status: str
    subject_match: Literal["matched", "unmatched", "mismatch"]
    created_at: dt.datetime


class ConcernEnvelope(_Dto):
    concern: Concern


class ConcernSearch(_Dto):
    concerns: list[Concern]


class WhoAmI(_Dto):
    organisation: dict[str, JsonValue]
    scopes: list[str]


def _text(value: JsonValue | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def urgency_of(notification: Notification) -> Urgency:
    """Immediate for an unexplained absence of a looked-after child or one on a child
    protection plan (escalated within 24 hours); high otherwise. A payload `urgency` the
    contract knows wins."""
    payload = notification.payload
    stated = payload.get("urgency")
    if stated in ("standard", "high", "immediate"):
        return stated  # type: ignore[return-value]  # narrowed by the membership test
    at_risk = payload.get("looked_after") is True or payload.get("child_protection_plan") is True
    if notification.kind is NotificationKind.SAFEGUARDING_ALERT and at_risk:
        return "immediate"
    return "high"


def _summary(notification: Notification) -> str:
    p = notification.payload
    lines = [f"Raised by attendance-hub (notification {notification.id})."]
    if notification.kind is NotificationKind.CME_REFERRAL:
        lines.append("Possible child missing education.")
    category = _text(p.get("category"))
    if category == "unexplained_absence_child_at_risk":
        lines.append("Unexplained absence of a child at risk.")
    if _text(p.get("setting_id")):
        lines.append(f"Setting: {p['setting_id']}.")
    if _text(p.get("date")):
        session = f" {p['session']}" if _text(p.get("session")) else ""
        code = f", code {p['code']}" if _text(p.get("code")) else ""
        lines.append(f"Session: {p['date']}{session}{code}.")
    if isinstance(p.get("school_days_absent"), int):
        since = f" from {p['run_first_day']}" if _text(p.get("run_first_day")) else ""
        lines.append(f"{p['school_days_absent']} school days of unauthorised absence{since}.")
    if _text(p.get("ground")):
        lines.append(f"Roll deletion ground: {p['ground']}.")
    if p.get("looked_after") is True:
        lines.append("Looked after: yes.")
    if p.get("child_protection_plan") is True:
        lines.append("Child protection plan: yes.")
    if _text(p.get("requested")):
        lines.append(f"Requested: {p['requested']}.")
    return " ".join(lines)[:2000]


def concern_body(
    notification: Notification, external_reference: str, categories: Mapping[str, str]
) -> dict[str, JsonValue]:
    """The MyConcern concern for `notification` (a kind in `CONCERN_KINDS`)."""
    upn = notification.upn or _text(notification.payload.get("upn"))
    if upn is None:
        raise PermanentError(f"notification {notification.id}: a concern needs the learner's UPN")
    payload = notification.payload
    name = _text(payload.get("full_name")) or " ".join(
        part
        for part in (_text(payload.get("given_name")), _text(payload.get("family_name")))
        if part
    )
    hub_category = _text(payload.get("category")) or notification.kind.value
    category = categories.get(hub_category) or categories.get(notification.kind.value)
    if category is None:
        raise PermanentError(
            f"notification {notification.id}: no MyConcern category for {hub_category!r}"
        )
    return {
        "external_reference": external_reference,
        "category": category,
        "urgency": urgency_of(notification),
        "subject": {
            "upn": upn,
            "full_name": name or None,
            "date_of_birth": _text(payload.get("date_of_birth")),
        },
        "summary": _summary(notification),
        "source": "attendance-hub",
        "raised_at": notification.created_at.isoformat(),
    }


def hub_status(concern: Concern) -> str:
    status = STATUS.get(concern.status)
    if status is None:
        raise ContractViolation(f"MyConcern concern {concern.id}: unknown status")
    return status


def receipt_from_concern(
    notification: Notification, idempotency_key: str, concern: Concern
) -> DeliveryReceipt:
    if concern.created_at.tzinfo is None:
        raise ContractViolation(f"MyConcern concern {concern.id}: created_at has no time zone")
    return DeliveryReceipt(
        notification_id=notification.id,
        recipient=notification.recipient,
        idempotency_key=idempotency_key,
        external_ref=concern.id,
        delivered_at=concern.created_at,
        detail=f"subject={concern.subject_match}",
    )
