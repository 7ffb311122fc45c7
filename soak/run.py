"""The crash soak: emulators with faults on loopback, `hub run` killed with SIGKILL at random
moments and restarted, then drained without faults and checked for loss and duplication."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from hub.store import CalendarRepository, SettingRepository, create_engine, session_factory, upgrade
from hub.testing.emulator import serve_emulator
from hub.testing.faults import Fault, FaultPlan
from hub_contracts import SchoolCalendar, Setting
from hub_cpoms.emulator import CPOMS_FAULTS, CPOMS_STATE, StudentRecord
from hub_cpoms.emulator import DEFAULT_TOKEN as CPOMS_TOKEN
from hub_cpoms.emulator import create_app as cpoms_app
from hub_myconcern.emulator import DEFAULT_TOKEN as MC_TOKEN
from hub_myconcern.emulator import MYCONCERN_FAULTS, MYCONCERN_STATE, Pupil
from hub_myconcern.emulator import create_app as myconcern_app
from hub_one.emulator import DEFAULT_API_KEY, ONE_FAULTS, ONE_STATE
from hub_one.emulator import create_app as one_app
from hub_sims.emulator import FAULTS as SIMS_FAULTS
from hub_sims.emulator import build_app as sims_app
from soak.receivers import (
    HOOK_FAULTS,
    WEBHOOK_SECRET,
    Applied,
    WebhookReceiver,
    header_key,
    json_key,
    recorder,
    webhook_app,
)
from soak.world import DOB, PRU, SCHOOL, World, add_marks, build_world

HUB = Path(sys.executable).with_name("hub")
FAULT_KINDS = (
    Fault.TIMEOUT,
    Fault.RATE_LIMIT,
    Fault.SERVER_ERROR,
    Fault.RESET,
    Fault.MALFORMED,
    Fault.TRUNCATED,
)
DRAIN_TIMEOUT = 150.0
STOP_TIMEOUT = 30.0
QUIET_SECONDS = 6.0


@dataclass(frozen=True)
class SoakOptions:
    seconds: float = 150.0
    kills: int = 40
    seed: int = 20250610
    ratio: float = 0.2
    quick: bool = False
    keep: bool = False


@dataclass
class Emulator:
    name: str
    runner: web.AppRunner
    url: str
    plan: FaultPlan
    applied: Applied


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, label: str, detail: str = "") -> None:
        status = "ok  " if ok else "FAIL"
        self.lines.append(f"  [{status}] {label}" + (f" — {detail}" if detail and not ok else ""))
        if not ok:
            self.failures.append(f"{label}: {detail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`hub run` as a real subprocess; every run appends to one log file."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.log = workdir / "hub.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                str(HUB),
                "run",
                "--config",
                "hub.toml",
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def stop(self, sig: int, wait: float = STOP_TIMEOUT) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            async with asyncio.timeout(wait):
                return await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return -999

    def started(self) -> bool:
        """The current process has logged hub_started."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return '"hub_started"' in text.rpartition(f"--- start {self.starts} ---")[2]

    async def wait_started(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and self.running:
            if self.started():
                return True
            await asyncio.sleep(0.05)
        return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


def _setting(sid: str, kind: str) -> Setting:
    return Setting(
        id=sid,
        name=f"Synthetic {kind}",
        kind=kind,  # type: ignore[arg-type]
        jurisdiction="wales",  # type: ignore[arg-type]
        la_code="999",
        maintained=True,
    )


async def _seed_db(url: str, world: World) -> None:
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            for sid, kind in ((SCHOOL, "mainstream"), (PRU, "pru")):
                await SettingRepository(session).upsert(_setting(sid, kind))
                await CalendarRepository(session).replace(
                    SchoolCalendar(setting_id=sid, school_days=tuple(world.days))
                )
    finally:
        await engine.dispose()


def _config(db: Path, port: int, emulators: dict[str, Emulator], world: World) -> str:
    sims = "\n".join(
        f"""
[[connections]]
name = "sims-{sid}"
plugin = "sims"
setting_ids = ["{sid}"]
poll_interval_seconds = 1.0
base_url = "{emulators[sid].url}/ssli01"
token_url = "{emulators[sid].url}/connect/token"
client_id = "{state.client_id}"
client_secret = "env:SOAK_SIMS_SECRET"
subscription_key = "env:SOAK_SIMS_KEY"
school_id = "{sid}"
attendance_from = "{world.days[0].isoformat()}"
attendance_to = "{world.days[-1].isoformat()}"
"""
        for sid, state in world.states.items()
    )
    return f"""
database_url = "sqlite+aiosqlite:///{db}"
auto_migrate = true
worker_id = "soak-hub"

[api]
host = "127.0.0.1"
port = {port}

[sync]
lease_seconds = 10

[outbox]
batch_size = 20
lease_seconds = 10
poll_interval_seconds = 0.2
max_attempts = 200
backoff_initial_seconds = 0.1
backoff_max_seconds = 2.0

[reconcile]
auto_write_kinds = ["dual_missing_mark"]
{sims}
[[connections]]
name = "la-one"
plugin = "one"
poll_interval_seconds = 1.0
base_url = "{emulators["one"].url}/v1"
api_key = "env:SOAK_ONE_KEY"
la_code = "999"
http_timeout = 2

[[connections]]
name = "la-myconcern"
plugin = "myconcern"
base_url = "{emulators["myconcern"].url}/api/v1"
api_token = "env:SOAK_MC_TOKEN"
http_timeout = 2

[[connections]]
name = "la-cpoms"
plugin = "cpoms"
base_url = "{emulators["cpoms"].url}/api"
api_token = "env:SOAK_CPOMS_TOKEN"
http_timeout = 2

[[connections]]
name = "la-hook"
plugin = "webhook"
url = "{emulators["webhook"].url}/hook"
secret = "env:SOAK_WEBHOOK_SECRET"
timeout_seconds = 2

[[routes]]
kind = "cme_referral"
connections = ["la-one"]

[[routes]]
kind = "safeguarding_alert"
connections = ["la-myconcern", "la-cpoms"]

[[routes]]
kind = "dual_absence_notice"
connections = ["la-hook"]
"""


async def _start_emulators(world: World) -> dict[str, Emulator]:
    emulators: dict[str, Emulator] = {}
    for sid, state in world.states.items():
        app = sims_app(state)
        applied = Applied(f"sims-{sid}")
        app.middlewares.append(
            recorder(
                applied,
                method="POST",
                path_suffix="/SessionAttendances",
                size=lambda s=state: s.applied_writes,  # type: ignore[misc]
                key=header_key,
            )
        )
        runner, url = await serve_emulator(app)
        emulators[sid] = Emulator(f"sims-{sid}", runner, url, app[SIMS_FAULTS], applied)

    app = one_app()
    one = app[ONE_STATE]
    applied = Applied("one")
    app.middlewares.append(
        recorder(
            applied,
            method="POST",
            path_suffix="",
            size=lambda: len(one.submissions),
            key=header_key,
        )
    )
    runner, url = await serve_emulator(app)
    emulators["one"] = Emulator("one", runner, url, app[ONE_FAULTS], applied)

    pupils = [Pupil(p.upn, p.full_name, DOB) for p in world.runaways]
    app = myconcern_app(pupils=pupils)
    mc = app[MYCONCERN_STATE]
    applied = Applied("myconcern")
    app.middlewares.append(
        recorder(
            applied,
            method="POST",
            path_suffix="/concerns",
            size=lambda: len(mc.concerns),
            key=json_key("external_reference"),
        )
    )
    runner, url = await serve_emulator(app)
    emulators["myconcern"] = Emulator("myconcern", runner, url, app[MYCONCERN_FAULTS], applied)

    students = [
        StudentRecord(600 + n, p.upn, p.forename, p.surname, DOB)
        for n, p in enumerate(world.runaways)
    ]
    app = cpoms_app(students=students)
    cp = app[CPOMS_STATE]
    applied = Applied("cpoms")
    app.middlewares.append(
        recorder(
            applied,
            method="POST",
            path_suffix="/incidents",
            size=lambda: len(cp.incidents),
            key=json_key("data", "external_ref"),
        )
    )
    runner, url = await serve_emulator(app)
    emulators["cpoms"] = Emulator("cpoms", runner, url, app[CPOMS_FAULTS], applied)

    hook = WebhookReceiver()
    app = webhook_app(hook)
    runner, url = await serve_emulator(app)
    emulators["webhook"] = Emulator("webhook", runner, url, app[HOOK_FAULTS], hook.applied)
    return emulators


def _faults(emulators: dict[str, Emulator], ratio: float, seed: int) -> None:
    for n, emulator in enumerate(emulators.values()):
        emulator.plan.configure(
            ratio=ratio,
            kinds=FAULT_KINDS,
            retry_after=1,
            timeout_seconds=3.0,
            seed=seed + n,
        )


def _db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _fingerprint(path: Path, world: World) -> tuple[int, ...]:
    with contextlib.closing(_db(path)) as db:
        row = db.execute(
            """SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
                      (SELECT count(*) FROM marks), (SELECT count(*) FROM outbox),
                      (SELECT count(*) FROM notifications),
                      (SELECT count(*) FROM discrepancies WHERE status != 'resolved')"""
        ).fetchone()
    return (*row, world.school.applied_writes, world.pru.applied_writes)


async def _drain(path: Path, world: World, hub: HubProcess) -> tuple[bool, float]:
    """Wait until no outbox row is pending and nothing changed for QUIET_SECONDS."""
    started = time.monotonic()
    last: tuple[int, ...] | None = None
    quiet_since = time.monotonic()
    while time.monotonic() - started < DRAIN_TIMEOUT:
        await asyncio.sleep(1.0)
        if not hub.running:
            return False, time.monotonic() - started
        try:
            now = await asyncio.to_thread(_fingerprint, path, world)
        except sqlite3.OperationalError:
            continue
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif now[0] == 0 and time.monotonic() - quiet_since >= QUIET_SECONDS:
            return True, time.monotonic() - started
    return False, time.monotonic() - started


def _outbox_key(received: str, keys: set[str]) -> str | None:
    """The outbox key a receiver's key belongs to: itself, or (a SIMS write sent in chunks)
    the key before its last ``:<chunk>``."""
    if received in keys:
        return received
    head, _, chunk = received.rpartition(":")
    return head if chunk.isdigit() and head in keys else None


def _applied_for(applied: Applied, key: str) -> int:
    """Applications of outbox `key` at its receiver (the first chunk stands for a write)."""
    return applied.per_key.get(key, 0) or applied.per_key.get(f"{key}:0", 0)


def _check(
    path: Path, world: World, emulators: dict[str, Emulator], report: Report
) -> dict[str, int]:
    figures: dict[str, int] = {}
    with contextlib.closing(_db(path)) as db:
        # --- marks -------------------------------------------------------------------------
        total_marks = 0
        for sid, state in world.states.items():
            expected = {
                (m.upn, m.date.isoformat(), m.session): m.code for m in state.marks.values()
            }
            rows = db.execute(
                "SELECT upn, date, session, code FROM current_marks WHERE setting_id = ?", (sid,)
            ).fetchall()
            stored: dict[tuple[str, str, str], str] = {}
            repeated = 0
            for upn, day, session, code in rows:
                cell = (upn, str(day)[:10], session)
                repeated += cell in stored
                stored[cell] = code
            missing = expected.keys() - stored.keys()
            extra = stored.keys() - expected.keys()
            wrong = [c for c in expected.keys() & stored.keys() if expected[c] != stored[c]]
            total_marks += len(expected)
            report.check(
                not missing and not extra and not wrong and not repeated,
                f"marks {sid}: {len(expected)} in SIMS, {len(stored)} current in the hub",
                f"missing {len(missing)}, extra {len(extra)}, wrong code {len(wrong)}, "
                f"repeated {repeated}" + (f"; e.g. {sorted(missing)[:2]}" if missing else ""),
            )
        history_dups = db.execute(
            """SELECT count(*) FROM (SELECT 1 FROM marks GROUP BY setting_id, upn, date,
               session, code, source_ref, recorded_at HAVING count(*) > 1)"""
        ).fetchone()[0]
        report.check(
            history_dups == 0,
            "mark history: no SIMS mark version stored twice",
            f"{history_dups} versions stored more than once",
        )
        figures["marks"] = total_marks
        # --- outbox vs receivers ------------------------------------------------------------
        by_conn: dict[str, Applied] = {
            f"sims-{SCHOOL}": emulators[SCHOOL].applied,
            f"sims-{PRU}": emulators[PRU].applied,
            "la-one": emulators["one"].applied,
            "la-myconcern": emulators["myconcern"].applied,
            "la-cpoms": emulators["cpoms"].applied,
            "la-hook": emulators["webhook"].applied,
        }
        rows = db.execute(
            "SELECT id, kind, connection, idempotency_key, status FROM outbox"
        ).fetchall()
        reasons = dict(db.execute("SELECT outbox_id, reason FROM dead_letters").fetchall())
        statuses: Counter[str] = Counter()
        outbox_keys: dict[str, set[str]] = {c: set() for c in by_conn}
        lost: list[str] = []
        dead_no_reason: list[str] = []
        dead_but_applied: list[str] = []
        other_pending: list[str] = []
        for outbox_id, kind, conn, key, status in rows:
            statuses[f"{kind}:{status}"] += 1
            applied = by_conn.get(conn or "")
            if applied is not None:
                outbox_keys[conn].add(key)
            count = _applied_for(applied, key) if applied is not None else None
            if status == "delivered":
                if count == 0:
                    lost.append(f"{conn} {key}")
            elif status == "dead":
                if not reasons.get(outbox_id):
                    dead_no_reason.append(f"{conn} {key}")
                if count:
                    dead_but_applied.append(f"{conn} {key}")
            else:
                other_pending.append(f"{conn} {key} {status}")
        report.check(
            not other_pending, "outbox: every row delivered or dead", str(other_pending[:3])
        )
        report.check(not lost, "delivered rows were applied by their receiver", str(lost[:3]))
        report.check(not dead_no_reason, "dead letters carry a reason", str(dead_no_reason[:3]))
        report.check(
            not dead_but_applied,
            "no dead letter was in fact applied by its receiver",
            str(dead_but_applied[:3]),
        )
        for conn, applied in by_conn.items():
            unknown = {k for k in applied.per_key if _outbox_key(k, outbox_keys[conn]) is None}
            report.check(
                not applied.duplicates and not unknown,
                f"{applied.name}: {sum(applied.per_key.values())} applied, "
                f"{len(applied.per_key)} keys, {applied.requests} requests",
                f"duplicated keys {len(applied.duplicates)}, keys not in the outbox "
                f"{len(unknown)}" + (f" e.g. {sorted(unknown)[:2]}" if unknown else ""),
            )
        figures["outbox_rows"] = len(rows)
        figures["dead_letters"] = len(reasons)
        figures["writes"] = sum(by_conn[f"sims-{s}"].per_key.total() for s in (SCHOOL, PRU))
        # --- notifications ------------------------------------------------------------------
        notes = db.execute("SELECT id, kind, status FROM notifications").fetchall()
        routed = {"cme_referral": 1, "safeguarding_alert": 2, "dual_absence_notice": 1}
        per_note: Counter[str] = Counter()
        for (payload_note,) in db.execute(
            "SELECT json_extract(payload, '$.notification_id') FROM outbox"
        ).fetchall():
            if payload_note:
                per_note[payload_note] += 1
        kinds = Counter(kind for _, kind, _ in notes)
        figures["notifications"] = len(notes)
        for kind in routed:
            report.check(
                kinds[kind] > 0, f"notifications of kind {kind}: {kinds[kind]}", "none were raised"
            )
        if per_note:
            bad = [
                (nid, kind, per_note[nid])
                for nid, kind, _ in notes
                if kind in routed and per_note[nid] != routed[kind]
            ]
            report.check(
                not bad,
                "each routed notification has one outbox row per route",
                str(bad[:3]),
            )
        figures["delivered"] = sum(n for k, n in statuses.items() if k.endswith(":delivered"))
        report.lines.append(f"  outbox by kind:status: {dict(sorted(statuses.items()))}")
        # --- cursors ------------------------------------------------------------------------
        cursors = db.execute("SELECT connection, stream, cursor FROM sync_cursors").fetchall()
        conns = {c for c, _, _ in cursors}
        wanted = {f"sims-{SCHOOL}", f"sims-{PRU}", "la-one"}
        empty = [(c, s) for c, s, cur in cursors if not cur]
        report.check(
            wanted <= conns and not empty,
            f"cursors: {len(cursors)} stored for {sorted(conns)}",
            f"missing connections {sorted(wanted - conns)}, empty {empty[:3]}",
        )
        figures["cursors"] = len(cursors)
    return figures


async def run_soak(options: SoakOptions) -> int:
    rng = random.Random(options.seed)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="hub-soak-"))
    today = dt.datetime.now(dt.UTC).date()
    world = build_world(
        today=today,
        learners=150 if options.quick else 300,
        pru_learners=30 if options.quick else 60,
        duals=12 if options.quick else 24,
        runaways=6 if options.quick else 10,
        days=14,
    )
    emulators = await _start_emulators(world)
    db = workdir / "hub.db"
    report = Report()
    hub = HubProcess(workdir, {})
    kills = 0
    code = 1
    try:
        url = f"sqlite+aiosqlite:///{db}"
        await _seed_db(url, world)
        (workdir / "hub.toml").write_text(
            _config(db, _free_port(), emulators, world), encoding="utf-8"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env |= {
            "SOAK_SIMS_SECRET": world.school.client_secret,
            "SOAK_SIMS_KEY": world.school.subscription_key,
            "SOAK_ONE_KEY": DEFAULT_API_KEY,
            "SOAK_MC_TOKEN": MC_TOKEN,
            "SOAK_CPOMS_TOKEN": CPOMS_TOKEN,
            "SOAK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        hub.env = env
        _faults(emulators, options.ratio, options.seed)
        print(
            f"soak: {len(world.regular)} pupils, {len(world.pru_only)} PRU pupils, "
            f"{len(world.duals)} dual-registered, {len(world.runaways)} runaways, "
            f"{len(world.days)} days; {sum(len(s.marks) for s in world.states.values())} marks "
            f"seeded, {len(world.pending)} to add; fault ratio {options.ratio}; "
            f"{options.kills} kills over {options.seconds:.0f} s; work dir {workdir}",
            flush=True,
        )

        # --- kill phase -------------------------------------------------------------------
        stop_feeding = asyncio.Event()

        async def feed() -> None:
            feed_rng = random.Random(options.seed + 1)
            batch = max(10, len(world.pending) // max(1, int(options.seconds / 0.5) - 4))
            while not stop_feeding.is_set():
                add_marks(world, feed_rng, batch)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_feeding.wait(), 0.5)

        feeder = asyncio.create_task(feed())
        mean = options.seconds / options.kills
        during_startup = 0
        await hub.start()
        for n in range(options.kills):
            # One kill in five lands at a random moment of start-up (migrations, connection
            # checks); the rest at a random moment after the hub reports it has started.
            if rng.random() < 0.2:
                await asyncio.sleep(rng.uniform(0.05, 1.0))
                during_startup += not hub.started()
            else:
                await hub.wait_started(STOP_TIMEOUT)
                await asyncio.sleep(rng.uniform(0.2 * mean, 1.8 * mean))
            if not hub.running:
                report.check(False, f"hub alive before kill {n + 1}", "it had exited")
            await hub.stop(signal.SIGKILL)
            kills += 1
            print(
                f"  kill {n + 1}/{options.kills} at {time.monotonic() - started:.1f} s", flush=True
            )
            await hub.start()
        stop_feeding.set()
        await feeder
        while world.pending:  # the rest of the register, so the final state is complete
            add_marks(world, rng, len(world.pending))

        # --- drain without faults ---------------------------------------------------------
        injected = {name: sum(e.plan.injected.values()) for name, e in emulators.items()}
        kinds_injected: Counter[str] = Counter()
        for e in emulators.values():
            kinds_injected.update(e.plan.injected)
        for e in emulators.values():
            e.plan.configure()
        print("soak: faults off, draining", flush=True)
        quiet, drain_s = await _drain(db, world, hub)
        report.check(quiet, f"hub quiescent after faults off ({drain_s:.1f} s)", "drain timed out")
        rc = await hub.stop(signal.SIGTERM)
        report.check(rc == 0, "hub stopped cleanly on SIGTERM", f"exit code {rc}")

        figures = _check(db, world, emulators, report)
        report.check(kills >= 20, f"kills survived: {kills}", "fewer than 20")
        report.check(sum(injected.values()) > 0, "faults injected", str(injected))
        idle = [n for n, v in injected.items() if v == 0]
        if idle:  # a receiver first reached after the faults were turned off
            report.lines.append(f"  [note] no fault hit {idle} during the kill phase")
        duration = time.monotonic() - started
        print("\n".join(["soak checks:", *report.lines]))
        code = 0 if not report.failures else 1
        summary = [
            "```",
            f"soak summary ({'quick' if options.quick else 'default'}, seed {options.seed}, "
            f"fault ratio {options.ratio})",
            f"  result:                {'PASS' if code == 0 else 'FAIL'}",
            f"  kills survived:        {kills} (SIGKILL, restarted each time; "
            f"{during_startup} during start-up)",
            f"  hub starts:            {hub.starts}",
            f"  marks checked:         {figures['marks']} (exactly once as current; "
            f"{world.added} added and {world.amended} amended during the run)",
            f"  notifications checked: {figures['notifications']} "
            f"({figures['outbox_rows']} outbox rows: {figures['delivered']} delivered, "
            f"{figures['dead_letters']} dead-lettered)",
            f"  SIMS write-backs:      {figures['writes']} applied, none twice",
            f"  cursors:               {figures['cursors']}",
            f"  faults injected:       {sum(injected.values())} "
            + ", ".join(f"{k}={v}" for k, v in injected.items()),
            "  fault kinds:           "
            + ", ".join(f"{k}={v}" for k, v in sorted(kinds_injected.items())),
            f"  duration:              {duration:.0f} s (drain {drain_s:.0f} s)",
            f"  machine:               nproc {os.cpu_count()}, Python {platform.python_version()}",
            "```",
        ]
        print("\n".join(summary))
        if report.failures:
            print(f"soak: {len(report.failures)} check(s) failed; hub log {hub.log}")
    finally:
        if hub.running:
            await hub.stop(signal.SIGKILL)
        for emulator in emulators.values():
            emulator.plan.release()
            await emulator.runner.cleanup()
        if code == 0 and not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return code
