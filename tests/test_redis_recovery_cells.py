"""Recovery of a Redis session whose keys hold what memcore never writes there (another program
or a hand edit): a meta field that is no whole number, a key of another type. Every read of it
raised ``CorruptedMemoryError``, so recovery could not start and the command the store-wide
commands named for it failed too (``memcore.stores.redis_cells``). On one server and on a
Redis Cluster, since the repair is one script over the session's hash slot."""

from __future__ import annotations

import asyncio

import pytest

from memcore import DistributedMemoryManager, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session, verify_store
from memcore.stores import open_store
from memcore.stores.redis import RedisStore, every_key
from tests.cli_support import run_cli
from tests.redis_support import store_client

CONTENTS = [f"lint rule {n}" for n in range(3)]


def _key(part: str) -> str:
    return every_key("s")[part]


def _aside(part: str) -> str:
    return f"memcore:{{s}}:damaged:{part}"


def _fill(url: str, *, backup_after: int | None = None, more: int = 0) -> None:
    """Session ``s``: one commit per item (a journal of several versions); with
    ``backup_after``, a backup that compacts the journal after that many, then ``more``."""

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        count = len(CONTENTS) if backup_after is None else backup_after
        for n in range(count + more):
            manager.set("s", f"k{n}", {"content": f"lint rule {n}"})
            await manager.sync_session_memory("s")
            if n + 1 == backup_after:
                await create_backup("s", url, compact_journal=True)
        await manager.close()

    asyncio.run(fill())


def _contents(url: str) -> list[str]:
    async def read() -> list[str]:
        manager = DistributedMemoryManager(url, replica_id="reader")
        await manager.sync_session_memory("s")
        state = manager.state("s")
        await manager.close()
        return sorted(str(item.content) for item in state.values())

    return asyncio.run(read())


def _verified(url: str) -> None:
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.ok, health.problems
    assert asyncio.run(verify_store(url)).corrupted == ()


@pytest.mark.parametrize(
    ("part", "field", "said"),
    [
        ("meta", "version", "its version, not a whole number, set to 3"),
        ("meta", "digest", "its digest, not a whole number, cleared"),
        ("meta", "journal_floor", "its journal floor, not a whole number, set to 0"),
        ("meta", "replaced_at", "its replacement mark, not a whole number, set to 1"),
        ("meta", "contended", "its contention mark, not a whole number, cleared"),
        ("incarnation", "deletions", "its incarnation's deletion count, not a whole number"),
    ],
)
def test_a_field_that_is_no_number_is_set_from_the_session_s_keys(
    any_redis_url: str, part: str, field: str, said: str
) -> None:
    url = any_redis_url
    _fill(url)
    asyncio.run(open_store(url).incarnation("s"))  # (made by the first read of a session)
    with store_client(url) as raw:
        raw.hset(_key(part), field, "abc")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert said in result.message
    assert _contents(url) == CONTENTS
    _verified(url)
    with store_client(url) as raw:  # the value as it was, kept for inspection
        assert raw.hgetall(_aside(part)) == {field.encode(): b"abc"}


@pytest.mark.parametrize(
    "part", ["meta", "items", "index", "journal", "jpos", "backups", "blobs", "incarnation"]
)
def test_a_key_of_another_type_is_moved_aside_and_the_session_rebuilt(
    any_redis_url: str, part: str
) -> None:
    url = any_redis_url
    _fill(url)
    asyncio.run(create_backup("s", url))
    with store_client(url) as raw:
        raw.delete(_key(part))
        raw.set(_key(part), "oops")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert f"its key {_key(part)}, a string where memcore writes a " in result.message
    assert f"moved to {_aside(part)}" in result.message
    assert _contents(url) == CONTENTS
    _verified(url)
    with store_client(url) as raw:
        assert raw.get(_aside(part)) == b"oops"  # renamed, not deleted
    again = recover_corrupted_memory("s", url)
    assert again.success
    assert "is intact" in again.message


