"""The records kernel: compiled twin equal to the pure one, both equal to the stored format.

Every encoder (compiled, pure, and the format as ``memcore.codec`` wrote it before this kernel
existed) is paired with every decoder; malformed bytes, with valid checksums so that they reach
the decoder, raise ``CorruptedMemoryError`` on both twins and never crash the compiled one.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memcore import codec
from memcore.errors import CorruptedMemoryError, ValidationError
from memcore.model import MemoryItem, Priority

Twins = tuple[ModuleType, ModuleType]


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> Twins:
    return native_kernels("records"), pure_kernels("records")


def test_native_module_is_the_compiled_one(native_kernels: Callable[[str], ModuleType]) -> None:
    module = native_kernels("records")
    assert module.__name__ == "memcore._native.records"
    assert module.__file__ is not None
    assert not module.__file__.endswith(".py")


# --- values --------------------------------------------------------------------------------------

OTHER_ZONE = timezone(timedelta(hours=-7, minutes=-30))
aware = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)
moments = st.one_of(
    aware,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),  # naive
    st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1), timezones=st.just(OTHER_ZONE)
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([0, -1, -32, -33, 127, 128, 255, 256, 2**16, 2**32, 2**63, -(2**31) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=40),
    moments,
)
plain = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=20,
)
items = st.builds(
    MemoryItem,
    id=st.text(min_size=1, max_size=20),
    content=st.text(max_size=80),
    priority=st.sampled_from(list(Priority)),
    created_at=aware,
    metadata=st.dictionaries(st.text(max_size=8), plain, max_size=5),
)
values = st.one_of(items, plain, st.lists(items, max_size=3))
stamps = st.integers(min_value=0, max_value=2**64 - 1)
replicas = st.text(max_size=20)


def legacy_encode(value: Any, stamp: int, replica: str, deleted: bool) -> bytes:
    """The stored format as msgpack's own packer writes it (what stores hold today)."""
    payload = codec._pack_plain_msgpack({"v": value, "t": stamp, "r": replica, "d": deleted})[0]
    return codec._sealed(payload)


def same(left: Any, right: Any) -> bool:
    """Equal, NaN included (repr shows every field of items and datetimes)."""
    return type(left) is type(right) and repr(left) == repr(right)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values, stamp=stamps, replica=replicas, deleted=st.booleans())
def test_every_encoder_with_every_decoder(
    twins: Twins, value: Any, stamp: int, replica: str, deleted: bool
) -> None:
    native, pure = twins
    if deleted:
        value = None
    encoders = (native.encode_entry, pure.encode_entry, legacy_encode)
    outcomes = []
    for encode in encoders:
        try:
            outcomes.append(encode(value, stamp, replica, deleted))
        except ValidationError:
            outcomes.append(ValidationError)
    assert outcomes[0] == outcomes[1] == outcomes[2]  # byte for byte, or refused by all three
    if outcomes[0] is ValidationError:
        return
    data = outcomes[0]
    assert isinstance(data, bytes)
    decoded_native, decoded_pure = native.decode_entry(data), pure.decode_entry(data)
    assert same(decoded_native, decoded_pure)
    assert decoded_native[1:] == (stamp, replica, deleted)
    # what was decoded encodes back to the same bytes, by either encoder
    assert native.encode_entry(*decoded_native) == data
    assert pure.encode_entry(*decoded_pure) == data
    if isinstance(value, MemoryItem):
        back = decoded_native[0]
        assert isinstance(back, MemoryItem)
        assert back.priority is value.priority
        assert (back.id, back.content, back.created_at) == (
            value.id,
            value.content,
            value.created_at,
        )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_values_pack_alike_by_both_twins_and_msgpack(twins: Twins, value: Any) -> None:
    """``pack_plain`` (what ``codec.packb`` and bundles use): byte for byte msgpack's packer."""
    native, pure = twins
    outcomes: list[Any] = []
    for pack in (native.pack_plain, pure.pack_plain, codec._pack_plain_msgpack):
        try:
            outcomes.append(pack(value))
        except ValidationError:
            outcomes.append(ValidationError)
    assert outcomes[0] == outcomes[1] == outcomes[2]
    if outcomes[0] is not ValidationError:
        assert outcomes[0][0] == codec.packb(value)
        assert same(codec.unpackb(outcomes[0][0]), codec.unpackb(outcomes[2][0]))


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(items, plain), stamp=stamps, replica=replicas)
def test_make_and_read_records_match(twins: Twins, value: Any, stamp: int, replica: str) -> None:
    native, pure = twins
    try:
        made = pure.make_record("k", value, stamp, replica, False)
    except ValidationError:
        with pytest.raises(ValidationError):
            native.make_record("k", value, stamp, replica, False)
        return
    assert tuple(native.make_record("k", value, stamp, replica, False)) == tuple(made)
    tomb = native.make_record("gone", None, 1, replica, True)
    records = {"k": made.data, "gone": tomb.data}
    read_native, read_pure = native.read_records(records), pure.read_records(records)
    assert {k: tuple(r) for k, r in read_native[0].items()} == {
        k: tuple(r) for k, r in read_pure[0].items()
    }
    assert read_native[1] == read_pure[1] == max(stamp, 1)
    assert read_native[0]["gone"].digest_hash == 0


