"""The compiled sample ring fitted from several threads at once: each fit gets the slope a lone
fit gets, and nothing crashes. Its fits run without the GIL; they used to share the ring's
scratch buffers (scaled in place, and the Theil-Sen one reallocated when a wider window came),
so concurrent fits returned each other's slopes or wrote into freed memory.

The threads run in a child process, so a crash fails this test instead of ending the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

CONCURRENT_FITS = """
import importlib
import sys
import threading

regression = importlib.import_module(sys.argv[1])
SIZES = [5, 60, 400, 900, 1500]


def filled(round_):
    ring = regression.SampleRing(1500)
    for i in range(1500):  # epoch-sized times and huge values: every fit scales its copy
        ring.push(1e300 + i * 1e288, ((i * 7919 + round_) % 1000) * 1e295)
    return ring


wrong = []
for round_ in range(12):
    alone = filled(round_)
    expected = {n: (alone.ols_slope(n), alone.theil_sen_slope(n)) for n in SIZES}
    ring = filled(round_)  # a fresh ring: its first fits run at once, at different widths
    start = threading.Barrier(4)

    def work(k):
        start.wait()
        for j in range(10):
            n = SIZES[(k * 2 + j) % len(SIZES)]
            if (ring.ols_slope(n), ring.theil_sen_slope(n)) != expected[n]:
                wrong.append(n)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
print(len(wrong))
"""


def test_concurrent_fits_equal_lone_fits_and_never_crash(
    native_kernels: Callable[[str], ModuleType],
) -> None:
    module = native_kernels("regression")
    done = subprocess.run(
        [sys.executable, "-c", CONCURRENT_FITS, module.__name__],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0", "concurrent fits returned other slopes than lone fits"


def test_a_ring_reinitialized_while_others_fit_stays_sound(
    native_kernels: Callable[[str], ModuleType],
) -> None:
    # ``__init__`` again frees the sample arrays; fits copy them with the GIL held, so a fit
    # under way (without the GIL) never reads freed memory.
    script = """
import importlib, sys, threading
regression = importlib.import_module(sys.argv[1])
ring = regression.SampleRing(2000)
for i in range(2000):
    ring.push(float(i), float(i % 17))
stop = threading.Event()
def fit():
    while not stop.is_set():
        ring.theil_sen_slope(1200)
        ring.ols_slope(2000)
threads = [threading.Thread(target=fit) for _ in range(3)]
for thread in threads:
    thread.start()
for _ in range(200):
    ring.__init__(2000)
    for i in range(1300):
        ring.push(float(i), 2.0 * i)
stop.set()
for thread in threads:
    thread.join()
print(ring.ols_slope(1300))
"""
    module = native_kernels("regression")
    done = subprocess.run(
        [sys.executable, "-c", script, module.__name__],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout) == 2.0
