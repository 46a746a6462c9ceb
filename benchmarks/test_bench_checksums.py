"""Checksum benchmarks: memcore's twins beside ``xxhash``, orjson+xxh3 and json+sha256.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_checksums.py --benchmark-only -q``.
Compare within a group (the ratios are what the README reports; absolute times depend on the
machine). The pure twin is timed on smaller inputs where the full size would take many seconds;
those groups say their size in their name, and the compiled twin runs beside it on the same input.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

xxhash = pytest.importorskip("xxhash")
orjson = pytest.importorskip("orjson")

MIB = 1 << 20
ITEMS = 100_000
PURE_ITEMS = 2_000

_SENTENCES = (
    "the user prefers tabs over spaces in python files and wants short commit messages "
    "run pytest before pushing read src/memcore/codec.py grep for state_checksum edit the "
    "README build the extension with cython check mypy strict and ruff format"
)
WORDS = _SENTENCES.split()
KINDS = ["preference", "shortcut", "task", "fact", "tool_result"]
PRIORITIES = ["low", "normal", "high", "critical"]


def realistic_state(count: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Memory items as stores keep them: id, ~200-char content, priority, time, metadata."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    state: dict[str, dict[str, Any]] = {}
    for index in range(count):
        item_id = f"mem-{index:07d}"
        words: list[str] = []
        while sum(len(word) + 1 for word in words) < 200:
            words.append(rng.choice(WORDS))
        state[item_id] = {
            "id": item_id,
            "content": " ".join(words)[:200],
            "priority": rng.choice(PRIORITIES),
            "created_at": start + timedelta(seconds=index * 17 + rng.randrange(17)),
            "metadata": {
                "kind": rng.choice(KINDS),
                "session": f"session-{index % 40}",
                "confidence": round(rng.random(), 3),
                "tags": rng.sample(WORDS, 3),
            },
        }
    return state


@pytest.fixture(scope="module")
def state_100k() -> dict[str, dict[str, Any]]:
    return realistic_state(ITEMS)


@pytest.fixture(scope="module")
def state_2k() -> dict[str, dict[str, Any]]:
    return realistic_state(PURE_ITEMS)


TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"


def real_items_state() -> dict[str, dict[str, Any]]:
    """Every item imported from the real Claude Code transcripts, in the plain form stores keep.

    Longer contents than the synthetic state (messages, tool output, summaries), about a fifth of
    their text in non-ASCII strings.
    """
    from memcore.claude_code import parse_transcript

    paths = sorted(TRANSCRIPTS.glob("*.jsonl"))
    if not paths:
        pytest.skip(f"no transcripts under {TRANSCRIPTS}")
    return {item.id: item.to_dict() for path in paths for item in parse_transcript(path).items}


@pytest.fixture(scope="module")
def state_real() -> dict[str, dict[str, Any]]:
    return real_items_state()


@pytest.fixture(scope="module")
def state_pulled(
    state_real: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The same items as a replica holds them: committed to an SQLite file by one replica and
    pulled by another (``state()``: ``MemoryItem``s decoded from the stored records, laid out
    in memory in the order they were read, where the importer's are scattered among the
    parse's own objects)."""
    import asyncio

    from memcore import MemoryItem
    from memcore.sync import DistributedMemoryManager

    url = f"sqlite:///{tmp_path_factory.mktemp('pulled') / 'memory.db'}"

    async def pulled() -> dict[str, Any]:
        writer = DistributedMemoryManager(url, replica_id="writer")
        for key, item in state_real.items():
            writer.set("real", key, MemoryItem.from_dict(item))
        assert (await writer.sync_session_memory("real")).success
        await writer.close()
        reader = DistributedMemoryManager(url, replica_id="reader")
        assert (await reader.sync_session_memory("real")).success
        state = dict(reader.state("real"))
        await reader.close()
        return state

    return asyncio.run(pulled())


