"""The canonical state hash: known answers, its invariances, what it refuses, and the compiled
twin equal to the pure (XXH64 itself is in ``test_checksums_xxh64.py``, ``StateDigest`` in
``test_checksums_digest.py``, the values they draw from in ``checksum_values.py``).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import subprocess
import sys
import sysconfig
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore._pure import _checksum_tables as tables
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority
from tests.checksum_values import (
    ZONES,
    LyingStr,
    disguised,
    naive_datetimes,
    scalars,
    states,
    texts,
    values,
)
from tests.param_ids import value_id


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("checksums"), pure_kernels("checksums")


def test_native_module_is_the_compiled_one(native_kernels: Callable[[str], ModuleType]) -> None:
    module = native_kernels("checksums")
    assert module.__name__ == "memcore._native.checksums"
    assert module.__file__ is not None
    assert not module.__file__.endswith(".py")


# --- canonical state hash -----------------------------------------------------------------------

# Known answers, computed once from the pure twin when the format was fixed. They pin the canonical
# encoding across versions, processes and platforms: if one changes, every stored checksum breaks,
# so change them only together with a deliberate format change.
KNOWN_STATE: dict[str, Any] = {
    "none": None,
    "true": True,
    "false": False,
    "int": -42,
    "big": 2**100 + 7,
    "neg_big": -(2**80),
    "float": 3.25,
    "neg_zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "ascii": "hello",
    "latin": "café ÿ",
    "bmp": "中文 \u2022",
    "astral": "emoji 😀",
    "bytes": b"\x00\xffab",
    "bytearray": bytearray(b"xyz"),
    "list": [1, [2, (3, "x")], {}],
    "dict": {"b": 2, "a": {"nested": [None, 1.5]}},
    "aware": datetime(2024, 2, 29, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5))),
    "naive": datetime(1969, 7, 20, 20, 17, 40),
    "item": MemoryItem(
        id="m1",
        content="remember the milk",
        priority=Priority.HIGH,
        created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
        metadata={"kind": "task", "tags": ["a", "b"]},
    ),
}
KNOWN_STATE_CHECKSUM = 0xFFB76AB262C5ABA3
KNOWN_EMPTY_CHECKSUM = 0x089334D2DF11153C
KNOWN_ENTRY_HASH = 0x9A78660C6CC3817E  # entry_hash("k", "v")


def test_known_answers(checksums_impl: ModuleType) -> None:
    assert checksums_impl.state_checksum(KNOWN_STATE) == KNOWN_STATE_CHECKSUM
    assert checksums_impl.state_checksum({}) == KNOWN_EMPTY_CHECKSUM
    assert checksums_impl.entry_hash("k", "v") == KNOWN_ENTRY_HASH


_CHILD = """
import sys
sys.path.insert(0, {tests!r})
from test_checksums import KNOWN_STATE
from memcore.codec import state_checksum
print(state_checksum(KNOWN_STATE), state_checksum({{"key": {{"a": 1, "b": [1.5, "x"]}}}}))
"""


@pytest.mark.parametrize("pure", [False, True], ids=["selected", "pure"])
def test_stable_across_processes(checksums_impl: ModuleType, pure: bool) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "4242" if pure else "17"}
    if pure:
        env["MEMCORE_NO_EXTENSIONS"] = "1"
    code = _CHILD.format(tests=str(Path(__file__).parent))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    first, second = (int(word) for word in result.stdout.split())
    assert first == KNOWN_STATE_CHECKSUM
    assert second == checksums_impl.state_checksum({"key": {"b": [1.5, "x"], "a": 1}})


# Entry shapes the compiled twin hashes on separate paths: batches of four entries whose tails
# differ in length (0-3 bytes past 4- and 8-byte steps, and past 32-byte stripes), ASCII and
# non-ASCII keys and values (the UTF-8 cached on the str), leaves hashed from borrowed references
# (None, bools, floats, UTC and naive datetimes) and the rest.
batch_keys = st.one_of(st.text(alphabet="abcdefgh", max_size=40), texts(max_size=40))
batch_values = st.one_of(
    st.text(alphabet="xyz", max_size=300),
    texts(max_size=300),
    st.none(),
    st.booleans(),
    st.floats(),
    st.datetimes(timezones=st.sampled_from([timezone.utc, *ZONES[1:]])),
    naive_datetimes,
    scalars,
)
wide_states = st.dictionaries(
    batch_keys,
    st.one_of(batch_values, st.dictionaries(batch_keys, batch_values, max_size=9)),
    min_size=3,
    max_size=13,
)


@settings(max_examples=250, deadline=None)
@given(state=st.one_of(states, wide_states))
def test_state_checksum_twins_agree(
    twins: tuple[ModuleType, ModuleType], state: dict[str, Any]
) -> None:
    native, pure = twins
    expected = pure.state_checksum(state)
    assert native.state_checksum(state) == expected
    assert native.StateDigest.from_state(state).value == expected
    for key, value in state.items():
        assert native.entry_hash(key, value) == pure.entry_hash(key, value)


def test_deep_nesting_past_the_batched_levels(twins: tuple[ModuleType, ModuleType]) -> None:
    """Dicts and items nested past the batched depth hash entry by entry, with the same result."""
    native, pure = twins
    value: Any = {"leaf": "x", "n": 1, "f": 0.5, "t": None, "u": True}
    for level in range(20):
        value = {"a": value, "b": f"level {level}", "c": [value] if level % 5 == 0 else level}
        if level % 7 == 3:
            value = {"item": MemoryItem(f"id{level}", "text", metadata=value), "z": None}
    state = {"root": value, "other": {"k": "v"}}
    assert native.state_checksum(state) == pure.state_checksum(state)


def test_dicts_walked_in_place_agree_with_the_pure_twin(
    twins: tuple[ModuleType, ModuleType],
) -> None:
    """The compiled twin reads dict entries in place: tables with deleted entries, keys of other
    types beside str keys (refused, as both twins do), a resized table, split-table instance
    dicts, and ASCII keys and values at and past the staging buffer's size all hash alike."""
    native, pure = twins
    # the in-place walk is used on CPython 3.11-3.14 with the GIL, PyDict_Next elsewhere
    in_place = (3, 11) <= sys.version_info < (3, 15) and not sysconfig.get_config_var(
        "Py_GIL_DISABLED"
    )
    assert native._probe_dict_walk() is in_place
    holes: dict[str, Any] = {f"key-{i}": f"value {i}" * (i % 7) for i in range(200)}
    for i in range(0, 200, 3):
        del holes[f"key-{i}"]
    holes["late"] = {"n": 1}

    class Slotless:
        def __init__(self) -> None:
            self.a, self.b = "x", 2

    split = vars(Slotless())
    long_key, long_value = "k" * 250, "v" * 300
    edges: dict[str, Any] = {long_key: long_value, "k" * 238: "v" * 9, "short": long_value}
    edges |= {"a" * 200: "v" * 38, "b" * 200: "v" * 39, "c" * 247: "v", "d" * 248: None}
    for state in (holes, {"split": split, "holes": holes}, edges, dict.fromkeys(range(0))):
        assert native.state_checksum(state) == pure.state_checksum(state)
    mixed = {"a": 1, 2: "b"}
    for twin in (native, pure):
        with pytest.raises(ValidationError):
            twin.state_checksum(mixed)


