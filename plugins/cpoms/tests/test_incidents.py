"""Incidents logged in the CPOMS emulator: the student looked up by UPN, categories by id,
idempotency by external reference (search before create), and the acknowledgement status."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sdk import ConfigError, PermanentError
from hub_contracts import NotificationKind

K = NotificationKind


async def test_check_succeeds(rig: Any) -> None:
    await rig.adapter.check()


async def test_alert_for_a_looked_after_child_is_an_urgent_incident(rig: Any) -> None:
    alert = rig.alert(
        category="unexplained_absence_child_at_risk",
        full_name="Ada Synthetic",
        date_of_birth="2013-09-01",
        setting_id="6734012",
        date="2025-01-17",
        session="PM",
        code="O",
        looked_after=True,
        child_protection_plan=True,
        address="1 Synthetic Street",
        social_worker_email="worker@example.org",
    )
    receipt = await rig.adapter.raise_concern(alert, "safeguarding_alert:k1")

    (incident,) = rig.state.incidents.values()
    assert receipt.external_ref == str(incident["id"])
    assert receipt.detail == "student=matched"
    assert incident["student_id"] == rig.student_id
    assert incident["external_ref"] == "safeguarding_alert:k1"
    assert incident["urgent"] is True
    assert incident["alert_groups"] == ["dsl"]
    assert incident["incident_date"] == "2025-01-17"
    # The school's categories, several at once (CPOMS files one incident under many).
    assert rig.category_names(incident) == [
        "Attendance",
        "Looked After Children",
        "Child Protection",
    ]
    assert "Absent 2025-01-17 PM (code O)." in incident["description"]
    # Minimum data: CPOMS already holds the student; no name, address or contact leaves the hub.
    for kept_back in ("Ada", "Synthetic Street", "worker@example.org", rig.known_upn):
        assert kept_back not in str(incident)


async def test_cme_referral_is_filed_under_attendance_and_cme(rig: Any) -> None:
    referral = rig.alert(K.CME_REFERRAL, school_days_absent=10, as_of="2025-01-17")
    await rig.adapter.raise_concern(referral, "cme:k1")
    (incident,) = rig.state.incidents.values()
    assert rig.category_names(incident) == ["Attendance", "Children Missing Education"]
    assert incident["urgent"] is False
    assert incident["incident_date"] == "2025-01-17"


async def test_the_same_key_twice_logs_one_incident(rig: Any) -> None:
    first = await rig.adapter.raise_concern(rig.alert(), "same-key")
    second = await rig.adapter_with().raise_concern(rig.alert(), "same-key")  # a restart
    assert len(rig.state.incidents) == 1
    assert second == first


async def test_a_taken_external_ref_after_the_search_finds_the_other_incident(rig: Any) -> None:
    # Another worker logs the incident between our search and our create: CPOMS says "taken".
    original = rig.state.by_external_ref
    calls = 0

    def racing_search(external_ref: str) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 1:  # our search misses; the other worker's incident lands now
            rig.state.log(
                {
                    "student_id": rig.student_id,
                    "incident_date": "2025-01-20",
                    "description": "logged by a concurrent delivery",
                    "category_ids": [10],
                    "external_ref": external_ref,
                }
            )
            return []
        found: list[dict[str, Any]] = original(external_ref)
        return found

    rig.state.by_external_ref = racing_search
    receipt = await rig.adapter.raise_concern(rig.alert(), "raced-key")
    (incident,) = rig.state.incidents.values()
    assert receipt.external_ref == str(incident["id"])


async def test_a_learner_cpoms_does_not_hold_is_permanent(rig: Any) -> None:
    with pytest.raises(PermanentError, match="no student") as caught:
        await rig.adapter.raise_concern(rig.alert(upn=rig.unknown_upn), "k")
    assert rig.unknown_upn not in str(caught.value)
    assert rig.state.incidents == {}


async def test_a_student_with_another_date_of_birth_is_refused(rig: Any) -> None:
    with pytest.raises(PermanentError, match="another date of birth"):
        await rig.adapter.raise_concern(rig.alert(date_of_birth="2013-09-02"), "k")
    assert rig.state.incidents == {}


async def test_status_follows_the_acknowledgement(rig: Any) -> None:
    receipt = await rig.adapter.raise_concern(rig.alert(), "k")
    assert await rig.adapter.concern_status(receipt.external_ref) == "open"

    await rig.control(f"incidents/{receipt.external_ref}/acknowledge", {"by": "Synthetic DSL"})
    assert await rig.adapter.concern_status(receipt.external_ref) == "acknowledged"

    await rig.control(f"incidents/{receipt.external_ref}/close")
    assert await rig.adapter.concern_status(receipt.external_ref) == "closed"


async def test_status_of_an_unknown_incident_is_permanent(rig: Any) -> None:
    with pytest.raises(PermanentError, match="404"):
        await rig.adapter.concern_status("999999")


@pytest.mark.parametrize("kind", [K.DELETION_RETURN, K.DELETION_NOTICE, K.DUAL_ABSENCE_NOTICE])
async def test_other_kinds_are_refused_before_sending(rig: Any, kind: NotificationKind) -> None:
    with pytest.raises(PermanentError, match="CPOMS takes"):
        await rig.adapter.raise_concern(rig.alert(kind), "k")
    assert rig.state.incidents == {}


async def test_a_category_the_school_lacks_is_a_config_error(rig: Any) -> None:
    adapter = rig.adapter_with(categories={"safeguarding_alert": ["Attendance", "Truancy"]})
    with pytest.raises(ConfigError, match="'Truancy'"):
        await adapter.raise_concern(rig.alert(), "k")
    assert rig.state.incidents == {}


async def test_categories_are_read_across_pages_once(rig: Any) -> None:
    # "Self Harm" is on the last page of the school's categories (five a page).
    adapter = rig.adapter_with(categories={"safeguarding_alert": ["Self Harm"]})
    await adapter.raise_concern(rig.alert(), "k1")
    await adapter.raise_concern(rig.alert(notification_id="n-2"), "k2")
    incidents = list(rig.state.incidents.values())
    assert [rig.category_names(i) for i in incidents] == [["Self Harm"], ["Self Harm"]]


async def test_flag_categories_can_be_switched_off(rig: Any) -> None:
    adapter = rig.adapter_with(flag_categories={})
    await adapter.raise_concern(rig.alert(looked_after=True), "k")
    (incident,) = rig.state.incidents.values()
    assert rig.category_names(incident) == ["Attendance"]
