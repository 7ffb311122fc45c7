"""Quarantine: inbound records that failed validation, kept verbatim for an operator.

The raw payload may hold pupil data; it stays in the database and is never logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, table

_QUARANTINE = table("quarantine")


@dataclass(frozen=True)
class QuarantinedRecord:
    id: int
    source: str
    received_at: dt.datetime
    reason: str
    field: str | None
    raw_payload: str


class QuarantineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        source: str,
        *,
        reason: str,
        raw_payload: str,
        received_at: dt.datetime,
        field: str | None = None,
    ) -> int:
        stmt = insert(_QUARANTINE).values(
            source=source,
            received_at=aware(received_at, "received_at"),
            reason=reason,
            field=field,
            raw_payload=raw_payload,
        )
        return int((await self._session.execute(stmt.returning(_QUARANTINE.c.id))).scalar_one())

    async def count(self, *, source: str | None = None) -> int:
        query = select(func.count()).select_from(_QUARANTINE)
        if source is not None:
            query = query.where(_QUARANTINE.c.source == source)
        return int((await self._session.execute(query)).scalar_one())

    async def list(self, *, source: str | None = None, limit: int = 100) -> list[QuarantinedRecord]:
        """Newest first."""
        q = _QUARANTINE.c
        query = select(_QUARANTINE).order_by(q.received_at.desc(), q.id.desc()).limit(limit)
        if source is not None:
            query = query.where(q.source == source)
        return [_record(row) for row in await self._session.execute(query)]


def _record(row: Row[Any]) -> QuarantinedRecord:
    return QuarantinedRecord(
        id=row.id,
        source=row.source,
        received_at=row.received_at,
        reason=row.reason,
        field=row.field,
        raw_payload=row.raw_payload,
    )
