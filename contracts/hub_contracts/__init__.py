"""attendance-hub contracts, version 1: the normalised records every system exchanges."""

from __future__ import annotations

from ._base import ContractModel, Jurisdiction, Session
from .codes import CodeCategory, CodeDefinition, CodeSet
from .decisions import (
    DecisionOutcome,
    DecisionReason,
    DeliveryReceipt,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    ProposedAction,
    RollDeletionDecision,
    RollDeletionRequest,
    Severity,
)
from .errors import FieldError, describe_validation_error
from .records import (
    AttendanceMark,
    EotasPlacement,
    Learner,
    LearnerFlags,
    PlacementArranger,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SchoolCalendar,
    Setting,
    SettingKind,
)
from .upn import UpnError, check_letter, is_temporary, make_upn, validate_upn

CONTRACTS_VERSION = "1"

#: Every model exported as JSON Schema under contracts/schema/v1/, by file stem.
SCHEMA_MODELS: dict[str, type[ContractModel]] = {
    "setting": Setting,
    "learner": Learner,
    "registration": Registration,
    "eotas_placement": EotasPlacement,
    "school_calendar": SchoolCalendar,
    "attendance_mark": AttendanceMark,
    "code_set": CodeSet,
    "roll_deletion_request": RollDeletionRequest,
    "roll_deletion_decision": RollDeletionDecision,
    "discrepancy": Discrepancy,
    "notification": Notification,
    "delivery_receipt": DeliveryReceipt,
}

__all__ = [
    "CONTRACTS_VERSION",
    "SCHEMA_MODELS",
    "AttendanceMark",
    "CodeCategory",
    "CodeDefinition",
    "CodeSet",
    "ContractModel",
    "DecisionOutcome",
    "DecisionReason",
    "DeliveryReceipt",
    "Discrepancy",
    "DiscrepancyKind",
    "DiscrepancyStatus",
    "EotasPlacement",
    "FieldError",
    "Jurisdiction",
    "Learner",
    "LearnerFlags",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "PlacementArranger",
    "ProposedAction",
    "Registration",
    "RegistrationStatus",
    "RollDeletionDecision",
    "RollDeletionRequest",
    "ScheduledSession",
    "SchoolCalendar",
    "Session",
    "Setting",
    "SettingKind",
    "Severity",
    "UpnError",
    "check_letter",
    "describe_validation_error",
    "is_temporary",
    "make_upn",
    "validate_upn",
]
