"""A farm of SIMS emulators for the backfill and latency benchmarks: one per school of a
synthetic LA (`bench.synthetic`), each a real `hub_sims.emulator` app on its own loopback port,
seeded with its school's learners, roll and a school year of marks.

It runs in its own process, so the emulators' work does not share the hub's interpreter:

    python -m bench.sims_farm --learners 2500 --settings 12 [--days 195]

prints one JSON line (``{"schools": [{"setting_id", "base_url"}...], "marks": N}``) once every
emulator listens, and serves until its standard input closes or it gets SIGTERM. Seeding
writes the emulator's state directly (the `add_mark` helper looks learners up one by one,
which is fine for tests and far too slow for a year of an LA).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sys
from collections.abc import Sequence
from itertools import count

from bench.synthetic import BenchLa, bench_la, register_days
from hub.testing.emulator import serve_emulator
from hub_contracts import RegistrationStatus, SettingKind
from hub_sims.emulator import EmulatorState, SimsMark, build_app

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "SUBSCRIPTION_KEY", "seed_states"]

# The emulator's synthetic credentials (never real ones).
CLIENT_ID = "synthetic-client"
CLIENT_SECRET = "synthetic-client-secret"
SUBSCRIPTION_KEY = "synthetic-subscription-key"
_ENROL_STATUS = {
    RegistrationStatus.SINGLE: "C",
    RegistrationStatus.MAIN: "M",
    RegistrationStatus.SUBSIDIARY: "S",
}


def seed_states(la: BenchLa, *, days: int | None = None) -> dict[str, EmulatorState]:
    """One emulator state per school and PRU (an EOTAS provider keeps no SIMS), holding its
    learners, its admission register and `days` school days of its register entries."""
    holders = [s for s in la.settings if s.kind is not SettingKind.EOTAS_PROVIDER]
    states = {
        s.id: EmulatorState(
            school_id=s.id,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            subscription_key=SUBSCRIPTION_KEY,
        )
        for s in holders
    }
    learners = {learner.upn: learner for learner in la.learners}
    person: dict[tuple[str, str], int] = {}
    for reg in la.registrations:
        state = states.get(reg.setting_id)
        if state is None:
            continue
        learner = learners[reg.upn]
        added = state.add_learner(
            learner.upn,
            learner.given_name,
            learner.family_name,
            learner.date_of_birth,
            address=learner.address,
            in_care=learner.flags.looked_after,
            child_protection_plan=learner.flags.child_protection_plan,
        )
        person[(reg.setting_id, reg.upn)] = added.person_id
        state.add_enrolment(reg.upn, reg.start_date, enrol_status=_ENROL_STATUS[reg.status])
    ids = count(10_000_000)
    for _day, rows in register_days(la, days=days):
        for row in rows:
            state = states.get(row["setting_id"])
            if state is None:
                continue
            day = dt.date.fromisoformat(row["date"])
            cell = (person[(row["setting_id"], row["upn"])], day, row["session"])
            state.marks[cell] = SimsMark(
                next(ids),
                cell[0],
                row["upn"],
                day,
                row["session"],
                row["code"],
                last_updated=state.tick(),
            )
    return states


async def serve(states: dict[str, EmulatorState], *, page_size: int | None = None) -> None:
    runners = []
    schools = []
    try:
        for setting_id, state in states.items():
            runner, base_url = await serve_emulator(build_app(state, page_size=page_size))
            runners.append(runner)
            schools.append({"setting_id": setting_id, "base_url": base_url})
        marks = sum(len(s.marks) for s in states.values())
        print(json.dumps({"schools": schools, "marks": marks}), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Standard input closing (the benchmark exited, or died) stops the farm too.
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sims_farm")
    parser.add_argument("--learners", type=int, required=True)
    parser.add_argument("--settings", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20250901)
    parser.add_argument("--days", type=int, default=None, help="school days of marks (a year)")
    args = parser.parse_args(argv)
    la = bench_la(settings=args.settings, learners=args.learners, seed=args.seed)
    asyncio.run(serve(seed_states(la, days=args.days)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
