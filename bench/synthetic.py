"""A seeded synthetic local authority at benchmark scale: settings, learners, a school year.

`bench_la(settings=N, learners=M)` builds N settings (primaries and secondaries, plus a PRU and
an EOTAS provider), M learners spread over the schools, a fraction dual-registered with the PRU
and a fraction with EOTAS placements, and one school-year calendar (terms, half terms and bank
holidays of a Welsh 2025-26 year). `register_days(la)` then yields, day by day, every register
entry the settings would record, as the JSON a vendor or `POST /v1/marks` carries:

- ordinary sessions draw from a realistic code mix (about 92% present or late; illness, medical,
  holiday, authorised and unauthorised absence; a few N and G);
- a "persistent absentee" fraction is absent four times as often;
- a few learners go missing for three weeks (O and N), which the CME rule must catch;
- dual-registered pupils attend the PRU Monday to Wednesday and their school on Thursday and
  Friday; the other setting records D, and forgets to now and then (a `dual_missing_mark`);
- EOTAS pupils are at the provider two sessions a week: the school records B, the provider
  reports attendance (or absence).

Everything is obviously synthetic (LA 999, "Prawf-" names, `.invalid` addresses) and the same
seed gives the same LA and register, byte for byte. It reuses `hub.synthetic`'s naming and
`weekdays`; it is separate because the demo's LA is five settings and two weeks.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hub.synthetic import GIVEN_NAMES, SYNTHETIC_LA_CODE
from hub_contracts import (
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

__all__ = [
    "BenchLa",
    "MarkRow",
    "bench_la",
    "mark_rows",
    "register_days",
    "school_year",
]

#: One register entry as JSON: upn, setting_id, date, session, code, source, recorded_at.
MarkRow = dict[str, Any]

# A Welsh 2025-26 school year (synthetic, close to a real LA's term dates): the first and last
# days, and the closures in between (half terms, Christmas, Easter, the May bank holiday).
YEAR_START = dt.date(2025, 9, 1)
YEAR_END = dt.date(2026, 7, 20)
CLOSURES: tuple[tuple[dt.date, dt.date], ...] = (
    (dt.date(2025, 10, 27), dt.date(2025, 10, 31)),
    (dt.date(2025, 12, 22), dt.date(2026, 1, 2)),
    (dt.date(2026, 2, 16), dt.date(2026, 2, 20)),
    (dt.date(2026, 3, 30), dt.date(2026, 4, 10)),
    (dt.date(2026, 5, 4), dt.date(2026, 5, 4)),
    (dt.date(2026, 5, 25), dt.date(2026, 5, 29)),
)

# Ordinary-session code mix (cumulative thresholds; present is "/" AM and "\" PM). Roughly a
# Welsh secondary's year: ~92% present or late, illness the commonest absence.
_MIX: tuple[tuple[float, str], ...] = (
    (0.905, "present"),
    (0.920, "L"),
    (0.955, "I"),
    (0.965, "M"),
    (0.973, "C"),
    (0.977, "H"),
    (0.978, "E"),
    (0.988, "O"),
    (0.994, "N"),
    (0.996, "G"),
    (0.998, "U"),
    (1.000, "J"),
)
#: Persistent absentees: rolls above this are remapped onto the absence codes (~24% absent).
_PERSISTENT_FROM = 0.76
#: Dual-registered pupils attend the PRU on these weekdays (0 = Monday), the school otherwise.
_PRU_WEEKDAYS = frozenset({0, 1, 2})
#: EOTAS placements: the sessions a week at the provider.
_EOTAS_SESSIONS = (
    ScheduledSession(weekday=1, session=Session.AM),
    ScheduledSession(weekday=3, session=Session.PM),
)
#: A missing child is absent this many school days in a row (O, then N once the school asks).
_MISSING_RUN_DAYS = 15


def school_year() -> list[dt.date]:
    """The school days of the synthetic 2025-26 year (190 or so)."""
    days: list[dt.date] = []
    day = YEAR_START
    while day <= YEAR_END:
        closed = any(a <= day <= b for a, b in CLOSURES)
        if day.weekday() < 5 and not closed:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@dataclass(frozen=True)
class BenchLa:
    settings: tuple[Setting, ...]
    learners: tuple[Learner, ...]
    registrations: tuple[Registration, ...]
    placements: tuple[EotasPlacement, ...]
    calendars: tuple[SchoolCalendar, ...]
    school_days: tuple[dt.date, ...]
    seed: int
    #: Learner UPN -> the school (mainstream setting) whose roll the learner is on.
    school_of: dict[str, str] = field(repr=False)
    dual: frozenset[str] = frozenset()
    eotas: frozenset[str] = frozenset()
    persistent: frozenset[str] = frozenset()
    #: Learners who go missing, with the index of the first school day of their absence.
    missing_from: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def pru(self) -> Setting:
        return next(s for s in self.settings if s.kind is SettingKind.PRU)

    @property
    def provider(self) -> Setting:
        return next(s for s in self.settings if s.kind is SettingKind.EOTAS_PROVIDER)

    @property
    def schools(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.kind is SettingKind.MAINSTREAM)

    def reference(self) -> list[Setting | Learner | Registration | EotasPlacement]:
        """Reference records in dependency order, for `hub.ingest.ingest_reference`."""
        return [*self.settings, *self.learners, *self.registrations, *self.placements]

    def marks_per_day(self) -> int:
        """Register entries a school day produces across the LA (both sessions)."""
        return 2 * (len(self.learners) + len(self.dual) + len(self.eotas))

    def learners_of(self, setting_id: str) -> list[str]:
        return [r.upn for r in self.registrations if r.setting_id == setting_id]


def bench_la(
    *,
    settings: int = 12,
    learners: int = 2_000,
    dual_fraction: float = 0.01,
    eotas_fraction: float = 0.005,
    persistent_fraction: float = 0.08,
    missing_fraction: float = 0.003,
    jurisdiction: Jurisdiction = Jurisdiction.WALES,
    seed: int = 20250901,
) -> BenchLa:
    """A synthetic LA: `settings` settings in all (at least 3: one school, the PRU and the
    EOTAS provider), `learners` learners on the schools' rolls (a quarter of the schools are
    secondaries, with larger rolls)."""
    if settings < 3:
        raise ValueError("settings must be at least 3 (a school, a PRU, an EOTAS provider)")
    if learners < 1:
        raise ValueError("learners must be at least 1")
    rng = random.Random(seed)
    la = SYNTHETIC_LA_CODE
    n_schools = settings - 2
    n_secondary = max(1, n_schools // 4) if n_schools > 1 else 0

    def setting(number: int, name: str, kind: SettingKind) -> Setting:
        return Setting(
            id=f"{la}{number:04d}",
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            la_code=la,
            maintained=True,
            contact_email=f"attendance-{number:04d}@synthetic.invalid",
        )

    schools = [
        setting(4001 + i, f"Ysgol Uwchradd Prawf {i + 1} (synthetic)", SettingKind.MAINSTREAM)
        for i in range(n_secondary)
    ] + [
        setting(2001 + i, f"Ysgol Gynradd Prawf {i + 1} (synthetic)", SettingKind.MAINSTREAM)
        for i in range(n_schools - n_secondary)
    ]
    pru = setting(1101, "Uned Cyfeirio Disgyblion Prawf (synthetic PRU)", SettingKind.PRU)
    provider = setting(7001, "Darparwr EOTAS Prawf (synthetic)", SettingKind.EOTAS_PROVIDER)
    days = school_year()
    calendars = tuple(
        SchoolCalendar(setting_id=s.id, school_days=tuple(days)) for s in (*schools, pru, provider)
    )

    # Secondaries are about four times the size of primaries.
    weights = [4.0 if i < n_secondary else 1.0 for i in range(n_schools)]
    total = sum(weights)
    quotas = [int(learners * w / total) for w in weights]
    quotas[0] += learners - sum(quotas)

    learner_rows: list[Learner] = []
    registrations: list[Registration] = []
    school_of: dict[str, str] = {}
    secondary_upns: list[str] = []
    serial = 0
    for index, (school, quota) in enumerate(zip(schools, quotas, strict=True)):
        secondary = index < n_secondary
        for _ in range(quota):
            serial += 1
            upn = make_upn(f"{la}{serial:09d}")
            age = rng.randint(11, 15) if secondary else rng.randint(5, 10)
            flags = LearnerFlags(
                looked_after=rng.random() < 0.01, child_protection_plan=rng.random() < 0.01
            )
            learner_rows.append(
                Learner(
                    upn=upn,
                    given_name=rng.choice(GIVEN_NAMES),
                    family_name=f"Prawf-{serial:06d}",
                    date_of_birth=dt.date(YEAR_START.year - age, rng.randint(1, 12), 15),
                    address=f"{serial} Heol Prawf, Synthetic Town",
                    flags=flags,
                )
            )
            registrations.append(
                Registration(
                    upn=upn,
                    setting_id=school.id,
                    status=RegistrationStatus.SINGLE,
                    start_date=YEAR_START,
                )
            )
            school_of[upn] = school.id
            if secondary:
                secondary_upns.append(upn)

    # Dual registration and EOTAS placements are for secondary pupils (fall back to any).
    pool = secondary_upns or list(school_of)
    picked = rng.sample(pool, min(len(pool), round(learners * (dual_fraction + eotas_fraction))))
    n_dual = min(len(picked), round(learners * dual_fraction))
    dual = frozenset(picked[:n_dual])
    eotas = frozenset(picked[n_dual:])
    for i, reg in enumerate(registrations):
        if reg.upn in dual:
            registrations[i] = reg.model_copy(update={"status": RegistrationStatus.MAIN})
    registrations += [
        Registration(
            upn=upn, setting_id=pru.id, status=RegistrationStatus.SUBSIDIARY, start_date=YEAR_START
        )
        for upn in sorted(dual)
    ]
    placements = tuple(
        EotasPlacement(
            upn=upn,
            school_id=school_of[upn],
            provider_id=provider.id,
            sessions=_EOTAS_SESSIONS,
            start_date=YEAR_START,
        )
        for upn in sorted(eotas)
    )
    ordinary = [u for u in school_of if u not in dual and u not in eotas]
    persistent = frozenset(u for u in ordinary if rng.random() < persistent_fraction)
    last_start = max(0, len(days) - _MISSING_RUN_DAYS)
    missing = {u: rng.randint(0, last_start) for u in ordinary if rng.random() < missing_fraction}
    return BenchLa(
        settings=(*schools, pru, provider),
        learners=tuple(learner_rows),
        registrations=tuple(registrations),
        placements=placements,
        calendars=calendars,
        school_days=tuple(days),
        seed=seed,
        school_of=school_of,
        dual=dual,
        eotas=eotas,
        persistent=persistent,
        missing_from=missing,
    )


def _recorded_at(day: dt.date, session: Session) -> str:
    # Registers close 09:10 and 13:40 local; stored in UTC (BST until late October).
    hour = 8 if session is Session.AM else 12
    return f"{day.isoformat()}T{hour:02d}:10:00Z"


def _entry(base: MarkRow, upn: str, setting_id: str, code: str) -> MarkRow:
    return {"upn": upn, "setting_id": setting_id, **base, "code": code}


def register_days(
    la: BenchLa, *, source: str = "bench-mis", first_day: int = 0, days: int | None = None
) -> Iterator[tuple[dt.date, list[MarkRow]]]:
    """Each school day's register entries across the LA (AM registers, then PM), as JSON."""
    rng = random.Random(la.seed + 1)
    pru, provider = la.pru.id, la.provider.id
    school_days = la.school_days[first_day : None if days is None else first_day + days]
    for offset, day in enumerate(school_days, start=first_day):
        rows: list[MarkRow] = []
        for session in Session:
            present = "/" if session is Session.AM else "\\"
            base = {
                "date": day.isoformat(),
                "session": session.value,
                "source": source,
                "recorded_at": _recorded_at(day, session),
            }
            for upn, school in la.school_of.items():
                roll = rng.random()
                if upn in la.dual:
                    at_pru = day.weekday() in _PRU_WEEKDAYS
                    here, there = (pru, school) if at_pru else (school, pru)
                    rows.append(_entry(base, upn, here, present if roll < 0.9 else "O"))
                    if roll > 0.04:  # now and then the other setting forgets its D
                        rows.append(_entry(base, upn, there, "D"))
                    continue
                if upn in la.eotas and any(
                    s.weekday == day.weekday() and s.session is session for s in _EOTAS_SESSIONS
                ):
                    rows.append(_entry(base, upn, school, "B"))
                    rows.append(_entry(base, upn, provider, present if roll < 0.92 else "O"))
                    continue
                start = la.missing_from.get(upn)
                if start is not None and start <= offset < start + _MISSING_RUN_DAYS:
                    rows.append(_entry(base, upn, school, "O" if offset < start + 3 else "N"))
                    continue
                if upn in la.persistent and roll > _PERSISTENT_FROM:
                    # The top quarter of rolls lands on the non-present part of the mix.
                    span = (roll - _PERSISTENT_FROM) / (1.0 - _PERSISTENT_FROM)
                    roll = _MIX[0][0] + span * (1.0 - _MIX[0][0])
                code = next(c for limit, c in _MIX if roll < limit)
                rows.append(_entry(base, upn, school, present if code == "present" else code))
        yield day, rows


def mark_rows(la: BenchLa, n: int, *, source: str = "bench-mis") -> list[MarkRow]:
    """The first `n` register entries of the year, day by day."""
    out: list[MarkRow] = []
    for _day, rows in register_days(la, source=source):
        out.extend(rows[: n - len(out)])
        if len(out) >= n:
            break
    if len(out) < n:
        raise ValueError(f"the LA's year has only {len(out):,} register entries, not {n:,}")
    return out
