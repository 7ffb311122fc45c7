"""`python -m bench [NAME] [options]` (`make bench`): run one benchmark, or all of them."""

from __future__ import annotations

import sys

from bench import ingest

BENCHMARKS = {"ingest": ingest.main}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return BENCHMARKS[argv[0]](argv[1:])
    for name, bench_main in BENCHMARKS.items():
        print(f"== {name}")
        bench_main(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