def test_non_ascii_strings_hash_by_their_utf8(twins: tuple[ModuleType, ModuleType]) -> None:
    """Latin-1, UCS-2 and astral text, hashed twice (the second time from the cached UTF-8)."""
    native, pure = twins
    texts_ = ["caf\u00e9 " * 50, "\u2014 dash \u2192 arrow " * 40, "rocket \U0001f680 " * 30]
    state = {f"k{i}\u00e9": {"text": text, "n": i} for i, text in enumerate(texts_)}
    first = native.state_checksum(state)
    assert first == native.state_checksum(state) == pure.state_checksum(state)
    with pytest.raises(ValidationError):
        native.state_checksum({"k": "lone \ud800 surrogate"})


def test_memory_item_fields_read_from_their_slots(twins: tuple[ModuleType, ModuleType]) -> None:
    native, pure = twins
    item = MemoryItem("id-1", "content \u00e9", "high", metadata={"kind": "fact", "n": 2})
    assert native.state_checksum({"a": item}) == pure.state_checksum({"a": item.to_dict()})
    broken = MemoryItem("id-2", "text")
    del broken.content  # an unset slot: the same AttributeError getattr gives
    with pytest.raises(AttributeError):
        native.state_checksum({"b": broken})


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_entry_hash_twins_agree(twins: tuple[ModuleType, ModuleType], value: Any) -> None:
    native, pure = twins
    assert native.entry_hash("key", value) == pure.entry_hash("key", value)


@settings(max_examples=60, deadline=None)
@given(state=states, seed=st.integers(0, 2**32))
def test_insertion_order_does_not_matter(
    checksums_impl: ModuleType, state: dict[str, Any], seed: int
) -> None:
    entries = list(state.items())
    random.Random(seed).shuffle(entries)
    assert checksums_impl.state_checksum(dict(entries)) == checksums_impl.state_checksum(state)
    assert checksums_impl.state_checksum(OrderedDict(entries)) == checksums_impl.state_checksum(
        state
    )


