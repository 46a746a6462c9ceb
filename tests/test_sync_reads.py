"""What a replica gives back of a session: fresh copies of its values, the ones written last,
and their value hashes (nothing decoded), on one replica and after a merge from another.
"""

from __future__ import annotations

import pytest

from memcore.codec import entry_hash, state_checksum
from memcore.errors import ValidationError
from memcore.stores.memory import MemoryStore
from memcore.sync import DistributedMemoryManager
from tests.sync_support import SESSION, contents, item


async def test_returned_values_are_copies() -> None:
    manager = DistributedMemoryManager(storage_backend=MemoryStore(), replica_id="solo")
    manager.set(SESSION, "a", item("a", "alpha", tags=["x"]))
    got = manager.get(SESSION, "a")
    got.metadata["tags"].append("mutated")
    got.content = "changed"
    assert manager.get(SESSION, "a").metadata == {"tags": ["x"]}
    assert contents(manager) == {"a": "alpha"}
    assert manager.metadata(SESSION).checksum == state_checksum(manager.state(SESSION))


async def test_latest_gives_the_values_written_last_and_no_deleted_one() -> None:
    manager = DistributedMemoryManager(storage_backend=MemoryStore(), replica_id="solo")
    for key in ("a", "b", "c", "d"):
        manager.set(SESSION, key, item(key, key))
    manager.set(SESSION, "a", item("a", "again"))  # written last now
    manager.delete(SESSION, "d")
    assert {k: v.content for k, v in manager.latest(SESSION, 2).items()} == {
        "a": "again",
        "c": "c",
    }
    assert set(manager.latest(SESSION, 10)) == {"a", "b", "c"}
    assert manager.latest(SESSION, 0) == {}
    for bad in (-1, 2.5, True, "3"):  # (-1 gave {} as if the session were empty)
        with pytest.raises(ValidationError, match="count must be a whole number"):
            manager.latest(SESSION, bad)  # type: ignore[arg-type]


async def test_value_hashes_follow_each_live_value_and_match_the_digest() -> None:
    store = MemoryStore()
    manager = DistributedMemoryManager(storage_backend=store, replica_id="a")
    other = DistributedMemoryManager(storage_backend=store, replica_id="b")
    try:
        for key in ("a", "b", "c"):
            manager.set(SESSION, key, item(key, key))
        manager.delete(SESSION, "c")
        before = manager.value_hashes(SESSION)
        assert set(before) == {"a", "b"}  # a deleted key has none
        state = manager.state(SESSION)
        assert before == {key: entry_hash(key, value) for key, value in state.items()}
        manager.set(SESSION, "b", item("b", "b"))  # written again, the same value
        assert manager.value_hashes(SESSION) == before
        manager.set(SESSION, "a", item("a", "changed", tag="x"))
        assert manager.value_hashes(SESSION)["a"] != before["a"]
        assert manager.value_hashes(SESSION)["b"] == before["b"]
        await manager.sync_session_memory(SESSION)
        await other.sync_session_memory(SESSION)  # merged from the store: the same hashes
        assert other.value_hashes(SESSION) == manager.value_hashes(SESSION)
    finally:
        await manager.close()
        await other.close()
