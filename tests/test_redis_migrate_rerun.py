"""Running ``memcore migrate-redis SOURCE --to DEST`` again after a run that was stopped.

The run copies session after session, each one's meta key last; killed midway, it leaves some
sessions copied whole, one with parts but no meta, the rest not copied. Running again copied
the rest, but skipped every session copied before ("the destination already holds it") and
exited 1, for good. A destination session identical to the source's (version, digest, item
count) is now done; one that differs is still skipped and left as it is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memcore.stores import open_store
from memcore.stores.redis import RedisStore, session_keys
from memcore.stores.redis_migrate import copy_sessions
from tests.test_redis_migrate import SESSIONS, _read_all, make_legacy, run_cli


def cluster_client(url: str) -> Any:
    """A raw client of the cluster ``url`` names."""
    return RedisStore(url).sync_client()


def _interrupt(dest: str) -> None:
    """Leave ``dest`` as a killed run could: one session copied whole, one not reached, one
    with its parts restored but not its meta (restored last)."""
    whole, missing, partial = SESSIONS
    with cluster_client(dest) as raw:
        raw.delete(*session_keys(missing).values(), f"memcore:{{{missing}}}:incarnation")
        raw.delete(session_keys(partial)["meta"])
        assert raw.exists(session_keys(partial)["items"])
        assert raw.exists(session_keys(whole)["meta"])


def test_a_rerun_after_an_interrupted_copy_finishes_it_and_succeeds(
    redis_url: str, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = make_legacy(redis_url)
    first = copy_sessions(redis_url, redis_cluster_url)
    assert first.moved == sorted(SESSIONS)
    _interrupt(redis_cluster_url)

    code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--to", redis_cluster_url)
    assert code == 0, out + err
    assert "moved 2 session(s)" in out
    assert f"  already copied {SESSIONS[0]}" in out  # (done by the run that was stopped)
    assert "skipped" not in out
    assert asyncio.run(_read_all(redis_cluster_url)) == seen

    again = copy_sessions(redis_url, redis_cluster_url)  # everything done: nothing to do
    assert (again.moved, again.skipped) == ([], {})
    assert again.already_copied == sorted(SESSIONS)
    dry = copy_sessions(redis_url, redis_cluster_url, dry_run=True)
    assert (dry.moved, dry.skipped, dry.already_copied) == ([], {}, sorted(SESSIONS))


def test_a_destination_session_that_differs_is_still_skipped_and_kept(
    redis_url: str, redis_cluster_url: str
) -> None:
    make_legacy(redis_url)
    copy_sessions(redis_url, redis_cluster_url)

    async def write_there() -> None:
        async with open_store(redis_cluster_url) as store:
            assert await store.commit("alpha", 5, {"new": b"y"}, 8) == 6

    asyncio.run(write_there())
    with cluster_client(redis_cluster_url) as raw:  # same version and digest, no item
        assert raw.hdel(session_keys("beta.2")["items"], "only") == 1
    report = copy_sessions(redis_url, redis_cluster_url)
    assert report.moved == []
    assert report.already_copied == ["g@m-3"]
    assert set(report.skipped) == {"alpha", "beta.2"}
    assert all("already holds it, in another state" in why for why in report.skipped.values())

    async def version_of(session: str) -> int:
        async with open_store(redis_cluster_url) as store:
            return (await store.read_snapshot(session)).version

    assert asyncio.run(version_of("alpha")) == 6  # never overwritten by the source's copy
