"""The compressor's parameters are checked when it is made, alike in both builds, and a bundle
handed over as a strided buffer is a ValidationError, not a builtin BufferError."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from memcore import codec
from memcore.compression import (
    HierarchicalMemoryCompressor,
    compress_memory_hierarchy,
    decompress_memory_hierarchy,
)
from memcore.errors import ValidationError
from memcore.summarize import group_similar_texts
from tests.param_ids import value_id
from tests.test_compression import NOW, item

# old enough for level 3, where max_distance groups them
OLD = [item(f"n{k}", timedelta(hours=100 + k)) for k in range(4)]


@pytest.mark.parametrize("max_distance", [2.5, -1, 32, "3", None, True], ids=value_id)
def test_a_bad_max_distance_fails_at_construction_in_both_builds(
    pipeline_impl: ModuleType, max_distance: Any
) -> None:
    """It was taken as given: at compress time 2.5 grouped (compiled) or was a TypeError
    (pure), -1 a ValueError, "3" a TypeError."""
    with pytest.raises(ValidationError, match="max_distance"):
        HierarchicalMemoryCompressor(NOW, max_distance=max_distance, kernels=pipeline_impl)
    with pytest.raises(ValidationError, match="max_distance"):
        group_similar_texts(["a b", "a c"], max_distance, pipeline_impl)


def test_a_numpy_whole_number_is_a_max_distance(pipeline_impl: ModuleType) -> None:
    numpy = pytest.importorskip("numpy")
    assert group_similar_texts(["a b", "a c"], numpy.int64(3), pipeline_impl) == (
        group_similar_texts(["a b", "a c"], 3, pipeline_impl)
    )


@pytest.mark.parametrize("max_distance", [0, 31])
def test_the_whole_range_of_max_distance_is_taken(
    pipeline_impl: ModuleType, max_distance: int
) -> None:
    compressor = HierarchicalMemoryCompressor(NOW, max_distance=max_distance, kernels=pipeline_impl)
    assert compressor.compress(OLD).levels["level3"] == len(OLD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"thresholds": 5},
        {"thresholds": "abc"},  # three characters are no three thresholds
        {"ratios": None},
        {"clock": 5},
        {"progress": "yes"},
        {"kernels": 5},
        {"kernels": codec},  # a module, but no pipeline family
    ],
    ids=value_id,
)
def test_other_bad_parameters_fail_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HierarchicalMemoryCompressor(NOW, **kwargs)


def test_a_strided_buffer_is_a_validation_error() -> None:
    blob, _ = compress_memory_hierarchy(OLD, now=NOW)
    strided = memoryview(blob + blob)[::2]
    with pytest.raises(ValidationError, match="contiguous"):
        decompress_memory_hierarchy(strided)
    with pytest.raises(ValidationError, match="contiguous"):
        codec.bundle_flags(strided)
    record = codec.encode_record({"a": 1})
    with pytest.raises(ValidationError, match="contiguous"):
        codec.decode_record(memoryview(record + record)[::2])
    # the same bytes, contiguous, read fine
    assert (
        decompress_memory_hierarchy(memoryview(blob)).levels
        == decompress_memory_hierarchy(blob).levels
    )
