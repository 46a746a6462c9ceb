"""How well does the leak detector tell a leak from noise? Simulated RSS traces with known truth.

Run: ``.venv/bin/python benchmarks/leak_quality.py [--traces 100] [--hours 12] [--seed 0]``.
Prints a Markdown table (it goes into the README): for steady leaks of 5, 20 and 100 MiB/h, the
share of traces flagged within the horizon and how long that took; for flat traces, the false
alarms: the share of traces ever flagged and the share of all assessments that said "leak".
Least squares (``ols``) and Theil–Sen side by side, at the default rate threshold (10 MiB/h;
a 5 MiB/h leak is below it, so flagging it is *not* expected). The detector reads RSS every
minute and keeps every reading, or one per 5 minutes (``min_spacing_seconds=300``: the window of
50 kept samples then spans five times longer), and the latter also with ``min_span_seconds`` =
2 h (no verdict until the fitted window spans two hours).

The traces drive the real :class:`memcore.MemoryLeakDetector` (its ``rss_reader`` and ``clock``
are the trace's; recovery is off so a detection is only counted), with the default window (50)
and ``min_samples`` (10). The noise on top of every trace, minute by minute: a 400 MiB baseline,
a GC sawtooth (climbs 10-30 MiB over 4-15 minutes, then drops back), Gaussian jitter (sd 2 MiB),
and spikes (2 % of minutes: +50 to +200 MiB for 1-3 minutes: a large tool result, a burst).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from memcore import NATIVE
from memcore.leak import MemoryLeakDetector

# (minutes between kept samples, minimum span of the fitted window in minutes); one reading a
# minute in every case
SETTINGS = ((1, 0), (5, 0), (5, 120))
LEAK_RATES = (5.0, 20.0, 100.0)
METHODS = ("ols", "theil-sen")


def noisy_trace(minutes: int, leak_mb_per_hour: float, rng: random.Random) -> list[float]:
    """RSS in MiB, one value a minute: baseline + leak + GC sawtooth + jitter + spikes."""
    values: list[float] = []
    saw_height = rng.uniform(10.0, 30.0)
    saw_period = rng.randint(4, 15)
    saw_phase = rng.randrange(saw_period)
    spike_left = 0
    spike_size = 0.0
    for minute in range(minutes):
        position = (minute + saw_phase) % saw_period
        if position == 0:  # a new GC cycle: new height and length
            saw_height = rng.uniform(10.0, 30.0)
            saw_period = rng.randint(4, 15)
        sawtooth = saw_height * position / saw_period
        if spike_left == 0 and rng.random() < 0.02:
            spike_left = rng.randint(1, 3)
            spike_size = rng.uniform(50.0, 200.0)
        spike = spike_size if spike_left > 0 else 0.0
        spike_left = max(0, spike_left - 1)
        leak = leak_mb_per_hour * minute / 60.0
        values.append(400.0 + leak + sawtooth + rng.gauss(0.0, 2.0) + spike)
    return values


@dataclass
class Outcome:
    first_alarm_minute: int | None
    alarms: int
    assessments: int


def run(values: list[float], method: str, threshold: float, spacing: int, span: int) -> Outcome:
    """Feed every minute of the trace to a fresh detector keeping one sample per ``spacing``."""
    position = [0]

    def rss() -> float:
        return values[position[0]]

    def clock() -> float:
        return position[0] * 60.0

    detector = MemoryLeakDetector(
        threshold_mb=1e9,  # rate only: the absolute threshold is not under test
        leak_rate_threshold_mb_per_hour=threshold,
        clock=clock,
        rss_reader=rss,
        method=method,  # type: ignore[arg-type]
        auto_recover=False,
        min_span_seconds=span * 60.0,
        min_spacing_seconds=spacing * 60.0 if spacing > 1 else 0.0,
    )
    first: int | None = None
    alarms = 0
    assessments = 0
    for minute in range(len(values)):
        position[0] = minute
        status = detector.monitor_memory_usage("trace")
        if detector.sample_count >= detector.min_samples and minute >= span:
            assessments += 1
            if status.leak_detected:
                alarms += 1
                if first is None:
                    first = minute
    return Outcome(first, alarms, assessments)


def percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def minutes_text(values: list[int], quantile: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))
    return f"{ordered[index]} min"


def table(
    traces: int, hours: float, threshold: float, seed: int, emit: Callable[[str], None]
) -> None:
    minutes = round(hours * 60)
    scenarios = [("flat (no leak)", 0.0)] + [(f"leak {rate:g} MiB/h", rate) for rate in LEAK_RATES]
    emit(
        "| sample kept every | min span | scenario | method | traces flagged | "
        "median time to detect | 90th pct time | alarms / assessments |"
    )
    emit("|---|---|---|---|---|---|---|---|")
    for spacing, span in SETTINGS:
        for name, rate in scenarios:
            rng = random.Random(f"{seed}:{name}")
            batch = [noisy_trace(minutes, rate, rng) for _ in range(traces)]  # same for both
            for method in METHODS:
                outcomes = [run(values, method, threshold, spacing, span) for values in batch]
                flagged = [
                    o.first_alarm_minute for o in outcomes if o.first_alarm_minute is not None
                ]
                alarms = sum(o.alarms for o in outcomes)
                assessments = sum(o.assessments for o in outcomes)
                span_text = f"{span} min" if span else "-"
                emit(
                    f"| {spacing} min | {span_text} | {name} | {method} | "
                    f"{percent(len(flagged), traces)} | "
                    f"{minutes_text(flagged, 0.5)} | {minutes_text(flagged, 0.9)} | "
                    f"{percent(alarms, assessments)} |"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100, help="traces per scenario")
    parser.add_argument("--hours", type=float, default=12.0, help="length of each trace")
    parser.add_argument("--threshold", type=float, default=10.0, help="rate threshold, MiB/h")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.getLogger("memcore").setLevel(logging.ERROR)  # the detector warns on each detection
    started = time.perf_counter()
    print(
        f"{args.traces} traces of {args.hours:g} h per scenario, rate threshold "
        f"{args.threshold:g} MiB/h, window 50, min_samples 10 "
        f"({'compiled kernels' if NATIVE else 'pure-Python twins'})\n"
    )
    table(args.traces, args.hours, args.threshold, args.seed, print)
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
