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
from hub.reconciliation import ReconciliationRunner, school_days_of
from hub.rules.calendar import CalendarExhausted
from hub.rules.cme import CmePolicy, EscalationPolicy, cme_check, safeguarding_escalation
from hub.rules.codes import all_code_sets
from hub.settings import HubSettings
from hub.store import (
    LearnerRepository,
    MarkKey,
    MarkRepository,
    SettingRepository,
)
from hub_contracts import CodeCategory

log = structlog.get_logger(__name__)

# Enough history for a 10-school-day run, with holidays between.
CME_LOOKBACK = dt.timedelta(days=60)

ESCALATION = EscalationPolicy()
CME = CmePolicy()

#: Every code that counts as unexplained absence for CME in some code set (G, N, O): the
#: unauthorised codes of absence from the site (`hub.rules.returns.unauthorised_absence`).
#: A run of such absence can only start or grow when one of them is recorded; any other
#: change can only break or shorten one, so a learner-setting whose changed marks carry none
#: of them is not checked again (docs/performance.md).
MAY_QUALIFY: frozenset[str] = frozenset(
    code
    for code_set in all_code_sets()
    for code, definition in code_set.codes.items()
    if definition.category is CodeCategory.UNAUTHORISED and not definition.physically_present
)


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
        marks = MarkRepository(session)
        known = getattr(changed, "current", None)
        current = dict(known) if known is not None else await marks.current_for_keys(changed)
        # Only an unexplained absence escalates (the rule checks the code after the flags), and
        # only a qualifying absence can start or extend a CME run: the rest need no facts.
        escalate = {k: m for k, m in current.items() if m.code in ESCALATION.unexplained_codes}
        pairs = sorted({(k.upn, k.setting_id) for k, m in current.items() if m.code in MAY_QUALIFY})
        if not escalate and not pairs:
            return
        learners = await LearnerRepository(session).get_many(
            {k.upn for k in escalate} | {upn for upn, _ in pairs}
        )
        settings = await SettingRepository(session).get_many(
            {k.setting_id for k in escalate} | {sid for _, sid in pairs}
        )
        for key, mark in escalate.items():
            learner, setting = learners.get(key.upn), settings.get(key.setting_id)
            if learner is None or setting is None:
                continue
            escalation = safeguarding_escalation(learner, mark, now, ESCALATION)
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
        window = (today - CME_LOOKBACK, today)
        # A referral needs `needed` school days with both sessions qualifying, so at least
        # twice that many qualifying marks in the window: count them before reading anything.
        counts = await marks.count_codes({upn for upn, _ in pairs}, *window, MAY_QUALIFY)
        needed = 2 * CME.cme_referral_after_school_days
        candidates = [
            (upn, setting_id)
            for upn, setting_id in pairs
            if counts.get((upn, setting_id), 0) >= needed
            and upn in learners
            and setting_id in settings
        ]
        calendars = await school_days_of(session, {sid for _, sid in candidates})
        for upn, setting_id in candidates:
            learner, setting, days = learners[upn], settings[setting_id], calendars.get(setting_id)
            if days is None:
                continue
            history = await marks.codes_for_learner(upn, setting_id, *window)
            try:
                finding = cme_check(learner, history, days, setting.jurisdiction, today, CME)
            except (CalendarExhausted, ValueError) as exc:
                # One learner's incomplete data never stops the batch; the run is judged again
                # at the learner's next qualifying mark.
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
