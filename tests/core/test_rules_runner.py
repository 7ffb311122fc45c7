"""Rules on ingest (issue 8 items 4 and 6): CME on the 10th school day, exactly once; a
looked-after child's unexplained absence escalated within 24 hours, once per session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest import ingest_marks, ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.rules_runner import HubRules
from hub.settings import HubSettings
from hub.store import CalendarRepository, NotificationRepository
from hub_contracts import (
    Learner,
    LearnerFlags,
    NotificationKind,
    Registration,
    SchoolCalendar,
    Setting,
    make_upn,
)

UPN = make_upn("999200125021")
LAC = make_upn("999200125022")
SCHOOL = Setting(
    id="9992001",
    name="Ysgol Gynradd (synthetic)",
    kind="mainstream",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
DAYS = tuple(
    d for d in (dt.date(2025, 11, 3) + dt.timedelta(days=i) for i in range(40)) if d.weekday() < 5
)


def _rules() -> HubRules:
    settings = HubSettings()
    host = PluginHost()
    host.load()
    return HubRules(settings, OutboxSink(settings, host))


async def _seed(session: AsyncSession) -> None:
    await ingest_reference(
        session,
        [
            SCHOOL,
            Learner(
                upn=UPN,
                given_name="Synthetic",
                family_name="Prawf-021",
                date_of_birth=dt.date(2016, 3, 1),
            ),
            Learner(
                upn=LAC,
                given_name="Synthetic",
                family_name="Prawf-022",
                date_of_birth=dt.date(2016, 3, 1),
                flags=LearnerFlags(looked_after=True),
            ),
            *[
                Registration(
                    upn=u,
                    setting_id=SCHOOL.id,
                    status="single",  # type: ignore[arg-type]
                    start_date=dt.date(2025, 9, 1),
                )
                for u in (UPN, LAC)
            ],
        ],
        now=dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
    )
    await CalendarRepository(session).replace(
        SchoolCalendar(setting_id=SCHOOL.id, school_days=DAYS)
    )


def _marks(upn: str, days: tuple[dt.date, ...], code: str) -> list[dict[str, Any]]:
    return [
        {
            "upn": upn,
            "setting_id": SCHOOL.id,
            "date": d.isoformat(),
            "session": s,
            "code": code,
            "source": "test",
            "recorded_at": dt.datetime.combine(d, dt.time(9, 30), tzinfo=dt.UTC).isoformat(),
        }
        for d in days
        for s in ("AM", "PM")
    ]


async def test_ten_school_days_unexplained_gives_exactly_one_cme_referral(
    session: AsyncSession,
) -> None:
    # Vale of Glamorgan (seed 001 line 181): notify on the tenth day of absence; Wales reg 12(1)(b).
    rules = _rules()
    await _seed(session)
    nine, tenth = DAYS[:9], DAYS[9]
    await ingest_marks(
        session,
        _marks(UPN, nine, "O"),
        source="test",
        now=dt.datetime.combine(nine[-1], dt.time(15), tzinfo=dt.UTC),
        rules=rules,
    )
    assert (
        await NotificationRepository(session).find(upn=UPN, kind=NotificationKind.CME_REFERRAL)
        == []
    )

    at_tenth = dt.datetime.combine(tenth, dt.time(15), tzinfo=dt.UTC)
    await ingest_marks(
        session, _marks(UPN, (tenth,), "O"), source="test", now=at_tenth, rules=rules
    )
    # The run grows to 12 days: still the same single referral.
    for day in DAYS[10:12]:
        await ingest_marks(
            session,
            _marks(UPN, (day,), "O"),
            source="test",
            now=dt.datetime.combine(day, dt.time(15), tzinfo=dt.UTC),
            rules=rules,
        )
    referrals = await NotificationRepository(session).find(
        upn=UPN, kind=NotificationKind.CME_REFERRAL
    )
    assert len(referrals) == 1
    assert referrals[0].recipient == "la:999:cme"
    assert referrals[0].due_by is not None
    assert referrals[0].due_by.date() == tenth


async def test_looked_after_child_n_mark_escalates_once(session: AsyncSession) -> None:
    # seed 001 lines 185-188: looked-after / CP plan, unexplained absence -> within 24 hours.
    rules = _rules()
    await _seed(session)
    day = DAYS[0]
    now = dt.datetime.combine(day, dt.time(9, 45), tzinfo=dt.UTC)
    n_mark = _marks(LAC, (day,), "N")[:1]
    await ingest_marks(session, n_mark, source="test", now=now, rules=rules)
    amended = [{**n_mark[0], "code": "O", "recorded_at": (now + dt.timedelta(hours=1)).isoformat()}]
    await ingest_marks(session, amended, source="test", now=now, rules=rules)
    alerts = await NotificationRepository(session).find(
        upn=LAC, kind=NotificationKind.SAFEGUARDING_ALERT
    )
    assert len(alerts) == 1
    assert alerts[0].due_by is not None
    assert alerts[0].due_by <= now + dt.timedelta(hours=24)
    # A child not at risk gets no escalation for the same code.
    await ingest_marks(session, _marks(UPN, (day,), "N")[:1], source="test", now=now, rules=rules)
    assert (
        await NotificationRepository(session).find(
            upn=UPN, kind=NotificationKind.SAFEGUARDING_ALERT
        )
        == []
    )
