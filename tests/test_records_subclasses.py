"""Values holding subclasses of builtin types that lie through their methods (a ``list`` whose
``__iter__`` yields other items than it holds, a ``dict`` whose ``items`` do): msgpack's packer
read them by those methods, so a write was accepted as a record with a valid checksum and a
truncated payload (the other replicas' sync failed), or as records that disagreed with the stored
digest. Now each value is made plain once, by what it really holds (``memcore.plain``), and the
record, its digest and what every replica reads agree, on both twins and with the state hash.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from memcore import DistributedMemoryManager, MemoryItem, codec, open_store, state_checksum
from memcore.errors import ValidationError
from memcore.recovery import verify_session
from memcore.stores.base import Store
from tests.checksum_values import (
    LyingBytes,
    LyingDatetime,
    LyingDict,
    LyingFloat,
    LyingInt,
    LyingList,
    LyingStr,
    LyingTuple,
    disguised,
)

T = datetime(2024, 1, 1, tzinfo=timezone.utc)
Twins = tuple[ModuleType, ModuleType]


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> Twins:
    return native_kernels("records"), pure_kernels("records")


@pytest.fixture(scope="module")
def hash_twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> Twins:
    return native_kernels("checksums"), pure_kernels("checksums")


def outcome(make: Callable[[], Any]) -> Any:
    try:
        return tuple(make())
    except ValidationError:
        return ValidationError


# --- the properties ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=disguised())
def test_a_disguised_value_is_stored_as_what_it_holds(
    twins: Twins, hash_twins: Twins, pair: tuple[Any, Any]
) -> None:
    lying, truth = pair
    pure = twins[1]
    expected = outcome(lambda: pure.make_record("k", truth, 7, "r", False))
    for twin in twins:  # byte for byte and hash for hash as the plain value, or refused alike
        made = outcome(functools.partial(twin.make_record, "k", lying, 7, "r", False))
        assert made == expected
        encoded = outcome(lambda: (twin.encode_entry(lying, 7, "r", False),))  # noqa: B023
        assert encoded == (ValidationError if expected is ValidationError else (expected[0],))
    if expected is ValidationError:
        return
    data, digest_hash = expected[0], expected[4]
    for twin in twins:  # every replica reads it back, and it hashes as recorded
        value = twin.decode_value(data)
        for hasher in hash_twins:
            assert hasher.entry_hash("k", value) == digest_hash
    # and the state hash reads the liars as what they hold, on both twins
    for hasher in hash_twins:
        assert hasher.entry_hash("k", lying) == digest_hash


def test_each_liar_alone(twins: Twins, hash_twins: Twins) -> None:
    """One of each, in an item's metadata: the repro of the probe that found the bug."""
    liars = {
        "list": (LyingList([1, 2]), [1, 2]),
        "tuple": (LyingTuple((1, 2)), [1, 2]),
        "dict": (LyingDict(a=2), {"a": 2}),
        "str": (LyingStr("v"), "v"),
        "int": (LyingInt(5), 5),
        "big int": (LyingInt(2**62), 2**62),
        "float": (LyingFloat(1.5), 1.5),
        "bytes": (LyingBytes(b"ab"), b"ab"),
        "datetime": (
            LyingDatetime(2024, 5, 1, 10, tzinfo=timezone.utc),
            datetime(2024, 5, 1, 10, tzinfo=timezone.utc),
        ),
    }
    for name, (lying, truth) in liars.items():
        item = MemoryItem("k", "hello", created_at=T, metadata={"m": lying})
        plain_item = MemoryItem("k", "hello", created_at=T, metadata={"m": truth})
        for twin in twins:
            made = twin.make_record("k", item, 3, "r", False)
            assert tuple(made) == tuple(twin.make_record("k", plain_item, 3, "r", False)), name
            assert twin.decode_value(made.data) == plain_item, name
        for hasher in hash_twins:
            assert hasher.entry_hash("k", item) == hasher.entry_hash("k", plain_item), name


def test_an_items_metadata_is_what_the_dict_holds() -> None:
    """``MemoryItem()`` copied a dict subclass through its ``keys``: ``{"fake": 1}``."""
    assert MemoryItem("k", "c", created_at=T, metadata=LyingDict(a=2)).metadata == {"a": 2}
    with pytest.raises(ValidationError, match="keys must be strings"):
        MemoryItem("k", "c", created_at=T, metadata=LyingDict({1: 2}))


def test_an_item_subclass_is_stored_by_its_fields(twins: Twins) -> None:
    """Its ``to_dict`` may say otherwise (the state hash takes that for the item itself), but
    the record holds its fields, and its digest hash is of what the record holds."""

    class Loud(MemoryItem):
        def to_dict(self) -> dict[str, Any]:
            return {"id": "other"}

    plain_item = MemoryItem("k", "text", created_at=T)
    for twin in twins:
        made = twin.make_record("k", Loud("k", "text", created_at=T), 1, "r", False)
        assert tuple(made) == tuple(twin.make_record("k", plain_item, 1, "r", False))


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("id", 5, "item id must be a non-empty string"),
        ("id", "", "item id must be a non-empty string"),
        ("content", None, "content must be a string"),
        ("priority", "urgent", "priority must be one of"),
        ("created_at", datetime(2024, 1, 1), "created_at must be timezone-aware"),
        ("created_at", "2024-01-01", "created_at must be a datetime"),
        ("metadata", [1], "metadata must be a mapping"),
    ],
)
def test_an_item_field_changed_to_what_no_replica_reads_is_refused(
    twins: Twins, field: str, value: Any, said: str
) -> None:
    """Set after construction, such a field made a record every decoder refused as corrupted."""
    for twin in twins:
        item = MemoryItem("k", "text", created_at=T)
        setattr(item, field, value)
        with pytest.raises(ValidationError, match=said):
            twin.make_record("k", item, 1, "r", False)


def test_a_bundle_holds_what_its_values_hold() -> None:
    payload = {
        "items": [MemoryItem("k", LyingStr("x"), created_at=T, metadata={"l": LyingList([1, 2])})]
    }
    assert codec.unpackb(codec.packb(payload)) == {
        "items": [MemoryItem("k", "x", created_at=T, metadata={"l": [1, 2]})]
    }


@pytest.mark.parametrize("which", ["list", "dict", "str"])
async def test_other_replicas_read_it_and_the_store_verifies(which: str) -> None:
    lying = {"list": LyingList([1, 2]), "dict": LyingDict(a=2), "str": LyingStr("v")}[which]
    store: Store = open_store("memory://")
    a = DistributedMemoryManager(storage_backend=store, replica_id="a")
    b = DistributedMemoryManager(storage_backend=store, replica_id="b")
    try:
        a.set("s", "k", MemoryItem("k", LyingStr("hello"), created_at=T, metadata={"m": lying}))
        await a.sync_session_memory("s")
        await b.sync_session_memory("s")  # (failed: "the stored record of key 'k' is corrupted")
        assert a.state("s") == b.state("s")
        assert b.get("s", "k") == MemoryItem(
            "k",
            "hello",
            created_at=T,
            metadata={"m": {"list": [1, 2], "dict": {"a": 2}, "str": "v"}[which]},
        )
        assert state_checksum(a.state("s")) == state_checksum(b.state("s"))
        assert (await verify_session("s", store)).ok
    finally:
        await a.close()
        await b.close()
