"""Concerns raised in the MyConcern emulator: content, idempotency by external reference
(search before create), learner match, and the status after the DSL's acknowledgement."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hub.engine.http import ConnectionHttpClient
from hub.sdk import ConfigError, PermanentError
from hub.testing.emulator import serve_emulator
from hub_contracts import NotificationKind
from hub_myconcern.adapter import MyConcernAdapter, MyConcernConfig
from hub_myconcern.emulator import create_app

K = NotificationKind


async def test_check_succeeds(rig: Any) -> None:
    await rig.adapter.check()


async def test_child_at_risk_alert_raises_an_immediate_attendance_concern(rig: Any) -> None:
    alert = rig.alert(
        category="unexplained_absence_child_at_risk",
        setting_id="6734012",
        date="2025-01-20",
        session="AM",
        code="N",
        looked_after=True,
        child_protection_plan=False,
        date_of_birth="2013-09-01",
        address="1 Synthetic Street",
        social_worker_email="worker@example.org",
    )
    receipt = await rig.adapter.raise_concern(alert, "safeguarding_alert:k1")

    (concern,) = rig.state.concerns.values()
    assert receipt.external_ref == concern["id"]
    assert receipt.detail == "subject=matched"
    assert receipt.idempotency_key == "safeguarding_alert:k1"
    assert concern["external_reference"] == "safeguarding_alert:k1"
    assert concern["category"] == "Attendance"
    assert concern["urgency"] == "immediate"
    assert concern["subject"] == {
        "upn": rig.known_upn,
        "full_name": "Ada Synthetic",
        "date_of_birth": "2013-09-01",
    }
    assert "code N" in concern["summary"]
    assert "Looked after: yes." in concern["summary"]
    # Minimum data: nothing beyond what the DSL needs leaves the hub.
    for kept_back in ("Synthetic Street", "worker@example.org"):
        assert kept_back not in str(concern)


async def test_cme_referral_raises_a_cme_concern(rig: Any) -> None:
    referral = rig.alert(
        K.CME_REFERRAL, school_days_absent=10, run_first_day="2025-01-06", setting_id="6734012"
    )
    await rig.adapter.raise_concern(referral, "cme:k1")
    (concern,) = rig.state.concerns.values()
    assert (concern["category"], concern["urgency"]) == ("Children Missing Education", "high")
    assert "10 school days of unauthorised absence from 2025-01-06" in concern["summary"]


async def test_the_same_key_twice_creates_one_concern(rig: Any) -> None:
    first = await rig.adapter.raise_concern(rig.alert(), "same-key")
    second = await rig.adapter_with().raise_concern(rig.alert(), "same-key")  # a restart
    assert len(rig.state.concerns) == 1
    assert second.external_ref == first.external_ref
    assert second.delivered_at == first.delivered_at


async def test_a_concern_created_meanwhile_is_found_after_a_409(rig: Any) -> None:
    # Another worker created it between our search and our create: MyConcern answers 409.
    alert = rig.alert()
    original = rig.state.by_reference
    calls = 0

    def racing_lookup(reference: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # our search misses; the other worker's create lands now
            rig.state.create(
                {
                    "external_reference": reference,
                    "category": "Attendance",
                    "urgency": "high",
                    "subject": {"upn": rig.known_upn},
                    "summary": "created by a concurrent delivery",
                }
            )
            return None
        return original(reference)

    rig.state.by_reference = racing_lookup
    receipt = await rig.adapter.raise_concern(alert, "raced-key")
    (concern,) = rig.state.concerns.values()
    assert receipt.external_ref == concern["id"]


async def test_unknown_learner_is_still_raised_and_reported_unmatched(rig: Any) -> None:
    receipt = await rig.adapter.raise_concern(rig.alert(upn=rig.unknown_upn), "k")
    assert receipt.detail == "subject=unmatched"


async def test_known_upn_with_another_name_is_a_mismatch(rig: Any) -> None:
    receipt = await rig.adapter.raise_concern(rig.alert(full_name="Someone Else"), "k")
    assert receipt.detail == "subject=mismatch"


async def test_status_follows_the_safeguarding_leads_acknowledgement(rig: Any) -> None:
    receipt = await rig.adapter.raise_concern(rig.alert(), "k")
    assert await rig.adapter.concern_status(receipt.external_ref) == "open"

    await rig.control(f"concerns/{receipt.external_ref}/acknowledge", {"by": "Synthetic DSL"})
    assert await rig.adapter.concern_status(receipt.external_ref) == "acknowledged"

    await rig.control(f"concerns/{receipt.external_ref}/close")
    assert await rig.adapter.concern_status(receipt.external_ref) == "closed"


async def test_status_of_an_unknown_concern_is_permanent(rig: Any) -> None:
    with pytest.raises(PermanentError, match="404"):
        await rig.adapter.concern_status("no-such-concern")


@pytest.mark.parametrize(
    "kind", [K.DELETION_RETURN, K.ABSENCE_RETURN, K.DUAL_ABSENCE_NOTICE, K.CONSENT_REQUEST]
)
async def test_other_kinds_are_refused_before_sending(rig: Any, kind: NotificationKind) -> None:
    with pytest.raises(PermanentError, match="MyConcern takes"):
        await rig.adapter.raise_concern(rig.alert(kind), "k")
    assert rig.state.concerns == {}


async def test_a_category_the_school_does_not_have_is_permanent(rig: Any) -> None:
    adapter = rig.adapter_with(categories={"safeguarding_alert": "Attendance (hub)"})
    with pytest.raises(PermanentError, match="UnknownCategory"):
        await adapter.raise_concern(rig.alert(), "k")


async def test_school_categories_override_the_defaults(rig: Any) -> None:
    adapter = rig.adapter_with(categories={"safeguarding_alert": "Neglect"})
    await adapter.raise_concern(rig.alert(), "k")
    (concern,) = rig.state.concerns.values()
    assert concern["category"] == "Neglect"


async def test_an_alert_without_upn_is_permanent(rig: Any) -> None:
    with pytest.raises(PermanentError, match="UPN"):
        await rig.adapter.raise_concern(rig.alert(upn=None), "k")


async def test_check_reports_a_token_without_the_scopes() -> None:
    app = create_app(token="narrow-token", scopes=("concerns:read",))
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            http = ConnectionHttpClient(
                session, connection_name="narrow", allowed_hosts=(), base_url=base_url
            )
            config = MyConcernConfig.model_validate(
                {"base_url": f"{base_url}/api/v1", "api_token": "narrow-token"}
            )
            adapter = MyConcernAdapter(config, http, connection_name="narrow")
            with pytest.raises(ConfigError, match="concerns:write"):
                await adapter.check()
    finally:
        await runner.cleanup()