def test_the_recover_command_takes_a_redis_session_too_damaged_to_read(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store-wide commands name ``memcore recover --store URL SESSION`` for such a session:
    the command must repair it, not fail with the damage it is there to repair."""
    _fill(redis_url)
    with store_client(redis_url) as raw:
        raw.hset(_key("meta"), "version", "abc")
        raw.delete(_key("index"))
        raw.set(_key("index"), "oops")
    code, out, err = run_cli(capsys, "recover", "--store", redis_url, "s")
    assert (code, err) == (0, ""), out
    assert out.startswith(f"recovered: session 's': its key {_key('index')}, a string")
    assert "its version, not a whole number, set to 3" in out
    code, out, _ = run_cli(capsys, "verify", "--store", redis_url)
    assert code == 0, out
    assert "all ok" in out
    assert _contents(redis_url) == CONTENTS


@pytest.mark.parametrize(
    ("part", "field"), [("jpos", None), ("meta", "journal_trimmed"), ("meta", "journal_floor")]
)
def test_journal_positions_made_again_serve_a_repair_from_a_backup(
    any_redis_url: str, part: str, field: str | None
) -> None:
    """After a compacting backup the journal's positions are offset by the entries cut off:
    made again, a later repair replays the journal past the backup from the right entry."""
    url = any_redis_url
    _fill(url, backup_after=3, more=2)
    with store_client(url) as raw:
        if field is None:
            raw.delete(_key(part))
            raw.set(_key(part), "oops")
        else:
            raw.hset(_key(part), field, "x")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    store = open_store(url)
    assert isinstance(store, RedisStore)
    store._tamper("s", "k1", b"garbage")
    repaired = recover_corrupted_memory("s", url)
    assert repaired.success, repaired.message
    assert "restored from backup 1 (v3) + 2 journal updates" in repaired.message
    assert _contents(url) == [f"lint rule {n}" for n in range(5)]
    _verified(url)


def test_a_replica_behind_a_rebuilt_index_takes_the_session_whole(any_redis_url: str) -> None:
    """The index (the delta feed) made again scores every item at the session's version: a
    replica that merged an earlier version sees every key, drops the one deleted since and
    keeps its own pending change; one already there is told nothing changed."""
    url = any_redis_url

    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        writer = DistributedMemoryManager(url, replica_id="writer")
        behind = DistributedMemoryManager(url, replica_id="behind")
        writer.set("s", "k0", {"content": "zero"})
        await writer.sync_session_memory("s")
        await behind.sync_session_memory("s")
        writer.set("s", "k1", {"content": "one"})
        await writer.sync_session_memory("s")
        writer.delete("s", "k0")
        await writer.sync_session_memory("s")
        behind.set("s", "k2", {"content": "two"})
        with store_client(url) as raw:
            raw.delete(_key("index"))
            raw.set(_key("index"), "oops")
        result = await asyncio.to_thread(recover_corrupted_memory, "s", url)
        assert result.success, result.message
        assert (await behind.sync_session_memory("s")).success
        assert (await writer.sync_session_memory("s")).success
        seen, wrote = (
            {key: str(item.content) for key, item in manager.state("s").items()}
            for manager in (behind, writer)
        )
        await writer.close()
        await behind.close()
        return seen, wrote

    behind, writer = asyncio.run(scenario())
    assert behind == writer == {"k1": "one", "k2": "two"}


def test_a_session_that_cannot_be_rebuilt_still_fails_and_keeps_what_it_held(
    any_redis_url: str,
) -> None:
    """Items and journal both of another type, and no backup: nothing to rebuild from. The
    keys are moved aside (kept), and recovery says it failed, now and when run again."""
    url = any_redis_url
    _fill(url)
    with store_client(url) as raw:
        for part in ("items", "journal"):
            raw.delete(_key(part))
            raw.set(_key(part), f"not the {part}")
    for _ in range(2):
        result = recover_corrupted_memory("s", url)
        assert not result.success, result.message
        assert result.rebuild_required
        assert "no backup or journal rebuild matches the stored digest" in result.message
    with store_client(url) as raw:
        assert raw.get(_aside("items")) == b"not the items"
        assert raw.get(_aside("journal")) == b"not the journal"
    assert asyncio.run(verify_store(url)).corrupted == ("s",)


def test_a_healthy_session_is_left_as_it_is_and_a_second_repair_keeps_the_first(
    any_redis_url: str,
) -> None:
    """(The second repair's name, ``...:damaged:meta:2``, is made in the script: in the
    session's hash slot like every key it was given.)"""
    redis_url = any_redis_url
    _fill(redis_url)
    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    with store_client(redis_url) as raw:
        before = {name: raw.dump(name) for name in every_key("s").values()}
    assert asyncio.run(store.repair_cells("s")) == []
    with store_client(redis_url) as raw:
        assert {name: raw.dump(name) for name in every_key("s").values()} == before
    for value in ("abc", "def"):
        with store_client(redis_url) as raw:
            raw.hset(_key("meta"), "version", value)
        assert recover_corrupted_memory("s", redis_url).success
    with store_client(redis_url) as raw:  # the second repair kept its value beside the first one's
        assert raw.hget(_aside("meta"), "version") == b"abc"
        assert raw.hget(_aside("meta") + ":2", "version") == b"def"


def test_a_deleted_session_leaves_nothing_a_repair_moved_aside(any_redis_url: str) -> None:
    url = any_redis_url
    _fill(url)
    asyncio.run(create_backup("s", url))
    with store_client(url) as raw:
        raw.delete(_key("index"))
        raw.set(_key("index"), "oops")
        raw.set(_aside("index") + ":2", "an older one")  # (a second repair's name)
    assert recover_corrupted_memory("s", url).success

    async def delete() -> None:
        store = open_store(url)
        await store.delete_session("s")
        await store.close()

    asyncio.run(delete())
    with store_client(url) as raw:
        left = [name for name in raw.scan_iter(match="memcore:{s}:*")]
    assert left == [b"memcore:{s}:incarnation"]  # (kept: it counts the session's deletions)


def test_verify_session_reports_a_redis_session_it_cannot_read(redis_url: str) -> None:
    """A key of another type: ``verify_session`` reports the session as not ok, with the
    problem ``verify_store`` gives it (it raised ``CorruptedMemoryError``)."""
    _fill(redis_url)
    with store_client(redis_url) as raw:
        raw.delete(_key("items"))
        raw.set(_key("items"), "oops")
    health = asyncio.run(verify_session("s", redis_url))
    assert not health.ok
    assert len(health.problems) == 1
    assert health.problems[0].startswith("unreadable: ")
    assert f"{_key('items')}" in health.problems[0]
    (whole,) = asyncio.run(verify_store(redis_url)).sessions
    assert (whole.session_id, whole.problems) == ("s", health.problems)
