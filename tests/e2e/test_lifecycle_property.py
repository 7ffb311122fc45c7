"""Issue 5 property: feeding the same marks in any order, any number of times, gives the same
final set of open discrepancies (the findings lifecycle is idempotent and order-independent)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.ingest import ingest_marks, ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.rules_runner import HubRules
from hub.settings import HubSettings
from hub.store import (
    CalendarRepository,
    DiscrepancyRepository,
    create_engine,
    session_factory,
    upgrade,
)
from hub_contracts import (
    AttendanceMark,
    DiscrepancyStatus,
    Learner,
    Registration,
    SchoolCalendar,
    Session,
    Setting,
    make_upn,
)

UPN = make_upn("999400125301")
SCHOOL = Setting(
    id="9994001",
    name="Synthetic school",
    kind="mainstream",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
PRU = Setting(
    id="9991101",
    name="Synthetic PRU",
    kind="pru",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
DAYS = (dt.date(2025, 11, 3), dt.date(2025, 11, 4))
NOW = dt.datetime(2025, 11, 28, 12, tzinfo=dt.UTC)
CODES = ["/", "\\", "D", "I", "O", "N", "L", "B", "C"]

_TEMPLATE = Path(tempfile.mkdtemp(prefix="hub-prop-")) / "template.db"
_HOST = PluginHost()
_HOST.load()


async def _template() -> None:
    await upgrade(f"sqlite+aiosqlite:///{_TEMPLATE}")


asyncio.run(_template())


async def _open_after(marks: list[AttendanceMark], path: Path) -> frozenset[tuple[str, str, str]]:
    shutil.copyfile(_TEMPLATE, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    settings = HubSettings()
    rules = HubRules(settings, OutboxSink(settings, _HOST))
    try:
        async with sessions.begin() as s:
            await ingest_reference(
                s,
                [
                    SCHOOL,
                    PRU,
                    Learner(
                        upn=UPN,
                        given_name="Synthetic",
                        family_name="Prawf",
                        date_of_birth=dt.date(2011, 5, 1),
                    ),
                    Registration(
                        upn=UPN,
                        setting_id=SCHOOL.id,
                        status="main",  # type: ignore[arg-type]
                        start_date=dt.date(2025, 9, 1),
                    ),
                    Registration(
                        upn=UPN,
                        setting_id=PRU.id,
                        status="subsidiary",  # type: ignore[arg-type]
                        start_date=dt.date(2025, 9, 1),
                    ),
                ],
                now=NOW,
            )
            for setting in (SCHOOL, PRU):
                await CalendarRepository(s).replace(
                    SchoolCalendar(setting_id=setting.id, school_days=DAYS)
                )
        for mark in marks:  # one mark per transaction, as separate posts would arrive
            async with sessions.begin() as s:
                await ingest_marks(s, [mark], source="prop", now=NOW, rules=rules)
        async with sessions() as s:
            found = await DiscrepancyRepository(s).find(upn=UPN, status=DiscrepancyStatus.OPEN)
        return frozenset((d.kind.value, d.date.isoformat(), str(d.session)) for d in found)
    finally:
        await engine.dispose()


mark_strategy = st.builds(
    lambda setting, day, session, code, minute: AttendanceMark(
        upn=UPN,
        setting_id=setting,
        date=day,
        session=session,
        code=code,
        source="prop",
        recorded_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        + dt.timedelta(minutes=minute),
    ),
    st.sampled_from([SCHOOL.id, PRU.id]),
    st.sampled_from(DAYS),
    st.sampled_from([Session.AM, Session.PM]),
    st.sampled_from(CODES),
    st.integers(min_value=0, max_value=600),
)


@settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    marks=st.lists(
        mark_strategy,
        min_size=1,
        max_size=8,
        unique_by=lambda m: (m.setting_id, m.date, m.session, m.recorded_at),
    ),
    data=st.data(),
)
def test_same_marks_any_order_any_repetition_same_open_discrepancies(
    marks: list[AttendanceMark], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(marks))
    repeats = data.draw(st.lists(st.sampled_from(marks), max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        canonical = asyncio.run(
            _open_after(sorted(marks, key=lambda m: m.recorded_at), Path(tmp) / "a.db")
        )
        other = asyncio.run(_open_after([*shuffled, *repeats], Path(tmp) / "b.db"))
    assert canonical == other
