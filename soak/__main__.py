"""`python -m soak [--quick] [--seconds N] [--kills N] [--seed N]`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from soak.run import SoakOptions, run_soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~45 s run (default ~3 min)")
    parser.add_argument("--seconds", type=float, help="mean kill phase, s")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (at least 20)")
    parser.add_argument("--seed", type=int, default=20250610, help="RNG seed")
    parser.add_argument("--ratio", type=float, default=0.2, help="fault ratio per request")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 100.0)
    kills = max(20, args.kills or (20 if args.quick else 40))
    options = SoakOptions(
        seconds=seconds,
        kills=kills,
        seed=args.seed,
        ratio=args.ratio,
        quick=args.quick,
        keep=args.keep,
    )
    return asyncio.run(run_soak(options))


if __name__ == "__main__":
    sys.exit(main())
