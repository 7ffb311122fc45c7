"""Sync state: one cursor per connection and stream, and one leader lease per connection.

Cursors are read and written inside the caller's transaction, so a page of records, its
outbox rows and the advanced cursor commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, table, upsert

_CURSORS = table("sync_cursors")
_LEASES = table("sync_leases")


@dataclass(frozen=True)
class CursorState:
    connection: str
    stream: str
    cursor: str | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class SyncLease:
    connection: str
    owner: str
    lease_until: dt.datetime
    acquired_at: dt.datetime


class CursorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, connection: str, stream: str) -> str | None:
        """The stored cursor (opaque text, usually JSON); ``None`` before the first sync."""
        c = _CURSORS.c
        query = select(c.cursor).where(c.connection == connection, c.stream == stream)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def set(
        self, connection: str, stream: str, cursor: str | None, *, now: dt.datetime
    ) -> None:
        values = {
            "connection": connection,
            "stream": stream,
            "cursor": cursor,
            "updated_at": aware(now),
        }
        stmt = upsert(self._session, _CURSORS).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["connection", "stream"],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
        await self._session.execute(stmt)

    async def states(self, connection: str | None = None) -> list[CursorState]:
        """Every stored cursor, for ``GET /v1/connections``."""
        c = _CURSORS.c
        query = select(_CURSORS).order_by(c.connection, c.stream)
        if connection is not None:
            query = query.where(c.connection == connection)
        return [
            CursorState(row.connection, row.stream, row.cursor, row.updated_at)
            for row in await self._session.execute(query)
        ]

    async def acquire_lease(
        self, connection: str, owner: str, *, lease_seconds: float, now: dt.datetime
    ) -> bool:
        """Become (or stay) the one process syncing ``connection``; ``False`` if another is.

        A single compare-and-set statement: take the row if it is free, expired or ours.
        Committing promptly publishes the lease to other processes.
        """
        now = aware(now)
        until = now + dt.timedelta(seconds=lease_seconds)
        stmt = upsert(self._session, _LEASES).values(
            connection=connection, owner=owner, lease_until=until, acquired_at=now
        )
        held = _LEASES.c
        stmt = stmt.on_conflict_do_update(
            index_elements=["connection"],
            set_={"owner": owner, "lease_until": until, "acquired_at": now},
            where=or_(held.owner == owner, held.lease_until < now),
        )
        return (await self._session.execute(stmt.returning(held.owner))).first() is not None

    async def lease(self, connection: str) -> SyncLease | None:
        row = (
            await self._session.execute(select(_LEASES).where(_LEASES.c.connection == connection))
        ).first()
        if row is None:
            return None
        return SyncLease(row.connection, row.owner, row.lease_until, row.acquired_at)

    async def release_lease(self, connection: str, owner: str) -> bool:
        held = _LEASES.c
        stmt = (
            delete(_LEASES)
            .where(held.connection == connection, held.owner == owner)
            .returning(held.owner)
        )
        return (await self._session.execute(stmt)).first() is not None
