"""Reference data: settings, learners, registrations, EOTAS placements, school calendars.

Every repository takes the caller's ``AsyncSession``; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub_contracts import (
    EotasPlacement,
    Learner,
    LearnerFlags,
    PlacementArranger,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SchoolCalendar,
    Setting,
    SettingKind,
)
from hub_contracts._base import Jurisdiction

from ._sql import chunked, table, upsert

_IN_CHUNK = 1_000
_REG = table("registrations")
_EOTAS = table("eotas_placements")
_DAYS = table("school_days")


class SettingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, setting: Setting) -> bool:
        """Insert or update by id; ``False`` when the stored setting was already identical."""
        if await self.get(setting.id) == setting:
            return False
        values = _setting_values(setting)
        stmt = upsert(self._session, table("settings")).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}
        )
        await self._session.execute(stmt)
        return True

    async def get(self, setting_id: str) -> Setting | None:
        t = table("settings")
        row = (await self._session.execute(select(t).where(t.c.id == setting_id))).one_or_none()
        return None if row is None else _setting(row)

    async def get_many(self, setting_ids: Iterable[str]) -> dict[str, Setting]:
        """The stored settings among ``setting_ids``, by id (unknown ids are absent)."""
        t = table("settings")
        out: dict[str, Setting] = {}
        for part in chunked(sorted(set(setting_ids)), _IN_CHUNK):
            for row in await self._session.execute(select(t).where(t.c.id.in_(part))):
                out[row.id] = _setting(row)
        return out

    async def list(self, *, la_code: str | None = None) -> list[Setting]:
        t = table("settings")
        query = select(t).order_by(t.c.id)
        if la_code is not None:
            query = query.where(t.c.la_code == la_code)
        return [_setting(row) for row in await self._session.execute(query)]


class LearnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, learner: Learner) -> bool:
        """Insert or update by UPN; ``False`` when the stored learner was already identical."""
        if await self.get(learner.upn) == learner:
            return False
        values = _learner_values(learner)
        stmt = upsert(self._session, table("learners")).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["upn"], set_={k: v for k, v in values.items() if k != "upn"}
        )
        await self._session.execute(stmt)
        return True

    async def get(self, upn: str) -> Learner | None:
        t = table("learners")
        row = (await self._session.execute(select(t).where(t.c.upn == upn))).one_or_none()
        return None if row is None else _learner(row)

    async def get_many(self, upns: Iterable[str]) -> dict[str, Learner]:
        t = table("learners")
        found: dict[str, Learner] = {}
        for part in chunked(sorted(set(upns)), _IN_CHUNK):
            rows = await self._session.execute(select(t).where(t.c.upn.in_(part)))
            found.update((row.upn, _learner(row)) for row in rows)
        return found


class RegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, registration: Registration) -> int:
        """Store a registration and return its id.

        Idempotent on the natural key (upn, setting_id, start_date): adding it again updates
        status, end date and deletion ground in place and returns the same id.
        """
        values = _registration_values(registration)
        stmt = (
            upsert(self._session, _REG)
            .values(values)
            .on_conflict_do_update(
                index_elements=["upn", "setting_id", "start_date"],
                set_={k: values[k] for k in ("status", "end_date", "deletion_ground")},
            )
        )
        return int((await self._session.execute(stmt.returning(_REG.c.id))).scalar_one())

    async def get(self, registration_id: int) -> Registration | None:
        rows = await self._list(select(_REG).where(_REG.c.id == registration_id))
        return rows[0] if rows else None

    async def for_learner(self, upn: str) -> list[Registration]:
        query = select(_REG).where(_REG.c.upn == upn)
        return await self._list(query.order_by(_REG.c.start_date, _REG.c.id))

    async def for_learners(self, upns: Iterable[str]) -> dict[str, list[Registration]]:
        """Every registration of each learner in ``upns`` (one query per 1,000 learners)."""
        out: dict[str, list[Registration]] = {}
        for part in chunked(sorted(set(upns)), _IN_CHUNK):
            query = select(_REG).where(_REG.c.upn.in_(part)).order_by(_REG.c.start_date, _REG.c.id)
            for reg in await self._list(query):
                out.setdefault(reg.upn, []).append(reg)
        return out

    async def on_roll(self, upn: str, day: dt.date) -> list[Registration]:
        """The learner's registrations in force on ``day`` (two when dual-registered)."""
        query = select(_REG).where(_REG.c.upn == upn, _in_force(_REG, day))
        return await self._list(query.order_by(_REG.c.setting_id))

    async def roll(self, setting_id: str, day: dt.date) -> list[Registration]:
        """The setting's admission register on ``day``."""
        query = select(_REG).where(_REG.c.setting_id == setting_id, _in_force(_REG, day))
        return await self._list(query.order_by(_REG.c.upn))

    async def end(
        self, upn: str, setting_id: str, end_date: dt.date, *, deletion_ground: str | None = None
    ) -> Registration | None:
        """End the open registration at ``setting_id`` on ``end_date``; ``None`` if none is open."""
        latest_open = (
            select(_REG.c.id)
            .where(
                _REG.c.upn == upn,
                _REG.c.setting_id == setting_id,
                _REG.c.end_date.is_(None),
                _REG.c.start_date <= end_date,
            )
            .order_by(_REG.c.start_date.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = (
            update(_REG)
            .where(_REG.c.id == latest_open)
            .values(end_date=end_date, deletion_ground=deletion_ground)
            .returning(*_REG.c)
        )
        row = (await self._session.execute(stmt)).one_or_none()
        return None if row is None else _registration(row)

    async def _list(self, query: Select[Any]) -> list[Registration]:
        return [_registration(row) for row in await self._session.execute(query)]


class PlacementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, placement: EotasPlacement) -> int:
        """Store a placement; idempotent on (upn, school_id, provider_id, start_date)."""
        values = _placement_values(placement)
        key = ("upn", "school_id", "provider_id", "start_date")
        stmt = (
            upsert(self._session, _EOTAS)
            .values(values)
            .on_conflict_do_update(
                index_elements=list(key), set_={k: v for k, v in values.items() if k not in key}
            )
        )
        return int((await self._session.execute(stmt.returning(_EOTAS.c.id))).scalar_one())

    async def get(self, placement_id: int) -> EotasPlacement | None:
        rows = await self._list(select(_EOTAS).where(_EOTAS.c.id == placement_id))
        return rows[0] if rows else None

    async def for_learner(self, upn: str) -> list[EotasPlacement]:
        query = select(_EOTAS).where(_EOTAS.c.upn == upn)
        return await self._list(query.order_by(_EOTAS.c.start_date, _EOTAS.c.id))

    async def for_learners(self, upns: Iterable[str]) -> dict[str, list[EotasPlacement]]:
        """Every placement of each learner in ``upns`` (one query per 1,000 learners)."""
        out: dict[str, list[EotasPlacement]] = {}
        for part in chunked(sorted(set(upns)), _IN_CHUNK):
            query = select(_EOTAS).where(_EOTAS.c.upn.in_(part)).order_by(_EOTAS.c.start_date)
            for placement in await self._list(query):
                out.setdefault(placement.upn, []).append(placement)
        return out

    async def active_for_learner(self, upn: str, day: dt.date) -> list[EotasPlacement]:
        query = select(_EOTAS).where(_EOTAS.c.upn == upn, _in_force(_EOTAS, day))
        return await self._list(query.order_by(_EOTAS.c.provider_id))

    async def active_for_provider(self, provider_id: str, day: dt.date) -> list[EotasPlacement]:
        query = select(_EOTAS).where(_EOTAS.c.provider_id == provider_id, _in_force(_EOTAS, day))
        return await self._list(query.order_by(_EOTAS.c.upn))

    async def _list(self, query: Select[Any]) -> list[EotasPlacement]:
        return [_placement(row) for row in await self._session.execute(query)]


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(self, calendar: SchoolCalendar) -> None:
        """Make ``calendar.school_days`` the setting's only school days."""
        await self._session.execute(delete(_DAYS).where(_DAYS.c.setting_id == calendar.setting_id))
        rows = [{"setting_id": calendar.setting_id, "date": day} for day in calendar.school_days]
        if rows:
            await self._session.execute(insert(_DAYS), rows)

    async def get(self, setting_id: str) -> SchoolCalendar:
        """The setting's calendar; no stored days gives an empty calendar."""
        return SchoolCalendar(
            setting_id=setting_id, school_days=tuple(await self.school_days(setting_id))
        )

    async def school_days(
        self, setting_id: str, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> list[dt.date]:
        query = select(_DAYS.c.date).where(_DAYS.c.setting_id == setting_id)
        if date_from is not None:
            query = query.where(_DAYS.c.date >= date_from)
        if date_to is not None:
            query = query.where(_DAYS.c.date <= date_to)
        return list(await self._session.scalars(query.order_by(_DAYS.c.date)))


def _in_force(t: Table, day: dt.date) -> ColumnElement[bool]:
    return and_(t.c.start_date <= day, or_(t.c.end_date.is_(None), t.c.end_date >= day))


def _setting_values(s: Setting) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind.value,
        "jurisdiction": s.jurisdiction.value,
        "la_code": s.la_code,
        "maintained": s.maintained,
        "contact_email": s.contact_email,
    }


def _setting(row: Row[Any]) -> Setting:
    return Setting(
        id=row.id,
        name=row.name,
        kind=SettingKind(row.kind),
        jurisdiction=Jurisdiction(row.jurisdiction),
        la_code=row.la_code,
        maintained=row.maintained,
        contact_email=row.contact_email,
    )


def _learner_values(learner: Learner) -> dict[str, Any]:
    return {
        "upn": learner.upn,
        "given_name": learner.given_name,
        "family_name": learner.family_name,
        "date_of_birth": learner.date_of_birth,
        "address": learner.address,
        "flags": learner.flags.model_dump(mode="json"),
        "sharing_restrictions": list(learner.sharing_restrictions),
    }


def _learner(row: Row[Any]) -> Learner:
    return Learner(
        upn=row.upn,
        given_name=row.given_name,
        family_name=row.family_name,
        date_of_birth=row.date_of_birth,
        address=row.address,
        flags=LearnerFlags.model_validate(row.flags),
        sharing_restrictions=tuple(row.sharing_restrictions),
    )


def _registration_values(r: Registration) -> dict[str, Any]:
    return {
        "upn": r.upn,
        "setting_id": r.setting_id,
        "status": r.status.value,
        "start_date": r.start_date,
        "end_date": r.end_date,
        "deletion_ground": r.deletion_ground,
    }


def _registration(row: Row[Any]) -> Registration:
    return Registration(
        upn=row.upn,
        setting_id=row.setting_id,
        status=RegistrationStatus(row.status),
        start_date=row.start_date,
        end_date=row.end_date,
        deletion_ground=row.deletion_ground,
    )


def _placement_values(p: EotasPlacement) -> dict[str, Any]:
    return {
        "upn": p.upn,
        "school_id": p.school_id,
        "provider_id": p.provider_id,
        "sessions": [s.model_dump(mode="json") for s in p.sessions],
        "start_date": p.start_date,
        "end_date": p.end_date,
        "arranged_by": p.arranged_by.value,
    }


def _placement(row: Row[Any]) -> EotasPlacement:
    sessions: Sequence[dict[str, Any]] = row.sessions
    return EotasPlacement(
        upn=row.upn,
        school_id=row.school_id,
        provider_id=row.provider_id,
        sessions=tuple(ScheduledSession.model_validate(s) for s in sessions),
        start_date=row.start_date,
        end_date=row.end_date,
        arranged_by=PlacementArranger(row.arranged_by),
    )