# --- malformed bytes -----------------------------------------------------------------------------


def sealed(payload: bytes) -> bytes:
    """A record around ``payload`` with a correct header and checksum: it reaches the decoder."""
    body = b"MR\x01" + struct.pack("<I", len(payload)) + payload
    return body + struct.pack("<Q", codec.xxh64(body))


def outcome(decode: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return decode(data)
    except CorruptedMemoryError:
        return CorruptedMemoryError


def good_payload(value: Any) -> bytes:
    data = legacy_encode(value, 7, "r", False)
    return data[7:-8]


@settings(max_examples=400, deadline=None)
@given(
    payload=st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda base, at, byte: base[:at] + bytes([byte]) + base[at + 1 :],
            st.sampled_from(
                [
                    good_payload(
                        MemoryItem("a", "b", "high", datetime(2020, 1, 1, tzinfo=timezone.utc))
                    ),
                    good_payload({"x": [1, 2.5, None, b"y", datetime(1999, 1, 1)]}),
                ]
            ),
            st.integers(min_value=0, max_value=60),
            st.integers(min_value=0, max_value=255),
        ),
        st.builds(
            lambda base, cut: base[:cut],
            st.just(good_payload(MemoryItem("a", "b", metadata={"k": [1, {"z": "w"}]}))),
            st.integers(min_value=0, max_value=80),
        ),
    )
)
def test_malformed_payloads_raise_the_same_on_both_twins(twins: Twins, payload: bytes) -> None:
    native, pure = twins
    data = sealed(payload)
    assert same(outcome(native.decode_entry, data), outcome(pure.decode_entry, data))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40), flip=st.integers(min_value=0, max_value=200))
def test_damaged_records_are_corrupted(records_impl: ModuleType, data: bytes, flip: int) -> None:
    record = legacy_encode(MemoryItem("a", "text"), 5, "r", False)
    damaged = bytearray(record)
    damaged[flip % len(damaged)] ^= 0x41
    for candidate in (data, bytes(damaged), record[:-1], record + b"\x00"):
        assert outcome(records_impl.decode_entry, candidate) is CorruptedMemoryError


@pytest.mark.parametrize(
    "payload",
    [
        b"\xdd\xff\xff\xff\xff",  # an array claiming 4 billion elements
        b"\xdf\xff\xff\xff\xff",  # a map claiming 4 billion pairs
        b"\xdb\xff\xff\xff\xff",  # a string claiming 4 GiB
        b"\xc6\xff\xff\xff\xff",  # bin claiming 4 GiB
        b"\xc9\xff\xff\xff\xff\x02",  # an extension claiming 4 GiB
        b"\x84\xa1v\xc7\x00\x02\xa1t\x01\xa1r\xa0\xa1d\xc2",  # an empty memory item
        b"\x84\xa1v\xc7\x0c\xff"
        + b"\x00" * 4
        + b"\x7f"
        + b"\xff" * 7
        + b"\xa1t\x01\xa1r\xa0\xa1d\xc2",
        b"\x84\xa1v\xd7\xff"
        + struct.pack(">Q", (10**9 << 34) | 5)
        + b"\xa1t\x01\xa1r\xa0\xa1d\xc2",
        b"\x84\xa1v\xd7\x01" + struct.pack(">q", 2**62) + b"\xa1t\x01\xa1r\xa0\xa1d\xc2",
        b"\x84\xa1v\xc0\xa1t\xff\xa1r\xa0\xa1d\xc2",  # a negative stamp
        b"\x84\xa1v\xc0\xa1t\xc3\xa1r\xa0\xa1d\xc2",  # a boolean stamp
        b"\x84\xa1v\xc0\xa1t\x01\xa1r\xa0\xa1d\xc2\xc0",  # extra data
        b"\x84\xa1v\xc0\xa1t\x01\xa1r\xa0\xa1v\xc2",  # a repeated field
        b"\x84\xa1v\xa1x\xa1t\x01\xa1r\xa0\xa1d\xc3",  # a tombstone with a value
        b"\x81\x01\x02",  # an integer map key
        b"\xc1",  # the reserved byte
        b"\xa2\xff\xfe",  # invalid UTF-8
    ],
)
def test_lying_or_invalid_payloads_are_corrupted(records_impl: ModuleType, payload: bytes) -> None:
    with pytest.raises(CorruptedMemoryError):
        records_impl.decode_entry(sealed(payload))


