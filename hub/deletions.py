"""Roll deletion requests in the service (issue 8 items 1-3): gather the facts from the store,
decide with the pure rules (`hub.rules.deletion`), then — unless it is a dry run — store the
decision, end the registration when allowed, create and route its notifications, and record the
decision in the audit ledger. One transaction: the caller's.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hub.notifications import NotificationSink, local_date, notification_from_plan
from hub.rules.calendar import SchoolDays
from hub.rules.deletion import DeletionDecisionDraft, DeletionFacts, decide_deletion
from hub.rules.returns import EXAMPLE_DELETION_POLICIES, DeletionPolicy
from hub.settings import DeletionSettings
from hub.store import (
    AuditLedger,
    CalendarRepository,
    ConsentRepository,
    LearnerRepository,
    MarkRepository,
    RegistrationRepository,
    RollDeletionDecisionRepository,
    SettingRepository,
)
from hub_contracts import (
    DecisionOutcome,
    RollDeletionDecision,
    RollDeletionRequest,
)

# Marks around the effective date the rules may need: the 20-school-day absence run before it,
# and any session already marked after it (no retrospective deletion).
MARKS_WINDOW = dt.timedelta(days=400)


class DeletionRefused(LookupError):
    """The request names a setting or learner the hub does not hold."""


def policies_for(settings: DeletionSettings, la_code: str) -> tuple[DeletionPolicy, ...]:
    names = settings.la_policies.get(la_code, [])
    by_name = {p.name: p for p in EXAMPLE_DELETION_POLICIES}
    return tuple(by_name[n].for_las(la_code) for n in names)


async def gather_facts(
    session: AsyncSession, request: RollDeletionRequest, *, today: dt.date
) -> DeletionFacts:
    setting = await SettingRepository(session).get(request.setting_id)
    if setting is None:
        raise DeletionRefused(f"setting {request.setting_id!r} is not known to the hub")
    learner = await LearnerRepository(session).get(request.upn)
    if learner is None:
        raise DeletionRefused("the learner is not known to the hub")
    registrations = await RegistrationRepository(session).for_learner(request.upn)
    marks = await MarkRepository(session).current_for_learner(
        request.upn,
        request.effective_date - MARKS_WINDOW,
        request.effective_date + MARKS_WINDOW,
        setting_id=request.setting_id,
    )
    calendar = await CalendarRepository(session).get(request.setting_id)
    consents = await ConsentRepository(session).consenting(request.upn, request.setting_id)
    return DeletionFacts(
        request=request,
        setting=setting,
        learner=learner,
        registrations=registrations,
        marks_at_setting=marks,
        calendar=SchoolDays.from_calendar(calendar),
        today=today,
        consents_recorded=consents,
    )


async def request_deletion(
    session: AsyncSession,
    request: RollDeletionRequest,
    *,
    settings: DeletionSettings,
    sink: NotificationSink | None,
    actor: str,
    now: dt.datetime,
) -> RollDeletionDecision:
    """Decide a deletion request and, unless `dry_run`, carry the decision out."""
    today = local_date(now)
    facts = await gather_facts(session, request, today=today)
    draft = decide_deletion(facts, policies_for(settings, facts.setting.la_code))
    if request.dry_run:
        return RollDeletionDecision(
            id=f"dry_{uuid.uuid4().hex}", decision=draft.decision, reasons=draft.reasons
        )
    return await _carry_out(session, facts, draft, sink=sink, actor=actor, now=now)


async def _carry_out(
    session: AsyncSession,
    facts: DeletionFacts,
    draft: DeletionDecisionDraft,
    *,
    sink: NotificationSink | None,
    actor: str,
    now: dt.datetime,
) -> RollDeletionDecision:
    request, setting = facts.request, facts.setting
    decision_id = f"del_{uuid.uuid4().hex}"
    notification_ids: list[str] = []
    for planned in draft.notifications:
        note = notification_from_plan(
            planned,
            setting,
            now=now,
            id_prefix="deletion",
            extra={"decision_id": decision_id, "ground": request.ground, "setting_id": setting.id},
        )
        notification_ids.append(note.id)
        if sink is not None:
            await sink.submit(session, note, la_code=setting.la_code, now=now)
    decision = RollDeletionDecision(
        id=decision_id,
        decision=draft.decision,
        reasons=draft.reasons,
        notifications=tuple(notification_ids),
    )
    await RollDeletionDecisionRepository(session).add(decision, request, decided_at=now)
    if draft.decision is DecisionOutcome.ALLOWED:
        # DESIGN §5: "allowed" means the registration was ended at effective_date.
        await RegistrationRepository(session).end(
            request.upn, request.setting_id, request.effective_date, deletion_ground=request.ground
        )
    await AuditLedger(session).append(
        actor,
        "roll_deletion_decision",
        decision_id,
        {
            "decision": decision.decision.value,
            "upn": request.upn,
            "setting_id": request.setting_id,
            "ground": request.ground,
            "effective_date": request.effective_date.isoformat(),
            "rules": [r.rule for r in decision.reasons],
            "notifications": notification_ids,
        },
        at=now,
    )
    return decision


async def record_consent(
    session: AsyncSession,
    decision_id: str,
    consenting_setting_id: str,
    *,
    settings: DeletionSettings,
    sink: NotificationSink | None,
    actor: str,
    now: dt.datetime,
) -> RollDeletionDecision:
    """Record one proprietor's consent to a pending deletion and decide again (a new decision;
    decisions are never rewritten). Raises `DeletionRefused` for an unknown decision."""
    request = await RollDeletionDecisionRepository(session).request_for(decision_id)
    if request is None:
        raise DeletionRefused(f"no roll deletion decision {decision_id!r}")
    await ConsentRepository(session).record(
        request.upn, request.setting_id, consenting_setting_id, by=actor, now=now
    )
    await AuditLedger(session).append(
        actor,
        "deletion_consent",
        decision_id,
        {
            "upn": request.upn,
            "setting_id": request.setting_id,
            "consenting_setting_id": consenting_setting_id,
        },
        at=now,
    )
    return await request_deletion(
        session,
        request.model_copy(update={"dry_run": False}),
        settings=settings,
        sink=sink,
        actor=actor,
        now=now,
    )
