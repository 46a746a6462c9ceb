"""``memcore migrate-redis SOURCE --to DEST`` while a real process keeps writing a session.

The copy used to ``DUMP`` a session's keys one by one, so a commit landing between them gave
the destination a meta of one version beside items of another; the check after it then said
"changed during the copy: run again", but left that copy behind, so running again only said
"the destination already holds it", for good. A session's keys are now dumped at one instant,
and a copy the source has since moved past is removed before it is reported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

from memcore.stores import open_store
from memcore.stores.redis import RedisStore, session_keys
from memcore.stores.redis_migrate import copy_sessions
from memcore.sync import DistributedMemoryManager
from memcore.verification import verify_session

WRITER = textwrap.dedent(
    """
    import asyncio, pathlib, sys
    from memcore.sync import DistributedMemoryManager

    async def main(url, stop):
        manager = DistributedMemoryManager(storage_backend=url, replica_id="writer")
        n = 0
        while not pathlib.Path(stop).exists() and n < 100_000:
            manager.set("busy", "hot", {"content": f"write {n}"})
            assert (await manager.sync_session_memory("busy")).success
            n += 1
            if n == 1:
                print("ready", flush=True)
        await manager.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def _fill(url: str) -> None:
    manager = DistributedMemoryManager(storage_backend=url, replica_id="filler")
    try:
        for n in range(3000):
            manager.set("busy", f"k{n}", {"content": f"item {n}"})
        manager.set("quiet", "k", {"content": "still"})
        for session in ("busy", "quiet"):
            assert (await manager.sync_session_memory(session)).success
    finally:
        await manager.close()


async def _check_copy(source: str, dest: str, session: str, *, equal: bool) -> None:
    """The copy at ``dest`` verifies (its digest matches its items); with ``equal``, it is the
    source's session exactly."""
    health = await verify_session(session, dest)
    assert health.ok, health
    if equal:
        src, dst = open_store(source), open_store(dest)
        try:
            assert await src.read_snapshot(session) == await dst.read_snapshot(session)
        finally:
            await src.close()
            await dst.close()


def _holds(url: str, session: str) -> list[str]:
    store = open_store(url)
    assert isinstance(store, RedisStore)
    with store.sync_client() as raw:
        return [name for name in session_keys(session).values() if raw.exists(name)]


def test_a_session_written_during_the_copy_is_copied_whole_or_not_at_all(
    redis_url: str, redis_cluster_url: str, tmp_path: Path
) -> None:
    asyncio.run(_fill(redis_url))
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, redis_url, str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        report = copy_sessions(redis_url, redis_cluster_url)
    finally:
        stop.touch()
        writer.wait(timeout=60)
        if writer.stdout is not None:
            writer.stdout.close()
    assert writer.returncode == 0
    assert "quiet" in report.moved
    asyncio.run(_check_copy(redis_url, redis_cluster_url, "quiet", equal=True))
    if "busy" in report.moved:  # the writer paused long enough: a copy of one instant
        asyncio.run(_check_copy(redis_url, redis_cluster_url, "busy", equal=False))
        return
    assert "run again" in report.skipped["busy"]
    assert _holds(redis_cluster_url, "busy") == []  # nothing left behind at the destination
    again = copy_sessions(redis_url, redis_cluster_url)  # the writer stopped: it is copied
    assert again.moved == ["busy"]
    assert again.skipped == {}
    assert again.already_copied == ["quiet"]  # (copied whole by the first run)
    asyncio.run(_check_copy(redis_url, redis_cluster_url, "busy", equal=True))
