"""Issue 8, end to end through the API: a dual-registered deletion is pending until the other
school consents, then allowed, and its deletion return is delivered by the outbox dispatcher
to the LA's ONE system (its emulator on loopback); an EHE deletion from a special school is
refused without the LA's consent; a 10-day run gives one CME referral; a looked-after child's N
gives a safeguarding alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.testing.emulator import serve_emulator
from hub_contracts import make_upn
from hub_one.emulator import DEFAULT_API_KEY, ONE_STATE, create_app

from .conftest import HubFactory

NOW = dt.datetime(2025, 11, 10, 10, 0, tzinfo=dt.UTC)
SCHOOL, PRU, SPECIAL = "9994001", "9991101", "9997002"
DAYS = [
    d.isoformat()
    for d in (dt.date(2025, 9, 1) + dt.timedelta(days=i) for i in range(120))
    if d.weekday() < 5 and not dt.date(2025, 10, 27) <= d <= dt.date(2025, 10, 31)
]


def _setting(sid: str, kind: str) -> dict[str, Any]:
    return {
        "id": sid,
        "name": f"Synthetic {kind}",
        "kind": kind,
        "jurisdiction": "wales",
        "la_code": "999",
        "maintained": True,
    }


async def _learner(hub: Any, upn: str, *regs: tuple[str, str], **flags: Any) -> None:
    await hub.put(
        f"/v1/learners/{upn}",
        {
            "upn": upn,
            "given_name": "Synthetic",
            "family_name": "Prawf-E2E",
            "date_of_birth": "2011-05-01",
            "address": "1 Heol Enghraifft, Synthetic Town",
            "flags": flags,
        },
    )
    for sid, status in regs:
        await hub.post(
            "/v1/registrations",
            {"upn": upn, "setting_id": sid, "status": status, "start_date": "2025-09-01"},
            status=201,
        )


async def test_dual_registered_deletion_consent_then_return_delivered_to_one(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, base_url = await serve_emulator(create_app())
    try:
        monkeypatch.setenv("E2E_ONE_KEY", DEFAULT_API_KEY)
        hub = await make_hub(
            NOW,
            connections=[
                {
                    "name": "la-one",
                    "plugin": "one",
                    "base_url": f"{base_url}/v1",
                    "api_key": "env:E2E_ONE_KEY",
                    "la_code": "999",
                }
            ],
            routes=[
                {"kind": k, "connections": ["la-one"]}
                for k in ("deletion_return", "consent_request", "deletion_notice")
            ],
        )
        for sid, kind in ((SCHOOL, "mainstream"), (PRU, "pru")):
            await hub.put(f"/v1/settings/{sid}", _setting(sid, kind))
            await hub.put(f"/v1/settings/{sid}/calendar", {"school_days": DAYS})
        upn = make_upn("999400125201")
        await _learner(hub, upn, (SCHOOL, "main"), (PRU, "subsidiary"))

        # Wales reg 8(1)(c): the PRU deletes a dual-registered pupil who ceased to attend.
        request = {
            "upn": upn,
            "setting_id": PRU,
            "ground": "wales-2010:8(1)(c)",
            "effective_date": "2025-11-10",
            "evidence": {"ceased_to_attend": True, "will_not_attend_again": True},
        }
        pending = await hub.post("/v1/roll-deletions", request)
        assert pending["decision"] == "pending", pending
        allowed = await hub.post(f"/v1/roll-deletions/{pending['id']}/consents/{SCHOOL}")
        assert allowed["decision"] == "allowed", allowed

        returns = await hub.get("/v1/notifications", upn=upn, kind="deletion_return")
        (ret,) = returns["items"]
        assert ret["due_by"].startswith("2025-11-24")  # 10 school days after, reg 12(3)

        destinations = Destinations(hub.runtime.settings, hub.runtime.plugins)
        try:
            dispatcher = Dispatcher(
                settings=hub.runtime.settings,
                sessions=hub.runtime.sessions,
                destinations=destinations,
                owner="e2e",
                clock=lambda: NOW,
            )
            for _ in range(5):
                await dispatcher.dispatch_once()
        finally:
            await destinations.close()

        delivered = await hub.get("/v1/notifications", upn=upn, kind="deletion_return")
        assert delivered["items"][0]["status"] == "delivered"
        one = runner.app[ONE_STATE]
        kinds = sorted(s.body["type"] for s in one.submissions.values())
        assert "deletion_return" in kinds, kinds
        on_roll = await hub.get(f"/v1/learners/{upn}/marks")  # still reachable, history kept
        assert on_roll is not None
    finally:
        await runner.cleanup()


async def test_ehe_from_special_school_refused_without_la_consent(make_hub: HubFactory) -> None:
    # Wales reg 8(2): a special school pupil is deleted for EHE only with the LA's consent.
    hub = await make_hub(NOW)
    await hub.put(f"/v1/settings/{SPECIAL}", _setting(SPECIAL, "special"))
    await hub.put(f"/v1/settings/{SPECIAL}/calendar", {"school_days": DAYS})
    upn = make_upn("999400125202")
    await _learner(hub, upn, (SPECIAL, "single"))
    refused = await hub.post(
        "/v1/roll-deletions",
        {
            "upn": upn,
            "setting_id": SPECIAL,
            "ground": "wales-2010:8(1)(d)",
            "effective_date": "2025-11-10",
            "evidence": {"parent_written_notice": True, "ceased_to_attend": True},
        },
    )
    assert refused["decision"] == "refused"
    assert any("8(2)" in r["citation"] for r in refused["reasons"]), refused


async def test_ten_day_run_gives_one_cme_referral_and_lac_n_an_alert(make_hub: HubFactory) -> None:
    hub = await make_hub(dt.datetime(2025, 11, 21, 16, tzinfo=dt.UTC))
    await hub.put(f"/v1/settings/{SCHOOL}", _setting(SCHOOL, "mainstream"))
    await hub.put(f"/v1/settings/{SCHOOL}/calendar", {"school_days": DAYS})
    runaway, lac = make_upn("999400125203"), make_upn("999400125204")
    await _learner(hub, runaway, (SCHOOL, "single"))
    await _learner(hub, lac, (SCHOOL, "single"), looked_after=True)
    ten_days = [d for d in DAYS if "2025-11-10" <= d <= "2025-11-21"]
    assert len(ten_days) == 10
    marks = [
        {
            "upn": runaway,
            "setting_id": SCHOOL,
            "date": d,
            "session": s,
            "code": "O",
            "source": "e2e",
            "recorded_at": f"{d}T09:15:00Z",
        }
        for d in ten_days
        for s in ("AM", "PM")
    ]
    marks.append(
        {
            "upn": lac,
            "setting_id": SCHOOL,
            "date": "2025-11-21",
            "session": "AM",
            "code": "N",
            "source": "e2e",
            "recorded_at": "2025-11-21T09:15:00Z",
        }
    )
    await hub.post("/v1/marks", {"marks": marks})
    await hub.post("/v1/marks", {"marks": marks})  # a re-send changes nothing
    cme = await hub.get("/v1/notifications", upn=runaway, kind="cme_referral")
    assert len(cme["items"]) == 1
    alerts = await hub.get("/v1/notifications", upn=lac, kind="safeguarding_alert")
    assert len(alerts["items"]) == 1
