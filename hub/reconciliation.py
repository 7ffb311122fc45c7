"""Dual registration and EOTAS reconciliation in the service (issue 5 items 2-4).

`ReconciliationRunner` is the `RulesRunner` the ingest path calls with the learner-sessions
whose current mark changed. For each session it gathers the facts from the store — the
learner's registrations and placements, the current mark at every setting involved, each
setting's jurisdiction and calendar — runs the pure rules (`hub.rules.reconcile`), and keeps
the findings' lifecycle: a discrepancy is opened once (deterministic id), updated when new
marks change it, resolved when the session becomes consistent, with every change kept as an
event. All of it happens in the caller's transaction, so findings, notifications and proposed
write-backs are persisted before anything is sent (DESIGN §6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.notifications import NotificationSink, notification_id
from hub.rules.calendar import SchoolDays
from hub.rules.reconcile import (
    Finding,
    ReconcilePolicy,
    SessionFacts,
    dual_absence_notices,
    reconcile_session,
)
from hub.settings import ReconcileSettings
from hub.store import (
    CalendarRepository,
    DiscrepancyRepository,
    MarkKey,
    MarkRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub_contracts import (
    AttendanceMark,
    DiscrepancyStatus,
    Jurisdiction,
    Notification,
    NotificationKind,
    ProposedAction,
    Session,
)

log = structlog.get_logger(__name__)

SessionSlot = tuple[str, dt.date, Session]

# seed 001 lines 185-188: safeguarding concerns about a looked-after child within 24 hours; the
# hub applies the same clock to a child at neither dual setting (dual_unaccounted).
SAFEGUARDING_DUE = dt.timedelta(hours=24)


def policy_from_settings(settings: ReconcileSettings) -> ReconcilePolicy:
    deadlines = {sid: (d.am, d.pm) for sid, d in settings.deadlines.items()}
    return ReconcilePolicy(
        registration_deadlines=deadlines,
        default_registration_deadline=(settings.default_deadline.am, settings.default_deadline.pm),
        provider_report_deadline_school_days=settings.provider_report_deadline_school_days,
    )


@dataclass
class ReconcileOutcome:
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    notifications: int = 0
    write_backs: list[tuple[str, ProposedAction, Finding]] = field(default_factory=list)


class ReconciliationRunner:
    """Runs reconciliation for changed sessions and on a periodic sweep."""

    def __init__(
        self,
        settings: ReconcileSettings,
        *,
        sink: NotificationSink | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy_from_settings(settings)
        self.sink = sink

    async def after_marks(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None:
        slots = {(k.upn, k.date, k.session) for k in changed}
        await self.evaluate(session, slots, now=now)

    async def evaluate(
        self, session: AsyncSession, slots: Iterable[SessionSlot], *, now: dt.datetime
    ) -> ReconcileOutcome:
        slots = sorted({(upn, day, Session(sess)) for upn, day, sess in slots})
        outcome = ReconcileOutcome()
        if not slots:
            return outcome
        upns = {upn for upn, _, _ in slots}
        registrations = await RegistrationRepository(session).for_learners(upns)
        placements = await PlacementRepository(session).for_learners(upns)

        # The settings involved in each session: registering settings and placement providers.
        involved: dict[SessionSlot, set[str]] = {}
        for slot in slots:
            upn, day, _ = slot
            ids = {r.setting_id for r in registrations.get(upn, ()) if r.on_roll(day)}
            ids |= {p.provider_id for p in placements.get(upn, ()) if p.active(day)}
            ids |= {p.school_id for p in placements.get(upn, ()) if p.active(day)}
            involved[slot] = ids
        keys = [
            MarkKey(upn, sid, day, sess)
            for (upn, day, sess), ids in involved.items()
            for sid in ids
        ]
        marks = await MarkRepository(session).current_for_keys(keys)
        setting_ids = {sid for ids in involved.values() for sid in ids}
        settings = await SettingRepository(session).get_many(setting_ids)
        calendars = await self._calendars(session, setting_ids)
        jurisdiction_of: dict[str, Jurisdiction] = {
            sid: s.jurisdiction for sid, s in settings.items()
        }
        discrepancies = DiscrepancyRepository(session)

        for slot in slots:
            upn, day, sess = slot
            ids = involved[slot]
            session_marks: dict[str, AttendanceMark] = {
                sid: m for sid in ids if (m := marks.get(MarkKey(upn, sid, day, sess)))
            }
            facts = SessionFacts(
                upn=upn,
                date=day,
                session=sess,
                registrations=tuple(registrations.get(upn, ())),
                placements=tuple(placements.get(upn, ())),
                marks=session_marks,
                jurisdiction_of={
                    sid: jurisdiction_of[sid] for sid in ids if sid in jurisdiction_of
                },
                calendars={sid: calendars[sid] for sid in ids if sid in calendars},
                first_day_caller=self.settings.first_day_caller.get(upn),
            )
            try:
                findings = reconcile_session(facts, now=now, policy=self.policy)
            except ValueError as exc:
                # One learner's inconsistent data must never stop the rest (DESIGN: never crash
                # the service on one bad record); it is logged without pupil data.
                log.warning("reconcile_skipped", reason=str(exc).split(":")[0])
                continue
            await self._lifecycle(discrepancies, slot, findings, now, outcome)
            for finding in findings:
                if finding.safeguarding_alert_to and self.sink is not None:
                    outcome.notifications += await self._safeguarding_alert(
                        session, finding, now, settings.get(finding.safeguarding_alert_to)
                    )
                for action in finding.proposed_actions:
                    if finding.kind.value in self.settings.auto_write_kinds:
                        outcome.write_backs.append((action.setting_id, action, finding))
            if self.sink is not None:
                for notice in dual_absence_notices(facts):
                    note = Notification(
                        id=notification_id("dual_absence_notice", *notice.key),
                        kind=NotificationKind.DUAL_ABSENCE_NOTICE,
                        upn=upn,
                        recipient=f"setting:{notice.recipient}",
                        due_by=None,
                        created_at=now,
                        payload={
                            "date": day.isoformat(),
                            "session": sess.value,
                            "absent_at": notice.absent_at,
                            "code": notice.code,
                            "detail": notice.detail,
                            "citation": notice.citation,
                        },
                    )
                    la = (
                        settings[notice.recipient].la_code if notice.recipient in settings else None
                    )
                    outcome.notifications += int(
                        await self.sink.submit(session, note, la_code=la, now=now)
                    )
        if self.sink is not None:
            for setting_id, action, finding in outcome.write_backs:
                await self.sink.write_back(session, setting_id, action, finding, now=now)
        if outcome.opened or outcome.resolved:
            log.info(
                "reconciled",
                sessions=len(slots),
                opened=outcome.opened,
                updated=outcome.updated,
                resolved=outcome.resolved,
            )
        return outcome

    async def _lifecycle(
        self,
        repo: DiscrepancyRepository,
        slot: SessionSlot,
        findings: Sequence[Finding],
        now: dt.datetime,
        outcome: ReconcileOutcome,
    ) -> None:
        upn, day, sess = slot
        current = {f.discrepancy_id: f for f in findings}
        for finding in findings:
            event = await repo.record(finding.to_discrepancy(), now=now)
            if event in ("opened", "reopened"):
                outcome.opened += 1
            elif event == "updated":
                outcome.updated += 1
        existing = await repo.find(upn=upn, status=DiscrepancyStatus.OPEN)
        for d in existing:
            if d.date == day and d.session == sess and d.id not in current:
                await repo.record(
                    d.model_copy(update={"status": DiscrepancyStatus.RESOLVED}), now=now
                )
                outcome.resolved += 1

    async def _safeguarding_alert(
        self, session: AsyncSession, finding: Finding, now: dt.datetime, caller: object
    ) -> int:
        assert self.sink is not None
        la_code = getattr(caller, "la_code", None)
        note = Notification(
            id=notification_id("safeguarding_alert", finding.discrepancy_id),
            kind=NotificationKind.SAFEGUARDING_ALERT,
            upn=finding.upn,
            recipient=f"setting:{finding.safeguarding_alert_to}",
            due_by=now + SAFEGUARDING_DUE,
            created_at=now,
            payload={
                "reason": finding.kind.value,
                "date": finding.date.isoformat(),
                "session": finding.session.value,
                "detail": finding.detail,
                "citation": finding.citation,
                "discrepancy_id": finding.discrepancy_id,
            },
        )
        return int(await self.sink.submit(session, note, la_code=la_code, now=now))

    async def _calendars(
        self, session: AsyncSession, setting_ids: Iterable[str]
    ) -> dict[str, SchoolDays]:
        repo = CalendarRepository(session)
        out: dict[str, SchoolDays] = {}
        for sid in sorted(setting_ids):
            calendar = await repo.get(sid)
            if calendar.school_days:
                out[sid] = SchoolDays.from_calendar(calendar)
        return out
