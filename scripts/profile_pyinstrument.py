"""Profile one of memcore's main paths with pyinstrument (a sampling profiler) and show the tree.

    python scripts/profile_pyinstrument.py sync -n 2000 --html sync.html

Needs ``pip install pyinstrument`` (in memcore's ``dev`` extra).
"""

from __future__ import annotations

import argparse
import sys

from profile_workloads import WORKLOADS, prepare


def main(argv: list[str] | None = None) -> int:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("-n", "--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval (s)")
    parser.add_argument("--html", help="write an HTML report here instead of printing")
    args = parser.parse_args(argv)
    run = prepare(args.workload, args.items)
    profiler = Profiler(interval=args.interval, async_mode="disabled")
    profiler.start()
    for _ in range(args.repeat):
        run()
    profiler.stop()
    if args.html:
        with open(args.html, "w", encoding="utf-8") as handle:
            handle.write(profiler.output_html())
        print(f"wrote {args.html}")
    else:
        print(profiler.output_text(unicode=True, color=sys.stdout.isatty()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
