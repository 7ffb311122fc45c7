"""A hub notification -> a CPOMS incident (the assumed contract of README.md), and back.

CPOMS records *incidents* against a student it already holds (synchronised from the MIS) and
files each under one or more of the school's *categories*; designated staff are alerted. So the
adapter looks the student up by UPN and sends CPOMS's student id, not the learner's details, and
sends category ids, not names. The description is built from an allow-list of payload fields
(UK GDPR minimisation): no address, no parent or social-worker details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from hub.sdk import ContractViolation
from hub_contracts import DeliveryReceipt, Notification, NotificationKind, describe_validation_error

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_FLAG_CATEGORIES",
    "INCIDENT_KINDS",
    "CategoryPage",
    "Incident",
    "Student",
    "category_names",
    "hub_status",
    "incident_body",
    "incident_date",
    "receipt_from_incident",
    "validate_dto",
]

M = TypeVar("M", bound=BaseModel)

#: The notification kinds that raise an incident.
INCIDENT_KINDS = frozenset({NotificationKind.SAFEGUARDING_ALERT, NotificationKind.CME_REFERRAL})

#: Hub category (the payload's `category`, else the kind) -> CPOMS category names.
DEFAULT_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "unexplained_absence_child_at_risk": ("Attendance",),
    "children_missing_education": ("Attendance", "Children Missing Education"),
    NotificationKind.CME_REFERRAL.value: ("Attendance", "Children Missing Education"),
    NotificationKind.SAFEGUARDING_ALERT.value: ("Attendance",),
}
#: Learner flags in the payload -> an extra CPOMS category when the flag is true.
DEFAULT_FLAG_CATEGORIES: Mapping[str, str] = {
    "looked_after": "Looked After Children",
    "child_protection_plan": "Child Protection",
}


def validate_dto(model: type[M], data: Any, what: str) -> M:
    """`model.model_validate(data)`, or `ContractViolation` naming `what` and the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in describe_validation_error(exc)[:5])
        raise ContractViolation(f"{what} does not fit: {problems}") from None


class _Dto(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Category(_Dto):
    id: int
    name: str


class PageMeta(_Dto):
    page: Annotated[int, Field(ge=1)]
    pages: Annotated[int, Field(ge=0)]


class CategoryPage(_Dto):
    data: list[Category]
    meta: PageMeta


class Student(_Dto):
    id: int
    upn: str
    forename: str
    surname: str
    dob: dt.date


class Students(_Dto):
    data: list[Student]


class Action(_Dto):
    type: str
    at: dt.datetime | None = None


class Incident(_Dto):
    id: int
    external_ref: str | None = None
    status: Literal["open", "closed"]
    actions: list[Action] = Field(default_factory=list)
    created_at: dt.datetime


class IncidentEnvelope(_Dto):
    data: Incident


class Incidents(_Dto):
    data: list[Incident]


class School(_Dto):
    id: int
    name: str


class SchoolEnvelope(_Dto):
    data: School


def _text(value: JsonValue | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def category_names(
    notification: Notification,
    categories: Mapping[str, Sequence[str]],
    flag_categories: Mapping[str, str],
) -> list[str]:
    """The CPOMS category names to file the incident under, in a stable order."""
    payload = notification.payload
    hub_category = _text(payload.get("category")) or notification.kind.value
    names = list(categories.get(hub_category) or categories.get(notification.kind.value) or ())
    for flag, name in flag_categories.items():
        if payload.get(flag) is True and name not in names:
            names.append(name)
    return names


def incident_date(notification: Notification) -> dt.date:
    """The day the incident is about: the absence's session date, the last day of a CME run,
    else the day the hub raised it."""
    for key in ("date", "as_of"):
        value = _text(notification.payload.get(key))
        if value is not None:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                continue
    return notification.created_at.date()


def _description(notification: Notification) -> str:
    p = notification.payload
    if notification.kind is NotificationKind.CME_REFERRAL:
        opening = "Attendance hub: this pupil may be missing education."
    elif _text(p.get("category")) == "unexplained_absence_child_at_risk":
        opening = "Attendance hub: unexplained absence of a pupil at risk."
    else:
        opening = "Attendance hub: safeguarding alert."
    facts = [opening]
    if _text(p.get("date")):
        facts.append(
            "Absent "
            + " ".join(str(p[k]) for k in ("date", "session") if _text(p.get(k)))
            + (f" (code {p['code']})" if _text(p.get("code")) else "")
            + "."
        )
    if isinstance(p.get("school_days_absent"), int):
        facts.append(
            f"Unauthorised absence for {p['school_days_absent']} school days"
            + (f" since {p['run_first_day']}" if _text(p.get("run_first_day")) else "")
            + "."
        )
    if _text(p.get("setting_id")):
        facts.append(f"Setting {p['setting_id']}.")
    if _text(p.get("ground")):
        facts.append(f"Proposed roll deletion, ground {p['ground']}.")
    facts.append(f"Hub reference: {notification.id}.")
    return " ".join(facts)[:4000]


def incident_body(
    notification: Notification,
    external_ref: str,
    student_id: int,
    category_ids: Sequence[int],
) -> dict[str, JsonValue]:
    urgent = notification.kind is NotificationKind.SAFEGUARDING_ALERT or (
        notification.payload.get("urgent") is True
    )
    return {
        "student_id": student_id,
        "incident_date": incident_date(notification).isoformat(),
        "description": _description(notification),
        "category_ids": list(category_ids),
        "urgent": urgent,
        # Alert the designated safeguarding lead group, as staff logging an incident would.
        "alert_groups": ["dsl"],
        "external_ref": external_ref,
    }


def hub_status(incident: Incident) -> str:
    """``closed``; ``acknowledged`` once an alerted member of staff has acknowledged it;
    else ``open``."""
    if incident.status == "closed":
        return "closed"
    if any(action.type == "acknowledged" for action in incident.actions):
        return "acknowledged"
    return "open"


def receipt_from_incident(
    notification: Notification, idempotency_key: str, incident: Incident
) -> DeliveryReceipt:
    """CPOMS files an incident only against a student matched by UPN (and date of birth when
    the hub knows it), so the match outcome is always `matched`."""
    if incident.created_at.tzinfo is None:
        raise ContractViolation(f"CPOMS incident {incident.id}: created_at has no time zone")
    return DeliveryReceipt(
        notification_id=notification.id,
        recipient=notification.recipient,
        idempotency_key=idempotency_key,
        external_ref=str(incident.id),
        delivered_at=incident.created_at,
        detail="student=matched",
    )
