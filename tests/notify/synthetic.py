"""Synthetic notifications for the e-mail tests: LA 999, "Test Learner" names, no real data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub_contracts import Notification, NotificationKind, make_upn

T0 = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
SMTP_USER = "hub-test"
SMTP_PASSWORD = "synthetic-smtp-password"
UPN = make_upn("999000120001")
FULL_NAME = "Test Learner One"
ADDRESS = "1 Synthetic Street, Testtown, TT1 1TT"


def notification(
    kind: NotificationKind = NotificationKind.CME_REFERRAL, **extra: Any
) -> Notification:
    values: dict[str, Any] = {
        "id": f"ntf_synthetic_{kind.value}",
        "kind": kind,
        "upn": UPN,
        "recipient": "la:999",
        "due_by": T0 + dt.timedelta(days=14),
        "created_at": T0,
        "payload": SAMPLE_PAYLOADS[kind],
    }
    return Notification(**(values | extra))


#: One synthetic payload per kind, shaped as the hub's producers shape them, with fields the
#: notice must NOT show added on purpose (addresses where not needed, flags, e-mail addresses).
SAMPLE_PAYLOADS: dict[NotificationKind, dict[str, Any]] = {
    NotificationKind.DELETION_RETURN: {
        "upn": UPN, "full_name": FULL_NAME, "address": ADDRESS, "setting_id": "9990001",
        "setting_name": "Test School 9990001", "la_code": "999",
        "ground": "wales-2010:8(1)(d)", "ground_title": "Parent's written notice (synthetic)",
        "deletion_date": "2025-01-06",
        "regulation": "Education (Pupil Registration) (Wales) Regulations 2010 reg 12(3)",
        "due_by_is_estimate": False,
    },
    NotificationKind.DELETION_NOTICE: {
        "upn": UPN, "full_name": FULL_NAME, "address": ADDRESS, "setting_id": "9990001",
        "ground": "wales-2010:8(1)(b)", "deletion_date": "2025-01-06",
        "policy": "la-policy:barking-and-dagenham/notify-cme-team",
        "social_worker_email": "sw@council.example", "looked_after": True,
    },
    NotificationKind.CONSENT_REQUEST: {
        "upn": UPN, "requesting_setting_id": "9990001",
        "requesting_setting_name": "Test School 9990001", "consenting_setting_id": "9991100",
        "ground": "wales-2010:8(1)(c)", "ground_title": "Dual registration (synthetic)",
        "effective_date": "2025-01-10",
    },
    NotificationKind.CME_REFERRAL: {
        "upn": UPN, "full_name": FULL_NAME, "address": ADDRESS, "setting_id": "9990001",
        "run_first_day": "2025-01-06", "school_days_absent": 10, "as_of": "2025-01-17",
    },
    NotificationKind.ABSENCE_RETURN: {
        "la_code": "999", "period_start": "2025-01-06", "period_end": "2025-01-31",
        "citation": "Wales reg 12(1) (legal-rules.md 1.6)",
        "entries": [
            {
                "setting_id": "9990001", "upn": UPN, "full_name": FULL_NAME, "address": ADDRESS,
                "reasons": ["irregular_attendance", "continuous_unauthorised_absence"],
                "attendance_pct": 71.25, "possible_sessions": 40,
                "run_first_day": "2025-01-13", "run_school_days": 10, "cause": None,
            },
            {
                "setting_id": "9990001", "upn": make_upn("999000120002"),
                "full_name": "Test Learner Two", "address": "2 Synthetic Street, Testtown",
                "reasons": ["irregular_attendance"], "attendance_pct": 85.0,
                "possible_sessions": 40, "run_first_day": None, "run_school_days": 0,
                "cause": "illness (synthetic)",
            },
        ],
    },
    NotificationKind.SAFEGUARDING_ALERT: {
        "upn": UPN, "full_name": FULL_NAME, "address": ADDRESS, "setting_id": "9990001",
        "date": "2025-01-06", "session": "AM", "code": "N", "looked_after": True,
        "child_protection_plan": False, "category": "unexplained_absence_child_at_risk",
        "social_worker_email": "sw@council.example",
    },
    NotificationKind.DUAL_ABSENCE_NOTICE: {
        "date": "2025-01-06", "session": "PM", "absent_at": "9991100", "code": "O",
        "address": ADDRESS, "detail": "free text in English (synthetic)",
        "citation": "seed 000 lines 567-569",
    },
}  # fmt: skip
