"""Ingest benchmark: register entries through the hub's real ingest path on SQLite, beside a raw
`sqlite3` `executemany` upsert of the same rows in the same run.

The hub path is what `POST /v1/marks` and a sync page do: `hub.ingest.ingest_marks` on JSON
marks, one transaction per page of 1,000 (validation against the contracts, the roll and the
code set in force, quarantine, upsert with history), with the production rules
(`hub.rules_runner.HubRules`: dual registration and EOTAS reconciliation, safeguarding
escalation, CME) writing findings, notifications and outbox rows. The marks are a synthetic
LA's school year, day by day (`bench.synthetic`); each page is ingested at 16:00 on its day,
as a daily feed would be. The raw path upserts the same rows into one keyed table.

    python -m bench ingest --marks 100000          # one size
    python -m bench ingest --growth                # 100k and 1M: per-mark cost at each
    python -m bench ingest --marks 100000 --profile out.html   # pyinstrument profile of the hub
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.synthetic import BenchLa, MarkRow, bench_la, mark_rows
from hub.ingest import ingest_marks, ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.rules_runner import HubRules
from hub.settings import HubSettings
from hub.store import CalendarRepository, create_engine, session_factory, upgrade
from hub_contracts import NotificationKind

PAGE = 1_000  # marks per transaction, as a sync page
MARKS_PER_LEARNER_YEAR = 2 * 195
LONDON = ZoneInfo("Europe/London")
GROWTH_SIZES = (100_000, 1_000_000)
#: `--quick` (the smoke test and `make bench`): the same two figures at a small scale.
QUICK_SIZES = (5_000, 20_000)
#: The issue's target: the hub path at 30% of the raw upsert rate or better.
TARGET_RATIO = 0.30
#: Both paths get the hub's default SQLite page cache, so the ratio compares like with like.
DEFAULT_CACHE_MB: int = HubSettings.model_fields["sqlite_cache_mb"].default


def la_for(n: int) -> BenchLa:
    """An LA whose year holds at least `n` entries, so every page is a real register day."""
    learners = max(200, n // MARKS_PER_LEARNER_YEAR + 1)
    return bench_la(settings=max(4, min(40, learners // 250)), learners=learners)


def hub_settings(database_url: str, la: BenchLa) -> HubSettings:
    """Production-like configuration: every notification routed to an LA webhook, and the PRU's
    missing D marks written back through its (SIMS) MIS connection."""
    return HubSettings.model_validate(
        {
            "database_url": database_url,
            "connections": [
                {
                    "name": "la-hook",
                    "plugin": "webhook",
                    "url": "http://127.0.0.1:9/hook",
                    "secret": "env:BENCH_WEBHOOK_SECRET",
                },
                {
                    "name": "pru-sims",
                    "plugin": "sims",
                    "setting_ids": [la.pru.id],
                    "base_url": "http://127.0.0.1:9/ssli01",
                    "token_url": "http://127.0.0.1:9/connect/token",
                    "client_id": "synthetic",
                    "client_secret": "env:BENCH_SIMS_SECRET",
                    "subscription_key": "env:BENCH_SIMS_KEY",
                    "school_id": la.pru.id,
                },
            ],
            "routes": [
                {"kind": kind.value, "connections": ["la-hook"]} for kind in NotificationKind
            ],
            "reconcile": {"auto_write_kinds": ["dual_missing_mark"]},
        }
    )


def _raw_rows(marks: Sequence[MarkRow]) -> list[tuple[str, ...]]:
    return [
        (
            m["upn"],
            m["setting_id"],
            m["date"],
            m["session"],
            m["code"],
            m["source"],
            m["recorded_at"],
        )
        for m in marks
    ]


class RawUpsert:
    """The baseline: the same rows upserted into one keyed table with `sqlite3.executemany`,
    a page per transaction, with the hub's pragmas (WAL, synchronous=NORMAL)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE marks (upn TEXT, setting_id TEXT, date TEXT, session TEXT, "
            "code TEXT, source TEXT, recorded_at TEXT, "
            "PRIMARY KEY (upn, setting_id, date, session))"
        )

    def page(self, rows: Sequence[tuple[str, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO marks VALUES (?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
            "code=excluded.code, recorded_at=excluded.recorded_at",
            rows,
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def page_time(page: Sequence[MarkRow]) -> dt.datetime:
    """16:00 London on the page's last day: after both registration deadlines."""
    day = dt.date.fromisoformat(page[-1]["date"])
    return dt.datetime.combine(day, dt.time(16), tzinfo=LONDON).astimezone(dt.UTC)


@dataclass
class Timing:
    """Wall-clock and CPU seconds of both paths, summed over pages run alternately."""

    raw: float = 0.0
    hub: float = 0.0
    raw_cpu: float = 0.0
    hub_cpu: float = 0.0
    accepted: int = 0
    rejected: int = 0
    outbox_rows: int = 0
    discrepancies: int = 0


async def compare(
    marks: Sequence[MarkRow],
    la: BenchLa,
    directory: Path,
    *,
    rules: bool = True,
    profiler: Any = None,
    cache_mb: int = DEFAULT_CACHE_MB,
) -> Timing:
    """Each page through the raw upsert, then through `ingest_marks` (a transaction each).

    Pages alternate between the two paths so that a shared machine's noise lands on both
    alike. The hub's reference data is loaded first, untimed; `profiler` (pyinstrument)
    samples the hub's pages only.
    """
    url = f"sqlite+aiosqlite:///{directory / 'hub.db'}"
    await upgrade(url)
    settings = hub_settings(url, la)
    plugins = PluginHost()
    plugins.load()
    runner = HubRules(settings, OutboxSink(settings, plugins)) if rules else None
    engine = create_engine(url, sqlite_cache_mb=cache_mb)
    sessions = session_factory(engine)
    setup = dt.datetime(2025, 8, 31, 12, tzinfo=dt.UTC)
    async with sessions.begin() as s:
        await ingest_reference(s, la.reference(), now=setup)
        for cal in la.calendars:
            await CalendarRepository(s).replace(cal)
    raw = RawUpsert(directory / "raw.db")
    raw.db.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")  # the same cache as the hub's
    timing = Timing()
    try:
        for i in range(0, len(marks), PAGE):
            page = marks[i : i + PAGE]
            rows = _raw_rows(page)
            wall, cpu = time.perf_counter(), time.process_time()
            raw.page(rows)
            timing.raw += time.perf_counter() - wall
            timing.raw_cpu += time.process_time() - cpu
            now = page_time(page)
            if profiler is not None:
                profiler.start()
            wall, cpu = time.perf_counter(), time.process_time()
            async with sessions.begin() as s:
                result = await ingest_marks(s, page, source="bench", now=now, rules=runner)
            timing.hub += time.perf_counter() - wall
            timing.hub_cpu += time.process_time() - cpu
            if profiler is not None:
                profiler.stop()
            timing.accepted += result.accepted
            timing.rejected += len(result.rejected)
        async with engine.connect() as conn:
            outbox = (await conn.exec_driver_sql("SELECT count(*) FROM outbox")).scalar_one()
            found = (await conn.exec_driver_sql("SELECT count(*) FROM discrepancies")).scalar_one()
        timing.outbox_rows, timing.discrepancies = int(outbox), int(found)
    finally:
        raw.close()
        await engine.dispose()
    return timing


def run(
    n: int, *, profile: Path | None = None, rules: bool = True, cache_mb: int = DEFAULT_CACHE_MB
) -> dict[str, float]:
    """Both paths on the same `n` entries; prints one line and returns the figures."""
    la = la_for(n)
    marks = mark_rows(la, n)
    # The input (a million dicts at 1M) is the benchmark's, not the hub's: keep it out of the
    # garbage collector's full passes, which would otherwise be charged to whichever path
    # happens to be running.
    gc.collect()
    gc.freeze()
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled")
    with tempfile.TemporaryDirectory() as tmp:
        t = asyncio.run(
            compare(marks, la, Path(tmp), rules=rules, profiler=profiler, cache_mb=cache_mb)
        )
    if t.accepted + t.rejected != n:
        raise AssertionError(f"the hub judged {t.accepted + t.rejected} of {n} marks")
    if profiler is not None and profile is not None:
        _write_profile(profiler, profile)
    result = {
        "marks": float(n),
        "raw_per_s": n / t.raw,
        "hub_per_s": n / t.hub,
        "ratio": (n / t.hub) / (n / t.raw),
        "cpu_ratio": t.raw_cpu / t.hub_cpu if t.hub_cpu else 0.0,
        "raw_us_per_mark": t.raw / n * 1e6,
        "hub_us_per_mark": t.hub / n * 1e6,
        "accepted": float(t.accepted),
        "rejected": float(t.rejected),
        "outbox_rows": float(t.outbox_rows),
        "discrepancies": float(t.discrepancies),
    }
    what = "hub ingest path (with rules)" if rules else "hub ingest path (no rules)"
    what += f" [both with a {cache_mb} MB page cache]"
    met = "met" if result["ratio"] >= TARGET_RATIO else "MISSED"
    print(
        f"ingest {n:,} marks on SQLite: raw sqlite3 executemany {result['raw_per_s']:,.0f}/s, "
        f"{what} {result['hub_per_s']:,.0f}/s, ratio hub/raw = {result['ratio']:.3f} "
        f"(CPU-time ratio {result['cpu_ratio']:.3f}; target {TARGET_RATIO:.2f}: {met}); "
        f"{result['hub_us_per_mark']:.1f} µs per mark (raw {result['raw_us_per_mark']:.1f}); "
        f"{t.rejected} rejected, {t.discrepancies} discrepancies, {t.outbox_rows} outbox rows"
    )
    return result


def _write_profile(profiler: Any, out: Path) -> None:
    if out.suffix == ".html":
        out.write_text(profiler.output_html(), encoding="utf-8")
    else:
        out.write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
    print(f"profile written to {out}")


def growth(sizes: Sequence[int] = GROWTH_SIZES) -> dict[str, Any]:
    """Per-mark cost at each size: flat means ingest cost does not grow with the register."""
    results = [run(n) for n in sizes]
    first, last = results[0], results[-1]
    change = last["hub_us_per_mark"] / first["hub_us_per_mark"]
    print(
        f"ingest cost growth: {first['hub_us_per_mark']:.1f} µs per mark at "
        f"{int(first['marks']):,}, {last['hub_us_per_mark']:.1f} at {int(last['marks']):,} "
        f"(x{change:.2f})"
    )
    return {"results": results, "growth": change}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--marks", type=int, default=100_000)
    parser.add_argument(
        "--quick", action="store_true", help="5,000 and 20,000 marks: ratio and cost growth"
    )
    parser.add_argument(
        "--growth", action="store_true", help="100,000 and 1,000,000 marks: per-mark cost at each"
    )
    parser.add_argument("--no-rules", action="store_true", help="ingest without the rules")
    parser.add_argument(
        "--cache-mb",
        type=int,
        default=DEFAULT_CACHE_MB,
        help="SQLite page cache of both paths (default: the hub's sqlite_cache_mb default)",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a pyinstrument profile (.html or .txt)"
    )
    args = parser.parse_args(argv)
    if args.growth or args.quick:
        growth(QUICK_SIZES if args.quick else GROWTH_SIZES)
        return 0
    run(args.marks, profile=args.profile, rules=not args.no_rules, cache_mb=args.cache_mb)
    return 0
