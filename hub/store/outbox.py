"""The outbox: side effects written in the same transaction as the data that caused them.

A row is ``pending`` until delivered (``delivered``) or given up on (``dead``, with a
``dead_letters`` row an operator can replay). A dispatcher claims due rows under a lease: the
claim commits ``lease_owner``/``lease_until``, so other processes skip the row until the lease
runs out, and a crashed dispatcher's rows come back by themselves. On PostgreSQL the claim also
takes ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never wait on each other; SQLite has one
writer at a time, so its single ``UPDATE ... RETURNING`` is already atomic.

Each claim counts as an attempt (a crash mid-delivery is an attempt too); ``release`` gives
back unstarted claims without counting them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, dialect_name, table, upsert
from .errors import ConflictError, NotFoundError

_OUTBOX = table("outbox")
_DEAD = table("dead_letters")


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    connection: str | None
    recipient: str | None
    payload: dict[str, Any]
    idempotency_key: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class NewRow:
    """A row to enqueue (`OutboxRepository.enqueue_many`)."""

    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    connection: str | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class Enqueued:
    item: OutboxItem
    #: False when a row with the same idempotency key already existed (nothing was added).
    created: bool


@dataclass(frozen=True)
class DeadLetter:
    id: int
    outbox_id: int
    reason: str
    payload: dict[str, Any]
    created_at: dt.datetime
    replayed_at: dt.datetime | None


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        idempotency_key: str,
        *,
        now: dt.datetime,
        connection: str | None = None,
        recipient: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> Enqueued:
        """Add a pending row, or return the existing one with the same idempotency key."""
        now = aware(now)
        stmt = (
            upsert(self._session, _OUTBOX)
            .values(
                kind=kind,
                connection=connection,
                recipient=recipient,
                payload=payload,
                idempotency_key=idempotency_key,
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=aware(not_before, "not_before") if not_before else now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        row = (await self._session.execute(stmt.returning(*_OUTBOX.c))).first()
        if row is not None:
            return Enqueued(item=_item(row), created=True)
        item = await self.get_by_key(idempotency_key)  # it was there already
        assert item is not None
        return Enqueued(item=item, created=False)

    async def enqueue_many(self, rows: Sequence[NewRow], *, now: dt.datetime) -> set[str]:
        """`enqueue` for several rows, due now, in one statement per 500; returns the
        idempotency keys of the rows created (a key already queued adds nothing)."""
        now = aware(now)
        first: dict[str, NewRow] = {}
        for row in rows:  # a key twice in one call: the first row stands, as with `enqueue`
            first.setdefault(row.idempotency_key, row)
        rows = list(first.values())
        created: set[str] = set()
        for start in range(0, len(rows), 500):
            values = [
                {
                    "kind": row.kind,
                    "connection": row.connection,
                    "recipient": row.recipient,
                    "payload": row.payload,
                    "idempotency_key": row.idempotency_key,
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for row in rows[start : start + 500]
            ]
            stmt = (
                upsert(self._session, _OUTBOX)
                .values(values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(_OUTBOX.c.idempotency_key)
            )
            created.update((await self._session.execute(stmt)).scalars())
        return created

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self._session.execute(select(_OUTBOX).where(_OUTBOX.c.id == item_id))).first()
        return None if row is None else _item(row)

    async def get_by_key(self, idempotency_key: str) -> OutboxItem | None:
        query = select(_OUTBOX).where(_OUTBOX.c.idempotency_key == idempotency_key)
        row = (await self._session.execute(query)).first()
        return None if row is None else _item(row)

    async def count(self, *, status: OutboxStatus | None = None) -> int:
        query = select(func.count()).select_from(_OUTBOX)
        if status is not None:
            query = query.where(_OUTBOX.c.status == status.value)
        return int((await self._session.execute(query)).scalar_one())

    async def claim_due(
        self, owner: str, *, limit: int, lease_seconds: float, now: dt.datetime
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` due rows to ``owner``; commit promptly to publish the lease."""
        now = aware(now)
        o = _OUTBOX.c
        due = (
            select(o.id)
            .where(
                o.status == OutboxStatus.PENDING.value,
                o.next_attempt_at <= now,
                or_(o.lease_until.is_(None), o.lease_until < now),
            )
            .order_by(o.next_attempt_at, o.id)
            .limit(limit)
        )
        if dialect_name(self._session) == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(_OUTBOX)
            .where(o.id.in_(due.scalar_subquery()))
            .values(
                lease_owner=owner,
                lease_until=now + dt.timedelta(seconds=lease_seconds),
                attempts=o.attempts + 1,
            )
            .returning(*_OUTBOX.c)
        )
        rows = (await self._session.execute(stmt)).all()
        return sorted((_item(row) for row in rows), key=lambda i: (i.next_attempt_at, i.id))

    async def mark_delivered(self, item_id: int, owner: str, *, now: dt.datetime) -> bool:
        """Record delivery; ``False`` if ``owner`` no longer holds the row (lost its lease)."""
        return await self._finish(
            item_id,
            owner,
            status=OutboxStatus.DELIVERED.value,
            delivered_at=aware(now),
            last_error=None,
        )

    async def mark_delivered_many(
        self, item_ids: Sequence[int], owner: str, *, now: dt.datetime
    ) -> set[int]:
        """`mark_delivered` for several rows in one statement; returns the ids recorded (those
        ``owner`` still held)."""
        if not item_ids:
            return set()
        o = _OUTBOX.c
        stmt = (
            update(_OUTBOX)
            .where(
                o.id.in_(list(item_ids)),
                o.lease_owner == owner,
                o.status == OutboxStatus.PENDING.value,
            )
            .values(
                status=OutboxStatus.DELIVERED.value,
                delivered_at=aware(now),
                last_error=None,
                **_NO_LEASE,
            )
            .returning(o.id)
        )
        return {int(i) for i in (await self._session.execute(stmt)).scalars()}

    async def mark_failed(
        self, item_id: int, owner: str, *, error: str, retry_at: dt.datetime
    ) -> bool:
        """Record a transient failure and schedule the next attempt."""
        return await self._finish(
            item_id, owner, next_attempt_at=aware(retry_at, "retry_at"), last_error=error
        )

    async def to_dead_letter(
        self, item_id: int, owner: str | None, *, reason: str, now: dt.datetime
    ) -> int:
        """Give up on a row: mark it ``dead`` and file a dead letter; returns the letter's id.

        ``owner=None`` is for an operator acting outside any dispatcher lease.
        """
        o = _OUTBOX.c
        stmt = (
            update(_OUTBOX)
            .where(o.id == item_id, o.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.DEAD.value, last_error=reason, **_NO_LEASE)
            .returning(o.payload)
        )
        if owner is not None:
            stmt = stmt.where(o.lease_owner == owner)
        payload = (await self._session.execute(stmt)).scalar_one_or_none()
        if payload is None:
            raise ConflictError(f"outbox row {item_id} is not pending under this owner")
        letter = insert(_DEAD).values(
            outbox_id=item_id, reason=reason, payload=payload, created_at=aware(now)
        )
        return int((await self._session.execute(letter.returning(_DEAD.c.id))).scalar_one())

    async def release(self, owner: str) -> int:
        """Give back every unfinished lease ``owner`` holds (graceful shutdown); returns count."""
        o = _OUTBOX.c
        stmt = (
            update(_OUTBOX)
            .where(o.lease_owner == owner, o.status == OutboxStatus.PENDING.value)
            .values(attempts=case((o.attempts > 0, o.attempts - 1), else_=0), **_NO_LEASE)
            .returning(o.id)
        )
        return len((await self._session.execute(stmt)).all())

    async def list(
        self, *, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        query = select(_OUTBOX).order_by(_OUTBOX.c.id).limit(limit)
        if status is not None:
            query = query.where(_OUTBOX.c.status == status.value)
        return [_item(row) for row in await self._session.execute(query)]

    async def _finish(self, item_id: int, owner: str, **values: Any) -> bool:
        o = _OUTBOX.c
        stmt = (
            update(_OUTBOX)
            .where(
                o.id == item_id,
                o.lease_owner == owner,
                o.status == OutboxStatus.PENDING.value,
            )
            .values(**values, **_NO_LEASE)
            .returning(o.id)
        )
        return (await self._session.execute(stmt)).first() is not None


class DeadLetterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list(self, *, include_replayed: bool = False, limit: int = 100) -> list[DeadLetter]:
        query = select(_DEAD).order_by(_DEAD.c.id).limit(limit)
        if not include_replayed:
            query = query.where(_DEAD.c.replayed_at.is_(None))
        return [_letter(row) for row in await self._session.execute(query)]

    async def get(self, letter_id: int) -> DeadLetter | None:
        row = (await self._session.execute(select(_DEAD).where(_DEAD.c.id == letter_id))).first()
        return None if row is None else _letter(row)

    async def replay(self, letter_id: int, *, now: dt.datetime) -> OutboxItem:
        """Put the dead row back in the queue, due now, with its original idempotency key.

        The key is kept so a receiver that did act on an earlier attempt can de-duplicate.
        """
        now = aware(now)
        d = _DEAD.c
        stamp = (
            update(_DEAD)
            .where(d.id == letter_id, d.replayed_at.is_(None))
            .values(replayed_at=now)
            .returning(d.outbox_id)
        )
        outbox_id = (await self._session.execute(stamp)).scalar_one_or_none()
        if outbox_id is None:
            if await self.get(letter_id) is None:
                raise NotFoundError(f"dead letter {letter_id} does not exist")
            raise ConflictError(f"dead letter {letter_id} was already replayed")
        o = _OUTBOX.c
        requeue = (
            update(_OUTBOX)
            .where(o.id == outbox_id, o.status == OutboxStatus.DEAD.value)
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now)
            .returning(*_OUTBOX.c)
        )
        row = (await self._session.execute(requeue)).first()
        if row is None:
            raise ConflictError(f"outbox row {outbox_id} of dead letter {letter_id} is not dead")
        return _item(row)


_NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def _item(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        kind=row.kind,
        connection=row.connection,
        recipient=row.recipient,
        payload=row.payload,
        idempotency_key=row.idempotency_key,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        outbox_id=row.outbox_id,
        reason=row.reason,
        payload=row.payload,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )
