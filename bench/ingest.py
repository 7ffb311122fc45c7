"""Ingest benchmark: marks through the hub's real ingest path (validation against registrations
and the code set in force, upsert with history, quarantine) on SQLite, beside a raw `sqlite3`
`executemany` upsert of the same rows in the same run. Prints marks/s for both and the ratio.

    python -m bench ingest --marks 100000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

from hub.ingest import ingest_marks, ingest_reference
from hub.store import CalendarRepository, create_engine, session_factory, upgrade
from hub.synthetic import SyntheticLa, synthetic_la, weekdays
from hub_contracts import AttendanceMark, Session

PAGE = 1_000  # marks per transaction, as a sync page


def make_marks(n: int) -> tuple[list[AttendanceMark], SyntheticLa]:
    la = synthetic_la(learners_per_school=max(1, n // 600), school_days=1)
    regs = [r for r in la.registrations if r.status.value == "single"]
    days = weekdays(dt.date(2025, 9, 1), 190)
    at = dt.datetime(2025, 9, 1, 9, tzinfo=dt.UTC)
    marks: list[AttendanceMark] = []
    i = 0
    while len(marks) < n:
        reg = regs[i % len(regs)]
        day = days[(i // len(regs)) % len(days)]
        for sess in (Session.AM, Session.PM):
            marks.append(
                AttendanceMark(
                    upn=reg.upn,
                    setting_id=reg.setting_id,
                    date=day,
                    session=sess,
                    code="/" if i % 11 else "I",
                    source="bench",
                    recorded_at=at,
                )
            )
        i += 1
    return marks[:n], la


def raw_upsert(marks: list[AttendanceMark], path: Path) -> float:
    rows = [
        (
            m.upn,
            m.setting_id,
            m.date.isoformat(),
            m.session.value,
            m.code,
            m.source,
            m.recorded_at.isoformat(),
        )
        for m in marks
    ]
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE marks (upn TEXT, setting_id TEXT, date TEXT, session TEXT, "
            "code TEXT, source TEXT, recorded_at TEXT, "
            "PRIMARY KEY (upn, setting_id, date, session))"
        )
        start = time.perf_counter()
        for i in range(0, len(rows), PAGE):
            db.executemany(
                "INSERT INTO marks VALUES (?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                "code=excluded.code, recorded_at=excluded.recorded_at",
                rows[i : i + PAGE],
            )
            db.commit()
        return time.perf_counter() - start


async def hub_ingest(marks: list[AttendanceMark], la: SyntheticLa, path: Path) -> float:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
    async with sessions.begin() as s:
        await ingest_reference(s, [*la.settings, *la.learners, *la.registrations], now=now)
        for cal in la.calendars:
            await CalendarRepository(s).replace(cal)
    start = time.perf_counter()
    for i in range(0, len(marks), PAGE):
        async with sessions.begin() as s:
            await ingest_marks(s, marks[i : i + PAGE], source="bench", now=now)
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


def run(n: int) -> dict[str, float]:
    marks, la = make_marks(n)
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_upsert(marks, Path(tmp) / "raw.db")
        hub = asyncio.run(hub_ingest(marks, la, Path(tmp) / "hub.db"))
    result = {
        "marks": float(n),
        "raw_per_s": n / raw,
        "hub_per_s": n / hub,
        "ratio": (n / hub) / (n / raw),
        "hub_us_per_mark": hub / n * 1e6,
    }
    print(
        f"ingest {n:,} marks on SQLite: raw sqlite3 executemany {result['raw_per_s']:,.0f}/s, "
        f"hub ingest path {result['hub_per_s']:,.0f}/s, ratio hub/raw = {result['ratio']:.3f} "
        f"({result['hub_us_per_mark']:.1f} µs per mark)"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--marks", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 marks")
    args = parser.parse_args(argv)
    run(10_000 if args.quick else args.marks)
    return 0
