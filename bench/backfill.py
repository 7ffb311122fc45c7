"""Backfill benchmark: `hub backfill --from 2025-09-01` of a synthetic LA's school year from one
SIMS emulator per school (`bench.sims_farm`, in its own process), through the real CLI in a
subprocess on SQLite. Prints marks/s, the backfill's peak RSS (target < 512 MB) and the time a
25,000-learner LA (about 9.5 million marks) would take at the measured rate.

    python -m bench backfill --learners 2500        # ~1M marks
    python -m bench backfill --quick                # 60 learners, a month: the smoke test
    python -m bench backfill --learners 500 --interrupt-after 5   # SIGINT, then resume

The hub's reference data (learners, rolls, calendars) is loaded first, as a sync of the
learner and roll streams would have; the timed part is the backfill of marks alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.sims_farm import CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION_KEY
from bench.synthetic import BenchLa, bench_la
from hub.ingest import ingest_reference
from hub.store import CalendarRepository, create_engine, session_factory, upgrade
from hub_contracts import NotificationKind

HUB = Path(sys.executable).with_name("hub")
FROM = dt.date(2025, 9, 1)
TO = dt.date(2026, 7, 31)
#: The issue's LA: 25,000 learners, about 9.5 million marks in a school year.
TARGET_LEARNERS = 25_000
TARGET_MARKS = 9_500_000
TARGET_RSS_MB = 512
QUICK = {"learners": 60, "settings": 4, "days": 20}
ENV = {"BENCH_SIMS_SECRET": CLIENT_SECRET, "BENCH_SIMS_KEY": SUBSCRIPTION_KEY}


def settings_for(learners: int) -> int:
    """Settings in an LA of this size: about 650 learners a school, plus a PRU and a provider."""
    return max(4, min(60, learners // 650 + 2))


def hub_toml(database_url: str, schools: list[dict[str, str]]) -> str:
    conns = "\n".join(
        f"""
[[connections]]
name = "sims-{s["setting_id"]}"
plugin = "sims"
setting_ids = ["{s["setting_id"]}"]
base_url = "{s["base_url"]}/ssli01"
token_url = "{s["base_url"]}/connect/token"
client_id = "{CLIENT_ID}"
client_secret = "env:BENCH_SIMS_SECRET"
subscription_key = "env:BENCH_SIMS_KEY"
school_id = "{s["setting_id"]}"
"""
        for s in schools
    )
    routes = "\n".join(
        f'[[routes]]\nkind = "{kind.value}"\nconnections = ["la-hook"]\n'
        for kind in NotificationKind
    )
    return f"""
database_url = "{database_url}"
auto_migrate = true

[logging]
level = "WARNING"

[[connections]]
name = "la-hook"
plugin = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "env:BENCH_SIMS_SECRET"
{conns}
{routes}
"""


async def load_reference(database_url: str, la: BenchLa) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as s:
            await ingest_reference(s, la.reference(), now=dt.datetime(2025, 8, 31, tzinfo=dt.UTC))
            for calendar in la.calendars:
                await CalendarRepository(s).replace(calendar)
    finally:
        await engine.dispose()


@dataclass
class Farm:
    proc: subprocess.Popen[str]
    schools: list[dict[str, str]]
    marks: int

    def cpu_seconds(self) -> float:
        """The farm's CPU time so far (Linux /proc), 0 where that is not available."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def start_farm(learners: int, settings: int, days: int | None) -> Farm:
    command = [sys.executable, "-m", "bench.sims_farm", "--learners", str(learners)]
    command += ["--settings", str(settings)]
    if days is not None:
        command += ["--days", str(days)]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        Farm(proc, [], 0).stop()
        raise RuntimeError(f"the SIMS emulator farm exited ({proc.returncode}) before serving")
    info = json.loads(line)
    return Farm(proc, info["schools"], int(info["marks"]))


@dataclass
class Pass:
    seconds: float
    returncode: int
    output: str
    #: CPU seconds the `hub backfill` process used (user + system).
    cpu: float = 0.0

    @property
    def peak_rss_mb(self) -> float:
        found = re.findall(r"peak RSS ([\d,]+) MB", self.output)
        return float(found[-1].replace(",", "")) if found else 0.0