@pytest.fixture(scope="module")
def state_pulled_plain(state_pulled: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``state_pulled`` in the plain form (``to_dict``), which orjson serializes faster than
    dataclasses."""
    return {key: item.to_dict() for key, item in state_pulled.items()}


@pytest.fixture(scope="module")
def blob_16mib() -> bytes:
    return random.Random(1).randbytes(16 * MIB)


@pytest.fixture(scope="module")
def blob_1mib() -> bytes:
    return random.Random(2).randbytes(MIB)


BLOB_64 = bytes(range(64))


# --- xxh64 --------------------------------------------------------------------------------------


@pytest.mark.benchmark(group="xxh64 16 MiB")
def test_xxh64_16mib_memcore_c(
    benchmark: Any, native_kernels: Callable[[str], ModuleType], blob_16mib: bytes
) -> None:
    xxh64 = native_kernels("checksums").xxh64
    assert benchmark(xxh64, blob_16mib) == xxhash.xxh64_intdigest(blob_16mib)


@pytest.mark.benchmark(group="xxh64 16 MiB")
def test_xxh64_16mib_xxhash(benchmark: Any, blob_16mib: bytes) -> None:
    benchmark(xxhash.xxh64_intdigest, blob_16mib)


@pytest.mark.benchmark(group="xxh64 1 MiB (pure twin size)")
def test_xxh64_1mib(benchmark: Any, checksums_impl: ModuleType, blob_1mib: bytes) -> None:
    if checksums_impl.__name__.startswith("memcore._pure"):
        result = benchmark.pedantic(checksums_impl.xxh64, (blob_1mib,), rounds=3, iterations=1)
    else:
        result = benchmark(checksums_impl.xxh64, blob_1mib)
    assert result == xxhash.xxh64_intdigest(blob_1mib)


@pytest.mark.benchmark(group="xxh64 64 B")
def test_xxh64_64b(benchmark: Any, checksums_impl: ModuleType) -> None:
    assert benchmark(checksums_impl.xxh64, BLOB_64) == xxhash.xxh64_intdigest(BLOB_64)


@pytest.mark.benchmark(group="xxh64 64 B")
def test_xxh64_64b_xxhash(benchmark: Any) -> None:
    benchmark(xxhash.xxh64_intdigest, BLOB_64)


# --- state_checksum -----------------------------------------------------------------------------


@pytest.mark.benchmark(group="state checksum 100k items")
def test_state_checksum_100k_memcore_c(
    benchmark: Any, native_kernels: Callable[[str], ModuleType], state_100k: dict[str, Any]
) -> None:
    benchmark.pedantic(
        native_kernels("checksums").state_checksum, (state_100k,), rounds=10, warmup_rounds=1
    )


def orjson_xxh3(state: dict[str, Any]) -> int:
    return int(xxhash.xxh3_64_intdigest(orjson.dumps(state, option=orjson.OPT_SORT_KEYS)))


def json_sha256(state: dict[str, Any]) -> bytes:
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).digest()


@pytest.mark.benchmark(group="state checksum 100k items")
def test_state_checksum_100k_orjson_xxh3(benchmark: Any, state_100k: dict[str, Any]) -> None:
    benchmark.pedantic(orjson_xxh3, (state_100k,), rounds=10, warmup_rounds=1)


@pytest.mark.benchmark(group="state checksum 100k items")
def test_state_checksum_100k_json_sha256(benchmark: Any, state_100k: dict[str, Any]) -> None:
    benchmark.pedantic(json_sha256, (state_100k,), rounds=3)


@pytest.mark.benchmark(group="state checksum real items")
def test_state_checksum_real_memcore_c(
    benchmark: Any, native_kernels: Callable[[str], ModuleType], state_real: dict[str, Any]
) -> None:
    checksum = native_kernels("checksums").state_checksum
    benchmark.pedantic(checksum, (state_real,), rounds=20, warmup_rounds=1)


@pytest.mark.benchmark(group="state checksum real items")
def test_state_checksum_real_orjson_xxh3(benchmark: Any, state_real: dict[str, Any]) -> None:
    benchmark.pedantic(orjson_xxh3, (state_real,), rounds=20, warmup_rounds=1)


def _alternating(benchmark: Any, checksum: Callable[[Any], int], state: dict[str, Any]) -> None:
    """Time ``checksum`` per round, and right before each round (in the untimed setup) one
    orjson + xxh3 call on the same state by ``perf_counter``: the two alternate call by call, so
    a machine whose load changes from one second to the next slows both alike. ``extra_info``
    has the best and the median time of each and their ratios."""
    reference: list[float] = []

    def setup() -> tuple[tuple[dict[str, Any]], dict[str, Any]]:
        started = time.perf_counter()
        orjson_xxh3(state)
        reference.append(time.perf_counter() - started)
        return (state,), {}

    benchmark.pedantic(checksum, setup=setup, rounds=25, warmup_rounds=1)
    if benchmark.stats is None:  # --benchmark-disable: one call, nothing timed
        return
    stats = benchmark.stats.stats
    reference.sort()
    best, median = reference[0], reference[len(reference) // 2]
    benchmark.extra_info.update(
        {
            "orjson_xxh3_min_s": best,
            "orjson_xxh3_median_s": median,
            "ratio_by_min": round(best / stats.min, 3),
            "ratio_by_median": round(median / stats.median, 3),
        }
    )


@pytest.mark.benchmark(
    group="state checksum, alternating with orjson + xxh3 (ratios in extra_info)"
)
@pytest.mark.parametrize(
    "shape", ["state_100k", "state_real", "state_pulled", "state_pulled_plain"]
)
def test_state_checksum_alternating(
    benchmark: Any,
    native_kernels: Callable[[str], ModuleType],
    request: pytest.FixtureRequest,
    shape: str,
) -> None:
    _alternating(
        benchmark, native_kernels("checksums").state_checksum, request.getfixturevalue(shape)
    )


@pytest.mark.benchmark(group="state checksum real items, first 500 (pure twin size)")
def test_state_checksum_real_500(
    benchmark: Any, checksums_impl: ModuleType, state_real: dict[str, Any]
) -> None:
    first = dict(list(state_real.items())[:500])
    benchmark.pedantic(checksums_impl.state_checksum, (first,), rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="state checksum 2k items (pure twin size)")
def test_state_checksum_2k(
    benchmark: Any, checksums_impl: ModuleType, state_2k: dict[str, Any]
) -> None:
    benchmark.pedantic(checksums_impl.state_checksum, (state_2k,), rounds=5, warmup_rounds=1)


# --- StateDigest --------------------------------------------------------------------------------


@pytest.mark.benchmark(group="one-item change on 100k items: digest update vs recompute")
def test_digest_one_item_update(
    benchmark: Any, checksums_impl: ModuleType, state_100k: dict[str, Any]
) -> None:
    """Replace one item's value (``remove`` the old entry, ``add`` the new one) and read ``value``.

    Calls alternate between changing the item and changing it back, so every call is exactly one
    update of a 100k-entry digest.
    """
    digest = checksums_impl.StateDigest.from_state(state_100k)
    key = "mem-0050000"
    versions = [state_100k[key], {**state_100k[key], "content": "changed"}]
    current = [0]

    def update() -> int:
        old, new = versions[current[0]], versions[1 - current[0]]
        digest.remove(key, old)
        digest.add(key, new)
        current[0] = 1 - current[0]
        return int(digest.value)

    benchmark(update)
    changed = {**state_100k, key: versions[current[0]]}
    assert digest.value == checksums_impl.state_checksum(changed)


@pytest.mark.benchmark(group="one-item change on 100k items: digest update vs recompute")
def test_digest_recompute_100k_memcore_c(
    benchmark: Any, native_kernels: Callable[[str], ModuleType], state_100k: dict[str, Any]
) -> None:
    checksums = native_kernels("checksums")
    state = dict(state_100k)
    state["mem-0050000"] = {**state["mem-0050000"], "content": "changed"}
    benchmark.pedantic(checksums.state_checksum, (state,), rounds=10, warmup_rounds=1)
