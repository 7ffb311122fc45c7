"""Discrepancies keep their history; notifications, receipts and decisions round-trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import (
    DeliveryReceiptRepository,
    DiscrepancyRepository,
    NotificationRepository,
    RollDeletionDecisionRepository,
)
from hub_contracts import (
    DecisionOutcome,
    DecisionReason,
    DeliveryReceipt,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    ProposedAction,
    RollDeletionDecision,
    RollDeletionRequest,
    Session,
    Severity,
)

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _discrepancy(synthetic: Any, **overrides: Any) -> Discrepancy:
    values: dict[str, Any] = {
        "id": "dual_conflict:1",
        "kind": DiscrepancyKind.DUAL_CONFLICT,
        "severity": Severity.WARNING,
        "upn": synthetic.upn(1),
        "date": synthetic.MONDAY,
        "session": Session.AM,
        "setting_ids": ("9990001", "9990002"),
        "detail": "present at 9990002, N at 9990001",
        "proposed_actions": (ProposedAction(setting_id="9990001", code="D"),),
    }
    return Discrepancy(**(values | overrides))


async def test_discrepancy_history_records_each_change(
    session: AsyncSession, synthetic: Any
) -> None:
    repo = DiscrepancyRepository(session)
    opened = _discrepancy(synthetic)
    resolved = opened.model_copy(update={"status": DiscrepancyStatus.RESOLVED})

    assert await repo.record(opened, now=NOW) == "opened"
    assert await repo.record(opened, now=NOW + HOUR) is None
    assert await repo.record(resolved, now=NOW + 2 * HOUR) == "resolved"
    assert await repo.record(opened, now=NOW + 3 * HOUR) == "reopened"

    assert await repo.get(opened.id) == opened
    history = await repo.history(opened.id)
    assert [(e.event, e.at, e.discrepancy.status) for e in history] == [
        ("opened", NOW, DiscrepancyStatus.OPEN),
        ("resolved", NOW + 2 * HOUR, DiscrepancyStatus.RESOLVED),
        ("reopened", NOW + 3 * HOUR, DiscrepancyStatus.OPEN),
    ]


async def test_discrepancy_filters_apply_only_when_given(
    session: AsyncSession, synthetic: Any
) -> None:
    repo = DiscrepancyRepository(session)
    conflict = _discrepancy(synthetic)
    unaccounted = _discrepancy(
        synthetic,
        id="dual_unaccounted:1",
        kind=DiscrepancyKind.DUAL_UNACCOUNTED,
        severity=Severity.CRITICAL,
        session=Session.PM,
        setting_ids=("9990001", "9990003"),
        proposed_actions=(),
        status=DiscrepancyStatus.RESOLVED,
    )
    other = _discrepancy(
        synthetic, id="b_unscheduled:2", upn=synthetic.upn(2), setting_ids=("9990004",)
    )
    for d in (conflict, unaccounted, other):
        await repo.record(d, now=NOW)

    assert await repo.find() == [other, conflict, unaccounted]  # by date, session, id
    assert await repo.find(upn=synthetic.upn(1)) == [conflict, unaccounted]
    assert await repo.find(setting_id="9990003") == [unaccounted]
    assert await repo.find(setting_id="9990001", status=DiscrepancyStatus.OPEN) == [conflict]
    assert await repo.find(kind=DiscrepancyKind.DUAL_UNACCOUNTED) == [unaccounted]
    # Moving a finding to other settings moves it in the setting filter too.
    await repo.record(conflict.model_copy(update={"setting_ids": ("9990005",)}), now=NOW + HOUR)
    assert await repo.find(setting_id="9990002") == []


def _notification(synthetic: Any, n: int, **overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "id": f"deletion_return:{n}",
        "kind": NotificationKind.DELETION_RETURN,
        "upn": synthetic.upn(n),
        "recipient": "la:999",
        "due_by": NOW + dt.timedelta(days=14),
        "created_at": NOW,
        "payload": {"ground": "wales-2010:8(1)(d)", "school_days": [1, 2]},
    }
    return Notification(**(values | overrides))


async def test_notifications_add_find_status_and_overdue(
    session: AsyncSession, synthetic: Any
) -> None:
    repo = NotificationRepository(session)
    due = _notification(synthetic, 1)
    alert = _notification(
        synthetic,
        2,
        id="safeguarding_alert:2",
        kind=NotificationKind.SAFEGUARDING_ALERT,
        recipient="safeguarding@example.invalid",
        due_by=NOW + dt.timedelta(hours=24),
    )
    periodic = _notification(
        synthetic,
        3,
        id="absence_return:999",
        kind=NotificationKind.ABSENCE_RETURN,
        upn=None,
        due_by=None,
        created_at=NOW + HOUR,
    )

    assert await repo.add(due)
    assert not await repo.add(due)
    await repo.add(alert)
    await repo.add(periodic)

    assert await repo.get(due.id) == due
    assert await repo.find(kind=NotificationKind.SAFEGUARDING_ALERT) == [alert]
    assert await repo.find(recipient="la:999") == [due, periodic]
    assert await repo.find(upn=synthetic.upn(1)) == [due]
    assert await repo.overdue(now=NOW + dt.timedelta(days=2)) == [alert]

    delivered_at = NOW + HOUR
    assert await repo.set_status(alert.id, NotificationStatus.DELIVERED, delivered_at=delivered_at)
    assert await repo.find(status=NotificationStatus.DELIVERED) == [
        alert.model_copy(
            update={"status": NotificationStatus.DELIVERED, "delivered_at": delivered_at}
        )
    ]
    assert await repo.overdue(now=NOW + dt.timedelta(days=2)) == []
    assert not await repo.set_status("missing", NotificationStatus.DEAD)


async def test_receipts_are_idempotent_on_their_key(session: AsyncSession) -> None:
    repo = DeliveryReceiptRepository(session)
    receipt = DeliveryReceipt(
        notification_id="deletion_return:1",
        recipient="la:999",
        idempotency_key="deletion_return:1:one-la",
        external_ref="ONE-12345",
        delivered_at=NOW,
    )

    assert await repo.add(receipt)
    assert not await repo.add(receipt.model_copy(update={"external_ref": "ONE-99999"}))

    assert await repo.for_notification("deletion_return:1") == [receipt]


async def test_roll_deletion_decision_keeps_its_request(
    session: AsyncSession, synthetic: Any
) -> None:
    repo = RollDeletionDecisionRepository(session)
    request = RollDeletionRequest(
        upn=synthetic.upn(1),
        setting_id="9990001",
        ground="wales-2010:8(1)(d)",
        effective_date=dt.date(2025, 2, 1),
        evidence={"written_notice": True, "notice_date": "2025-01-20"},
    )
    decision = RollDeletionDecision(
        id="decision-1",
        decision=DecisionOutcome.ALLOWED,
        reasons=(
            DecisionReason(
                rule="deletion.ground_known",
                message="ground applies",
                citation="Wales reg 8(1)(d)",
            ),
        ),
        notifications=("deletion_return:1",),
    )

    await repo.add(decision, request, decided_at=NOW)

    assert await repo.get("decision-1") == decision
    assert await repo.request_for("decision-1") == request
    assert await repo.for_learner(synthetic.upn(1)) == [decision]
    assert await repo.for_learner(synthetic.upn(1), "9990002") == []
