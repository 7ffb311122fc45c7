"""Deletion consents (Wales reg 8(1)(c); England 2024 reg 9(1)(c)(ii))."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, table, upsert

_CONSENTS = table("deletion_consents")


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self, upn: str, setting_id: str, consenting_setting_id: str, *, by: str, now: dt.datetime
    ) -> bool:
        """Record that `consenting_setting_id` consents to deleting `upn` at `setting_id`;
        False when already recorded (the first record stands)."""
        stmt = (
            upsert(self._session, _CONSENTS)
            .values(
                upn=upn,
                setting_id=setting_id,
                consenting_setting_id=consenting_setting_id,
                recorded_by=by,
                recorded_at=aware(now),
            )
            .on_conflict_do_nothing()
        )
        result = await self._session.execute(stmt.returning(_CONSENTS.c.id))
        return result.first() is not None

    async def consenting(self, upn: str, setting_id: str) -> frozenset[str]:
        c = _CONSENTS.c
        query = select(c.consenting_setting_id).where(c.upn == upn, c.setting_id == setting_id)
        return frozenset(await self._session.scalars(query))
