"""A store that lost its data under a replica that had only ever committed to the session.

On Redis a session's incarnation id is made once the session exists, so a replica whose one
sync made the session (its read found nothing) knew no id. When the server then lost its data
(restarted without persistence, flushed), that replica took the empty session for one that went
back to version 0 and dropped its copies: the acknowledged write was gone for good. The replica
now learns the id after such a commit, so the loss is seen and the store healed from its copy.
On every store (only Redis lost the write), a Redis Cluster too.
"""

from __future__ import annotations

import pytest

from memcore.recovery import verify_session
from memcore.stores import open_store
from memcore.stores.base import Store
from memcore.sync import DistributedMemoryManager
from tests.test_hardening_sync import SESSION, Lose, lossy, write

__all__ = ["lossy"]  # (the fixture, imported for pytest)


@pytest.fixture
def lossy_cluster(redis_cluster_url: str) -> tuple[Store, Lose]:
    """A cluster store and how it loses every byte (each node flushed)."""
    store = open_store(redis_cluster_url)

    async def flush() -> None:
        with store.sync_client() as client:  # type: ignore[attr-defined]
            client.flushall(target_nodes=client.PRIMARIES)

    return store, flush


async def _first_writer_keeps_its_write(store: Store, lose: Lose) -> None:
    a = DistributedMemoryManager(store, replica_id="a")
    await write(a, "k0")  # (its read found no session: its commit made it)
    await lose()
    assert (await a.sync_session_memory(SESSION)).success
    assert set(a.state(SESSION)) == {"k0"}
    assert "lost its data" in str(a.sync_diagnostics(SESSION).last_went_back)
    reader = DistributedMemoryManager(store, replica_id="reader")
    assert (await reader.sync_session_memory(SESSION)).success
    assert set(reader.state(SESSION)) == {"k0"}
    assert (await verify_session(SESSION, store)).ok
    await store.close()


async def test_a_replica_that_only_committed_heals_a_store_that_lost_its_data(
    lossy: tuple[Store, Lose],
) -> None:
    await _first_writer_keeps_its_write(*lossy)


async def test_the_same_on_a_cluster(lossy_cluster: tuple[Store, Lose]) -> None:
    await _first_writer_keeps_its_write(*lossy_cluster)
