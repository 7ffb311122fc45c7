"""Issue 6 end to end over loopback: the SIMS emulators of a school and a PRU hold a
dual-registered pupil present at the PRU; `hub sync --once` (the real CLI) writes D into the
school's emulator; a 10-day absence run produces a CME referral received by the ONE emulator and
a concern in the MyConcern emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from hub.store import CalendarRepository, SettingRepository, create_engine, session_factory, upgrade
from hub.testing.emulator import serve_emulator
from hub_contracts import SchoolCalendar, Setting, make_upn
from hub_myconcern.emulator import DEFAULT_TOKEN, MYCONCERN_STATE, Pupil
from hub_myconcern.emulator import create_app as myconcern_app
from hub_one.emulator import DEFAULT_API_KEY, ONE_STATE
from hub_one.emulator import create_app as one_app
from hub_sims.emulator import build_app as sims_app
from hub_sims.emulator_state import EmulatorState

HUB = Path(sys.executable).with_name("hub")
SCHOOL, PRU = "9994001", "9991101"
DUAL, RUNAWAY = make_upn("999400126001"), make_upn("999400126002")
DOB = dt.date(2013, 5, 1)
# Recent school days: the CME rule looks back from today (the subprocess uses the real clock).
TODAY = dt.datetime.now(dt.UTC).date()
DAYS = [d for d in (TODAY - dt.timedelta(days=i) for i in range(1, 60)) if d.weekday() < 5][::-1]
RUN = DAYS[-10:]


def _school(sid: str, kind: str) -> Setting:
    return Setting(
        id=sid,
        name=f"Synthetic {kind}",
        kind=kind,
        jurisdiction="wales",  # type: ignore[arg-type]
        la_code="999",
        maintained=True,
    )


async def test_sync_once_writes_d_back_and_refers_cme(tmp_path: Path) -> None:
    states = {sid: EmulatorState(school_id=sid) for sid in (SCHOOL, PRU)}
    for sid, status in ((SCHOOL, "M"), (PRU, "S")):
        states[sid].add_learner(DUAL, "Synthetic", "Prawf-Dual", DOB)
        states[sid].add_enrolment(DUAL, DAYS[0] - dt.timedelta(days=30), enrol_status=status)
    states[SCHOOL].add_learner(RUNAWAY, "Synthetic", "Prawf-Run", DOB)
    states[SCHOOL].add_enrolment(RUNAWAY, DAYS[0] - dt.timedelta(days=30))
    # Present at the PRU on the last school day; the school left its register blank.
    states[PRU].add_mark(DUAL, RUN[-1], "AM", "/")
    for day in RUN:
        for session in ("AM", "PM"):
            states[SCHOOL].add_mark(RUNAWAY, day, session, "O")

    runners = []
    try:
        urls = {}
        for sid, state in states.items():
            runner, urls[sid] = await serve_emulator(sims_app(state))
            runners.append(runner)
        one_runner, one_url = await serve_emulator(one_app())
        runners.append(one_runner)
        mc_runner, mc_url = await serve_emulator(
            myconcern_app(pupils=[Pupil(RUNAWAY, "Synthetic Prawf-Run", DOB)])
        )
        runners.append(mc_runner)

        db = tmp_path / "hub.db"
        await upgrade(f"sqlite+aiosqlite:///{db}")
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        async with session_factory(engine).begin() as session:
            for sid, kind in ((SCHOOL, "mainstream"), (PRU, "pru")):
                await SettingRepository(session).upsert(_school(sid, kind))
                await CalendarRepository(session).replace(
                    SchoolCalendar(setting_id=sid, school_days=tuple(DAYS))
                )
        await engine.dispose()

        sims = "\n".join(
            f"""
[[connections]]
name = "sims-{sid}"
plugin = "sims"
setting_ids = ["{sid}"]
base_url = "{urls[sid]}/ssli01"
token_url = "{urls[sid]}/connect/token"
client_id = "{states[sid].client_id}"
client_secret = "env:E2E_SIMS_SECRET"
subscription_key = "env:E2E_SIMS_KEY"
school_id = "{sid}"
attendance_from = "{DAYS[0].isoformat()}"
attendance_to = "{DAYS[-1].isoformat()}"
"""
            for sid in (SCHOOL, PRU)
        )
        (tmp_path / "hub.toml").write_text(
            f"""
database_url = "sqlite+aiosqlite:///{db}"
[reconcile]
auto_write_kinds = ["dual_missing_mark"]
{sims}
[[connections]]
name = "la-one"
plugin = "one"
base_url = "{one_url}/v1"
api_key = "env:E2E_ONE_KEY"
la_code = "999"

[[connections]]
name = "la-myconcern"
plugin = "myconcern"
base_url = "{mc_url}/api/v1"
api_token = "env:E2E_MC_TOKEN"

[[routes]]
kind = "cme_referral"
connections = ["la-one"]

[[routes]]
kind = "safeguarding_alert"
connections = ["la-myconcern"]
""",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env |= {
            "E2E_SIMS_SECRET": states[SCHOOL].client_secret,
            "E2E_SIMS_KEY": states[SCHOOL].subscription_key,
            "E2E_ONE_KEY": DEFAULT_API_KEY,
            "E2E_MC_TOKEN": DEFAULT_TOKEN,
        }
        proc = await asyncio.create_subprocess_exec(
            str(HUB),
            "sync",
            "--once",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, (out.decode(), err.decode()[-3000:])

        written = [
            m
            for m in states[SCHOOL].marks.values()
            if m.upn == DUAL and m.date == RUN[-1] and m.session == "AM"
        ]
        assert [m.code for m in written] == ["D"], out.decode()
        one = one_runner.app[ONE_STATE]
        assert [s.body["type"] for s in one.submissions.values()] == ["cme_referral"]
        concerns = list(mc_runner.app[MYCONCERN_STATE].concerns.values())
        assert len(concerns) == 1
        assert "outbox:" in out.decode()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
