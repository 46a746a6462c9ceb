"""Profile one of memcore's main paths with cProfile and print the top functions.

    python scripts/profile_cprofile.py compress -n 2000 --sort cumulative --out compress.prof

The ``.prof`` file opens in snakeviz or ``python -m pstats``. Compiled (Cython) kernels show up as
single calls; use ``profile_native.sh`` (py-spy --native) to see inside them.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys

from profile_workloads import WORKLOADS, prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("-n", "--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    parser.add_argument("--out", help="also save the raw profile here")
    args = parser.parse_args(argv)
    run = prepare(args.workload, args.items)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeat):
        run()
    profiler.disable()
    if args.out:
        profiler.dump_stats(args.out)
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
