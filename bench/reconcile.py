"""Reconciliation benchmark (issue 5): learner-sessions per second through ingest WITH the
production rules (reconciliation, CME, escalation) for a synthetic LA where ~10% of learners are
dual-registered or have an EOTAS placement, as a ratio to the same marks ingested WITHOUT rules,
both measured in this run on fresh SQLite databases.

    python -m bench reconcile [--learners 2000] [--days 10] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from hub.ingest import ingest_marks, ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.rules_runner import HubRules
from hub.settings import HubSettings
from hub.store import CalendarRepository, create_engine, session_factory, upgrade
from hub.synthetic import weekdays
from hub_contracts import (
    AttendanceMark,
    EotasPlacement,
    Jurisdiction,
    Learner,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SchoolCalendar,
    Session,
    Setting,
    SettingKind,
    make_upn,
)

PAGE = 1_000


def world(
    learners: int, days: int
) -> tuple[list[object], list[SchoolCalendar], list[AttendanceMark]]:
    def setting(estab: str, kind: SettingKind) -> Setting:
        return Setting(
            id=f"999{estab}",
            name=f"Synthetic {kind.value} {estab}",
            kind=kind,
            jurisdiction=Jurisdiction.WALES,
            la_code="999",
            maintained=True,
        )

    school, pru, provider = (
        setting("4001", SettingKind.MAINSTREAM),
        setting("1101", SettingKind.PRU),
        setting("7001", SettingKind.EOTAS_PROVIDER),
    )
    school_days = weekdays(dt.date(2025, 11, 3), days)
    calendars = [
        SchoolCalendar(setting_id=s.id, school_days=tuple(school_days))
        for s in (school, pru, provider)
    ]
    start = dt.date(2025, 9, 1)
    records: list[object] = [school, pru, provider]
    marks: list[AttendanceMark] = []
    at = dt.datetime(2025, 11, 3, 9, tzinfo=dt.UTC)
    for i in range(learners):
        upn = make_upn(f"999400125{i:03d}"[-12:] if learners <= 1000 else f"99940{i:07d}")
        records.append(
            Learner(
                upn=upn,
                given_name="Synthetic",
                family_name=f"Prawf-{i}",
                date_of_birth=dt.date(2011, 5, 1),
            )
        )
        dual, eotas = i % 20 == 0, i % 20 == 1  # 5% + 5% = 10%
        records.append(
            Registration(
                upn=upn,
                setting_id=school.id,
                start_date=start,
                status=RegistrationStatus.MAIN if dual else RegistrationStatus.SINGLE,
            )
        )
        if dual:
            records.append(
                Registration(
                    upn=upn,
                    setting_id=pru.id,
                    start_date=start,
                    status=RegistrationStatus.SUBSIDIARY,
                )
            )
        if eotas:
            records.append(
                EotasPlacement(
                    upn=upn,
                    school_id=school.id,
                    provider_id=provider.id,
                    sessions=(ScheduledSession(weekday=0, session=Session.AM),),
                    start_date=start,
                )
            )
        for day in school_days:
            for session in (Session.AM, Session.PM):
                code = "/" if session is Session.AM else "\\"
                if dual:
                    marks.append(
                        AttendanceMark(
                            upn=upn,
                            setting_id=pru.id,
                            date=day,
                            session=session,
                            code=code,
                            source="bench",
                            recorded_at=at,
                        )
                    )
                    code = "D" if i % 40 else "O"  # some conflicts
                elif eotas and session is Session.AM:
                    code = "B"
                elif i % 13 == 0:
                    code = "N"
                marks.append(
                    AttendanceMark(
                        upn=upn,
                        setting_id=school.id,
                        date=day,
                        session=session,
                        code=code,
                        source="bench",
                        recorded_at=at,
                    )
                )
    return records, calendars, marks


async def _ingest(
    path: Path,
    records: list[object],
    calendars: list[SchoolCalendar],
    marks: list[AttendanceMark],
    *,
    with_rules: bool,
) -> tuple[float, int]:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = dt.datetime(2025, 11, 28, 12, tzinfo=dt.UTC)
    rules = None
    if with_rules:
        settings = HubSettings()
        host = PluginHost()
        host.load()
        rules = HubRules(settings, OutboxSink(settings, host))
    async with sessions.begin() as s:
        await ingest_reference(s, records, now=now)  # type: ignore[arg-type]
        for cal in calendars:
            await CalendarRepository(s).replace(cal)
    changed = 0
    start = time.perf_counter()
    for i in range(0, len(marks), PAGE):
        async with sessions.begin() as s:
            result = await ingest_marks(
                s, marks[i : i + PAGE], source="bench", now=now, rules=rules
            )
            changed += len({(k.upn, k.date, k.session) for k in result.changed_keys})
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed, changed


def run(learners: int, days: int) -> dict[str, float]:
    records, calendars, marks = world(learners, days)
    with tempfile.TemporaryDirectory() as tmp:
        plain, sessions = asyncio.run(
            _ingest(Path(tmp) / "plain.db", records, calendars, marks, with_rules=False)
        )
        ruled, _ = asyncio.run(
            _ingest(Path(tmp) / "rules.db", records, calendars, marks, with_rules=True)
        )
    result = {
        "learner_sessions": float(sessions),
        "plain_per_s": sessions / plain,
        "rules_per_s": sessions / ruled,
        "ratio": plain / ruled,
    }
    print(
        f"reconcile {learners:,} learners x {days} days ({len(marks):,} marks, "
        f"{sessions:,} learner-sessions, 10% dual/EOTAS): plain ingest "
        f"{result['plain_per_s']:,.0f} sessions/s, with rules {result['rules_per_s']:,.0f} "
        f"sessions/s, ratio rules/plain = {result['rules_per_s'] / result['plain_per_s']:.3f}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reconcile")
    parser.add_argument("--learners", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="300 learners, 5 days")
    args, _unknown = parser.parse_known_args(argv)
    if args.quick:
        run(300, 5)
    else:
        run(args.learners, args.days)
    return 0
