"""The world of `hub demo`: vendor emulators on loopback, seeded from `hub.synthetic`, and the
scripted fortnight of registers that drives the real engine (sync → ingest → rules → outbox →
dispatcher → adapters).

Nothing here writes a result into the hub: marks go into the SIMS emulators, and the hub learns
about them only by syncing; findings, notifications and write-backs come from the rules; the
deliveries reach the emulators through the adapters. Reference data the vendors do not carry
(settings and their calendars) is stored as an LA administrator would load it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.settings import ConnectionSettings, HubSettings, ReconcileSettings, RouteSettings
from hub.synthetic import SyntheticLa, synthetic_la, weekdays
from hub.testing.emulator import serve_emulator
from hub_contracts import Learner, SettingKind
from hub_myconcern.emulator import MYCONCERN_STATE, MyConcernState, Pupil
from hub_myconcern.emulator import create_app as myconcern_app
from hub_one.emulator import ONE_STATE, OneLearner, OneSeed, OneState
from hub_one.emulator import create_app as one_app
from hub_sims.emulator import STATE as SIMS_STATE
from hub_sims.emulator import EmulatorState
from hub_sims.emulator import build_app as sims_app

__all__ = ["Cast", "DemoWorld", "SimClock", "demo_settings", "start_world"]

START = dt.date(2025, 11, 3)
FORTNIGHT = 10
TERM_START = dt.date(2025, 9, 1)
#: The autumn term (half term 27-31 October), so statutory deadlines fall inside the calendar.
TERM = tuple(weekdays(TERM_START, 75, skip=((dt.date(2025, 10, 27), dt.date(2025, 10, 31)),)))
TERM = tuple(d for d in TERM if d <= dt.date(2025, 12, 19))
#: The hub runs its day's work at 16:00 UTC, after both registers have closed.
DAY_END = dt.time(16, 0, tzinfo=dt.UTC)

#: Synthetic secrets for the emulators, passed to the hub through env: references.
SECRETS = {
    "HUB_DEMO_SIMS_CLIENT_SECRET": "synthetic-client-secret",
    "HUB_DEMO_SIMS_SUBSCRIPTION_KEY": "synthetic-subscription-key",
    "HUB_DEMO_ONE_API_KEY": "synthetic-demo-one-key",
    "HUB_DEMO_MYCONCERN_TOKEN": "synthetic-demo-myconcern-token",
    "HUB_DEMO_INBOX_SECRET": "synthetic-demo-inbox-secret",
}

MYCONCERN_NAME = "MyConcern — the LA's safeguarding team"
AUTO_WRITE = ["dual_missing_mark", "dual_conflict"]
ROUTES: dict[str, list[str]] = {
    "deletion_return": ["la-one"],
    "deletion_notice": ["la-one"],
    "consent_request": ["la-one"],
    "cme_referral": ["la-one"],
    "absence_return": ["la-one"],
    "safeguarding_alert": ["la-myconcern"],
    # The partner setting's attendance inbox (a signed webhook): One takes no such notice.
    "dual_absence_notice": ["partner-inbox"],
}


class SimClock:
    """The simulated time the engine sees: each school day at 16:00 UTC."""

    def __init__(self, day: dt.date) -> None:
        self.now = dt.datetime.combine(day, DAY_END)

    def set_day(self, day: dt.date) -> None:
        self.now = dt.datetime.combine(day, DAY_END)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass(frozen=True)
class Cast:
    """The learners the story is about (all synthetic)."""

    attends_pru: str  # (a) dual registered; the school leaves two sessions unmarked
    absent_at_pru: str  # (b) dual registered; absent at the PRU, D at the school
    eotas: str  # (c) EOTAS placement; B on an unscheduled session
    cme: str  # (d), (f) unexplained absence every day of the fortnight
    ehe: str  # (e) parent's written notice of elective home education
    looked_after: str  # (g) a looked-after child with one N


@dataclass
class DemoWorld:
    la: SyntheticLa
    cast: Cast
    sims: dict[str, EmulatorState]
    one: OneState
    myconcern: MyConcernState
    inbox: list[dict[str, Any]]
    urls: dict[str, str]
    runners: list[web.AppRunner] = field(default_factory=list)
    #: Learners off roll from the day after this date (the EHE deletion).
    left: dict[str, dt.date] = field(default_factory=dict)

    @property
    def days(self) -> list[dt.date]:
        return [d for d in TERM if d >= START][:FORTNIGHT]

    def learner(self, upn: str) -> Learner:
        return next(learner for learner in self.la.learners if learner.upn == upn)

    def name(self, setting_id: str) -> str:
        return next(s.name for s in self.la.settings if s.id == setting_id)

    def home(self, upn: str) -> str:
        """The setting id of the learner's school (main or single registration)."""
        return next(
            r.setting_id
            for r in self.la.registrations
            if r.upn == upn and r.status.value in ("single", "main")
        )

    async def close(self) -> None:
        for runner in reversed(self.runners):
            await runner.cleanup()

    # -- the registers ------------------------------------------------------------------------

    def mark_day(self, day: dt.date) -> dict[str, int]:
        """Put `day`'s registers into the SIMS emulators, as each school's staff would."""
        rng = random.Random(f"demo-register:{day.isoformat()}")
        cast = self.cast
        dual = set(self.la.dual_registered)
        scheduled = {
            p.upn: {(s.weekday, s.session.value) for s in p.sessions} for p in self.la.placements
        }
        flagged = {
            learner.upn
            for learner in self.la.learners
            if learner.flags.looked_after or learner.flags.child_protection_plan
        }
        written: dict[str, int] = {}

        def put(setting_id: str, upn: str, session: str, code: str) -> None:
            self.sims[setting_id].add_mark(upn, day, session, code)
            written[setting_id] = written.get(setting_id, 0) + 1

        pru = self.la.setting(SettingKind.PRU).id
        for reg in self.la.registrations:
            upn = reg.upn
            if reg.setting_id not in self.sims or (upn in self.left and day > self.left[upn]):
                continue
            for session in ("AM", "PM"):
                present = "/" if session == "AM" else "\\"
                if upn in dual:
                    if reg.setting_id == pru:
                        absent = upn == cast.absent_at_pru and day == self.days[2]
                        code = "I" if absent and session == "AM" else present
                    elif upn == cast.attends_pru and day == self.days[1]:
                        continue  # (a) the school leaves both sessions unmarked
                    else:
                        code = "D"
                    put(reg.setting_id, upn, session, code)
                    continue
                roll = rng.random()
                code = (
                    present
                    if roll < 0.92
                    else ("I" if roll < 0.96 else ("M" if roll < 0.98 else "N"))
                )
                if code == "N" and (upn in flagged or upn in vars(cast).values()):
                    code = "I"
                if (day.weekday(), session) in scheduled.get(upn, ()):
                    code = "B"
                if upn == cast.eotas and day == self.days[3] and session == "AM":
                    code = "B"  # (c) B where no provision is scheduled
                if upn in (cast.cme, cast.ehe, cast.looked_after):
                    code = present
                if upn == cast.cme:
                    code = "N"  # (d), (f) absent, no reason given, every session
                if upn == cast.looked_after and day == self.days[4] and session == "AM":
                    code = "N"  # (g)
                put(reg.setting_id, upn, session, code)
        return written