def backfill_pass(
    config: Path, *, interrupt_after: float | None = None, profile: Path | None = None
) -> Pass:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | ENV
    command = [str(HUB), "backfill", "--from", FROM.isoformat(), "--to", TO.isoformat()]
    if profile is not None:  # the same command under pyinstrument, its report in `profile`
        command = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(profile), *command]
    command += ["--config", str(config)]
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        command,
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=interrupt_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Pass(time.perf_counter() - start, proc.returncode, out, cpu)


def stored_marks(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        current = db.execute("SELECT count(*) FROM current_marks").fetchone()[0]
        entries = db.execute("SELECT count(*) FROM marks").fetchone()[0]
    return int(current), int(entries)


def run(
    learners: int,
    *,
    settings: int | None = None,
    days: int | None = None,
    interrupt_after: float | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    settings = settings or settings_for(learners)
    la = bench_la(settings=settings, learners=learners)
    farm = start_farm(learners, settings, days)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "hub.db"
            url = f"sqlite+aiosqlite:///{db}"
            asyncio.run(load_reference(url, la))
            config = Path(tmp) / "hub.toml"
            config.write_text(hub_toml(url, farm.schools), encoding="utf-8")
            farm_cpu = farm.cpu_seconds()
            passes = [backfill_pass(config, interrupt_after=interrupt_after, profile=profile)]
            if interrupt_after is not None:
                passes.append(backfill_pass(config))  # resumes from the committed cursors
            current, entries = stored_marks(db)
            farm_cpu = farm.cpu_seconds() - farm_cpu
    finally:
        farm.stop()
    last = passes[-1]
    if last.returncode != 0:
        raise RuntimeError(f"hub backfill failed ({last.returncode}):\n{last.output[-3000:]}")
    seconds = sum(p.seconds for p in passes)
    rate = farm.marks / seconds
    hub_cpu = sum(p.cpu for p in passes)
    result = {
        "learners": learners,
        "settings": settings,
        "connections": len(farm.schools),
        "marks": farm.marks,
        "stored_current": current,
        "stored_entries": entries,
        "seconds": seconds,
        "marks_per_s": rate,
        "peak_rss_mb": max(p.peak_rss_mb for p in passes),
        "passes": len(passes),
        "interrupted_first": passes[0].returncode != 0,
        "emulator_cpu_s": farm_cpu,
        "hub_cpu_s": hub_cpu,
        "hub_cpu_us_per_mark": hub_cpu / farm.marks * 1e6,
        "extrapolated_25k_minutes": TARGET_MARKS / rate / 60,
        "extrapolated_25k_hub_cpu_minutes": TARGET_MARKS * hub_cpu / farm.marks / 60,
    }
    rss = result["peak_rss_mb"]
    print(
        f"backfill {farm.marks:,} marks ({learners:,} learners, {len(farm.schools)} SIMS "
        f"connections) in {seconds:,.1f}s: {rate:,.0f} marks/s; peak RSS {rss:,.0f} MB "
        f"(target < {TARGET_RSS_MB} MB: {'met' if rss < TARGET_RSS_MB else 'MISSED'}); "
        f"the hub used {hub_cpu:,.0f}s CPU ({result['hub_cpu_us_per_mark']:,.0f} µs a mark), "
        f"the emulators {farm_cpu:,.0f}s of the same machine"
    )
    if interrupt_after is not None:
        print(
            f"backfill resumed after SIGINT at {interrupt_after:g}s: {len(passes)} passes, "
            f"{current:,} marks stored of {farm.marks:,} served ({entries:,} entries)"
        )
    print(
        f"backfill extrapolated to {TARGET_LEARNERS:,} learners (~{TARGET_MARKS:,} marks): "
        f"{result['extrapolated_25k_minutes']:,.0f} minutes at this rate; "
        f"{result['extrapolated_25k_hub_cpu_minutes']:,.0f} minutes of the hub's own CPU"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench backfill")
    parser.add_argument("--learners", type=int, default=2_500)
    parser.add_argument("--settings", type=int, default=None)
    parser.add_argument("--days", type=int, default=None, help="school days of marks (a year)")
    parser.add_argument("--interrupt-after", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--quick", action="store_true", help="60 learners, 20 school days")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a pyinstrument report of the hub here"
    )
    args = parser.parse_args(argv)
    if args.quick:
        run(QUICK["learners"], settings=QUICK["settings"], days=QUICK["days"])
        return 0
    run(
        args.learners,
        settings=args.settings,
        days=args.days,
        interrupt_after=args.interrupt_after,
        profile=args.profile,
    )
    return 0
