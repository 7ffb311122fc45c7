"""The rules that run when marks change (DESIGN §6: "rules run on changed learner-sessions").

`HubRules` composes, in the ingest transaction:
- dual registration / EOTAS reconciliation (`hub.reconciliation`, issue 5);
- safeguarding escalation: a looked-after child or one on a child protection plan with an
  unexplained absence gets a `safeguarding_alert` due within 24 hours (seed 001 lines 185-188);
- children missing education: 10 continuous school days without authorisation give one
  `cme_referral` to the LA and a safeguarding concern (seed 001 line 181; Wales reg 12(1)(b)).
Every notification has a deterministic id from its natural key, so re-running never repeats one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.notifications import NotificationSink, local_date, notification_from_plan
from hub.reconciliation import ReconciliationRunner
from hub.rules.calendar import CalendarExhausted, SchoolDays
from hub.rules.cme import cme_check, safeguarding_escalation
from hub.settings import HubSettings
from hub.store import (
    CalendarRepository,
    LearnerRepository,
    MarkKey,
    MarkRepository,
    SettingRepository,
)

log = structlog.get_logger(__name__)

# Enough history for a 10-school-day run, with holidays between.
CME_LOOKBACK = dt.timedelta(days=60)


class HubRules:
    """The production `RulesRunner` (hub.ingest)."""

    def __init__(self, settings: HubSettings, sink: NotificationSink) -> None:
        self.sink = sink
        self.reconciliation = ReconciliationRunner(settings.reconcile, sink=sink)

    async def after_marks(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None:
        await self.reconciliation.after_marks(session, changed, now=now)
        await self._escalate_and_refer(session, changed, now=now)

    async def _escalate_and_refer(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None:
        learners = await LearnerRepository(session).get_many({k.upn for k in changed})
        settings = await SettingRepository(session).get_many({k.setting_id for k in changed})
        marks = MarkRepository(session)
        current = await marks.current_for_keys(changed)
        for key, mark in current.items():
            learner, setting = learners.get(key.upn), settings.get(key.setting_id)
            if learner is None or setting is None:
                continue
            escalation = safeguarding_escalation(learner, mark, now)
            if escalation is not None:
                for planned in escalation.notifications:
                    note = notification_from_plan(
                        planned,
                        setting,
                        now=now,
                        id_prefix="escalation",
                        extra={"setting_id": setting.id},
                    )
                    await self.sink.submit(session, note, la_code=setting.la_code, now=now)

        today = local_date(now)
        calendars = CalendarRepository(session)
        for upn, setting_id in sorted({(k.upn, k.setting_id) for k in changed}):
            learner, setting = learners.get(upn), settings.get(setting_id)
            if learner is None or setting is None:
                continue
            calendar = await calendars.get(setting_id)
            if not calendar.school_days:
                continue
            history = await marks.current_for_learner(
                upn, today - CME_LOOKBACK, today, setting_id=setting_id
            )
            try:
                finding = cme_check(
                    learner,
                    history,
                    SchoolDays.from_calendar(calendar),
                    setting.jurisdiction,
                    today,
                )
            except (CalendarExhausted, ValueError) as exc:
                # One learner's incomplete data never stops the batch; the run is judged again
                # when the calendar or the marks change.
                log.warning("cme_check_skipped", setting_id=setting.id, reason=type(exc).__name__)
                continue
            if finding is None:
                continue
            for planned in finding.notifications:
                note = notification_from_plan(
                    planned, setting, now=now, id_prefix="cme", extra={"setting_id": setting.id}
                )
                created = await self.sink.submit(session, note, la_code=setting.la_code, now=now)
                if created:
                    log.info(
                        "cme_referral_raised",
                        setting_id=setting.id,
                        school_days=finding.school_days,
                    )
