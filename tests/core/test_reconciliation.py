"""Reconciliation in the service (issue 5 items 2-3): findings opened once, updated, resolved,
with history; safeguarding alert for D at both; absence notices; write-backs enqueued."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.engine.routing import WRITE_MARKS as OUTBOX_WRITE_MARKS
from hub.ingest import ingest_marks, ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.reconciliation import ReconciliationRunner
from hub.settings import HubSettings
from hub.store import (
    CalendarRepository,
    DiscrepancyRepository,
    NotificationRepository,
    OutboxRepository,
)
from hub_contracts import (
    DiscrepancyKind,
    DiscrepancyStatus,
    Learner,
    NotificationKind,
    Registration,
    SchoolCalendar,
    Setting,
    make_upn,
)

UPN = make_upn("999400125001")
SCHOOL = Setting(
    id="9994001",
    name="Ysgol Uwchradd (synthetic)",
    kind="mainstream",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
PRU = Setting(
    id="9991101",
    name="UCD (synthetic PRU)",
    kind="pru",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
DAY = dt.date(2025, 11, 4)  # a Tuesday; judged the next day, so past deadlines
LATER = dt.datetime(2025, 11, 5, 12, 0, tzinfo=dt.UTC)
DAYS = tuple(dt.date(2025, 11, d) for d in (3, 4, 5, 6, 7, 10, 11, 12, 13, 14))


def _settings(**reconcile: Any) -> HubSettings:
    return HubSettings(
        connections=[
            {"name": "school-sims", "plugin": "sims", "setting_ids": [SCHOOL.id]},
            {"name": "la-webhook", "plugin": "webhook"},
        ],
        routes=[
            {"kind": "safeguarding_alert", "connections": ["la-webhook"]},
            {"kind": "dual_absence_notice", "connections": ["la-webhook"]},
        ],
        reconcile=reconcile,
    )


def _runner(settings: HubSettings) -> ReconciliationRunner:
    host = PluginHost()
    host.load()
    return ReconciliationRunner(settings.reconcile, sink=OutboxSink(settings, host))


async def _seed(session: AsyncSession) -> None:
    await ingest_reference(
        session,
        [
            SCHOOL,
            PRU,
            Learner(
                upn=UPN,
                given_name="Synthetic",
                family_name="Prawf-001",
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
        now=LATER,
    )
    for s in (SCHOOL, PRU):
        await CalendarRepository(session).replace(SchoolCalendar(setting_id=s.id, school_days=DAYS))


def _mark(setting: Setting, code: str, minute: int = 0) -> dict[str, Any]:
    return {
        "upn": UPN,
        "setting_id": setting.id,
        "date": DAY.isoformat(),
        "session": "AM",
        "code": code,
        "source": "test",
        "recorded_at": (LATER + dt.timedelta(minutes=minute)).isoformat(),
    }


async def _open(session: AsyncSession) -> dict[DiscrepancyKind, Any]:
    found = await DiscrepancyRepository(session).find(upn=UPN, status=DiscrepancyStatus.OPEN)
    return {d.kind: d for d in found}


async def test_present_at_pru_unmarked_at_school_proposes_d_then_resolves(
    session: AsyncSession,
) -> None:
    # seed 000 lines 565-569: attending the other setting is recorded D at the first.
    settings = _settings(auto_write_kinds=["dual_missing_mark"])
    rules = _runner(settings)
    await _seed(session)
    await ingest_marks(session, [_mark(PRU, "/")], source="test", now=LATER, rules=rules)

    open_now = await _open(session)
    assert set(open_now) == {DiscrepancyKind.DUAL_MISSING_MARK}
    finding = open_now[DiscrepancyKind.DUAL_MISSING_MARK]
    assert [(a.setting_id, a.code) for a in finding.proposed_actions] == [(SCHOOL.id, "D")]

    writes = [i for i in await OutboxRepository(session).list() if i.kind == OUTBOX_WRITE_MARKS]
    assert len(writes) == 1
    assert writes[0].connection == "school-sims"
    assert writes[0].payload["marks"][0]["code"] == "D"

    # Running the same rules again opens nothing new and enqueues nothing new.
    await rules.evaluate(session, [(UPN, DAY, "AM")], now=LATER)  # type: ignore[list-item]
    assert (
        len([i for i in await OutboxRepository(session).list() if i.kind == OUTBOX_WRITE_MARKS])
        == 1
    )

    await ingest_marks(session, [_mark(SCHOOL, "D", 5)], source="test", now=LATER, rules=rules)
    assert await _open(session) == {}
    history = await DiscrepancyRepository(session).history(finding.id)
    assert [e.event for e in history] == ["opened", "resolved"]


async def test_d_at_both_is_critical_and_alerts_the_main_school(session: AsyncSession) -> None:
    # seed 000 line 405: the main school owns first-day calling; D at both = at neither setting.
    rules = _runner(_settings())
    await _seed(session)
    await ingest_marks(
        session, [_mark(PRU, "D"), _mark(SCHOOL, "D")], source="test", now=LATER, rules=rules
    )
    open_now = await _open(session)
    assert open_now[DiscrepancyKind.DUAL_UNACCOUNTED].severity == "critical"
    alerts = await NotificationRepository(session).find(
        upn=UPN, kind=NotificationKind.SAFEGUARDING_ALERT
    )
    assert len(alerts) == 1
    assert alerts[0].recipient == f"setting:{SCHOOL.id}"
    assert alerts[0].due_by == LATER + dt.timedelta(hours=24)
    routed = [i for i in await OutboxRepository(session).list() if i.kind == "notification"]
    assert [(i.connection, i.payload["notification_id"]) for i in routed] == [
        ("la-webhook", alerts[0].id)
    ]


async def test_absence_where_due_is_shared_with_the_partner(session: AsyncSession) -> None:
    # seed 000 line 569: an absence at the setting where the pupil was due is recorded at both.
    rules = _runner(_settings())
    await _seed(session)
    await ingest_marks(
        session, [_mark(PRU, "I"), _mark(SCHOOL, "D")], source="test", now=LATER, rules=rules
    )
    open_now = await _open(session)
    shared = open_now[DiscrepancyKind.DUAL_ABSENCE_NOT_SHARED]
    assert [(a.setting_id, a.code) for a in shared.proposed_actions] == [(SCHOOL.id, "I")]
    notices = await NotificationRepository(session).find(
        upn=UPN, kind=NotificationKind.DUAL_ABSENCE_NOTICE
    )
    assert [n.recipient for n in notices] == [f"setting:{SCHOOL.id}"]
    # Without auto-write configured the proposal stays a proposal.
    assert [i for i in await OutboxRepository(session).list() if i.kind == OUTBOX_WRITE_MARKS] == []
