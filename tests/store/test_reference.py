"""Reference data round-trips through the store as the same contract models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import (
    CalendarRepository,
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub_contracts import (
    EotasPlacement,
    LearnerFlags,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SchoolCalendar,
    Session,
    SettingKind,
)

SEPT = dt.date(2024, 9, 2)


async def _seed(session: AsyncSession, synthetic: Any) -> None:
    settings = SettingRepository(session)
    await settings.upsert(synthetic.setting("9990001"))
    await settings.upsert(synthetic.setting("9990002", kind=SettingKind.PRU))
    await settings.upsert(
        synthetic.setting("9990003", kind=SettingKind.EOTAS_PROVIDER, maintained=False)
    )
    await LearnerRepository(session).upsert(synthetic.learner(1))


async def test_settings_upsert_get_and_list_by_la(session: AsyncSession, synthetic: Any) -> None:
    settings = SettingRepository(session)
    school = synthetic.setting("9990001", contact_email="office@example.invalid")
    elsewhere = synthetic.setting("8880001", la_code="888")

    assert await settings.upsert(school)
    assert not await settings.upsert(school)
    assert await settings.upsert(elsewhere)
    renamed = school.model_copy(update={"name": "Renamed Test School"})
    assert await settings.upsert(renamed)

    assert await settings.get("9990001") == renamed
    assert await settings.get("0000000") is None
    assert await settings.list(la_code="999") == [renamed]
    assert [s.id for s in await settings.list()] == ["8880001", "9990001"]


async def test_learner_roundtrip_with_flags_and_restrictions(
    session: AsyncSession, synthetic: Any
) -> None:
    learners = LearnerRepository(session)
    child = synthetic.learner(
        1,
        address="1 Test Street",
        flags=LearnerFlags(looked_after=True, social_worker_email="sw@example.invalid"),
        sharing_restrictions=("9990002",),
    )

    assert await learners.upsert(child)
    assert not await learners.upsert(child)

    assert await learners.get(child.upn) == child
    many = await learners.get_many([child.upn, synthetic.upn(99)])
    assert many == {child.upn: child}


async def test_registration_natural_key_on_roll_and_end(
    session: AsyncSession, synthetic: Any
) -> None:
    await _seed(session, synthetic)
    registrations = RegistrationRepository(session)
    upn = synthetic.upn(1)
    main = Registration(
        upn=upn, setting_id="9990001", status=RegistrationStatus.MAIN, start_date=SEPT
    )
    subsidiary = Registration(
        upn=upn,
        setting_id="9990002",
        status=RegistrationStatus.SUBSIDIARY,
        start_date=dt.date(2025, 1, 6),
    )

    main_id = await registrations.add(main)
    assert await registrations.add(main) == main_id  # idempotent on (upn, setting, start)
    await registrations.add(subsidiary)

    assert await registrations.get(main_id) == main
    assert await registrations.for_learner(upn) == [main, subsidiary]
    assert await registrations.on_roll(upn, dt.date(2024, 12, 1)) == [main]
    assert await registrations.on_roll(upn, dt.date(2025, 1, 6)) == [main, subsidiary]
    assert await registrations.roll("9990002", dt.date(2025, 1, 6)) == [subsidiary]

    ended = await registrations.end(
        upn, "9990002", dt.date(2025, 2, 1), deletion_ground="wales-2010:8(1)(d)"
    )
    assert ended == subsidiary.model_copy(
        update={"end_date": dt.date(2025, 2, 1), "deletion_ground": "wales-2010:8(1)(d)"}
    )
    assert await registrations.on_roll(upn, dt.date(2025, 2, 1)) == [main, ended]
    assert await registrations.on_roll(upn, dt.date(2025, 2, 2)) == [main]
    assert await registrations.end(upn, "9990002", dt.date(2025, 3, 1)) is None


async def test_registration_needs_a_known_learner_and_setting(
    session: AsyncSession, synthetic: Any
) -> None:
    await _seed(session, synthetic)
    stranger = Registration(
        upn=synthetic.upn(2),
        setting_id="9990001",
        status=RegistrationStatus.SINGLE,
        start_date=SEPT,
    )
    with pytest.raises(IntegrityError):
        await RegistrationRepository(session).add(stranger)


async def test_placements_by_learner_and_provider(session: AsyncSession, synthetic: Any) -> None:
    await _seed(session, synthetic)
    placements = PlacementRepository(session)
    placement = EotasPlacement(
        upn=synthetic.upn(1),
        school_id="9990001",
        provider_id="9990003",
        sessions=(ScheduledSession(weekday=0, session=Session.AM),),
        start_date=SEPT,
        end_date=dt.date(2024, 12, 20),
    )

    placement_id = await placements.add(placement)
    assert await placements.add(placement) == placement_id

    assert await placements.get(placement_id) == placement
    assert await placements.for_learner(synthetic.upn(1)) == [placement]
    assert await placements.active_for_learner(synthetic.upn(1), dt.date(2024, 12, 20)) == [
        placement
    ]
    assert await placements.active_for_learner(synthetic.upn(1), dt.date(2024, 12, 21)) == []
    assert await placements.active_for_provider("9990003", SEPT) == [placement]


async def test_calendar_replace_and_get(session: AsyncSession, synthetic: Any) -> None:
    await _seed(session, synthetic)
    calendars = CalendarRepository(session)
    days = tuple(SEPT + dt.timedelta(days=d) for d in range(5))

    await calendars.replace(SchoolCalendar(setting_id="9990001", school_days=days))
    await calendars.replace(SchoolCalendar(setting_id="9990001", school_days=days[1:]))

    assert await calendars.get("9990001") == SchoolCalendar(
        setting_id="9990001", school_days=days[1:]
    )
    assert await calendars.get("9990002") == SchoolCalendar(setting_id="9990002", school_days=())
    assert await calendars.school_days("9990001", days[2], days[3]) == list(days[2:4])
