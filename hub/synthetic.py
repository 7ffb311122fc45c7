"""A seeded, obviously synthetic local authority for the demo, tests and benchmarks.

No real pupil data: names are "Prawf-NNN" ("prawf" is Welsh for "test"), the LA code is 999
(no LA has it), and UPNs are generated with valid check letters from LA 999.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from hub_contracts import (
    AttendanceMark,
    EotasPlacement,
    Jurisdiction,
    Learner,
    LearnerFlags,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SchoolCalendar,
    Session,
    Setting,
    SettingKind,
    make_upn,
)

SYNTHETIC_LA_CODE = "999"
SYNTHETIC_LA_NAME = "Sir Enghraifft (synthetic LA 999)"
GIVEN_NAMES = (
    "Alaw",
    "Bryn",
    "Cai",
    "Dilys",
    "Efa",
    "Ffion",
    "Gethin",
    "Hedd",
    "Ifan",
    "Lowri",
    "Macsen",
    "Nia",
    "Osian",
    "Pedr",
    "Rhian",
    "Siôn",
    "Tomos",
    "Wil",
)


@dataclass(frozen=True)
class SyntheticLa:
    settings: tuple[Setting, ...]
    learners: tuple[Learner, ...]
    registrations: tuple[Registration, ...]
    placements: tuple[EotasPlacement, ...]
    calendars: tuple[SchoolCalendar, ...]
    dual_registered: tuple[str, ...] = field(default=())

    def setting(self, kind: SettingKind) -> Setting:
        return next(s for s in self.settings if s.kind is kind)


def weekdays(
    start: dt.date, count: int, *, skip: tuple[tuple[dt.date, dt.date], ...] = ()
) -> list[dt.date]:
    """`count` weekdays from `start`, skipping closed ranges (half terms, holidays)."""
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        closed = any(a <= day <= b for a, b in skip)
        if day.weekday() < 5 and not closed:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def synthetic_la(
    *,
    learners_per_school: int = 80,
    start: dt.date = dt.date(2025, 11, 3),
    school_days: int = 10,
    seed: int = 20251103,
    calendar: tuple[dt.date, ...] | None = None,
) -> SyntheticLa:
    """Two primaries, a secondary, a PRU and an EOTAS provider in a Welsh LA.

    Every setting's calendar is the `school_days` weekdays from `start`, or `calendar` when
    given (the demo passes the whole term, so statutory deadlines fall inside it).
    """
    rng = random.Random(seed)
    la = SYNTHETIC_LA_CODE

    def setting(estab: str, name: str, kind: SettingKind) -> Setting:
        return Setting(
            id=f"{la}{estab}",
            name=name,
            kind=kind,
            jurisdiction=Jurisdiction.WALES,
            la_code=la,
            maintained=True,
            contact_email=f"attendance-{estab}@synthetic.invalid",
        )

    settings = (
        setting("2001", "Ysgol Gynradd Enghraifft A (synthetic)", SettingKind.MAINSTREAM),
        setting("2002", "Ysgol Gynradd Enghraifft B (synthetic)", SettingKind.MAINSTREAM),
        setting("4001", "Ysgol Uwchradd Enghraifft (synthetic)", SettingKind.MAINSTREAM),
        setting("1101", "Uned Cyfeirio Disgyblion Enghraifft (synthetic PRU)", SettingKind.PRU),
        setting("7001", "Darparwr EOTAS Enghraifft (synthetic)", SettingKind.EOTAS_PROVIDER),
    )
    days = tuple(calendar) if calendar is not None else tuple(weekdays(start, school_days))
    calendars = tuple(SchoolCalendar(setting_id=s.id, school_days=days) for s in settings)
    term_start = dt.date(start.year if start.month >= 9 else start.year - 1, 9, 1)

    learners: list[Learner] = []
    registrations: list[Registration] = []
    serial = 0
    schools = settings[:3]
    for school in schools:
        secondary = school.name.startswith("Ysgol Uwchradd")
        for _ in range(learners_per_school):
            serial += 1
            upn = make_upn(f"{la}{school.id[3:]}25{serial:03d}")
            age = rng.randint(11, 15) if secondary else rng.randint(5, 10)
            dob = dt.date(start.year - age, rng.randint(1, 12), rng.randint(1, 28))
            flags = LearnerFlags(
                looked_after=rng.random() < 0.02, child_protection_plan=rng.random() < 0.02
            )
            learners.append(
                Learner(
                    upn=upn,
                    given_name=rng.choice(GIVEN_NAMES),
                    family_name=f"Prawf-{serial:03d}",
                    date_of_birth=dob,
                    address=f"{serial} Heol Enghraifft, Synthetic Town",
                    flags=flags,
                )
            )
            registrations.append(
                Registration(
                    upn=upn,
                    setting_id=school.id,
                    status=RegistrationStatus.SINGLE,
                    start_date=term_start,
                )
            )
    # A handful of secondary pupils are dual registered with the PRU (main: the school).
    pru, provider = settings[3], settings[4]
    secondary_learners = [r for r in registrations if r.setting_id == settings[2].id]
    dual = [r.upn for r in secondary_learners[:6]]
    for i, reg in enumerate(registrations):
        if reg.upn in dual:
            registrations[i] = reg.model_copy(update={"status": RegistrationStatus.MAIN})
    registrations += [
        Registration(
            upn=upn, setting_id=pru.id, status=RegistrationStatus.SUBSIDIARY, start_date=term_start
        )
        for upn in dual
    ]
    placements = tuple(
        EotasPlacement(
            upn=r.upn,
            school_id=r.setting_id,
            provider_id=provider.id,
            sessions=(
                ScheduledSession(weekday=1, session=Session.AM),
                ScheduledSession(weekday=3, session=Session.PM),
            ),
            start_date=term_start,
        )
        for r in secondary_learners[6:9]
    )
    return SyntheticLa(
        settings=settings,
        learners=tuple(learners),
        registrations=tuple(registrations),
        placements=placements,
        calendars=calendars,
        dual_registered=tuple(dual),
    )


def register_marks(
    la: SyntheticLa, *, recorded_at: dt.datetime, seed: int = 7
) -> list[AttendanceMark]:
    """A plausible register for every single-registered learner on every school day."""
    rng = random.Random(seed)
    dual = set(la.dual_registered)
    calendar = {c.setting_id: c.school_days for c in la.calendars}
    marks: list[AttendanceMark] = []
    for reg in la.registrations:
        if reg.upn in dual:
            continue
        for day in calendar[reg.setting_id]:
            for session in (Session.AM, Session.PM):
                roll = rng.random()
                code = (
                    ("/" if session is Session.AM else "\\")
                    if roll < 0.92
                    else ("I" if roll < 0.96 else ("M" if roll < 0.98 else "N"))
                )
                marks.append(
                    AttendanceMark(
                        upn=reg.upn,
                        setting_id=reg.setting_id,
                        date=day,
                        session=session,
                        code=code,
                        source="demo",
                        recorded_at=recorded_at,
                    )
                )
    return marks
