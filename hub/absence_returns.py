"""The periodic return of irregular attendance (Wales reg 12(1); England's equivalent), built
for one LA as of a date: every pupil of compulsory school age at the LA's settings who fails to
attend regularly or has 10+ continuous school days of unauthorised absence, with the cause when
known. `POST /v1/returns/absence` and the scheduled job both call `build_absence_return`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from hub.notifications import LONDON, NotificationSink, notification_id
from hub.rules.calendar import SchoolDays
from hub.rules.returns import AbsenceReturnPolicy, AbsenceReturnPupil, absence_return_entries
from hub.settings import AbsenceReturnSettings
from hub.store import (
    CalendarRepository,
    LearnerRepository,
    MarkRepository,
    NotificationRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub_contracts import AttendanceMark, Notification, NotificationKind

# A 10-school-day run that reaches into the period may have started before it.
RUN_LOOKBACK = dt.timedelta(days=31)


async def build_absence_return(
    session: AsyncSession,
    la_code: str,
    as_of: dt.date,
    *,
    settings: AbsenceReturnSettings,
    sink: NotificationSink | None,
    now: dt.datetime,
) -> Notification:
    """Build (or return the already built) absence return for `la_code` ending on `as_of`."""
    period_start = as_of - dt.timedelta(days=settings.period_days - 1)
    ident = notification_id("absence_return", la_code, period_start, as_of)
    existing = await NotificationRepository(session).get(ident)
    if existing is not None:
        return existing
    policy = AbsenceReturnPolicy(
        irregular_attendance_below_pct=settings.irregular_attendance_below_pct
    )
    entries: list[dict[str, object]] = []
    marks_repo, regs = MarkRepository(session), RegistrationRepository(session)
    for setting in await SettingRepository(session).list(la_code=la_code):
        roll = await regs.roll(setting.id, as_of)
        if not roll:
            continue
        learners = await LearnerRepository(session).get_many(r.upn for r in roll)
        by_learner: dict[str, list[AttendanceMark]] = defaultdict(list)
        for mark in await marks_repo.current_for_setting(
            setting.id, period_start - RUN_LOOKBACK, as_of
        ):
            by_learner[mark.upn].append(mark)
        calendar = await CalendarRepository(session).get(setting.id)
        pupils = [
            AbsenceReturnPupil(learner=learners[r.upn], marks=by_learner.get(r.upn, []))
            for r in roll
            if r.upn in learners
        ]
        for entry in absence_return_entries(
            pupils,
            SchoolDays.from_calendar(calendar),
            setting.jurisdiction,
            period_start,
            as_of,
            policy,
        ):
            entries.append(
                {
                    "setting_id": setting.id,
                    "upn": entry.upn,
                    "full_name": entry.full_name,
                    "address": entry.address,
                    "reasons": list(entry.reasons),
                    "attendance_pct": entry.attendance_pct,
                    "possible_sessions": entry.possible_sessions,
                    "run_first_day": entry.run_first_day.isoformat()
                    if entry.run_first_day
                    else None,
                    "run_school_days": entry.run_school_days,
                    "cause": entry.cause,
                }
            )
    notification = Notification(
        id=ident,
        kind=NotificationKind.ABSENCE_RETURN,
        upn=None,
        recipient=f"la:{la_code}",
        # Wales reg 12(1): at intervals agreed with the LA; the hub dates it to the period end.
        due_by=dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=LONDON).astimezone(dt.UTC),
        created_at=now,
        payload={
            "la_code": la_code,
            "period_start": period_start.isoformat(),
            "period_end": as_of.isoformat(),
            "citation": "Wales reg 12(1) (legal-rules.md 1.6)",
            "entries": entries,  # type: ignore[dict-item]
        },
    )
    if sink is not None:
        await sink.submit(session, notification, la_code=la_code, now=now)
    else:
        await NotificationRepository(session).add(notification)
    return notification