@pytest.mark.parametrize("depth", [1022, 1023, 1024, 1025])
def test_nesting_limit_is_msgpacks_on_both_twins(twins: Twins, depth: int) -> None:
    """The outer entry map is one level; msgpack accepts 1024 nested containers in all."""
    native, pure = twins
    payload = b"\x84\xa1v" + b"\x91" * depth + b"\xc0" + b"\xa1t\x01\xa1r\xa0\xa1d\xc2"
    data = sealed(payload)
    results = [outcome(twin.decode_entry, data) for twin in (native, pure)]
    if depth + 1 > 1024:
        assert results == [CorruptedMemoryError, CorruptedMemoryError]
        return
    for result in results:  # walked, not compared: == and repr would recurse too deep
        value, levels = result[0], 0
        while isinstance(value, list):
            assert len(value) == 1
            value, levels = value[0], levels + 1
        assert (value, levels, result[1:]) == (None, depth, (1, "", False))


def test_extreme_datetimes_round_trip(records_impl: ModuleType) -> None:
    for moment in (
        datetime(1, 1, 1, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc),
        datetime(2106, 2, 7, 6, 28, 16, tzinfo=timezone.utc),  # past 32-bit seconds
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
    ):
        data = legacy_encode({"t": moment}, 1, "r", False)
        assert records_impl.encode_entry({"t": moment}, 1, "r", False) == data
        assert records_impl.decode_entry(data)[0] == {"t": moment}


def test_read_records_names_the_corrupted_key(records_impl: ModuleType) -> None:
    good = records_impl.encode_entry(MemoryItem("a", "x"), 3, "r", False)
    with pytest.raises(CorruptedMemoryError, match="'bad'"):
        records_impl.read_records({"a": good, "bad": good[:-1] + bytes([good[-1] ^ 1])})


def test_priorities_come_from_the_table_in_any_case(records_impl: ModuleType) -> None:
    """Records written with a priority in another case (accepted by ``Priority.parse``) read."""
    item_fields = [
        "a",
        "x",
        "HIGH",
        datetime(2024, 1, 1, tzinfo=timezone.utc),
        {},
    ]
    payload = codec.packb({"v": None, "t": 1, "r": "r", "d": False})
    inner = codec.packb(item_fields)
    ext = b"\xc7" + bytes([len(inner)]) + b"\x02" + inner
    payload = b"\x84\xa1v" + ext + payload[4:]
    value = records_impl.decode_entry(sealed(payload))[0]
    assert isinstance(value, MemoryItem)
    assert value.priority is Priority.HIGH


def test_nan_survives(twins: Twins) -> None:
    native, pure = twins
    data = native.encode_entry({"x": math.nan}, 1, "r", False)
    assert data == pure.encode_entry({"x": math.nan}, 1, "r", False)
    assert math.isnan(native.decode_entry(data)[0]["x"])


def test_unencodable_values_are_refused(records_impl: ModuleType) -> None:
    class Odd:
        pass

    for value in ({"obj": Odd()}, {"big": 1 << 64}, {"neg": -(1 << 63) - 1}, "\ud800"):
        with pytest.raises(ValidationError):
            records_impl.encode_entry(value, 1, "r", False)
        with pytest.raises(ValidationError):
            records_impl.pack_plain(value)
