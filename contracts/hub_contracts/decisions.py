"""Decisions, findings and notifications the hub produces."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import Field, JsonValue

from ._base import ContractModel, GroundId, MarkCode, RecordId, Session, SettingId, Upn, UtcDateTime


class RollDeletionRequest(ContractModel):
    upn: Upn
    setting_id: SettingId
    ground: GroundId
    effective_date: dt.date
    # Facts the rules cannot see in the hub's own data: written notices, consents, certificates.
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    dry_run: bool = False


class DecisionOutcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"
    PENDING = "pending"


class DecisionReason(ContractModel):
    rule: str = Field(min_length=1)
    message: str = Field(min_length=1)
    citation: str = Field(min_length=1)


class RollDeletionDecision(ContractModel):
    id: RecordId
    decision: DecisionOutcome
    reasons: tuple[DecisionReason, ...] = ()
    notifications: tuple[RecordId, ...] = ()


class DiscrepancyKind(StrEnum):
    DUAL_PRESENT_AT_BOTH = "dual_present_at_both"
    DUAL_UNACCOUNTED = "dual_unaccounted"
    DUAL_MISSING_MARK = "dual_missing_mark"
    DUAL_CONFLICT = "dual_conflict"
    DUAL_ABSENCE_NOT_SHARED = "dual_absence_not_shared"
    D_WITHOUT_DUAL_REGISTRATION = "d_without_dual_registration"
    B_PROVIDER_ABSENT = "b_provider_absent"
    B_UNSCHEDULED = "b_unscheduled"
    B_UNCONFIRMED = "b_unconfirmed"
    N_CODE_OVERDUE = "n_code_overdue"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class ProposedAction(ContractModel):
    action: Literal["set_mark"] = "set_mark"
    setting_id: SettingId
    code: MarkCode


class DiscrepancyStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Discrepancy(ContractModel):
    id: RecordId
    kind: DiscrepancyKind
    severity: Severity
    upn: Upn
    date: dt.date
    session: Session | None = None
    setting_ids: tuple[SettingId, ...]
    detail: str
    proposed_actions: tuple[ProposedAction, ...] = ()
    status: DiscrepancyStatus = DiscrepancyStatus.OPEN


class NotificationKind(StrEnum):
    DELETION_RETURN = "deletion_return"
    DELETION_NOTICE = "deletion_notice"
    CONSENT_REQUEST = "consent_request"
    CME_REFERRAL = "cme_referral"
    ABSENCE_RETURN = "absence_return"
    SAFEGUARDING_ALERT = "safeguarding_alert"
    DUAL_ABSENCE_NOTICE = "dual_absence_notice"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class Notification(ContractModel):
    id: RecordId
    kind: NotificationKind
    # None for a return that lists many learners (the periodic absence return).
    upn: Upn | None = None
    recipient: str = Field(min_length=1, max_length=200)
    due_by: UtcDateTime | None = None
    status: NotificationStatus = NotificationStatus.PENDING
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)


class DeliveryReceipt(ContractModel):
    """Proof that a notification or write-back reached its destination."""

    notification_id: RecordId
    recipient: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=200)
    # The acknowledgement id the receiving system gave, when it gives one.
    external_ref: str | None = Field(default=None, max_length=200)
    delivered_at: UtcDateTime
    detail: str | None = None