def test_nested_dict_order_does_not_matter(checksums_impl: ModuleType) -> None:
    one = {"x": {"a": 1, "b": {"c": [1, {"d": 2, "e": 3}]}}}
    two = {"x": {"b": {"c": [1, {"e": 3, "d": 2}]}, "a": 1}}
    assert checksums_impl.state_checksum(one) == checksums_impl.state_checksum(two)
    # ...but list order does
    three = {"x": {"a": 1, "b": {"c": [{"d": 2, "e": 3}, 1]}}}
    assert checksums_impl.state_checksum(one) != checksums_impl.state_checksum(three)


def _mutations(value: Any) -> list[Any]:
    """Values that differ from ``value`` in one nested place."""
    if isinstance(value, dict):
        out: list[Any] = []
        for key in value:
            renamed = dict(value)
            renamed[key + "'"] = renamed.pop(key)
            out.append(renamed)
            for changed in _mutations(value[key]):
                out.append({**value, key: changed})
        out.append({**value, "extra": None})
        return out
    if isinstance(value, list):
        out = [value[:-1], [*value, 0]]
        for index, element in enumerate(value):
            for changed in _mutations(element):
                out.append([*value[:index], changed, *value[index + 1 :]])
        return out
    if isinstance(value, str):
        return [value + "x", value[:-1]] if value else ["x"]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, -value - 1]
    if isinstance(value, float):
        return [value + 1.0]
    return [None]


