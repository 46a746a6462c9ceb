"""A session whose stored state digest is damaged (a value that fails its own check: no whole
number below 2**64, or gone) after its journal was compacted, so no rebuild from version 0 can
vouch for the records. A backup and the journal since it still can: when they give exactly the
session's records, each of which passes its own checksum, the digest is written again from them
and read back. A digest that is a number is still trusted over records it disagrees with. Redis
(one server and a Cluster) and SQLite behave alike.

Also: deleting a Redis session drops what repairs moved aside (``memcore:{s}:damaged:...``)
from the names its repairs listed, in the session's hash slot, never by a ``SCAN`` of the
whole keyspace (``memcore.stores.redis_cells``)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memcore import DistributedMemoryManager, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores import open_store
from memcore.stores.base import decode_entry, live_digest
from memcore.stores.redis import RedisStore, every_key, session_keys
from tests.test_redis_recovery_cells import _contents

BACKENDS = ("redis", "redis-cluster", "sqlite")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    fixture = "redis_url" if request.param == "redis" else "redis_cluster_url"
    return str(request.getfixturevalue(fixture))


def _filled_store(url: str) -> RedisStore:
    """The Redis store at ``url``, its session filled (``_fill``)."""
    _fill(url)
    store = open_store(url)
    assert isinstance(store, RedisStore)
    return store


def _fill(url: str) -> None:
    """Session ``s``: k0..k2 one commit each (v1-v3), a backup at v3 that compacts the journal,
    then k3 (v4) and k0 changed (v5)."""

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for n in range(3):
            manager.set("s", f"k{n}", {"content": f"lint rule {n}"})
            await manager.sync_session_memory("s")
        await create_backup("s", url, compact_journal=True)
        manager.set("s", "k3", {"content": "lint rule 3"})
        await manager.sync_session_memory("s")
        manager.set("s", "k0", {"content": "lint rule 0, reworded"})
        await manager.sync_session_memory("s")
        await manager.close()

    asyncio.run(fill())


CONTENTS = ["lint rule 0, reworded", "lint rule 1", "lint rule 2", "lint rule 3"]


def _state(url: str) -> tuple[int, dict[str, bytes], int | None, int]:
    """(version, records, stored digest, journal floor) of session ``s``, read through the
    store."""

    async def read() -> tuple[int, dict[str, bytes], int | None, int]:
        store = open_store(url)
        try:
            snapshot = await store.read_snapshot("s")
            floor = await store.journal_floor("s")
        finally:
            await store.close()
        records = {key: bytes(record) for key, record in snapshot.records.items()}
        return snapshot.version, records, snapshot.digest, floor

    return asyncio.run(read())


def _digest_of(records: dict[str, bytes]) -> int:
    return live_digest({key: decode_entry(record) for key, record in records.items()})


def _set_digest(url: str, value: str | int | None) -> None:
    """Write the stored digest's cell below the Store API, as damage would: text as it is, a
    digest (int) as the store keeps one, None to lose it."""
    if url.startswith("sqlite:"):
        if isinstance(value, int) and value >= 1 << 63:  # (kept as a signed 64-bit INTEGER)
            value -= 1 << 64
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("UPDATE meta SET digest = ? WHERE session = 's'", (value,))
        conn.close()
        return
    store = open_store(url)
    assert isinstance(store, RedisStore)
    with store.sync_client() as raw:
        meta = session_keys("s")["meta"]
        if value is None:
            raw.hdel(meta, "digest")
        else:
            raw.hset(meta, "digest", str(value))


def _garbled(digest: int) -> str:
    """The digest's decimal text with one byte flipped so that it is no digit any more."""
    text = bytearray(str(digest).encode())
    text[len(text) // 2] ^= 0x40
    return text.decode()


def _past_the_limit(digest: int) -> str:
    return str(digest + (1 << 64))


def _lost(digest: int) -> None:
    return None


DAMAGES: dict[str, Callable[[int], str | None]] = {
    "a byte flipped": _garbled,
    "past 2**64": _past_the_limit,
    "lost": _lost,
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_digest_after_a_compaction_is_written_again_from_backup_and_journal(
    url: str, damage: str
) -> None:
    _fill(url)
    version, records, digest, floor = _state(url)
    assert (version, floor) == (5, 3)
    assert digest == _digest_of(records)
    _set_digest(url, DAMAGES[damage](digest))

    result = recover_corrupted_memory("s", url)

    assert result.success, result.message
    assert (result.updates_applied, result.rebuild_required) == (0, False)
    assert "backup 1 (v3) + 2 journal updates" in result.message
    assert "its digest is written again from them" in result.message
    assert "read back and verified" in result.message
    if damage != "lost":  # (the repair of the cell said first, then what was done about it)
        assert "digest, not a" in result.message
    written, now, stored, _ = _state(url)
    assert now == records  # not one record changed
    assert stored == digest  # the digest the writer had committed, back
    assert written == version + 1
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.ok, health.problems
    again = recover_corrupted_memory("s", url)
    assert again.success
    assert "nothing to do" in again.message
    assert _contents(url) == CONTENTS


def test_a_digest_that_is_a_number_is_still_trusted_over_the_records(url: str) -> None:
    """One digit off, the digest still passes its own check: the records disagreeing with it
    may be what is damaged, and with the journal compacted nothing else can tell, so nothing is
    written. Only once the digest fails its own check do the backup and journal decide."""
    _fill(url)
    version, records, digest, _ = _state(url)
    assert digest is not None
    _set_digest(url, digest ^ 1)

    refused = recover_corrupted_memory("s", url)

    assert not refused.success
    assert refused.rebuild_required
    assert "does not match the stored digest" in refused.message
    assert refused.message.endswith("nothing was changed")
    assert _state(url)[:3] == (version, records, digest ^ 1)

    _set_digest(url, _garbled(digest))
    repaired = recover_corrupted_memory("s", url)
    assert repaired.success, repaired.message
    assert _state(url)[1:3] == (records, digest)


def test_without_a_digest_records_the_backup_and_journal_disagree_with_are_left_alone(
    url: str,
) -> None:
    """The digest lost and k0 holding its first record (it passes its own check, but the
    journal since the backup changed it): with no digest to go by, neither the records nor the
    backup and journal are taken over the other, and nothing is written. With k0's record put
    back, the two agree and the digest is written again."""
    _fill(url)
    version, records, digest, _ = _state(url)
    first = _first_record_of_k0(url)
    assert first != records["k0"]
    _tamper(url, "k0", first)
    _set_digest(url, _garbled(digest or 0))

    refused = recover_corrupted_memory("s", url)

    assert not refused.success
    assert refused.rebuild_required
    assert "its records differ from backup 1 (v3) + 2 journal updates" in refused.message
    assert _state(url)[:3] == (version, {**records, "k0": first}, None)

    _tamper(url, "k0", records["k0"])
    repaired = recover_corrupted_memory("s", url)
    assert repaired.success, repaired.message
    assert _state(url)[1:3] == (records, digest)


def _first_record_of_k0(url: str) -> bytes:
    async def read() -> bytes:
        store = open_store(url)
        try:
            from memcore.backups import decode_backup

            (info,) = await store.list_backups("s")
            backup = decode_backup(await store.get_backup("s", info.backup_id), "s", info)
        finally:
            await store.close()
        return bytes(backup.records["k0"])

    return asyncio.run(read())


def _tamper(url: str, key: str, record: bytes) -> None:
    store: Any = open_store(url)
    try:
        store._tamper("s", key, record)
    finally:
        asyncio.run(store.close())


# --- deleting a session: what repairs moved aside, found without SCAN -------------------------


@pytest.fixture(params=["single", "cluster"])
def redis_only_url(request: pytest.FixtureRequest) -> str:
    fixture = "redis_url" if request.param == "single" else "redis_cluster_url"
    return str(request.getfixturevalue(fixture))


def _aside(part: str) -> str:
    return f"memcore:{{s}}:damaged:{part}"


def _nodes(store: RedisStore) -> list[Any]:
    """A synchronous client on each primary (the one server, or every node of the cluster)."""
    import redis

    with store.sync_client() as client:
        if not store.cluster:
            return [store.sync_client()]
        return [redis.Redis(host=node.host, port=node.port) for node in client.get_primaries()]


def _scans(nodes: list[Any]) -> int:
    """Keyspace-wide commands (SCAN, KEYS) the nodes ran since their stats were reset."""
    total = 0
    for node in nodes:
        stats = node.info("commandstats")
        total += sum(
            int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("scan", "keys")
        )
    return total


def test_deleting_a_session_drops_what_repairs_moved_aside_without_scanning(
    redis_only_url: str,
) -> None:
    url = redis_only_url
    store = _filled_store(url)
    with store.sync_client() as raw:
        # written by a repair of an earlier memcore, which listed nothing: found by their names
        raw.set(_aside("journal"), "set aside by an older repair")
        raw.set(_aside("journal") + ":2", "and by a second one")
        raw.set("memcore:{s}:kept", "not memcore's: left alone")  # (same slot, another name)
        raw.set("memcore:{t}:meta-copy", "another session's slot")
    for value in ("abc", "def"):  # two repairs: damaged:meta, damaged:meta:2
        with store.sync_client() as raw:
            raw.hset(every_key("s")["meta"], "version", value)
        assert recover_corrupted_memory("s", url).success
    with store.sync_client() as raw:
        raw.delete(every_key("s")["index"])
        raw.set(every_key("s")["index"], "oops")
        # a repair's list naming what is no part moved aside (a hand edit): never deleted
        raw.sadd(_aside("names"), "memcore:{s}:kept")
    assert recover_corrupted_memory("s", url).success
    with store.sync_client() as raw:
        assert raw.exists(_aside("meta"), _aside("meta") + ":2", _aside("index")) == 3

    nodes = _nodes(store)
    for node in nodes:
        node.config_resetstat()

    async def delete() -> None:
        await store.delete_session("s")
        await store.close()

    asyncio.run(delete())

    assert _scans(nodes) == 0
    for node in nodes:
        node.close()
    with store.sync_client() as raw:
        left = sorted(raw.scan_iter(match="memcore:*"))
    assert left == [b"memcore:{s}:incarnation", b"memcore:{s}:kept", b"memcore:{t}:meta-copy"]


def test_a_list_of_names_moved_aside_of_another_type_is_moved_aside_too(
    redis_only_url: str,
) -> None:
    """Another program's string where the repair lists what it moves aside: the repair moves
    it aside first (adding to it would fail halfway), then lists it with the rest, and a
    deletion of the session drops both."""
    url = redis_only_url
    store = _filled_store(url)
    with store.sync_client() as raw:
        raw.set(_aside("names"), "not a set")
        raw.hset(every_key("s")["meta"], "version", "abc")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert (
        f"its key {_aside('names')}, a string where memcore writes a set, moved to "
        f"{_aside('names')}:2"
    ) in result.message
    with store.sync_client() as raw:
        assert raw.get(_aside("names") + ":2") == b"not a set"
        assert raw.smembers(_aside("names")) == {
            _aside("names:2").encode(),
            _aside("meta").encode(),
        }

    async def delete() -> None:
        await store.delete_session("s")
        await store.close()

    asyncio.run(delete())
    with store.sync_client() as raw:
        assert sorted(raw.scan_iter(match="memcore:*")) == [b"memcore:{s}:incarnation"]
