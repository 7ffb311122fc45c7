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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest import PAGE_ROLL
from hub.notifications import NotificationSink, notification_id
from hub.rules.calendar import SchoolDays
from hub.rules.eotas import OFF_SITE_CODES
from hub.rules.reconcile import (
    Finding,
    ReconcilePolicy,
    SessionFacts,
    dual_absence_notices,
    reconcile_session,
)
from hub.settings import ReconcileSettings
from hub.store import (
    DiscrepancyRepository,
    MarkKey,
    MarkRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub.store.models import DiscrepancyRow, SchoolDayRow
from hub_contracts import (
    AttendanceMark,
    Discrepancy,
    DiscrepancyStatus,
    EotasPlacement,
    Jurisdiction,
    Notification,
    NotificationKind,
    ProposedAction,
    Registration,
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
        await self.evaluate(session, slots, now=now, known=getattr(changed, "current", None))

    async def evaluate(
        self,
        session: AsyncSession,
        slots: Iterable[SessionSlot],
        *,
        now: dt.datetime,
        known: Mapping[MarkKey, AttendanceMark] | None = None,
    ) -> ReconcileOutcome:
        """Judge each session; `known` holds current marks the caller already has (the ingest
        path passes those it has just written), so only the others are read."""
        unique = {(upn, day, Session(sess)) for upn, day, sess in slots}
        outcome = ReconcileOutcome()
        if not unique:
            return outcome
        upns = {upn for upn, _, _ in unique}
        roll = PAGE_ROLL.get()
        registrations: Mapping[str, Sequence[Registration]]
        placements: Mapping[str, Sequence[EotasPlacement]]
        if roll is not None and upns <= roll.upns:
            registrations, placements = roll.registrations, roll.placements
        else:
            registrations = await RegistrationRepository(session).for_learners(upns)
            placements = await PlacementRepository(session).for_learners(upns)

        # The settings involved in each session: registering settings and placement providers.
        involved: dict[SessionSlot, set[str]] = {}
        for slot in unique:
            upn, day, _ = slot
            regs, places = registrations.get(upn, ()), placements.get(upn, ())
            if not places and len(regs) == 1:  # most learners: one registration, no placement
                involved[slot] = {regs[0].setting_id} if regs[0].on_roll(day) else set()
                continue
            ids = {r.setting_id for r in regs if r.on_roll(day)}
            active = [p for p in places if p.active(day)]
            ids |= {p.provider_id for p in active} | {p.school_id for p in active}
            involved[slot] = ids
        marks = dict(known or {})
        wanted = [
            key
            for (upn, day, sess), ids in involved.items()
            for sid in ids
            if (key := MarkKey(upn, sid, day, sess)) not in marks
        ]
        marks.update(await MarkRepository(session).current_for_keys(wanted))
        open_slots = await _open_slots(session, upns)
        considered = len(unique)
        slots = sorted(s for s in unique if s in open_slots or _may_find(s, involved[s], marks))
        if not slots:
            return outcome
        setting_ids = {sid for slot in slots for sid in involved[slot]}
        settings = await SettingRepository(session).get_many(setting_ids)
        calendars = await self._calendars(session, setting_ids)
        jurisdiction_of: dict[str, Jurisdiction] = {
            sid: s.jurisdiction for sid, s in settings.items()
        }
        discrepancies = DiscrepancyRepository(session)

        judged: list[tuple[SessionSlot, SessionFacts, Sequence[Finding]]] = []
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
            judged.append((slot, facts, findings))
        await self._lifecycle(discrepancies, judged, open_slots, now, outcome)
        for _slot, facts, session_findings in judged:
            upn, day, sess = facts.upn, facts.date, facts.session
            for finding in session_findings:
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
        if self.sink is not None and outcome.write_backs:
            await self.sink.write_back_many(session, outcome.write_backs, now=now)
        if outcome.opened or outcome.resolved:
            log.info(
                "reconciled",
                sessions=considered,
                opened=outcome.opened,
                updated=outcome.updated,
                resolved=outcome.resolved,
            )
        return outcome

    async def _lifecycle(
        self,
        repo: DiscrepancyRepository,
        judged: Sequence[tuple[SessionSlot, SessionFacts, Sequence[Finding]]],
        open_slots: Mapping[SessionSlot, Sequence[str]],
        now: dt.datetime,
        outcome: ReconcileOutcome,
    ) -> None:
        """Record every session's findings; resolve what was open for a session before this
        pass (`open_slots`) and is no longer found. One read and a few writes for the lot."""
        found = [finding.to_discrepancy() for _, _, findings in judged for finding in findings]
        gone = [
            discrepancy_id
            for slot, _, findings in judged
            for discrepancy_id in open_slots.get(slot, ())
            if discrepancy_id not in {f.discrepancy_id for f in findings}
        ]
        stored = await repo.get_many([d.id for d in found] + gone)
        previous: dict[str, Discrepancy | None] = {d.id: stored.get(d.id) for d in found}
        resolved = [
            d.model_copy(update={"status": DiscrepancyStatus.RESOLVED})
            for discrepancy_id in dict.fromkeys(gone)
            if (d := stored.get(discrepancy_id)) is not None and d.status is DiscrepancyStatus.OPEN
        ]
        previous.update((d.id, stored[d.id]) for d in resolved)
        events = await repo.record_many([*found, *resolved], now=now, previous=previous)
        for event in events[: len(found)]:
            if event in ("opened", "reopened"):
                outcome.opened += 1
            elif event == "updated":
                outcome.updated += 1
        outcome.resolved += len(resolved)

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
        """Each setting's school days, for those that have any (one query)."""
        return await school_days_of(session, setting_ids)


async def school_days_of(
    session: AsyncSession, setting_ids: Iterable[str]
) -> dict[str, SchoolDays]:
    """The `SchoolDays` of each of these settings that has a calendar, read in one query (the
    same days `CalendarRepository.get` gives, one setting at a time)."""
    t = SchoolDayRow.__table__.c
    days: dict[str, list[dt.date]] = {}
    wanted = sorted(set(setting_ids))
    for start in range(0, len(wanted), 1_000):
        query = select(t.setting_id, t.date).where(t.setting_id.in_(wanted[start : start + 1_000]))
        for setting_id, day in await session.execute(query):
            days.setdefault(setting_id, []).append(day)
    return {sid: SchoolDays(found, setting_id=sid) for sid, found in sorted(days.items())}


# --- which sessions are worth judging ----------------------------------------------------------

#: The codes with which a session involving ONE setting (a single registration, no EOTAS
#: placement active that day) can give a finding: D (`d_without_dual_registration`), N
#: (`n_code_overdue`) and the off-site codes B and K (`hub.rules.eotas`). Every other rule needs
#: a second registration or a placement, and so do the dual absence notices.
#: tests/scale/test_prefilter.py checks this against `reconcile_session` for every code.
SOLO_FINDING_CODES: frozenset[str] = frozenset({"D", "N"}) | OFF_SITE_CODES


def _may_find(
    slot: SessionSlot, involved: set[str], marks: Mapping[MarkKey, AttendanceMark]
) -> bool:
    """False when the session cannot give a finding or a notice, so need not be judged.

    Nearly every session is an ordinary one: a learner on one roll, no placement, a present or
    absence code. Skipping those before the facts are gathered is what keeps reconciliation
    off the ingest path's bill (docs/performance.md).
    """
    if len(involved) > 1:
        return True
    if not involved:
        return False  # no registration on roll and no placement: nothing to reconcile
    upn, day, sess = slot
    (setting_id,) = involved
    mark = marks.get(MarkKey(upn, setting_id, day, sess))
    return mark is not None and mark.code in SOLO_FINDING_CODES


async def _open_slots(session: AsyncSession, upns: Iterable[str]) -> dict[SessionSlot, list[str]]:
    """The open discrepancies of these learners, by session, ids in order (one query per
    1,000 learners)."""
    d = DiscrepancyRow.__table__.c
    found: dict[SessionSlot, list[str]] = {}
    ordered = sorted(set(upns))
    for start in range(0, len(ordered), 1_000):
        query = (
            select(d.upn, d.date, d.session, d.id)
            .where(
                d.status == DiscrepancyStatus.OPEN.value,
                d.upn.in_(ordered[start : start + 1_000]),
            )
            .order_by(d.id)
        )
        for row in await session.execute(query):
            found.setdefault((row.upn, row.date, Session(row.session)), []).append(row.id)
    return found
