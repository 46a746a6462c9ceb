"""The main paths of memcore as profiling workloads, shared by the profile_* entry points.

Run one directly (``python scripts/profile_workloads.py compress``) to time it, or through
``profile_cprofile.py`` / ``profile_pyinstrument.py`` / ``profile_native.sh`` to see where the time
goes. Each workload builds its input first (not profiled) and returns the function to profile.
Inputs are notes from the standard library's docstrings, as in ``memcore demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta

from memcore.demo import DEMO_SESSION, simulated_accesses, stdlib_notes
from memcore.model import MemoryItem, utc_now

Workload = Callable[[], object]


def _scratch_folder() -> str:
    folder = tempfile.mkdtemp(prefix="memcore-profile-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _notes(n: int) -> list[MemoryItem]:
    return stdlib_notes(n, seed=11, now=utc_now())


def checksum(n: int) -> Workload:
    """state_checksum of a whole session, then an incremental StateDigest over it."""
    from memcore.codec import StateDigest, state_checksum

    state = {item.id: item for item in _notes(n)}

    def run() -> object:
        digest = StateDigest()
        for key, value in state.items():
            digest.add(key, value)
        return state_checksum(state) == digest.value

    return run


def compress(n: int) -> Workload:
    """Hierarchical compression of a session and its inverse."""
    from memcore.compression import HierarchicalMemoryCompressor, decompress_memory_hierarchy

    items = _notes(n)
    compressor = HierarchicalMemoryCompressor(now=utc_now() + timedelta(hours=1))

    def run() -> object:
        blob, _ = compressor.compress_memory_hierarchy(items)
        return decompress_memory_hierarchy(blob)

    return run


def overflow(n: int) -> Workload:
    """Squeezing a session into a third of its tokens."""
    from memcore.overflow import SessionState, handle_context_overflow
    from memcore.tokens import count_tokens

    items = _notes(n)
    budget = sum(count_tokens(item.content) for item in items) // 3

    def run() -> object:
        return handle_context_overflow(SessionState(list(items), budget))

    return run


def prefetch(n: int) -> Workload:
    """Recording a long access sequence and predicting after every access."""
    from memcore.prefetch import PredictiveMemoryPrefetcher

    accesses = simulated_accesses(_notes(max(50, n // 10)), seed=3, length=n * 10)

    def run() -> object:
        prefetcher = PredictiveMemoryPrefetcher(window_size=5)
        for access in accesses:
            prefetcher.record_access(DEMO_SESSION, access)
            prefetcher.predict_next_accesses(DEMO_SESSION, access, n=5)
        return prefetcher

    return run


def sync(n: int) -> Workload:
    """Two replicas syncing a session through an SQLite file, with edits on both sides."""
    from memcore import DistributedMemoryManager, open_store

    items = _notes(n)
    folder = _scratch_folder()

    async def scenario() -> object:
        store = open_store(f"sqlite:///{folder}/profile.db")
        left = DistributedMemoryManager(storage_backend=store, replica_id="left")
        right = DistributedMemoryManager(storage_backend=store, replica_id="right")
        session = f"profile-{random.getrandbits(32):08x}"
        try:
            for item in items:
                left.set(session, item.id, item)
            await left.sync_session_memory(session)
            await right.sync_session_memory(session)
            for item in items[: n // 10]:
                right.set(session, item.id, item.to_dict() | {"content": item.content + "!"})
            await right.sync_session_memory(session)
            return await left.sync_session_memory(session)
        finally:
            await left.close()
            await right.close()
            await store.close()

    return lambda: asyncio.run(scenario())


def demo(n: int) -> Workload:
    """The whole ``memcore demo`` on a private store."""
    from memcore.demo import run_demo

    folder = _scratch_folder()
    os.environ["MEMCORE_HOME"] = folder
    return lambda: asyncio.run(
        run_demo(f"sqlite:///{folder}/demo.db", use_transcripts=False, notes=n)
    )


WORKLOADS: dict[str, Callable[[int], Workload]] = {
    "checksum": checksum,
    "compress": compress,
    "overflow": overflow,
    "prefetch": prefetch,
    "sync": sync,
    "demo": demo,
}


def parse_args(
    argv: list[str] | None = None, description: str = __doc__ or ""
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS), help="the path to profile")
    parser.add_argument("-n", "--items", type=int, default=2000, help="items (default: 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default: 3)")
    return parser.parse_args(argv)


def prepare(name: str, n: int) -> Workload:
    return WORKLOADS[name](n)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = prepare(args.workload, args.items)
    for index in range(args.repeat):
        start = time.perf_counter()
        run()
        print(f"{args.workload} run {index + 1}: {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
