"""`hub demo`: the hub on the embedded default with a synthetic LA, narrated in plain language.

Everything stays on loopback; no real data. The story grows as the sync engine, rules and
adapters land; today it shows the foundation: plugins found through entry points, the
database migrated, a synthetic LA stored, a fortnight's register with an amendment kept as
history, a code refused with its reason, statutory school-day arithmetic, and the API serving.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
from rich.console import Console

from hub.rules.calendar import SchoolDays
from hub.rules.codes import CodeNotInForce, lookup_code
from hub.runtime import HubRuntime
from hub.service import ListenError, serve
from hub.settings import HubSettings
from hub.store.marks import MarkKey, MarkRepository
from hub.store.reference import (
    CalendarRepository,
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub.store.tokens import TokenRepository
from hub.synthetic import SYNTHETIC_LA_NAME, register_marks, synthetic_la
from hub_contracts import AttendanceMark, Jurisdiction, SettingKind


async def run_demo(
    settings: HubSettings, *, serve_api: bool = True, console: Console | None = None
) -> int:
    out = console or Console(highlight=False, soft_wrap=True)
    say = out.print
    say("[bold]attendance-hub demo[/bold] — everything on loopback, synthetic data only\n")

    runtime = await HubRuntime.open(settings, migrate_now=True)
    try:
        loaded = [i for i in runtime.plugins.inventory() if i.status == "loaded" and i.adapters]
        say(
            f"1. Found {len(loaded)} adapter plugins through the attendance_hub.plugins entry "
            f"points: {', '.join(i.name for i in loaded)}."
        )
        say(
            f"2. Database: SQLite (WAL) at {settings.database_url.split('///', 1)[-1]}, "
            "migrated to the latest schema."
        )

        la = synthetic_la()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        async with runtime.sessions.begin() as session:
            for s in la.settings:
                await SettingRepository(session).upsert(s)
            for cal in la.calendars:
                await CalendarRepository(session).replace(cal)
            for learner in la.learners:
                await LearnerRepository(session).upsert(learner)
            for reg in la.registrations:
                await RegistrationRepository(session).add(reg)
            for placement in la.placements:
                await PlacementRepository(session).add(placement)
        say(
            f"3. Stored {SYNTHETIC_LA_NAME}: {len(la.settings)} settings (two primaries, a "
            f"secondary, a PRU, an EOTAS provider), {len(la.learners)} learners, "
            f"{len(la.dual_registered)} dual-registered with the PRU, "
            f"{len(la.placements)} with an EOTAS placement."
        )

        marks = register_marks(la, recorded_at=now)
        async with runtime.sessions.begin() as session:
            result = await MarkRepository(session).upsert_many(marks)
        absent = sum(1 for m in marks if m.code not in ("/", "\\"))
        say(
            f"4. Registers for a fortnight ({la.calendars[0].school_days[0]} to "
            f"{la.calendars[0].school_days[-1]}): {result.inserted} marks stored, {absent} of "
            "them absences."
        )

        # An amendment: N (no reason yet) becomes I (illness) once the parent calls.
        first_n = next(m for m in marks if m.code == "N")
        amended = AttendanceMark(
            **{**first_n.model_dump(), "code": "I", "recorded_at": now + dt.timedelta(hours=2)}
        )
        async with runtime.sessions.begin() as session:
            repo = MarkRepository(session)
            again = await repo.upsert_many([first_n, amended])
            history = await repo.history(MarkKey.of(first_n))
        say(
            f"5. An N mark amended to I: {again.amended} amendment, {again.unchanged} identical "
            f"re-send ignored; the register keeps both entries "
            f"({' → '.join(e.mark.code for e in history)}), as the regulations require."
        )

        school = la.setting(SettingKind.MAINSTREAM)
        day = la.calendars[0].school_days[0]
        try:
            lookup_code(Jurisdiction.WALES, day, "K")
        except CodeNotInForce as exc:
            say(
                f"6. A mark with code K for a Welsh school would be refused: {exc} "
                "(K is England 2024's code for LA-arranged provision)."
            )
        calendar = SchoolDays.from_calendar(la.calendars[0])
        deleted_on = la.calendars[0].school_days[1]
        due = calendar.nth_school_day_after(deleted_on, 5)
        say(
            f"7. School-day arithmetic on {school.name}'s own calendar: 5 school days after "
            f"{deleted_on} is {due} (weekends skipped); the 10-school-day deletion-return "
            "deadline of Wales reg 12(3) uses the same function."
        )

        async with runtime.sessions.begin() as session:
            token, _info = await TokenRepository(session).create(
                name="demo-admin", scopes=["admin"], expires_at=None, now=now
            )

        # With --no-serve the API answers its own health checks once, then stops.
        stop = None if serve_api else asyncio.Event()

        async def started(url: str) -> None:
            async with aiohttp.ClientSession() as client:
                health = await (await client.get(f"{url}/healthz")).json()
                ready = await (await client.get(f"{url}/readyz")).json()
            say(
                f"8. API serving at {url}: /healthz {health['status']}, /readyz "
                f"{ready['status']}, metrics at {url}/metrics."
            )
            say(f"   Admin token (stored hashed; shown once): {token}")
            if stop is None:
                say("   Press Ctrl-C to stop.")
            else:
                stop.set()

        await serve(runtime, on_started=started, stop=stop)
    except ListenError as exc:
        say(f"[red]{exc.strerror}[/red] — choose another port with --port")
        return 1
    finally:
        await runtime.close()
    say("Demo finished.")
    return 0
