"""Keys and fields another program wrote into a session (``SET memcore:{s}:index oops``,
``HSET memcore:{s}:meta version abc``): every call says so as a ``CorruptedMemoryError`` naming
the key, and a failing script writes nothing (Redis never rolls a script back, so a commit that
hit WRONGTYPE halfway used to leave its items and journal position behind)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from memcore.errors import CorruptedMemoryError
from memcore.stores import open_store
from memcore.stores.redis import RedisStore, incarnation_key, session_keys
from memcore.sync import DistributedMemoryManager

PARTS = {  # part -> the Redis type memcore writes there
    "meta": "hash",
    "items": "hash",
    "index": "zset",
    "journal": "list",
    "jpos": "hash",
    "backups": "hash",
    "blobs": "hash",
    "incarnation": "hash",
}


def _name(session: str, part: str) -> str:
    return incarnation_key(session) if part == "incarnation" else session_keys(session)[part]


def _raw(store: RedisStore) -> Any:
    return store.sync_client()


def _dump(raw: Any, session: str) -> dict[str, Any]:
    """Every key of the session, as raw values (what a failed call must leave unchanged)."""
    out: dict[str, Any] = {}
    for part in PARTS:
        name = _name(session, part)
        found = raw.type(name).decode()
        if found == "hash":
            out[part] = raw.hgetall(name)
        elif found == "zset":
            out[part] = raw.zrange(name, 0, -1, withscores=True)
        elif found == "list":
            out[part] = raw.lrange(name, 0, -1)
        elif found == "string":
            out[part] = raw.get(name)
    return out


@pytest.mark.parametrize("part", ["items", "index", "journal", "jpos"])
async def test_a_commit_onto_a_key_of_the_wrong_type_writes_nothing(
    any_redis_url: str, part: str
) -> None:
    store = open_store(any_redis_url)
    assert isinstance(store, RedisStore)
    try:
        assert await store.commit("s", 0, {"a": b"1"}, 5) == 1
        name = _name("s", part)
        with _raw(store) as raw:
            saved = raw.dump(name)
            raw.delete(name)
            raw.set(name, "oops")
            before = _dump(raw, "s")
        with pytest.raises(CorruptedMemoryError) as caught:
            await store.commit("s", 1, {"b": b"2"}, 6)
        assert name in str(caught.value)
        assert "string" in str(caught.value)
        with _raw(store) as raw:
            assert _dump(raw, "s") == before  # nothing half-written
            raw.delete(name)
            raw.restore(name, 0, saved)
        # put back, the session takes the next commit (no journal version left taken)
        assert await store.commit("s", 1, {"b": b"2"}, 6) == 2
        assert (await store.read_changes("s", 0)).records == {"a": b"1", "b": b"2"}
    finally:
        await store.close()


Call = Callable[[RedisStore], Awaitable[object]]
CALLS: dict[str, Call] = {
    "version": lambda s: s.version("s"),
    "incarnation": lambda s: s.incarnation("s"),
    "read_changes": lambda s: s.read_changes("s", 0),
    "read_changes_since": lambda s: s.read_changes("s", 1),
    "read_snapshot": lambda s: s.read_snapshot("s"),
    "commit": lambda s: s.commit("s", 1, {"b": b"2"}, 6),
    "replace_state": lambda s: s.replace_state("s", 1, {"b": b"2"}, 6),
    "read_journal": lambda s: s.read_journal("s"),
    "truncate_journal": lambda s: s.truncate_journal("s", 1),
    "journal_floor": lambda s: s.journal_floor("s"),
    "put_backup": lambda s: s.put_backup("s", 1, b"b"),
    "list_backups": lambda s: s.list_backups("s"),
    "get_backup": lambda s: s.get_backup("s", 1),
    "delete_backup": lambda s: s.delete_backup("s", 1),
    "stored_versions": lambda s: s.stored_versions("s"),
    "raise_version": lambda s: s.raise_version("s", 1, 2),
    "delete_session": lambda s: s.delete_session("s"),
}


@pytest.mark.parametrize("part", sorted(PARTS))
async def test_every_call_on_a_key_of_the_wrong_type_is_a_corrupted_memory_error(
    redis_url: str, part: str
) -> None:
    """Each call either works (it does not read that key) or raises ``CorruptedMemoryError``
    and leaves every key as it was; never another exception."""
    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    try:
        await store.commit("s", 0, {"a": b"1"}, 5)
        await store.put_backup("s", 1, b"backup")
        await store.incarnation("s")
        name = _name("s", part)
        with _raw(store) as raw:
            raw.delete(name)
            raw.set(name, "oops")
        failed = []
        for what, call in CALLS.items():
            with _raw(store) as raw:
                before = _dump(raw, "s")
            try:
                await call(store)
            except CorruptedMemoryError as exc:
                failed.append((what, str(exc)))
                with _raw(store) as raw:
                    assert _dump(raw, "s") == before, what
        assert all("is damaged" in text for _, text in failed), failed
        assert failed  # every part is read by some call
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("part", "field", "value"),
    [
        ("meta", "version", "abc"),
        ("meta", "version", "1.5"),
        ("meta", "version", "-3"),
        ("meta", "digest", "zz"),
        ("meta", "replaced_at", "x"),
        ("meta", "journal_trimmed", "x"),
        ("meta", "contended", "x"),
        ("incarnation", "deletions", "x"),
    ],
)
async def test_a_field_that_is_no_number_is_a_corrupted_memory_error_and_nothing_is_lost(
    any_redis_url: str, part: str, field: str, value: str
) -> None:
    """These raised a bare ``ValueError`` (``int(b'abc')``) out of every sync, or a Lua error
    after a partial write; pending changes survive it and go through once it is put back."""
    writer = DistributedMemoryManager(storage_backend=any_redis_url, replica_id="a")
    reader = DistributedMemoryManager(storage_backend=any_redis_url, replica_id="b")
    try:
        writer.set("s", "k1", {"content": "one"})
        assert (await writer.sync_session_memory("s")).success
        store = open_store(any_redis_url)
        assert isinstance(store, RedisStore)
        await store.incarnation("s")  # (set once, by the first read of a session: not damage)
        name = _name("s", part)
        with _raw(store) as raw:
            saved = raw.hget(name, field)
            raw.hset(name, field, value)
            before = _dump(raw, "s")
        writer.set("s", "k2", {"content": "two"})
        with pytest.raises(CorruptedMemoryError) as caught:
            await writer.sync_session_memory("s")
        assert f"{name} {field}" in str(caught.value)
        assert repr(value) in str(caught.value).replace('"', "'")
        problem = ""
        try:  # (a replica with nothing to commit reads fewer fields)
            await reader.sync_session_memory("s")
        except CorruptedMemoryError as exc:
            problem = str(exc)
        assert not problem or f"{name} {field}" in problem
        with _raw(store) as raw:
            assert _dump(raw, "s") == before
            if saved is None:
                raw.hdel(name, field)
            else:
                raw.hset(name, field, saved)
        await store.close()
        assert (await writer.sync_session_memory("s")).success
        assert (await reader.sync_session_memory("s")).success
        assert {key: item.content for key, item in reader.state("s").items()} == {
            "k1": "one",
            "k2": "two",
        }
    finally:
        await writer.close()
        await reader.close()


async def test_a_journal_floor_that_is_no_number_is_a_corrupted_memory_error(
    redis_url: str,
) -> None:
    """``journal_floor`` raised ``ValueError``; the journal script a Lua error."""
    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    try:
        await store.commit("s", 0, {"a": b"1"}, 5)
        with _raw(store) as raw:
            raw.hset(session_keys("s")["meta"], "journal_floor", "x")
        for call in (
            store.journal_floor("s"),
            store.read_journal("s"),
            store.truncate_journal("s", 1),
        ):
            with pytest.raises(CorruptedMemoryError, match="journal_floor holds"):
                await call
    finally:
        await store.close()