def _cast(la: SyntheticLa) -> Cast:
    dual = la.dual_registered
    eotas = la.placements[0].upn
    excluded = {*dual, *(p.upn for p in la.placements)}
    plain = [
        learner
        for learner in la.learners
        if learner.upn not in excluded
        and not learner.flags.looked_after
        and not learner.flags.child_protection_plan
    ]

    def at(setting_id: str) -> list[str]:
        on_roll = {r.upn for r in la.registrations if r.setting_id == setting_id}
        return [learner.upn for learner in plain if learner.upn in on_roll]

    primary_a, primary_b, secondary = (s.id for s in la.settings[:3])
    return Cast(
        attends_pru=dual[0],
        absent_at_pru=dual[1],
        eotas=eotas,
        cme=at(secondary)[10],
        ehe=at(primary_b)[5],
        looked_after=at(primary_a)[7],
    )


async def _inbox_app(inbox: list[dict[str, Any]]) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        inbox.append(await request.json())
        return web.json_response({"received": len(inbox)})

    app = web.Application()
    app.router.add_post("/notices", receive)
    return app


async def start_world() -> DemoWorld:
    """Seed the synthetic LA into a SIMS emulator per school (and the PRU), One, MyConcern and
    a partner inbox, each on a free loopback port."""
    la = synthetic_la(calendar=TERM)
    cast = _cast(la)
    learners = {learner.upn: learner for learner in la.learners}
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    sims: dict[str, EmulatorState] = {}
    status_codes = {"single": "C", "main": "M", "subsidiary": "S"}
    try:
        for setting in la.settings:
            if setting.kind is SettingKind.EOTAS_PROVIDER:
                continue  # the provider has no MIS; its placements are the LA's (One)
            state = EmulatorState(school_id=setting.id)
            for reg in la.registrations:
                if reg.setting_id != setting.id:
                    continue
                learner = learners[reg.upn]
                state.add_learner(
                    learner.upn,
                    learner.given_name,
                    learner.family_name,
                    learner.date_of_birth,
                    address=learner.address,
                    in_care=learner.flags.looked_after or learner.upn == cast.looked_after,
                    child_protection_plan=learner.flags.child_protection_plan,
                )
                state.add_enrolment(
                    learner.upn, reg.start_date, enrol_status=status_codes[reg.status.value]
                )
            runner, url = await serve_emulator(sims_app(state))
            runners.append(runner)
            sims[setting.id] = state
            urls[f"SIMS — {setting.name}"] = url

        days = ("MON", "TUE", "WED", "THU", "FRI")
        seed = OneSeed(
            learners=[
                OneLearner(x.upn, x.given_name, x.family_name, x.date_of_birth) for x in la.learners
            ],
            placements=[
                {
                    "placement_id": f"PLC-{n}",
                    "upn": p.upn,
                    "school_base_id": p.school_id,
                    "provider_base_id": p.provider_id,
                    "sessions": [f"{days[s.weekday]}-{s.session.value}" for s in p.sessions],
                    "start_date": p.start_date.isoformat(),
                    "end_date": None,
                    "arranged_by": "school",
                }
                for n, p in enumerate(la.placements, 1)
            ],
        )
        one = one_app(
            api_key=SECRETS["HUB_DEMO_ONE_API_KEY"], la_code=la.settings[0].la_code, seed=seed
        )
        runner, urls["One — the LA"] = await serve_emulator(one)
        runners.append(runner)
        concern = myconcern_app(
            token=SECRETS["HUB_DEMO_MYCONCERN_TOKEN"],
            pupils=[
                Pupil(x.upn, f"{x.given_name} {x.family_name}", x.date_of_birth)
                for x in la.learners
            ],
        )
        runner, urls[MYCONCERN_NAME] = await serve_emulator(concern)
        runners.append(runner)
        inbox: list[dict[str, Any]] = []
        runner, urls["Partner inbox (dual registration notices)"] = await serve_emulator(
            await _inbox_app(inbox)
        )
        runners.append(runner)
    except BaseException:
        for runner in reversed(runners):
            await runner.cleanup()
        raise
    # The hub reads these through env: references (synthetic values, never printed).
    os.environ.update(SECRETS)
    _ = SIMS_STATE, ONE_STATE, MYCONCERN_STATE  # the app keys, for readers of the emulators
    return DemoWorld(
        la=la,
        cast=cast,
        sims=sims,
        one=one[ONE_STATE],
        myconcern=concern[MYCONCERN_STATE],
        inbox=inbox,
        urls=urls,
        runners=runners,
    )


