"""A Redis journal entry that is no journal entry (``RPUSH memcore:{s}:journal garbage``, or an
entry whose msgpack wrapper rotted): every read of the journal failed, so recovery said
"journal unreadable" and changed nothing, an intact session was "intact; nothing to do" while
``verify`` kept naming it, and a damaged item could not be rebuilt at all.

Recovery now moves such an entry aside as it was (``memcore:{s}:damaged:journal``), a marker in
its place, and goes on: a replay crosses the marker only when the session's index puts every
damaged key's last change in a readable entry, so a lost write is never replaced by an older
one. On one server and on a Redis Cluster (one script in the session's hash slot).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack

from memcore import DistributedMemoryManager, create_backup
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores.redis import session_keys
from tests.redis_support import store_client
from tests.store_support import journal_after_a_commit

GARBAGE = b"\xc1 no journal entry"
JOURNAL = session_keys("s")["journal"]
ASIDE = "memcore:{s}:damaged:journal"


def _fill(url: str, *, backup_after: int | None = None) -> None:
    """Session ``s``: ``k0``..``k3`` one commit each, then ``k0`` written again (v5); with
    ``backup_after``, a backup after that many commits."""

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for n, key in enumerate(["k0", "k1", "k2", "k3", "k0"]):
            manager.set("s", key, {"content": f"lint rule {n}"})
            await manager.sync_session_memory("s")
            if n + 1 == backup_after:
                await create_backup("s", url)
        await manager.close()

    asyncio.run(fill())


def _items(url: str) -> dict[bytes, bytes]:
    with store_client(url) as raw:
        return dict(raw.hgetall(session_keys("s")["items"]))


def _damage_item(url: str, key: str) -> None:
    with store_client(url) as raw:
        raw.hset(session_keys("s")["items"], key, b"\x00damaged")


def _entry_of(url: str, version: int) -> int:
    """The list index of the journal entry of ``version``."""
    with store_client(url) as raw:
        for index, packed in enumerate(raw.lrange(JOURNAL, 0, -1)):
            if msgpack.unpackb(packed, raw=True)[0] == version:
                return index
    raise AssertionError(f"no entry of version {version}")


def _verify(url: str) -> Any:
    return asyncio.run(verify_session("s", url, deep=True))


def test_a_pushed_entry_is_named_moved_aside_and_kept(any_redis_url: str) -> None:
    url = any_redis_url
    _fill(url)
    with store_client(url) as raw:
        raw.rpush(JOURNAL, GARBAGE)
    before = _items(url)
    health = _verify(url)
    assert not health.ok
    assert "entry 6 of 6 read from memcore:{s}:journal" in "; ".join(health.problems)
    assert "memcore recover s" in "; ".join(health.problems)
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert "1 unreadable journal entry (of version 5) moved to " + ASIDE in result.message
    assert _items(url) == before
    with store_client(url) as raw:
        assert raw.lrange(ASIDE, 0, -1) == [GARBAGE]
        assert raw.sismember("memcore:{s}:damaged:names", ASIDE)
    assert _verify(url).ok
    again = recover_corrupted_memory("s", url)  # (nothing left to move)
    assert again.success
    assert "intact" in again.message
    assert journal_after_a_commit(url, "s", 5) == [(5, "k0"), (5, ""), (6, "k9")]
    with store_client(url) as raw:
        assert not raw.exists(ASIDE)


def test_a_damaged_item_is_rebuilt_past_an_entry_moved_aside(any_redis_url: str) -> None:
    url = any_redis_url
    _fill(url)
    before = _items(url)
    with store_client(url) as raw:
        raw.rpush(JOURNAL, GARBAGE)
    _damage_item(url, "k1")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert result.rebuild_required
    assert "1 journal entry moved aside crossed" in result.message
    assert _items(url) == before
    assert _verify(url).ok


def test_a_backup_and_the_journal_since_it_serve_across_a_rotted_entry(
    any_redis_url: str,
) -> None:
    """v3's entry (``k2``'s only write) rotted in place after a backup at v2, and ``k3`` is
    damaged: the index says ``k3`` last changed at v4, which the journal still reads."""
    url = any_redis_url
    _fill(url, backup_after=2)
    before = _items(url)
    with store_client(url) as raw:
        raw.lset(JOURNAL, _entry_of(url, 3), GARBAGE)
    _damage_item(url, "k3")
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert not result.rebuild_required
    assert "(of version 3) moved to" in result.message
    assert "backup" in result.message
    assert _items(url) == before


def test_an_entry_moved_aside_that_was_a_damaged_key_s_last_write_is_not_guessed(
    any_redis_url: str,
) -> None:
    """v5 rewrote ``k0`` and its entry rotted; ``k0``'s item is damaged too. The journal's
    readable ``k0`` is v1's, older: nothing tells v5's value, so no item is written (the entry
    is moved aside all the same, kept)."""
    url = any_redis_url
    _fill(url)
    with store_client(url) as raw:
        raw.lset(JOURNAL, _entry_of(url, 5), GARBAGE)
    _damage_item(url, "k0")
    damaged = _items(url)
    result = recover_corrupted_memory("s", url)
    assert not result.success
    assert "moved to " + ASIDE in result.message
    assert "nothing else was changed" in result.message
    assert _items(url) == damaged
    with store_client(url) as raw:
        assert raw.lrange(ASIDE, 0, -1) == [GARBAGE]
