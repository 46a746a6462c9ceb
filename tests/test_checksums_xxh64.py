"""XXH64, one-shot and streaming, against the ``xxhash`` package, in both twins (the checksum
kernels' base; the canonical state hash is in ``test_checksums.py``)."""

from __future__ import annotations

import array
import random
from collections.abc import Callable
from types import ModuleType

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.errors import ValidationError
from tests.param_ids import value_id
from tests.twin_outcomes import outcome

SEEDS = [0, 1, 2**63, 2**64 - 1, 0x9E3779B185EBCA87, 12345]
# Every length class of XXH64's tail handling (0, 1-3, 4-7, 8-31), stripes (32+) with each tail,
# and a few KB.
LENGTHS = [*range(0, 72), 95, 96, 97, 127, 128, 129, 1000, 4096, 4099, 65535, 65536, 65537 + 31]


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("checksums"), pure_kernels("checksums")


@pytest.mark.parametrize("seed", SEEDS)
def test_xxh64_matches_xxhash(checksums_impl: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    lengths = LENGTHS if checksums_impl.__name__.endswith("_native.checksums") else LENGTHS[:-3]
    for length in lengths:
        data = rng.randbytes(length)
        assert checksums_impl.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed), length


def test_xxh64_default_seed_and_random_seeds(checksums_impl: ModuleType) -> None:
    rng = random.Random(7)
    assert checksums_impl.xxh64(b"") == 0xEF46DB3751D8E999  # the reference empty-input value
    for _ in range(50):
        data = rng.randbytes(rng.randrange(200))
        seed = rng.getrandbits(64)
        assert checksums_impl.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed)
        assert checksums_impl.xxh64(data) == xxhash.xxh64_intdigest(data)


def test_xxh64_accepts_any_contiguous_buffer(checksums_impl: ModuleType) -> None:
    data = bytes(range(256)) * 3
    expected = xxhash.xxh64_intdigest(data)
    words = array.array("I", data[: len(data) // 4 * 4])
    assert checksums_impl.xxh64(bytearray(data)) == expected
    assert checksums_impl.xxh64(memoryview(data)) == expected
    assert checksums_impl.xxh64(memoryview(data)[10:20]) == xxhash.xxh64_intdigest(data[10:20])
    assert checksums_impl.xxh64(words) == xxhash.xxh64_intdigest(words.tobytes())
    assert checksums_impl.xxh64(memoryview(data).cast("B", (16, 48))) == expected


def test_xxh64_on_numpy_buffers(checksums_impl: ModuleType) -> None:
    np = pytest.importorskip("numpy")
    matrix = np.arange(48, dtype=np.float64).reshape(6, 8)
    assert checksums_impl.xxh64(matrix) == xxhash.xxh64_intdigest(matrix.tobytes())
    assert checksums_impl.xxh64(np.float32(1.5)) == xxhash.xxh64_intdigest(
        np.float32(1.5).tobytes()
    )
    for strided in (matrix[:, ::2], matrix.T, np.arange(10)[::3]):
        with pytest.raises(ValidationError):
            checksums_impl.xxh64(strided)
    with pytest.raises(ValidationError):
        checksums_impl.xxh64(np.array(["a", 1], dtype=object))


@pytest.mark.parametrize(
    "data",
    ["text", 12, None, [1, 2], memoryview(b"abcdefgh")[::2]],
    ids=["str", "int", "none", "list", "strided"],
)
def test_xxh64_refuses_non_buffers(checksums_impl: ModuleType, data: object) -> None:
    with pytest.raises(ValidationError):
        checksums_impl.xxh64(data)


@pytest.mark.parametrize("seed", [-1, 2**64, 2**100, 1.0, "0", None, True])
def test_xxh64_refuses_bad_seeds(checksums_impl: ModuleType, seed: object) -> None:
    with pytest.raises(ValidationError):
        checksums_impl.xxh64(b"abc", seed)
    with pytest.raises(ValidationError):
        checksums_impl.XXH64State(seed)


def test_streaming_state_matches_one_shot(checksums_impl: ModuleType) -> None:
    rng = random.Random(3)
    for length in [0, 1, 5, 31, 32, 33, 63, 64, 255, 256, 257, 1000, 5000]:
        data = rng.randbytes(length)
        seed = rng.choice(SEEDS)
        state = checksums_impl.XXH64State(seed)
        position = 0
        while position < length:
            step = rng.choice([1, 3, 8, 31, 32, 33, 100, 300])
            state.update(data[position : position + step])
            position += step
            # a digest along the way leaves the state as it was
            assert state.intdigest() == xxhash.xxh64_intdigest(data[:position], seed)
        assert state.intdigest() == xxhash.xxh64_intdigest(data, seed)


def test_streaming_copy_is_independent(checksums_impl: ModuleType) -> None:
    state = checksums_impl.XXH64State(5)
    state.update(b"x" * 40)
    twin = state.copy()
    twin.update(b"more")
    assert state.intdigest() == xxhash.xxh64_intdigest(b"x" * 40, 5)
    assert twin.intdigest() == xxhash.xxh64_intdigest(b"x" * 40 + b"more", 5)
    with pytest.raises(ValidationError):
        state.update("text")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), seed=st.integers(0, 2**64 - 1))
def test_xxh64_twins_agree(twins: tuple[ModuleType, ModuleType], data: bytes, seed: int) -> None:
    native, pure = twins
    assert native.xxh64(data, seed) == pure.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed)


BAD_DATA: list[object] = ["str", None, 5, [1, 2], memoryview(b"abcdefgh")[::2]]
BAD_SEEDS: list[object] = [-1, 1.5, 2**64, None, True, "0"]


@pytest.mark.parametrize("data", [b"abc", *BAD_DATA], ids=value_id)
@pytest.mark.parametrize("seed", [7, *BAD_SEEDS], ids=value_id)
def test_xxh64_twins_refuse_the_same_argument_first(
    twins: tuple[ModuleType, ModuleType], data: object, seed: object
) -> None:
    # The compiled twin checked the seed first, the pure one the data: ``xxh64("str", -1)``
    # was a bad seed to one and a str to the other. Both check the data first now.
    native, pure = twins
    said = outcome(lambda: native.xxh64(data, seed))
    assert said == outcome(lambda: pure.xxh64(data, seed))
    if data != b"abc" or seed != 7:
        assert said[0] == "ValidationError"
        assert ("seed" in said[1]) == (data == b"abc"), said


@settings(max_examples=100, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=40), st.sampled_from(BAD_DATA)),
    seed=st.one_of(st.integers(-(2**65), 2**65), st.sampled_from(BAD_SEEDS)),
)
def test_xxh64_twins_agree_on_any_arguments(
    twins: tuple[ModuleType, ModuleType], data: object, seed: object
) -> None:
    native, pure = twins
    assert outcome(lambda: native.xxh64(data, seed)) == outcome(lambda: pure.xxh64(data, seed))