def demo_settings(base: HubSettings, world: DemoWorld) -> HubSettings:
    """`base` (database, API, logging) plus the demo's connections, routes and reconcile."""
    urls = world.urls
    connections: list[ConnectionSettings] = []
    for setting_id, state in world.sims.items():
        url = urls[f"SIMS — {world.name(setting_id)}"]
        connections.append(
            ConnectionSettings.model_validate(
                {
                    "name": f"sims-{setting_id}",
                    "plugin": "sims",
                    "setting_ids": [setting_id],
                    "base_url": f"{url}/ssli01",
                    "token_url": f"{url}/connect/token",
                    "client_id": state.client_id,
                    "client_secret": "env:HUB_DEMO_SIMS_CLIENT_SECRET",
                    "subscription_key": "env:HUB_DEMO_SIMS_SUBSCRIPTION_KEY",
                    "school_id": setting_id,
                    "attendance_from": TERM[0].isoformat(),
                    "attendance_to": TERM[-1].isoformat(),
                }
            )
        )
    la_code = world.la.settings[0].la_code
    connections += [
        ConnectionSettings.model_validate(
            {
                "name": "la-one",
                "plugin": "one",
                "base_url": f"{urls['One — the LA']}/v1",
                "api_key": "env:HUB_DEMO_ONE_API_KEY",
                "la_code": la_code,
            }
        ),
        ConnectionSettings.model_validate(
            {
                "name": "la-myconcern",
                "plugin": "myconcern",
                "base_url": f"{urls[MYCONCERN_NAME]}/api/v1",
                "api_token": "env:HUB_DEMO_MYCONCERN_TOKEN",
            }
        ),
        ConnectionSettings.model_validate(
            {
                "name": "partner-inbox",
                "plugin": "webhook",
                "url": f"{urls['Partner inbox (dual registration notices)']}/notices",
                "secret": "env:HUB_DEMO_INBOX_SECRET",
            }
        ),
    ]
    routes = [RouteSettings(kind=k, connections=c) for k, c in ROUTES.items()]
    reconcile = ReconcileSettings(auto_write_kinds=list(AUTO_WRITE))
    return base.model_copy(
        update={"connections": connections, "routes": routes, "reconcile": reconcile}
    )


#: For type checkers: the clock the engine takes.
ClockFn = Callable[[], dt.datetime]
