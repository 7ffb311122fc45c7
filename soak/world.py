"""The synthetic world of the soak: two SIMS schools (a mainstream school and a PRU), their
learners and registers, and the receivers' view of who the runaways are.

Everything is synthetic (LA 999, "Synth" names, UPNs from `make_upn`)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from hub_contracts import make_upn
from hub_sims.emulator_state import EmulatorState

SCHOOL, PRU = "9994001", "9991101"
DOB = dt.date(2013, 5, 1)
SESSIONS = ("AM", "PM")
EVERYDAY_CODES = ("/", "/", "/", "/", "/", "/", "L", "I", "M", "C")


def school_days(today: dt.date, count: int) -> list[dt.date]:
    """The last `count` weekdays before `today`, oldest first."""
    days: list[dt.date] = []
    day = today
    while len(days) < count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


@dataclass
class Person:
    upn: str
    forename: str
    surname: str

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


@dataclass
class World:
    """Who is where, and which register cells are still to be filled during the run."""

    days: list[dt.date]
    school: EmulatorState
    pru: EmulatorState
    regular: list[Person] = field(default_factory=list)
    pru_only: list[Person] = field(default_factory=list)
    duals: list[Person] = field(default_factory=list)
    runaways: list[Person] = field(default_factory=list)
    # (state, upn, day, session) cells to fill while the hub runs, in order
    pending: list[tuple[EmulatorState, str, dt.date, str]] = field(default_factory=list)
    added: int = 0
    amended: int = 0

    @property
    def states(self) -> dict[str, EmulatorState]:
        return {SCHOOL: self.school, PRU: self.pru}


def _person(serial: int, kind: str) -> Person:
    return Person(make_upn(f"9994{serial:08d}"), f"Synth{kind}{serial:04d}", f"Prawf{serial:04d}")


def build_world(
    *, today: dt.date, learners: int, pru_learners: int, duals: int, runaways: int, days: int
) -> World:
    """Seed both SIMS emulators.

    - regular learners at the school: the first half of the days marked now, the rest filled
      in (and some marks amended) while the hub runs;
    - PRU-only learners: every day marked now;
    - dual-registered pupils (main at the school, subsidiary at the PRU): on every third day
      present at the PRU with a blank school register (the hub writes D back into the school's
      SIMS), on the next absent (I) at the PRU with D at the school in the morning (a
      dual_absence_notice), otherwise present at the school with D at the PRU;
    - runaways: unauthorised absence (O) every session of the last 10 days (a CME referral and
      a safeguarding alert each).
    """
    all_days = school_days(today, days)
    school = EmulatorState(school_id=SCHOOL, page_size=250)
    pru = EmulatorState(school_id=PRU, page_size=250)
    world = World(days=all_days, school=school, pru=pru)
    start = all_days[0] - dt.timedelta(days=60)
    rng = random.Random(7)
    serial = 0

    def learner(state: EmulatorState, person: Person, status: str = "C") -> None:
        state.add_learner(person.upn, person.forename, person.surname, DOB)
        state.add_enrolment(person.upn, start, enrol_status=status)

    half = len(all_days) // 2
    for _ in range(learners):
        serial += 1
        person = _person(serial, "Pupil")
        world.regular.append(person)
        learner(school, person)
        for i, day in enumerate(all_days):
            for session in SESSIONS:
                if i < half:
                    school.add_mark(person.upn, day, session, rng.choice(EVERYDAY_CODES))
                else:
                    world.pending.append((school, person.upn, day, session))
    for _ in range(pru_learners):
        serial += 1
        person = _person(serial, "Pru")
        world.pru_only.append(person)
        learner(pru, person)
        for day in all_days:
            for session in SESSIONS:
                pru.add_mark(person.upn, day, session, rng.choice(EVERYDAY_CODES))
    for _ in range(duals):
        serial += 1
        person = _person(serial, "Dual")
        world.duals.append(person)
        learner(school, person, "M")
        learner(pru, person, "S")
        for i, day in enumerate(all_days):
            if i % 3 == 0:
                for session in SESSIONS:
                    pru.add_mark(person.upn, day, session, "/")
            elif i % 3 == 1:
                pru.add_mark(person.upn, day, "AM", "I")
                school.add_mark(person.upn, day, "AM", "D")
                school.add_mark(person.upn, day, "PM", "/")
                pru.add_mark(person.upn, day, "PM", "D")
            else:
                for session in SESSIONS:
                    school.add_mark(person.upn, day, session, "/")
                    pru.add_mark(person.upn, day, session, "D")
    for _ in range(runaways):
        serial += 1
        person = _person(serial, "Run")
        world.runaways.append(person)
        learner(school, person)
        for i, day in enumerate(all_days):
            for session in SESSIONS:
                code = "O" if i >= len(all_days) - 10 else "/"
                school.add_mark(person.upn, day, session, code)
    rng.shuffle(world.pending)
    world.pending.sort(key=lambda cell: cell[2])  # fill the register day by day
    return world


def add_marks(world: World, rng: random.Random, batch: int) -> None:
    """Fill `batch` more register cells and amend a few existing marks of regular learners."""
    for _ in range(min(batch, len(world.pending))):
        state, upn, day, session = world.pending.pop(0)
        state.add_mark(upn, day, session, rng.choice(EVERYDAY_CODES))
        world.added += 1
    for _ in range(max(1, batch // 5)):
        person = rng.choice(world.regular)
        day = rng.choice(world.days[: len(world.days) // 2])
        session = rng.choice(SESSIONS)
        world.school.add_mark(person.upn, day, session, rng.choice(EVERYDAY_CODES))
        world.amended += 1
