"""Synthetic example values for the OpenAPI document (obviously fake: LA 999, "Example")."""

from __future__ import annotations

from typing import Any

from hub_contracts import make_upn

LA_CODE = "999"
SETTING_ID = "9990001"
PROVIDER_ID = "9990002"
UPN = make_upn("999000100001")
DAY = "2025-11-03"

SETTING: dict[str, Any] = {
    "id": SETTING_ID,
    "name": "Ysgol Enghraifft (example)",
    "kind": "mainstream",
    "jurisdiction": "wales",
    "la_code": LA_CODE,
    "maintained": True,
    "contact_email": "office@example.invalid",
}
CALENDAR: dict[str, Any] = {"school_days": ["2025-11-03", "2025-11-04", "2025-11-05"]}
LEARNER: dict[str, Any] = {
    "upn": UPN,
    "given_name": "Example",
    "family_name": "Learner",
    "date_of_birth": "2015-01-01",
    "flags": {"looked_after": False, "child_protection_plan": False},
    "sharing_restrictions": [],
}
REGISTRATION: dict[str, Any] = {
    "upn": UPN,
    "setting_id": SETTING_ID,
    "status": "single",
    "start_date": "2025-09-01",
}
PLACEMENT: dict[str, Any] = {
    "upn": UPN,
    "school_id": SETTING_ID,
    "provider_id": PROVIDER_ID,
    "sessions": [{"weekday": 2, "session": "PM"}],
    "start_date": "2025-09-01",
}
MARKS: dict[str, Any] = {
    "marks": [
        {
            "upn": UPN,
            "setting_id": SETTING_ID,
            "date": DAY,
            "session": "AM",
            "code": "/",
            "source": "example-mis",
            "recorded_at": "2025-11-03T09:05:00Z",
        }
    ]
}
ROLL_DELETION: dict[str, Any] = {
    "upn": UPN,
    "setting_id": SETTING_ID,
    "ground": "wales-2010:8(1)(j)",
    "effective_date": "2025-11-05",
    "evidence": {"date_of_death_notified": "2025-11-04"},
    "dry_run": True,
}
