"""Helpers of the Redis tests that look at a store's keys from outside memcore."""

from __future__ import annotations

from typing import Any

from memcore.stores import open_store
from memcore.stores.redis import RedisStore


def store_client(url: str) -> Any:
    """A plain redis-py client (a cluster client for a cluster URL) on the store at ``url``,
    for tests that write or damage its keys by hand."""
    store = open_store(url)
    assert isinstance(store, RedisStore)
    return store.sync_client()


async def listed_sessions(url: str) -> list[str]:
    """The sessions the store at ``url`` lists, through a store opened and closed for it."""
    store = open_store(url)
    try:
        return await store.list_sessions()
    finally:
        await store.close()
