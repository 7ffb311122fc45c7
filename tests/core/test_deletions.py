"""Roll deletions in the service (issue 8): consent workflow, LA consent for a special school,
dry run, registration ended when allowed, deletion return routed with its due date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.deletions import record_consent, request_deletion
from hub.ingest import ingest_reference
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.settings import HubSettings
from hub.store import (
    AuditLedger,
    CalendarRepository,
    NotificationRepository,
    OutboxRepository,
    RegistrationRepository,
)
from hub_contracts import (
    Learner,
    NotificationKind,
    Registration,
    RollDeletionRequest,
    SchoolCalendar,
    Setting,
    make_upn,
)

UPN = make_upn("999400125011")
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
SPECIAL = Setting(
    id="9997002",
    name="Ysgol Arbennig (synthetic)",
    kind="special",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
NOW = dt.datetime(2025, 11, 10, 10, 0, tzinfo=dt.UTC)
EFFECTIVE = dt.date(2025, 11, 10)
# Autumn term with half term 27-31 Oct; weekdays only.
DAYS = tuple(
    dt.date(2025, 9, 1) + dt.timedelta(days=i)
    for i in range(0, 112)
    if (dt.date(2025, 9, 1) + dt.timedelta(days=i)).weekday() < 5
    and not dt.date(2025, 10, 27)
    <= dt.date(2025, 9, 1) + dt.timedelta(days=i)
    <= dt.date(2025, 10, 31)
)


def _settings() -> HubSettings:
    return HubSettings(
        connections=[{"name": "la-one", "plugin": "one"}],
        routes=[
            {"kind": k, "connections": ["la-one"]}
            for k in ("deletion_return", "consent_request", "deletion_notice")
        ],
    )


def _sink(settings: HubSettings) -> OutboxSink:
    host = PluginHost()
    host.load()
    return OutboxSink(settings, host)


async def _seed(session: AsyncSession, *settings: Setting, statuses: dict[str, str]) -> None:
    await ingest_reference(
        session,
        [
            *settings,
            Learner(
                upn=UPN,
                given_name="Synthetic",
                family_name="Prawf-011",
                date_of_birth=dt.date(2011, 5, 1),
                address="11 Heol Enghraifft, Synthetic Town",
            ),
            *[
                Registration(
                    upn=UPN,
                    setting_id=sid,
                    status=status,  # type: ignore[arg-type]
                    start_date=dt.date(2025, 9, 1),
                )
                for sid, status in statuses.items()
            ],
        ],
        now=NOW,
    )
    for s in settings:
        await CalendarRepository(session).replace(SchoolCalendar(setting_id=s.id, school_days=DAYS))


def _request(ground: str, setting: Setting, **evidence: Any) -> RollDeletionRequest:
    return RollDeletionRequest(
        upn=UPN, setting_id=setting.id, ground=ground, effective_date=EFFECTIVE, evidence=evidence
    )


async def test_dual_registered_deletion_pending_until_consent_then_allowed(
    session: AsyncSession,
) -> None:
    # Wales reg 8(1)(c): a dual-registered pupil's deletion needs the other school's consent.
    settings = _settings()
    await _seed(session, SCHOOL, PRU, statuses={SCHOOL.id: "main", PRU.id: "subsidiary"})
    request = _request("wales-2010:8(1)(c)", PRU, ceased_to_attend=True, will_not_attend_again=True)

    first = await request_deletion(
        session, request, settings=settings.deletions, sink=_sink(settings), actor="test", now=NOW
    )
    assert first.decision == "pending", first.reasons
    consent_requests = await NotificationRepository(session).find(
        upn=UPN, kind=NotificationKind.CONSENT_REQUEST
    )
    assert [n.recipient for n in consent_requests] == [f"setting:{SCHOOL.id}"]
    assert await RegistrationRepository(session).on_roll(UPN, EFFECTIVE + dt.timedelta(days=1))

    second = await record_consent(
        session,
        first.id,
        SCHOOL.id,
        settings=settings.deletions,
        sink=_sink(settings),
        actor="test",
        now=NOW,
    )
    assert second.decision == "allowed", second.reasons
    on_roll = await RegistrationRepository(session).on_roll(UPN, EFFECTIVE + dt.timedelta(days=1))
    assert [r.setting_id for r in on_roll] == [SCHOOL.id]

    returns = await NotificationRepository(session).find(
        upn=UPN, kind=NotificationKind.DELETION_RETURN
    )
    assert len(returns) == 1
    # Wales reg 12(3): within 10 school days after the deletion (Mon 10 Nov -> Mon 24 Nov).
    assert returns[0].due_by is not None
    assert returns[0].due_by.date() == dt.date(2025, 11, 24)
    routed = {
        (i.connection, i.payload["notification_id"]) for i in await OutboxRepository(session).list()
    }
    assert ("la-one", returns[0].id) in routed
    assert (await AuditLedger(session).verify()).ok


async def test_ehe_from_special_school_refused_without_la_consent(session: AsyncSession) -> None:
    # Wales reg 8(2): deleting a special school pupil for EHE needs the LA's consent.
    settings = _settings()
    await _seed(session, SPECIAL, statuses={SPECIAL.id: "single"})
    request = _request(
        "wales-2010:8(1)(d)", SPECIAL, parent_written_notice=True, ceased_to_attend=True
    )
    decision = await request_deletion(
        session, request, settings=settings.deletions, sink=_sink(settings), actor="test", now=NOW
    )
    assert decision.decision == "refused"
    assert any("8(2)" in r.citation for r in decision.reasons), decision.reasons
    assert await RegistrationRepository(session).on_roll(UPN, EFFECTIVE + dt.timedelta(days=1))

    with_consent = _request(
        "wales-2010:8(1)(d)",
        SPECIAL,
        parent_written_notice=True,
        ceased_to_attend=True,
        la_consent=True,
    )
    allowed = await request_deletion(
        session,
        with_consent,
        settings=settings.deletions,
        sink=_sink(settings),
        actor="test",
        now=NOW,
    )
    assert allowed.decision == "allowed", allowed.reasons


async def test_dry_run_decides_without_side_effects(session: AsyncSession) -> None:
    settings = _settings()
    await _seed(session, SPECIAL, statuses={SPECIAL.id: "single"})
    request = _request(
        "wales-2010:8(1)(d)",
        SPECIAL,
        parent_written_notice=True,
        ceased_to_attend=True,
        la_consent=True,
    ).model_copy(update={"dry_run": True})
    decision = await request_deletion(
        session, request, settings=settings.deletions, sink=_sink(settings), actor="test", now=NOW
    )
    assert decision.decision == "allowed"
    assert decision.notifications == ()
    assert await RegistrationRepository(session).on_roll(UPN, EFFECTIVE + dt.timedelta(days=1))
    assert await NotificationRepository(session).find(upn=UPN) == []
