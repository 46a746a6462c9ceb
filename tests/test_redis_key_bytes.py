"""A Redis items hash holding a field whose name is no UTF-8 (``HSET memcore:{s}:items
"\\xff\\xfe" ...``: memcore never writes one; another program or a hand edit does).

Every read of the session failed on it ("unreadable key in the redis store: 'utf-8' codec
can't decode byte 0xff"), recovery's too, so the session stayed unusable and the command every
message named (``memcore recover``) failed as well. The name is now read with its bytes as
lone surrogates: a key no check takes, so its record is damaged like any other (verify names
it, a sync says to recover), and recovery rebuilds the session without it. One server and a
Redis Cluster.
"""

from __future__ import annotations

import asyncio

import pytest

from memcore import DistributedMemoryManager
from memcore.errors import CorruptedMemoryError
from memcore.recovery import recover_corrupted_memory, verify_session
from memcore.stores.redis import every_key
from tests.redis_support import store_client

NAME = b"\xff\xfe"


async def _sync(url: str, replica: str) -> dict[str, str]:
    manager = DistributedMemoryManager(url, replica_id=replica)
    try:
        if replica == "writer":
            for n in range(3):
                manager.set("s", f"k{n}", {"content": f"item {n}"})
                assert (await manager.sync_session_memory("s")).success
        else:
            result = await manager.sync_session_memory("s")
            assert result.success, result.error
        return {key: str(item.content) for key, item in manager.state("s").items()}
    finally:
        await manager.close()


def test_a_field_name_that_is_no_utf8_is_a_damaged_record_recovery_removes(
    any_redis_url: str,
) -> None:
    url = any_redis_url
    written = asyncio.run(_sync(url, "writer"))
    with store_client(url) as raw:
        raw.hset(every_key("s")["items"], NAME, b"not a record")
        raw.zadd(every_key("s")["index"], {NAME: 3})  # (listed, as a commit would)

    health = asyncio.run(verify_session("s", url))
    assert not health.ok
    assert health.bad_keys == ("\udcff\udcfe",)
    with pytest.raises(CorruptedMemoryError, match="recover"):
        asyncio.run(_sync(url, "reader"))

    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert asyncio.run(_sync(url, "reader")) == written
    health = asyncio.run(verify_session("s", url, deep=True))
    assert health.ok, health.problems
