"""Issue 5: every discrepancy kind, end to end through POST /v1/marks and GET /v1/discrepancies
(one synthetic learner per row, Welsh LA 999 unless the row says England)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub_contracts import make_upn

from .conftest import HubFactory

MON, TUE = dt.date(2025, 11, 3), dt.date(2025, 11, 4)
LATER = dt.datetime(2025, 11, 28, 12, 0, tzinfo=dt.UTC)  # every deadline has passed
DAYS = [
    (MON + dt.timedelta(days=i)).isoformat()
    for i in range(28)
    if (MON + dt.timedelta(days=i)).weekday() < 5
]
SCHOOL, PRU, PROVIDER, ENGLISH = "9994001", "9991101", "9997001", "8884001"


def _setting(sid: str, kind: str, jurisdiction: str = "wales", la: str = "999") -> dict[str, Any]:
    return {
        "id": sid,
        "name": f"Synthetic {kind} {sid}",
        "kind": kind,
        "jurisdiction": jurisdiction,
        "la_code": la,
        "maintained": kind != "eotas_provider",
    }


async def _world(hub: Any, upn: str, case: str) -> None:
    await hub.put(
        f"/v1/learners/{upn}",
        {
            "upn": upn,
            "given_name": "Synthetic",
            "family_name": f"Prawf-{case}",
            "date_of_birth": "2011-05-01",
        },
    )
    start = "2025-09-01"
    if case.startswith("dual"):
        await hub.post(
            "/v1/registrations",
            {"upn": upn, "setting_id": SCHOOL, "status": "main", "start_date": start},
            status=201,
        )
        await hub.post(
            "/v1/registrations",
            {"upn": upn, "setting_id": PRU, "status": "subsidiary", "start_date": start},
            status=201,
        )
    elif case == "english":
        await hub.post(
            "/v1/registrations",
            {"upn": upn, "setting_id": ENGLISH, "status": "single", "start_date": start},
            status=201,
        )
    else:
        await hub.post(
            "/v1/registrations",
            {"upn": upn, "setting_id": SCHOOL, "status": "single", "start_date": start},
            status=201,
        )
        if case == "eotas":
            await hub.post(
                "/v1/eotas-placements",
                {
                    "upn": upn,
                    "school_id": SCHOOL,
                    "provider_id": PROVIDER,
                    "sessions": [{"weekday": 0, "session": "AM"}],
                    "start_date": start,
                },
                status=201,
            )


def _mark(upn: str, setting: str, code: str, day: dt.date = MON) -> dict[str, Any]:
    return {
        "upn": upn,
        "setting_id": setting,
        "date": day.isoformat(),
        "session": "AM",
        "code": code,
        "source": "e2e",
        "recorded_at": "2025-11-03T09:15:00Z",
    }


# (kind expected, world, marks as (setting, code, day), proposed (setting, code) or None, source)
ROWS = [
    pytest.param(
        "dual_present_at_both",
        "dual",
        [(SCHOOL, "/", MON), (PRU, "/", MON)],
        None,
        id="dual_present_at_both: present at both (seed 000 line 565)",
    ),
    pytest.param(
        "dual_unaccounted",
        "dual",
        [(SCHOOL, "D", MON), (PRU, "D", MON)],
        None,
        id="dual_unaccounted: D at both (seed 000 line 565)",
    ),
    pytest.param(
        "dual_missing_mark",
        "dual",
        [(PRU, "/", MON)],
        (SCHOOL, "D"),
        id="dual_missing_mark: present at PRU, nothing at school (seed 000 line 565)",
    ),
    pytest.param(
        "dual_conflict",
        "dual",
        [(PRU, "/", MON), (SCHOOL, "O", MON)],
        (SCHOOL, "D"),
        id="dual_conflict: present at PRU, O at school (seed 000 line 565)",
    ),
    pytest.param(
        "dual_absence_not_shared",
        "dual",
        [(PRU, "I", MON), (SCHOOL, "D", MON)],
        (SCHOOL, "I"),
        id="dual_absence_not_shared: I where due, D elsewhere (seed 000 line 569)",
    ),
    pytest.param(
        "d_without_dual_registration",
        "single",
        [(SCHOOL, "D", MON)],
        None,
        id="d_without_dual_registration: D with one registration (legal-rules 2.3)",
    ),
    pytest.param(
        "b_provider_absent",
        "eotas",
        [(SCHOOL, "B", MON), (PROVIDER, "O", MON)],
        (SCHOOL, "O"),
        id="b_provider_absent: provider reports O (seed 000 line 581)",
    ),
    pytest.param(
        "b_unscheduled",
        "eotas",
        [(SCHOOL, "B", TUE)],
        (SCHOOL, "C"),
        id="b_unscheduled: B with no delivery that session, Wales C (seed 000 lines 577-579)",
    ),
    pytest.param(
        "b_unconfirmed",
        "eotas",
        [(SCHOOL, "B", MON)],
        None,
        id="b_unconfirmed: no provider report by the deadline (seed 000 line 581)",
    ),
    pytest.param(
        "n_code_overdue",
        "english",
        [(ENGLISH, "N", MON)],
        None,
        id="n_code_overdue: England 2024 reg 10(7)-(9), N not replaced in 5 school days",
    ),
]


@pytest.mark.parametrize(("kind", "world", "marks", "proposed"), ROWS)
async def test_each_kind_end_to_end(
    make_hub: HubFactory,
    kind: str,
    world: str,
    marks: list[tuple[str, str, dt.date]],
    proposed: tuple[str, str] | None,
) -> None:
    hub = await make_hub(LATER)
    for sid, skind in ((SCHOOL, "mainstream"), (PRU, "pru"), (PROVIDER, "eotas_provider")):
        await hub.put(f"/v1/settings/{sid}", _setting(sid, skind))
        await hub.put(f"/v1/settings/{sid}/calendar", {"school_days": DAYS})
    await hub.put(f"/v1/settings/{ENGLISH}", _setting(ENGLISH, "mainstream", "england", "888"))
    await hub.put(f"/v1/settings/{ENGLISH}/calendar", {"school_days": DAYS})
    upn = make_upn("999400125101")
    await _world(hub, upn, world)

    reply = await hub.post("/v1/marks", {"marks": [_mark(upn, s, c, d) for s, c, d in marks]})
    assert reply == {"accepted": len(marks), "rejected": []}

    found = await hub.get("/v1/discrepancies", upn=upn, status="open")
    by_kind = {d["kind"]: d for d in found["items"]}
    assert kind in by_kind, found
    if proposed is not None:
        actions = [(a["setting_id"], a["code"]) for a in by_kind[kind]["proposed_actions"]]
        assert proposed in actions, by_kind[kind]
    if kind == "dual_unaccounted":
        assert by_kind[kind]["severity"] == "critical"


async def test_consistent_registers_raise_nothing_and_resolve_what_was_open(
    make_hub: HubFactory,
) -> None:
    # seed 000 line 565: attending the PRU, so D at the school is the correct entry.
    hub = await make_hub(LATER)
    for sid, skind in ((SCHOOL, "mainstream"), (PRU, "pru")):
        await hub.put(f"/v1/settings/{sid}", _setting(sid, skind))
        await hub.put(f"/v1/settings/{sid}/calendar", {"school_days": DAYS})
    upn = make_upn("999400125102")
    await _world(hub, upn, "dual")
    await hub.post("/v1/marks", {"marks": [_mark(upn, PRU, "/")]})
    opened = await hub.get("/v1/discrepancies", upn=upn)
    assert [d["kind"] for d in opened["items"]] == ["dual_missing_mark"]
    await hub.post("/v1/marks", {"marks": [_mark(upn, SCHOOL, "D")]})
    assert (await hub.get("/v1/discrepancies", upn=upn, status="open"))["items"] == []
    resolved = await hub.get("/v1/discrepancies", upn=upn, status="resolved")
    assert [d["kind"] for d in resolved["items"]] == ["dual_missing_mark"]
