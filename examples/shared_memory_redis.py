"""Two agents sharing one session's memory through Redis.

Each agent is a DistributedMemoryManager replica of the same session on the same Redis database.
The researcher writes findings, the writer reads them after a sync and adds its own; both edit the
same item, and the timestamp strategy settles that conflict the same way on both sides.

    redis-server --port 6379 &            # any Redis you can reach
    python examples/shared_memory_redis.py redis://127.0.0.1:6379/0

The URL may also come from $MEMCORE_REDIS_URL. Needs memcore's ``redis`` extra. A Redis that
cannot be reached (or a URL that is not a store's) is one line on stderr and exit status 1; no
URL at all is a usage line and exit status 2.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from memcore import DistributedMemoryManager, MemoryItem, open_store, state_checksum
from memcore.errors import MemcoreError


async def main(url: str) -> int:
    session = f"report-{uuid.uuid4().hex[:8]}"
    store = open_store(url)
    researcher = DistributedMemoryManager(storage_backend=store, replica_id="researcher")
    writer = DistributedMemoryManager(storage_backend=store, replica_id="writer")
    try:
        researcher.set(
            session,
            "brief",
            MemoryItem(
                id="brief",
                content="Write a one-page report on sqlite WAL mode.",
                priority="critical",
                metadata={"kind": "task"},
            ),
        )
        researcher.set(
            session,
            "finding-1",
            MemoryItem(
                id="finding-1",
                content="WAL lets readers run while one writer appends.",
                metadata={"kind": "fact"},
            ),
        )
        result = await researcher.sync_session_memory(session)
        print(f"researcher pushed {result.synced_items} items (version {result.version})")

        result = await writer.sync_session_memory(session)
        print(f"writer pulled {result.synced_items} items: {sorted(writer.state(session))}")
        writer.set(
            session,
            "outline",
            MemoryItem(
                id="outline",
                content="1. what WAL is 2. when to use it 3. checkpoints",
                metadata={"kind": "plan"},
            ),
        )

        # Both agents revise the same finding before syncing: a conflict.
        researcher.set(
            session,
            "finding-1",
            MemoryItem(
                id="finding-1",
                content="WAL: readers never block the writer, and vice versa.",
                metadata={"kind": "fact", "by": "researcher"},
            ),
        )
        writer.set(
            session,
            "finding-1",
            MemoryItem(
                id="finding-1",
                content="WAL: concurrent readers, a single writer.",
                metadata={"kind": "fact", "by": "writer"},
            ),
        )
        first = await researcher.sync_session_memory(session)
        second = await writer.sync_session_memory(session)
        third = await researcher.sync_session_memory(session)
        resolved = first.conflicts_resolved + second.conflicts_resolved + third.conflicts_resolved
        kept = MemoryItem.coerce(writer.get(session, "finding-1"))
        print(
            f"conflicts resolved: {resolved}; kept the {kept.metadata['by']}'s version: "
            f"{kept.content!r}"
        )

        same = state_checksum(researcher.state(session)) == state_checksum(writer.state(session))
        print(f"both agents hold {len(writer.state(session))} items; states equal: {same}")
        return 0 if same and resolved >= 1 else 1
    finally:
        await researcher.close()
        await writer.close()
        await store.close()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MEMCORE_REDIS_URL")
    if not target:
        print(
            "usage: shared_memory_redis.py redis://host:port/db (or set MEMCORE_REDIS_URL)",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        sys.exit(asyncio.run(main(target)))
    except MemcoreError as exc:  # memcore's own errors say what went wrong: no traceback needed
        print(f"shared_memory_redis.py: error: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(1)
