"""`hub demo`'s story, asserted from the API and the emulators' state (never the narration)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from hub.demo import DemoResult, run_demo
from hub.demo_story import SECRETS
from hub.settings import HubSettings


async def _get(client: aiohttp.ClientSession, url: str, token: str) -> Any:
    async with client.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_demo_story_outcomes_from_the_api_and_the_emulators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in SECRETS:  # restored after the test (the demo sets them for its adapters)
        monkeypatch.setenv(key, "placeholder")
    settings = HubSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        api={"port": 0},
        logging={"level": "WARNING"},
    )
    seen: dict[str, Any] = {}

    async def check(result: DemoResult) -> None:
        world, cast, url, token = (
            result.world,
            result.world.cast,
            result.api_url,
            result.admin_token,
        )
        days = world.days
        async with aiohttp.ClientSession() as client:
            found = (await _get(client, f"{url}/v1/discrepancies", token))["items"]
            notes = (await _get(client, f"{url}/v1/notifications", token))["items"]
            marks_a = await _get(
                client,
                f"{url}/v1/learners/{cast.attends_pru}/marks?from={days[1]}&to={days[1]}",
                token,
            )
        seen["ok"] = True

        def disc(upn: str, kind: str) -> list[dict[str, Any]]:
            return [d for d in found if d["upn"] == upn and d["kind"] == kind]

        def note(upn: str, kind: str) -> list[dict[str, Any]]:
            return [n for n in notes if n["upn"] == upn and n["kind"] == kind]

        # (a) D written back to the school for the pupil at the PRU, and resolved.
        school = world.home(cast.attends_pru)
        missing = [
            d for d in disc(cast.attends_pru, "dual_missing_mark") if d["date"] == str(days[1])
        ]
        assert len(missing) == 2 and {d["status"] for d in missing} == {"resolved"}
        assert all(a["code"] == "D" for d in missing for a in d["proposed_actions"])
        in_sims = {
            m.session: m.code
            for m in world.sims[school].marks.values()
            if m.upn == cast.attends_pru and m.date == days[1]
        }
        assert in_sims == {"AM": "D", "PM": "D"}
        hub_cells = [c for c in marks_a["marks"] if c["setting_id"] == school]
        assert sorted((c["session"], c["code"]) for c in hub_cells) == [("AM", "D"), ("PM", "D")]

        # (b) absence not shared between the dual settings, and the notice delivered.
        shared = disc(cast.absent_at_pru, "dual_absence_not_shared")
        assert len(shared) == 1 and shared[0]["date"] == str(days[2])
        notices = note(cast.absent_at_pru, "dual_absence_notice")
        assert [n["status"] for n in notices] == ["delivered"]
        assert [n["upn"] for n in world.inbox] == [cast.absent_at_pru]

        # (c) B on an unscheduled session flagged, C proposed (Wales).
        b = disc(cast.eotas, "b_unscheduled")
        assert len(b) == 1 and b[0]["status"] == "open"
        assert [a["code"] for a in b[0]["proposed_actions"]] == ["C"]

        # (d) the 20-day ground refused with its regulation; (e) EHE allowed with a return.
        refused = result.decisions["twenty_day"]
        assert refused.decision == "refused"
        assert any("8(1)(h)" in r.citation for r in refused.reasons)
        assert result.decisions["ehe"].decision == "allowed"
        returns = note(cast.ehe, "deletion_return")
        assert len(returns) == 1 and returns[0]["status"] == "delivered"
        # Wales reg 12(3): 10 school days after Mon 10 Nov is Mon 24 Nov.
        assert dt.datetime.fromisoformat(returns[0]["due_by"]).date() == dt.date(2025, 11, 24)
        one_types = [s.body["type"] for s in world.one.submissions.values()]
        assert sorted(one_types) == ["cme_referral", "deletion_return"]

        # (f) CME referral on the 10th school day, in One and MyConcern.
        referral = note(cast.cme, "cme_referral")
        assert len(referral) == 1 and referral[0]["status"] == "delivered"
        assert dt.datetime.fromisoformat(referral[0]["due_by"]).date() == days[9]
        assert len(world.one.streams["cme-enquiries"]) == 1
        concerns = world.myconcern.concerns.values()
        assert sum(c["subject"]["upn"] == cast.cme for c in concerns) == 1

        # (g) the looked-after child's N: an alert received by MyConcern.
        alerts = note(cast.looked_after, "safeguarding_alert")
        assert len(alerts) == 1 and alerts[0]["status"] == "delivered"
        assert sum(c["subject"]["upn"] == cast.looked_after for c in concerns) == 1

    out = io.StringIO()
    code = await run_demo(
        settings, serve_api=False, console=Console(file=out, width=200), on_ready=check
    )
    assert code == 0, out.getvalue()
    assert seen.get("ok"), out.getvalue()
