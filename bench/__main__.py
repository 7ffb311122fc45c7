"""`python -m bench [NAME] [options]` (`make bench`): run one benchmark, or all of them.

With no name every benchmark runs in its `--quick` form unless `--full` is given, so `make
bench` stays within a few minutes; each prints its figures with their ratios.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import backfill, ingest, latency, reconcile, scale
from hub.logging import configure_logging

BENCHMARKS: dict[str, Callable[[list[str]], int]] = {
    "ingest": ingest.main,
    "reconcile": reconcile.main,
    "latency": latency.main,
    "backfill": backfill.main,
    "scale": scale.main,
}


def main(argv: list[str]) -> int:
    # The hub's info lines (one per page reconciled, say) would drown the figures.
    configure_logging("WARNING", "console")
    if argv and argv[0] in BENCHMARKS:
        return BENCHMARKS[argv[0]](argv[1:])
    full = "--full" in argv
    for name, bench_main in BENCHMARKS.items():
        print(f"== {name}", flush=True)
        bench_main([] if full else ["--quick"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