def test_every_key_and_nested_value_change_is_seen(checksums_impl: ModuleType) -> None:
    state = {
        "a": {"id": "a", "content": "hello", "metadata": {"tags": ["x", "y"], "n": 3}},
        "b": [1, 2.5, "z", True, {"deep": ["er", {"est": 0}]}],
        "c": "plain",
    }
    base = checksums_impl.state_checksum(state)
    seen = {base}
    for changed in _mutations(state):
        checksum = checksums_impl.state_checksum(changed)
        assert checksum != base, changed
        seen.add(checksum)
    assert len(seen) > 30  # and the changes do not collide among themselves


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (True, 1),
        (False, 0),
        (1, 1.0),
        (0, None),
        ([], ""),
        (["a"], "a"),
        ("1", 1),
        (b"abc", "abc"),
        ({}, []),
        ({"a": 1}, [("a", 1)]),
        (0.0, -0.0),
        ([1, 2], [2, 1]),
        ([[1], 2], [1, [2]]),
        (["ab", "c"], ["a", "bc"]),
        (datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=timezone.utc)),
        (2**64, 2**64 + 1),
        (-(2**70), 2**70),
    ],
)
def test_distinct_values_hash_differently(
    checksums_impl: ModuleType, left: object, right: object
) -> None:
    assert checksums_impl.entry_hash("k", left) != checksums_impl.entry_hash("k", right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((1, "a"), [1, "a"]),
        (math.nan, -math.nan),
        (math.nan, float("nan") * 0),
        (bytearray(b"ab"), b"ab"),
        (
            datetime(2024, 1, 1, 12, tzinfo=timezone.utc),
            datetime(2024, 1, 1, 17, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        (Priority.HIGH, "high"),
        (OrderedDict([("b", 1), ("a", 2)]), {"a": 2, "b": 1}),
    ],
)
def test_equal_values_hash_alike(checksums_impl: ModuleType, left: object, right: object) -> None:
    assert checksums_impl.entry_hash("k", left) == checksums_impl.entry_hash("k", right)


def test_memory_item_hashes_as_its_dict(checksums_impl: ModuleType) -> None:
    item = MemoryItem(
        id="i-1",
        content="the user prefers tabs",
        priority="critical",
        created_at=datetime(2025, 3, 1, 8, tzinfo=timezone(timedelta(hours=1))),
        metadata={"kind": "preference", "confidence": 0.9, "tags": ["style"]},
    )
    assert checksums_impl.state_checksum({"i-1": item}) == checksums_impl.state_checksum(
        {"i-1": item.to_dict()}
    )
    assert checksums_impl.entry_hash("x", [item]) == checksums_impl.entry_hash(
        "x", [item.to_dict()]
    )
    other = MemoryItem(
        id=item.id, content=item.content, created_at=item.created_at, metadata=item.metadata
    )
    assert checksums_impl.entry_hash("x", other) != checksums_impl.entry_hash("x", item)


class _LoudItem(MemoryItem):
    """A subclass whose plain form differs: hashed by its own ``to_dict``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return {**MemoryItem.to_dict(self), "loud": True}


def test_memory_item_subclass_goes_by_its_to_dict(checksums_impl: ModuleType) -> None:
    item = _LoudItem(id="a", content="b", created_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert checksums_impl.entry_hash("k", item) == checksums_impl.entry_hash("k", item.to_dict())


def test_digest_of_a_nested_dict_is_its_state_checksum(checksums_impl: ModuleType) -> None:
    inner = {"a": [1, 2], "b": "c"}
    digest = checksums_impl.state_checksum(inner)
    # the documented layout: "d" + the nested dict's checksum, little-endian
    expected_tail = bytes([tables.TAG_DICT]) + digest.to_bytes(8, "little")
    key = b"s" + (1).to_bytes(8, "little") + b"k"
    assert checksums_impl.entry_hash("k", inner) == xxhash.xxh64_intdigest(key + expected_tail)


def test_encoding_layout_of_scalars(checksums_impl: ModuleType) -> None:
    key = b"s" + (1).to_bytes(8, "little") + b"k"

    def encoded(tail: bytes) -> int:
        return xxhash.xxh64_intdigest(key + tail)

    assert checksums_impl.entry_hash("k", None) == encoded(b"N")
    assert checksums_impl.entry_hash("k", -2) == encoded(
        b"i" + (-2).to_bytes(8, "little", signed=True)
    )
    assert checksums_impl.entry_hash("k", "é") == encoded(
        b"s" + (2).to_bytes(8, "little") + "é".encode()
    )
    assert checksums_impl.entry_hash("k", math.nan) == encoded(
        b"f" + tables.CANONICAL_NAN.to_bytes(8, "little")
    )
    big = 2**64
    assert checksums_impl.entry_hash("k", big) == encoded(
        b"I" + (9).to_bytes(8, "little") + big.to_bytes(9, "little", signed=True)
    )
    epoch = datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert checksums_impl.entry_hash("k", epoch) == encoded(b"t" + (10**6).to_bytes(8, "little"))


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        frozenset(),
        object(),
        complex(1, 2),
        datetime(2020, 1, 1).date(),
        timedelta(1),
        memoryview(b"x"),
        {"ok": [1, {2: "non-str key"}]},
        "lone \ud800 surrogate",
        ["x", "\udfff"],
    ],
    ids=value_id,
)
def test_unsupported_values_raise_validation_error(checksums_impl: ModuleType, value: Any) -> None:
    with pytest.raises(ValidationError):
        checksums_impl.entry_hash("k", value)
    with pytest.raises(ValidationError):
        checksums_impl.state_checksum({"k": value})


def test_bad_keys_and_states(checksums_impl: ModuleType) -> None:
    with pytest.raises(ValidationError):
        checksums_impl.state_checksum({1: "x"})
    with pytest.raises(ValidationError):
        checksums_impl.entry_hash(b"k", "x")
    with pytest.raises(ValidationError):
        checksums_impl.state_checksum([("a", 1)])
    with pytest.raises(ValidationError):
        checksums_impl.StateDigest.from_state("abc")


def test_self_referencing_containers_raise(checksums_impl: ModuleType) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValidationError, match="nested deeper"):
        checksums_impl.state_checksum({"loop": loop})
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(ValidationError, match="nested deeper"):
        checksums_impl.state_checksum(cycle)


def _nest(depth: int) -> Any:
    value: Any = 0
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def test_depth_limit_is_the_same_in_both_twins(twins: tuple[ModuleType, ModuleType]) -> None:
    native, pure = twins
    ok = _nest(tables.MAX_DEPTH)
    assert native.entry_hash("k", ok) == pure.entry_hash("k", ok)
    too_deep = _nest(tables.MAX_DEPTH + 1)
    for twin in twins:
        with pytest.raises(ValidationError):
            twin.entry_hash("k", too_deep)


def test_str_and_int_subclasses_hash_as_their_base(checksums_impl: ModuleType) -> None:
    class Name(str):
        pass

    class Count(int):
        pass

    assert checksums_impl.entry_hash("k", Name("abc")) == checksums_impl.entry_hash("k", "abc")
    assert checksums_impl.entry_hash(Name("k"), 1) == checksums_impl.entry_hash("k", Count(1))


def test_a_str_subclass_hashes_by_its_characters_not_its_encode(checksums_impl: ModuleType) -> None:
    """The pure twin called the subclass's ``encode`` (the compiled one read the characters):
    ``state_checksum({"k": S("x")})`` differed between the twins."""
    assert checksums_impl.state_checksum({"k": LyingStr("x")}) == checksums_impl.state_checksum(
        {"k": "x"}
    )
    assert checksums_impl.entry_hash(LyingStr("k"), 1) == checksums_impl.entry_hash("k", 1)


@settings(max_examples=200, deadline=None)
@given(pair=disguised())
def test_subclasses_hash_as_what_they_hold_on_both_twins(
    twins: tuple[ModuleType, ModuleType], pair: tuple[Any, Any]
) -> None:
    """Lists, tuples, dicts, strs, ints, floats, bytes and datetimes whose methods lie about
    what they hold hash as what they hold, as the compiled twin reads it (MemoryItem subclasses
    go by their ``to_dict``, as before: none is drawn here)."""
    lying, truth = pair
    native, pure = twins
    try:
        expected = pure.entry_hash("k", truth)
    except ValidationError:
        for twin in twins:
            with pytest.raises(ValidationError):
                twin.entry_hash("k", lying)
        return
    assert native.entry_hash("k", lying) == pure.entry_hash("k", lying) == expected
    assert native.state_checksum({"k": lying}) == pure.state_checksum({"k": lying})


class _ShiftingZone(tzinfo):
    """A zone whose offset has microseconds, and that empties a container when asked (or, given
    ``grow``, adds enough keys to a dict to move its entries to a new, larger table)."""

    def __init__(self, victim: dict[str, Any] | list[Any] | None = None, grow: int = 0) -> None:
        self.victim = victim
        self.grow = grow

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if isinstance(self.victim, dict) and self.grow:
            for i in range(self.grow):
                self.victim[f"added-{len(self.victim)}-{i}"] = "y" * i
        elif self.victim is not None:
            self.victim.clear()
        return timedelta(hours=3, microseconds=7)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "shifting"


def test_custom_tzinfo_offsets(twins: tuple[ModuleType, ModuleType]) -> None:
    native, pure = twins
    moment = datetime(2021, 6, 1, 12, tzinfo=_ShiftingZone())
    same = datetime(2021, 6, 1, 9, 0, 0, tzinfo=timezone.utc) - timedelta(microseconds=7)
    assert native.entry_hash("k", moment) == pure.entry_hash("k", moment)
    assert native.entry_hash("k", moment) == native.entry_hash("k", same)


def test_mutation_during_hashing_never_crashes(native_kernels: Callable[[str], ModuleType]) -> None:
    """A callback that empties or resizes the container being walked: the walk re-reads the
    dict's table after it, so it never reads a freed one."""
    native = native_kernels("checksums")
    victim_dict: dict[str, Any] = {"a": "x" * 100, "b": [1, 2, 3]}
    victim_dict["t"] = datetime(2020, 1, 1, tzinfo=_ShiftingZone(victim_dict))
    victim_list: list[Any] = [datetime(2020, 1, 1, tzinfo=None), 1, "x", [2] * 50]
    victim_list.insert(0, datetime(2020, 1, 1, tzinfo=_ShiftingZone(victim_list)))
    growing: dict[str, Any] = {f"k{i}": "v" * i for i in range(6)}
    growing["t"] = datetime(2020, 1, 1, tzinfo=_ShiftingZone(growing, grow=300))
    growing.update({f"after{i}": i for i in range(6)})
    for value in (victim_dict, victim_list, growing):
        with contextlib.suppress(ValidationError):
            assert isinstance(native.entry_hash("k", value), int)
    assert len(growing) > 300  # the callback ran, mid-walk
    state: dict[str, Any] = {f"item{i}": {"n": i} for i in range(10)}
    state["item5"] = datetime(2020, 1, 1, tzinfo=_ShiftingZone(state, grow=200))
    assert isinstance(native.state_checksum(state), int)
    assert len(state) > 200


@settings(max_examples=150, deadline=None)
@given(
    junk=st.recursive(
        st.one_of(
            st.builds(object),
            st.sets(st.integers(), max_size=3),
            st.complex_numbers(allow_nan=False),
            st.dates(),
            st.timedeltas(),
            st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3),
            scalars,
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.one_of(texts(max_size=3), st.integers()), children, max_size=3),
        ),
        max_leaves=8,
    )
)
def test_malformed_values_raise_the_same_way(
    twins: tuple[ModuleType, ModuleType], junk: Any
) -> None:
    outcomes = []
    for twin in twins:
        try:
            outcomes.append(twin.entry_hash("k", junk))
        except ValidationError:
            outcomes.append("ValidationError")
    assert outcomes[0] == outcomes[1]
