"""What a prefetcher reads items with: an async callable (:data:`Loader`), an object with a
``get`` method, or a :class:`~memcore.stores.base.Store`. The prefetcher predicts; this is the
reading side, apart because a store is read through a replica of its own (:class:`StoreReader`),
the one loader that can say what changed since its last read.

That replica pulls each session once and then only what changed since (one delta sync per
prefetch, never a whole snapshot), so a prefetch sees what other replicas committed: every
prediction above the threshold is read from it, cached or not, so a cached value another replica
updated is replaced and one it deleted is evicted. Other loaders cannot say what changed, and a
cached prediction is not loaded again (that would make every prefetch a read of every
prediction): its value is kept until the LRU evicts it or ``invalidate`` drops it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from memcore.errors import ValidationError
from memcore.stores.base import Store, is_store

Loader = Callable[[str, str], Awaitable[Any]]


class StoreReader:
    """Reads items of a store through a replica of its own (see the module doc)."""

    def __init__(self, store: Store) -> None:
        from memcore.sync import DistributedMemoryManager  # (sync imports much: only when used)

        self.replica = DistributedMemoryManager(store, replica_id=f"prefetch-{id(self):x}")

    async def get(self, session_id: str, item_id: str) -> Any:
        await self.replica.sync_session_memory(session_id)  # a delta: what changed since
        return self.replica.get(session_id, item_id)

    async def read(self, session_id: str, item_ids: list[str]) -> list[Any]:
        """The values of ``item_ids`` as the store holds them now (None: absent or deleted),
        after one delta sync: what changed since the last read, cached items' too."""
        await self.replica.sync_session_memory(session_id)
        return [self.replica.get(session_id, item_id) for item_id in item_ids]


def resolve_loader(loader: object) -> Callable[[str, str], Any] | StoreReader | None:
    """The call that reads one item (a store: its reader), or ``ValidationError`` for
    something that cannot read."""
    if loader is None:
        return None
    if is_store(loader):
        return StoreReader(loader)
    getter = getattr(loader, "get", None)
    if getter is not None and callable(getter) and not inspect.isroutine(loader):
        return getter  # type: ignore[no-any-return]
    if callable(loader):
        return loader
    raise ValidationError(
        f"loader must be an async callable (session_id, item_id) -> value or an object with a "
        f"get(session_id, item_id) method, or a Store (got {type(loader).__name__})"
    )


__all__ = ["Loader", "StoreReader", "resolve_loader"]
