"""`hub demo`: a synthetic Welsh LA on loopback, a scripted fortnight of registers, narrated.

Everything runs in one process on 127.0.0.1 with synthetic data only ("Prawf-NNN", LA 999): a
SIMS emulator per school and the PRU, the One emulator for the LA, the MyConcern emulator and a
partner inbox. Each simulated school day the schools' registers go into their SIMS emulators;
the hub syncs them (`SyncEngine.sync_once`), the rules run in the sync transaction, and the
outbox is drained (`Dispatcher.dispatch_once`) through the real adapters. The narration reads
what the hub stored and what the emulators received; it never writes a result itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from rich.console import Console

from hub.deletions import request_deletion
from hub.demo_story import DemoWorld, SimClock, demo_settings, start_world
from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.engine.sync import SyncEngine
from hub.notifications import OutboxSink
from hub.runtime import HubRuntime
from hub.service import ListenError, serve
from hub.settings import HubSettings
from hub.store import DiscrepancyRepository, NotificationRepository
from hub.store.reference import CalendarRepository, SettingRepository
from hub.store.tokens import TokenRepository
from hub.synthetic import SYNTHETIC_LA_NAME
from hub_contracts import (
    DecisionOutcome,
    DiscrepancyKind,
    Notification,
    NotificationKind,
    RollDeletionDecision,
    RollDeletionRequest,
)

__all__ = ["DemoResult", "run_demo"]

ACTOR = "demo:school-data-manager"
MAX_DRAIN_PASSES = 20


@dataclass
class DemoResult:
    """What a caller (a test) needs once the story has run and the API is serving."""

    api_url: str
    admin_token: str
    world: DemoWorld
    decisions: dict[str, RollDeletionDecision] = field(default_factory=dict)
    seconds: float = 0.0


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


class Story:
    def __init__(self, runtime: HubRuntime, world: DemoWorld, say: Callable[[str], None]) -> None:
        self.runtime = runtime
        self.world = world
        self.say = say
        self.clock = SimClock(world.days[0])
        settings = runtime.settings
        self.destinations = Destinations(settings, runtime.plugins)
        self.sync = SyncEngine(
            settings=settings,
            sessions=runtime.sessions,
            destinations=self.destinations,
            owner="demo",
            rules=runtime.rules,
            clock=self.clock,
        )
        self.dispatcher = Dispatcher(
            settings=settings,
            sessions=runtime.sessions,
            destinations=self.destinations,
            owner="demo",
            clock=self.clock,
        )
        self.sink = OutboxSink(settings, runtime.plugins)
        self.decisions: dict[str, RollDeletionDecision] = {}

    async def close(self) -> None:
        await self.destinations.close()

    # -- the engine's day ---------------------------------------------------------------------

    async def engine_pass(self) -> tuple[int, int, int]:
        """One sync of every connection, then the outbox drained: (marks read, changed,
        deliveries)."""
        reports = await self.sync.sync_once()
        for report in reports:
            if report.failed:
                raise RuntimeError(f"sync of {report.connection} failed: {report.error}")
        marks = [s for r in reports for s in r.streams if s.stream == "marks"]
        delivered = await self.drain()
        return sum(s.accepted for s in marks), sum(s.changed for s in marks), delivered

    async def drain(self) -> int:
        delivered = 0
        for _ in range(MAX_DRAIN_PASSES):
            summary = await self.dispatcher.dispatch_once()
            delivered += summary.delivered
            if summary.dead:
                raise RuntimeError("a delivery became a dead letter: see `hub dlq list`")
            if not summary.claimed:
                break
        return delivered

    async def discrepancies(self, upn: str, kind: DiscrepancyKind) -> list:  # type: ignore[type-arg]
        async with self.runtime.sessions() as session:
            return await DiscrepancyRepository(session).find(upn=upn, kind=kind)

    async def notifications(self, upn: str, kind: NotificationKind) -> list[Notification]:
        async with self.runtime.sessions() as session:
            return await NotificationRepository(session).find(upn=upn, kind=kind)

    # -- the story ----------------------------------------------------------------------------

    async def setup(self) -> None:
        world, la = self.world, self.world.la
        async with self.runtime.sessions.begin() as session:
            for s in la.settings:
                await SettingRepository(session).upsert(s)
            for cal in la.calendars:
                await CalendarRepository(session).replace(cal)
        loaded = [
            i for i in self.runtime.plugins.inventory() if i.status == "loaded" and i.adapters
        ]
        self.say(
            f"Found {len(loaded)} adapter plugins through the attendance_hub.plugins entry "
            f"points: {', '.join(i.name for i in loaded)}."
        )
        self.say(
            f"{SYNTHETIC_LA_NAME}: {len(la.settings)} settings (two primaries, a secondary, a "
            f"PRU, an EOTAS provider), {len(la.learners)} learners, {len(la.dual_registered)} "
            f"dual-registered at their school and the PRU, {len(la.placements)} with an EOTAS "
            "placement the LA holds in One."
        )
        self.say(
            f"Emulators on loopback: {len(world.sims)} SIMS (one per school and the PRU), One, "
            "MyConcern and a partner inbox. The hub knows them only through its connections: "
            f"{', '.join(c.name for c in self.runtime.settings.connections)}."
        )
        self.say(
            "Write-back is automatic for "
            f"{', '.join(self.runtime.settings.reconcile.auto_write_kinds)}; "
            "every other finding stays a proposal for a person to act on.\n"
        )

    async def run_day(self, index: int, day: dt.date) -> None:
        world = self.world
        self.clock.set_day(day)
        entered = world.mark_day(day)
        read, changed, delivered = await self.engine_pass()
        again = (0, 0, 0)
        if delivered:
            again = await self.engine_pass()  # the next poll reads back what was written
        self.say(
            f"[bold]{_day(day)}[/bold] (school day {index + 1}): {sum(entered.values())} marks "
            f"entered in {len(entered)} SIMS registers; the hub read {read + again[0]} "
            f"({changed + again[1]} changed) and made {delivered + again[2]} deliveries."
        )
        if index == 0:
            await self._eotas_known()
        if index == 1:
            await self._d_written_back(day)
        if index == 2:
            await self._absence_shared(day)
        if index == 3:
            await self._b_unscheduled(day)
        if index == 4:
            await self._looked_after_alert(day)
        if index == 5:
            await self._ehe_deletion(day)
        if index == 9:
            await self._cme_referral(day)
            await self._twenty_day_refused(day)

    async def _eotas_known(self) -> None:
        upn = self.world.cast.eotas
        slots = next(p for p in self.world.la.placements if p.upn == upn).sessions
        when = ", ".join(f"{dt.date(2025, 11, 3 + s.weekday):%a} {s.session.value}" for s in slots)
        self.say(
            f"  The hub read {len(self.world.la.placements)} EOTAS placements from One, e.g. "
            f"{self.world.learner(upn).family_name}'s: "
            f"{when}."
        )

    async def _d_written_back(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.attends_pru
        school = world.home(upn)
        found = await self.discrepancies(upn, DiscrepancyKind.DUAL_MISSING_MARK)
        today = [d for d in found if d.date == day]
        in_sims = [
            m.code for m in world.sims[school].marks.values() if m.upn == upn and m.date == day
        ]
        resolved = sum(d.status.value == "resolved" for d in today)
        self.say(
            f"  (a) {world.learner(upn).family_name} attended the PRU both sessions; "
            f"{world.name(school)} left its register blank. After the 14:30 deadline the hub "
            f"raised {len(today)} dual_missing_mark findings (WG seed 000 line 565: a "
            "dual-registered pupil attending the other setting is marked D) and, as "
            f"dual_missing_mark is auto-written, wrote D back through the school's SIMS: the "
            f"school's SIMS now holds {'/'.join(in_sims) or 'nothing'} for {_day(day)}. "
            f"On the next sync the hub read the D back and {resolved} of {len(today)} findings "
            "were resolved."
        )

    async def _absence_shared(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.absent_at_pru
        found = [
            d
            for d in await self.discrepancies(upn, DiscrepancyKind.DUAL_ABSENCE_NOT_SHARED)
            if d.date == day
        ]
        notices = await self.notifications(upn, NotificationKind.DUAL_ABSENCE_NOTICE)
        proposals = [f"{a.code} at {a.setting_id}" for d in found for a in d.proposed_actions]
        received = [n for n in world.inbox if n.get("upn") == upn]
        self.say(
            f"  (b) {world.learner(upn).family_name} was due at the PRU this morning and was off "
            f"ill (I), but the school marked D. The hub raised {len(found)} "
            "dual_absence_not_shared finding (WG seed 000 lines 567-569: both settings record "
            f"the absence), proposing {', '.join(proposals) or 'the matching absence code'}, and "
            f"sent {len(notices)} dual_absence_notice; the partner inbox received "
            f"{len(received)}."
        )

    async def _b_unscheduled(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.eotas
        found = [
            d for d in await self.discrepancies(upn, DiscrepancyKind.B_UNSCHEDULED) if d.date == day
        ]
        proposals = [a.code for d in found for a in d.proposed_actions]
        self.say(
            f"  (c) {world.learner(upn).family_name} was marked B (off-site education) this "
            "morning, but the EOTAS placement schedules nothing then. The hub flagged "
            f"{len(found)} b_unscheduled finding (WG seed 000 lines 575-579: B must not mask a "
            f"session with no delivery; in Wales code C) proposing {', '.join(proposals)}; it "
            "stays a proposal for the school to act on."
        )

    async def _looked_after_alert(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.looked_after
        alerts = await self.notifications(upn, NotificationKind.SAFEGUARDING_ALERT)
        concerns = [c for c in world.myconcern.concerns.values() if c["subject"]["upn"] == upn]
        due = ", ".join(f"{a.due_by:%a %d %b %H:%M} UTC" for a in alerts if a.due_by)
        self.say(
            f"  (g) {world.learner(upn).family_name}, a looked-after child, was marked N (no "
            f"reason yet) this morning. The hub sent {len(alerts)} safeguarding_alert, due by "
            f"{due} (seed 001 lines 185-188: concerns about a looked-after child within 24 "
            f"hours); MyConcern now holds {len(concerns)} concern for the pupil "
            f"({', '.join(c['status'] for c in concerns)})."
        )

    async def _decide(self, request: RollDeletionRequest) -> RollDeletionDecision:
        async with self.runtime.sessions.begin() as session:
            decision = await request_deletion(
                session,
                request,
                settings=self.runtime.settings.deletions,
                sink=self.sink,
                actor=ACTOR,
                now=self.clock(),
            )
        await self.drain()
        return decision

    async def _ehe_deletion(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.ehe
        school = world.home(upn)
        decision = await self._decide(
            RollDeletionRequest(
                upn=upn,
                setting_id=school,
                ground="wales-2010:8(1)(d)",
                effective_date=day,
                evidence={"parent_written_notice": True, "ceased_to_attend": True},
            )
        )
        self.decisions["ehe"] = decision
        if decision.decision is DecisionOutcome.ALLOWED:
            world.left[upn] = day
        returns = await self.notifications(upn, NotificationKind.DELETION_RETURN)
        received = [
            s
            for s in world.one.submissions.values()
            if s.body["type"] == "deletion_return"
            and any(x["upn"] == upn for x in s.body["learners"])
        ]
        due = returns[0].due_by.date() if returns and returns[0].due_by else None
        self.say(
            f"  (e) {world.name(school)} asked to take {world.learner(upn).family_name} off roll "
            "on the parent's written notice of elective home education (Wales reg 8(1)(d)): "
            f"{decision.decision.value}. The registration ends {_day(day)}; the deletion return "
            f"went to One ({len(received)} received, acknowledgement "
            f"{received[0].ack['ack_id'] if received else 'none'}), due {due} — 10 school days "
            "after the deletion (Wales reg 12(3))."
        )

    async def _cme_referral(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.cme
        referrals = await self.notifications(upn, NotificationKind.CME_REFERRAL)
        received = [s for s in world.one.submissions.values() if s.body["type"] == "cme_referral"]
        enquiries = world.one.streams["cme-enquiries"]
        concerns = [c for c in world.myconcern.concerns.values() if c["subject"]["upn"] == upn]
        self.say(
            f"  (f) {world.learner(upn).family_name} has been absent without a reason (N) every "
            f"session for 10 school days. On the 10th day the hub referred the pupil as a child "
            f"possibly missing education: {len(referrals)} cme_referral, received by One "
            f"({len(received)} referral, {len(enquiries)} CME enquiry opened), and "
            f"{len(concerns)} concern raised in MyConcern (Wales reg 12(1)(b); seed 001 line 181: "
            "notify on the tenth day and update MyConcern)."
        )

    async def _twenty_day_refused(self, day: dt.date) -> None:
        world, upn = self.world, self.world.cast.cme
        school = world.home(upn)
        decision = await self._decide(
            RollDeletionRequest(
                upn=upn,
                setting_id=school,
                ground="wales-2010:8(1)(h)",
                effective_date=day,
                evidence={"school_enquiries_failed": True, "la_enquiries_failed": True},
            )
        )
        self.decisions["twenty_day"] = decision
        self.say(
            f"  (d) {world.name(school)} then asked to delete the same pupil on the 20-school-day "
            f"absence ground (Wales reg 8(1)(h)): {decision.decision.value}."
        )
        for reason in decision.reasons:
            self.say(f"      - {reason.message} [{reason.citation}]")


async def run_demo(
    settings: HubSettings,
    *,
    serve_api: bool = True,
    console: Console | None = None,
    on_ready: Callable[[DemoResult], Awaitable[None]] | None = None,
) -> int:
    """Run the story, then serve the API until Ctrl-C (or, without `serve_api`, stop once it
    answers). `on_ready` runs while the API and the emulators are up (tests assert there)."""
    out = console or Console(highlight=False, soft_wrap=True)
    say = out.print
    started_at = time.monotonic()
    say("[bold]attendance-hub demo[/bold] — everything on loopback, synthetic data only\n")
    world = await start_world()
    runtime = await HubRuntime.open(demo_settings(settings, world), migrate_now=True)
    story = Story(runtime, world, say)
    try:
        await story.setup()
        say("A fortnight of registers in compressed time (the hub's day ends 16:00 UTC):")
        for index, day in enumerate(world.days):
            await story.run_day(index, day)
        await _summary(story, say)
        story_seconds = time.monotonic() - started_at
        say(f"\nThe story took {story_seconds:.1f} s.")

        async with runtime.sessions.begin() as session:
            token, _info = await TokenRepository(session).create(
                name="demo-admin", scopes=["admin"], expires_at=None, now=dt.datetime.now(dt.UTC)
            )
        stop = None if serve_api else asyncio.Event()

        async def started(url: str) -> None:
            async with aiohttp.ClientSession() as client:
                health = await (await client.get(f"{url}/healthz")).json()
                ready = await (await client.get(f"{url}/readyz")).json()
            say(
                f"\nAPI serving at {url}: /healthz {health['status']}, /readyz "
                f"{ready['status']}; try {url}/v1/discrepancies and {url}/v1/notifications."
            )
            say(f"Admin token (stored hashed; shown once): {token}")
            for name, emulator_url in world.urls.items():
                say(f"  {name}: {emulator_url}")
            if on_ready is not None:
                await on_ready(DemoResult(url, token, world, dict(story.decisions), story_seconds))
            if stop is None:
                say("Press Ctrl-C to stop.")
            else:
                stop.set()

        await serve(runtime, on_started=started, stop=stop)
    except ListenError as exc:
        say(f"[red]{exc.strerror}[/red] — choose another port with --port")
        return 1
    finally:
        await story.close()
        await runtime.close()
        await world.close()
    say("Demo finished.")
    return 0


async def _summary(story: Story, say: Callable[[str], None]) -> None:
    async with story.runtime.sessions() as session:
        found = await DiscrepancyRepository(session).find()
        notes = await NotificationRepository(session).find()
    by_kind: dict[str, list[int]] = {}
    for d in found:
        counts = by_kind.setdefault(d.kind.value, [0, 0])
        counts[0 if d.status.value == "open" else 1] += 1
    delivered: dict[str, int] = {}
    for n in notes:
        if n.status.value == "delivered":
            delivered[n.kind.value] = delivered.get(n.kind.value, 0) + 1
    writes = sum(s.applied_writes for s in story.world.sims.values())
    say("\nOver the fortnight:")
    say(
        "  findings: "
        + ", ".join(f"{k} {o} open / {r} resolved" for k, (o, r) in sorted(by_kind.items()))
    )
    say(
        f"  notifications delivered: {', '.join(f'{k} {n}' for k, n in sorted(delivered.items()))}"
        f" (of {len(notes)} raised); {writes} write-back request(s) applied by SIMS."
    )
    say(
        "  (The resolved dual_missing_mark and d_without_dual_registration findings are the "
        "schools' D marks read before the PRU's register and roll in the same pass: each was "
        "resolved as soon as the PRU's side arrived.)"
    )
