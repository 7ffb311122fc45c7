"""What the rules produce: discrepancies (with their history), roll deletion decisions,
notifications and the receipts that prove delivery.

Ids come from the caller (the rules derive them deterministically), so storing the same
finding twice is a no-op rather than a duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub_contracts import (
    DeliveryReceipt,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    RollDeletionDecision,
    RollDeletionRequest,
)

from ._sql import aware, table, upsert

_DISCREPANCIES = table("discrepancies")
_DISCREPANCY_SETTINGS = table("discrepancy_settings")
_DISCREPANCY_EVENTS = table("discrepancy_events")
_NOTIFICATIONS = table("notifications")
_RECEIPTS = table("delivery_receipts")
_DECISIONS = table("roll_deletion_decisions")
_IN_CHUNK = 1_000


@dataclass(frozen=True)
class DiscrepancyEvent:
    """``opened``, ``updated``, ``resolved`` or ``reopened``, with the state it led to."""

    id: int
    at: dt.datetime
    event: str
    discrepancy: Discrepancy


class DiscrepancyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, discrepancy: Discrepancy, *, now: dt.datetime) -> str | None:
        """Store a finding; returns the event recorded, or ``None`` if nothing changed."""
        return (await self.record_many([discrepancy], now=now))[0]

    async def record_many(
        self,
        discrepancies: Sequence[Discrepancy],
        *,
        now: dt.datetime,
        previous: Mapping[str, Discrepancy | None] | None = None,
    ) -> list[str | None]:
        """Store findings in order, as `record` would one at a time, in a few statements; returns
        each one's event (``None``: unchanged). `previous` may hold what the caller has already
        read (an id mapped to ``None`` is known to be absent); the rest is read here."""
        now = aware(now)
        known: dict[str, Discrepancy | None] = dict(previous or {})
        missing = {d.id for d in discrepancies} - known.keys()
        if missing:
            known.update(dict.fromkeys(missing))
            known.update(await self.get_many(missing))
        stored = {i for i, d in known.items() if d is not None}  # rows that exist already
        events: list[str | None] = []
        changed: dict[str, Discrepancy] = {}  # id -> its final state in this batch
        event_rows: list[dict[str, Any]] = []
        for discrepancy in discrepancies:
            before = known.get(discrepancy.id)
            if before == discrepancy:
                events.append(None)
                continue
            event = _event(before, discrepancy)
            events.append(event)
            known[discrepancy.id] = changed[discrepancy.id] = discrepancy
            event_rows.append(
                {
                    "discrepancy_id": discrepancy.id,
                    "at": now,
                    "event": event,
                    "status": discrepancy.status.value,
                    "snapshot": discrepancy.model_dump(mode="json"),
                }
            )
        if not changed:
            return events
        d = _DISCREPANCIES.c
        new = [
            {**_discrepancy_values(x), "created_at": now, "updated_at": now}
            for i, x in changed.items()
            if i not in stored
        ]
        if new:
            await self._session.execute(insert(_DISCREPANCIES), new)
        updated = [i for i in changed if i in stored]
        for i in updated:
            await self._session.execute(
                update(_DISCREPANCIES)
                .where(d.id == i)
                .values(**_discrepancy_values(changed[i]), updated_at=now)
            )
        for start in range(0, len(updated), _IN_CHUNK):
            await self._session.execute(
                delete(_DISCREPANCY_SETTINGS).where(
                    _DISCREPANCY_SETTINGS.c.discrepancy_id.in_(updated[start : start + _IN_CHUNK])
                )
            )
        involved = [
            {"discrepancy_id": i, "setting_id": s}
            for i, x in changed.items()
            for s in dict.fromkeys(x.setting_ids)
        ]
        if involved:
            await self._session.execute(insert(_DISCREPANCY_SETTINGS), involved)
        await self._session.execute(insert(_DISCREPANCY_EVENTS), event_rows)
        return events

    async def get_many(self, ids: Iterable[str]) -> dict[str, Discrepancy]:
        """The stored discrepancies among these ids (one query per 1,000)."""
        wanted = sorted(set(ids))
        found: dict[str, Discrepancy] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            query = select(_DISCREPANCIES).where(_DISCREPANCIES.c.id.in_(chunk))
            found.update((d.id, d) for d in await self._select(query))
        return found

    async def get(self, discrepancy_id: str) -> Discrepancy | None:
        found = await self._select(
            select(_DISCREPANCIES).where(_DISCREPANCIES.c.id == discrepancy_id)
        )
        return found[0] if found else None

    async def find(
        self,
        *,
        upn: str | None = None,
        setting_id: str | None = None,
        kind: DiscrepancyKind | None = None,
        status: DiscrepancyStatus | None = None,
        limit: int | None = None,
    ) -> list[Discrepancy]:
        """Filter only by what is given: without ``status`` every status is returned."""
        d = _DISCREPANCIES.c
        query = select(_DISCREPANCIES).order_by(d.date, d.session, d.id)
        if upn is not None:
            query = query.where(d.upn == upn)
        if kind is not None:
            query = query.where(d.kind == kind.value)
        if status is not None:
            query = query.where(d.status == status.value)
        if setting_id is not None:
            involved = select(_DISCREPANCY_SETTINGS.c.discrepancy_id).where(
                _DISCREPANCY_SETTINGS.c.setting_id == setting_id
            )
            query = query.where(d.id.in_(involved))
        if limit is not None:
            query = query.limit(limit)
        return await self._select(query)

    async def history(self, discrepancy_id: str) -> list[DiscrepancyEvent]:
        e = _DISCREPANCY_EVENTS.c
        query = select(_DISCREPANCY_EVENTS).where(e.discrepancy_id == discrepancy_id).order_by(e.id)
        return [
            DiscrepancyEvent(
                id=row.id,
                at=row.at,
                event=row.event,
                discrepancy=Discrepancy.model_validate(row.snapshot),
            )
            for row in await self._session.execute(query)
        ]

    async def _select(self, query: Select[Any]) -> list[Discrepancy]:
        return [_discrepancy(row) for row in await self._session.execute(query)]


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, notification: Notification) -> bool:
        """Store a notification; ``False`` if one with this id already exists (unchanged)."""
        stmt = (
            upsert(self._session, _NOTIFICATIONS)
            .values(_notification_values(notification))
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return (
            await self._session.execute(stmt.returning(_NOTIFICATIONS.c.id))
        ).first() is not None

    async def get(self, notification_id: str) -> Notification | None:
        query = select(_NOTIFICATIONS).where(_NOTIFICATIONS.c.id == notification_id)
        row = (await self._session.execute(query)).first()
        return None if row is None else _notification(row)

    async def get_many(self, ids: Iterable[str]) -> dict[str, Notification]:
        """The stored notifications among these ids (one query per 1,000)."""
        wanted = sorted(set(ids))
        found: dict[str, Notification] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            query = select(_NOTIFICATIONS).where(_NOTIFICATIONS.c.id.in_(chunk))
            for row in await self._session.execute(query):
                found[row.id] = _notification(row)
        return found

    async def find(
        self,
        *,
        upn: str | None = None,
        kind: NotificationKind | None = None,
        recipient: str | None = None,
        status: NotificationStatus | None = None,
        limit: int | None = None,
    ) -> list[Notification]:
        """Filter only by what is given: without ``status`` every status is returned."""
        n = _NOTIFICATIONS.c
        query = select(_NOTIFICATIONS).order_by(n.created_at, n.id)
        for column, value in (
            (n.upn, upn),
            (n.kind, None if kind is None else kind.value),
            (n.recipient, recipient),
            (n.status, None if status is None else status.value),
        ):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(limit)
        return [_notification(row) for row in await self._session.execute(query)]

    async def set_status(
        self,
        notification_id: str,
        status: NotificationStatus,
        *,
        delivered_at: dt.datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status.value}
        if delivered_at is not None:
            values["delivered_at"] = aware(delivered_at, "delivered_at")
        n = _NOTIFICATIONS.c
        stmt = update(_NOTIFICATIONS).where(n.id == notification_id).values(values).returning(n.id)
        return (await self._session.execute(stmt)).first() is not None

    async def overdue(self, *, now: dt.datetime) -> list[Notification]:
        """Undelivered notifications past their ``due_by`` (statutory deadlines missed)."""
        n = _NOTIFICATIONS.c
        query = (
            select(_NOTIFICATIONS)
            .where(
                n.status.in_([NotificationStatus.PENDING.value, NotificationStatus.FAILED.value]),
                n.due_by < aware(now),
            )
            .order_by(n.due_by, n.id)
        )
        return [_notification(row) for row in await self._session.execute(query)]


class DeliveryReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, receipt: DeliveryReceipt) -> bool:
        """Store a receipt; idempotent on its idempotency key (``False`` if already stored)."""
        stmt = (
            upsert(self._session, _RECEIPTS)
            .values(receipt.model_dump())
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        return (await self._session.execute(stmt.returning(_RECEIPTS.c.id))).first() is not None

    async def add_many(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """`add` for several receipts in one statement (each idempotent on its key)."""
        if receipts:
            stmt = upsert(self._session, _RECEIPTS).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
            await self._session.execute(stmt, [r.model_dump() for r in receipts])

    async def for_notification(self, notification_id: str) -> list[DeliveryReceipt]:
        r = _RECEIPTS.c
        query = select(_RECEIPTS).where(r.notification_id == notification_id).order_by(r.id)
        return [
            DeliveryReceipt(
                notification_id=row.notification_id,
                recipient=row.recipient,
                idempotency_key=row.idempotency_key,
                external_ref=row.external_ref,
                delivered_at=row.delivered_at,
                detail=row.detail,
            )
            for row in await self._session.execute(query)
        ]


class RollDeletionDecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        decision: RollDeletionDecision,
        request: RollDeletionRequest,
        *,
        decided_at: dt.datetime,
    ) -> None:
        """Store a decision with the request it answers (decisions are never rewritten)."""
        await self._session.execute(
            insert(_DECISIONS).values(
                id=decision.id,
                upn=request.upn,
                setting_id=request.setting_id,
                ground=request.ground,
                effective_date=request.effective_date,
                decision=decision.decision.value,
                reasons=[r.model_dump(mode="json") for r in decision.reasons],
                notifications=list(decision.notifications),
                request=request.model_dump(mode="json"),
                decided_at=aware(decided_at, "decided_at"),
            )
        )

    async def get(self, decision_id: str) -> RollDeletionDecision | None:
        found = await self._select(select(_DECISIONS).where(_DECISIONS.c.id == decision_id))
        return found[0] if found else None

    async def request_for(self, decision_id: str) -> RollDeletionRequest | None:
        query = select(_DECISIONS.c.request).where(_DECISIONS.c.id == decision_id)
        stored = (await self._session.execute(query)).scalar_one_or_none()
        return None if stored is None else RollDeletionRequest.model_validate(stored)

    async def for_learner(
        self, upn: str, setting_id: str | None = None
    ) -> list[RollDeletionDecision]:
        d = _DECISIONS.c
        query = select(_DECISIONS).where(d.upn == upn).order_by(d.decided_at, d.id)
        if setting_id is not None:
            query = query.where(d.setting_id == setting_id)
        return await self._select(query)

    async def _select(self, query: Select[Any]) -> list[RollDeletionDecision]:
        return [
            RollDeletionDecision.model_validate(
                {
                    "id": row.id,
                    "decision": row.decision,
                    "reasons": row.reasons,
                    "notifications": row.notifications,
                }
            )
            for row in await self._session.execute(query)
        ]


def _event(previous: Discrepancy | None, current: Discrepancy) -> str:
    if previous is None:
        return "opened"
    if previous.status != current.status:
        return "resolved" if current.status is DiscrepancyStatus.RESOLVED else "reopened"
    return "updated"


def _discrepancy_values(d: Discrepancy) -> dict[str, Any]:
    dumped = d.model_dump(mode="json")
    dumped["date"] = d.date
    return dumped


def _discrepancy(row: Row[Any]) -> Discrepancy:
    data = {name: getattr(row, name) for name in Discrepancy.model_fields}
    return Discrepancy.model_validate(data)


def _notification_values(n: Notification) -> dict[str, Any]:
    values = n.model_dump()
    values["kind"] = n.kind.value
    values["status"] = n.status.value
    values["payload"] = n.model_dump(mode="json")["payload"]
    return values


def _notification(row: Row[Any]) -> Notification:
    return Notification.model_validate(
        {name: getattr(row, name) for name in Notification.model_fields}
    )
