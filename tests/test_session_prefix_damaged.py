"""A damaged Redis session named by the first characters of its id, as ``memcore sessions`` and
``verify`` show it: ``verify 3f`` and ``recover 3f`` said "no session '3f'", though ``verify``
named it CORRUPTED and ``inspect`` said to repair it with ``memcore recover`` (the prefix was
matched only against the listing, which leaves damaged sessions out)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

SESSION = "3f2b8c1e-9a47-4d2b-8f1e-2c6a5b9d7e01"
OTHER = "a1c4e2d9-0b3f-4e6a-9c1d-7f8e5b2a4c60"


def _memcore(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memcore", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MEMCORE_HOME": str(home)},
        timeout=120,
        check=False,
    )


def _damaged_store(url: str) -> None:
    """Two sessions stored by memcore, then ``SESSION``'s journal key made a string."""
    import redis

    from memcore import DistributedMemoryManager

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for session in (SESSION, OTHER):
            for n in range(3):
                manager.set(session, f"k{n}", {"content": f"lint rule {n} of {session}"})
            await manager.sync_session_memory(session)
        await manager.close()

    asyncio.run(fill())
    with redis.Redis.from_url(url) as raw:
        journal = f"memcore:{{{SESSION}}}:journal"
        assert raw.exists(journal)
        raw.delete(journal)
        raw.set(journal, "not a journal")


@pytest.fixture(name="damaged")
def damaged_fixture(redis_url: str) -> str:
    _damaged_store(redis_url)
    return redis_url


def test_verify_finds_a_damaged_session_by_the_start_of_its_id(
    damaged: str, tmp_path: Path
) -> None:
    whole = _memcore("verify", "--store", damaged, home=tmp_path)
    assert whole.returncode == 1, whole.stderr
    assert f"  {SESSION}: CORRUPTED" in whole.stdout
    by_id = _memcore("verify", "--store", damaged, SESSION, home=tmp_path)
    done = _memcore("verify", "--store", damaged, "3f", home=tmp_path)
    assert done.returncode == by_id.returncode == 1, done.stderr
    assert "no session" not in done.stderr
    assert (done.stdout, done.stderr) == (by_id.stdout, by_id.stderr)  # as by its whole id
    assert f"session '{SESSION}' is damaged" in done.stdout + done.stderr


def test_recover_finds_a_damaged_session_by_the_start_of_its_id(
    damaged: str, tmp_path: Path
) -> None:
    done = _memcore("recover", "--store", damaged, "3f", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no session" not in done.stderr
    assert SESSION in done.stdout
    after = _memcore("verify", "--store", damaged, home=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "2 session(s) checked, all ok" in after.stdout


def test_a_prefix_matching_nothing_is_still_no_session(damaged: str, tmp_path: Path) -> None:
    done = _memcore("recover", "--store", damaged, "ffff", home=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"memcore recover: error: no session 'ffff' in {damaged} "
        "(`memcore inspect` lists the sessions of a store)"
    ]
