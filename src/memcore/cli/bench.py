"""``memcore bench``: a short side-by-side benchmark of the kernels."""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any, TextIO

from memcore.cli._parser import Subparsers, _add, _positive_int
from memcore.cli._progress_bar import _progress
from memcore.install_hints import pip_command


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "bench",
        cmd_bench,
        "a short side-by-side benchmark: compiled kernels vs pure twins and outside libraries",
        "Times the main kernels against their pure-Python twins and outside libraries on this\n"
        "machine, and prints ratios. For the full suites, run pytest on benchmarks/.",
    )
    p.add_argument(
        "--rounds",
        type=_rounds,
        default=5,
        help=f"timing rounds, best kept (default: 5, at most {MAX_ROUNDS})",
    )
    p.add_argument("--quick", action="store_true", help="smaller inputs, shorter rounds")


#: The most timing rounds taken: a best of more says nothing more, and would run for hours.
MAX_ROUNDS = 1000


def _rounds(text: str) -> int:
    rounds = _positive_int(text)
    if rounds > MAX_ROUNDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_ROUNDS} rounds (got {rounds:,})")
    return rounds


@dataclasses.dataclass(slots=True)
class _BenchCase:
    name: str
    native: Callable[[], object] | None
    pure: Callable[[], object] | None
    outside: Callable[[], object] | None = None
    outside_name: str = ""
    missing: str = ""


def _kernel(family: str, name: str, native: bool) -> Callable[..., object] | None:
    """One kernel function, compiled or pure; None when it is not there (reported, not hidden)."""
    import importlib

    from memcore import NATIVE

    if native and not NATIVE:
        return None
    package = "memcore._native" if native else "memcore._pure"
    try:
        module = importlib.import_module(f"{package}.{family}")
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def _bench_cases(quick: bool) -> list[_BenchCase]:
    """The side-by-side cases: each kernel compiled, pure, and against an outside library."""
    from memcore.demo_corpus import stdlib_notes
    from memcore.model import utc_now

    size = 64 * 1024 if quick else 1024 * 1024
    blob = bytes(range(256)) * (size // 256)
    notes = stdlib_notes(200 if quick else 800, seed=1, now=utc_now())
    state = {note.id: note for note in notes}
    text = "\n\n".join(note.content for note in notes)
    cases: list[_BenchCase] = []

    def add(
        name: str,
        family: str,
        function: str,
        call: Callable[[Callable[..., object]], object],
        outside: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        native = _kernel(family, function, native=True)
        pure = _kernel(family, function, native=False)
        cases.append(
            _BenchCase(
                name=name,
                native=(lambda: call(native)) if native else None,
                pure=(lambda: call(pure)) if pure else None,
                outside=outside[1] if outside and pure else None,
                outside_name=outside[0] if outside else "",
                missing="" if pure else f"kernel {family}.{function} not available",
            )
        )

    xxhash_outside: tuple[str, Callable[[], object]] | None = None
    try:
        import xxhash

        xxhash_outside = ("xxhash", lambda: xxhash.xxh64_intdigest(blob))
    except ImportError:
        pass
    add(f"xxh64 of {size // 1024} KiB", "checksums", "xxh64", lambda f: f(blob), xxhash_outside)
    add(f"state_checksum, {len(state)} items", "checksums", "state_checksum", lambda f: f(state))
    add(f"count_tokens, {len(text) // 1024} KiB", "pipeline", "count_tokens", lambda f: f(text))
    contents = [note.content for note in notes]
    add(
        f"summaries (50 %), {len(contents)} notes",
        "pipeline",
        "pick_sentences",
        lambda f: [f(c, len(c) // 8) for c in contents],
    )
    add(
        f"simhash, {len(contents)} notes", "pipeline", "simhash", lambda f: [f(c) for c in contents]
    )
    accesses = [(k * 7 + k // 5) % 97 for k in range(5000 if quick else 50000)]
    add(
        f"pattern counting, {len(accesses) // 1000}k accesses",
        "patterns",
        "PatternCounter",
        lambda counter_class: _count_patterns(counter_class, accesses),
    )
    samples = [(60.0 * k, 100.0 + 0.01 * k + (k % 7) * 0.3) for k in range(50)]
    polyfit: tuple[str, Callable[[], object]] | None = None
    try:
        import numpy

        times = numpy.array([t for t, _ in samples])
        sizes = numpy.array([mb for _, mb in samples])
        polyfit = ("numpy.polyfit", lambda: numpy.polyfit(times, sizes, 1)[0])
    except ImportError:
        pass
    rings: dict[object, Any] = {}
    for native in (True, False):
        ring_class = _kernel("regression", "SampleRing", native)
        if ring_class is not None:
            ring: Any = ring_class()
            for t, mb in samples:
                ring.push(t, mb)
            rings[ring_class] = ring
    add(
        "leak-rate fit (OLS), 50 samples",
        "regression",
        "SampleRing",
        lambda ring_class: rings[ring_class].ols_slope(50),
        polyfit,
    )
    return cases


def _count_patterns(counter_class: Callable[..., Any], accesses: list[int]) -> None:
    counter = counter_class(window_size=5)
    counter.record_many(accesses)


def _best_time(fn: Callable[[], object], rounds: int, budget: float) -> float:
    """Best per-call time over ``rounds`` rounds, each repeating ``fn`` for about ``budget`` s."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget / once))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from rich.table import Table

    from memcore.cli._console import PipeConsole

    console = PipeConsole(file=out, highlight=False, width=None if out.isatty() else 120)
    cases = _bench_cases(quick=args.quick)
    budget = 0.02 if args.quick else 0.2
    table = Table(title="memcore bench (best of rounds; ratios = other time / compiled time)")
    for column in (
        "case",
        "compiled",
        "pure twin",
        "pure / compiled",
        "outside",
        "outside / compiled",
    ):
        table.add_column(column, justify="left" if column in ("case", "outside") else "right")
    with _progress() as progress:
        task = progress.add_task("benchmarking", total=len(cases))
        for case in cases:
            if case.pure is None:
                table.add_row(case.name, "-", "-", "-", case.missing, "-")
                progress.advance(task)
                continue
            native = _best_time(case.native, args.rounds, budget) if case.native else None
            pure = _best_time(case.pure, args.rounds, budget)
            other = _best_time(case.outside, args.rounds, budget) if case.outside else None
            table.add_row(
                case.name,
                _us(native),
                _us(pure),
                f"{pure / native:.1f}x" if native else "-",
                case.outside_name or "-",
                f"{other / native:.1f}x" if native and other else "-",
            )
            progress.advance(task)
    console.print(table)
    from memcore import NATIVE

    if not NATIVE:
        console.print("compiled kernels are off (MEMCORE_NO_EXTENSIONS): pure twins only")
    if not any(case.outside for case in cases):
        console.print(
            "no outside library to compare with is installed: the \\[bench] extra adds them "
            "(xxhash, orjson and the others; from a checkout: "
            f"{pip_command()} install '.\\[bench]')"
        )
    console.print("full suites: python -m pytest benchmarks/ --benchmark-only")
    return 0


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:,.1f} µs"
