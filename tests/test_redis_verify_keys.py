"""Verification of a Redis session finds every key and field recovery's ``repair_cells`` sets
right, also those a snapshot does not read: a journal or incarnation key replaced by a string
passed ``memcore verify`` ("all ok") while the next write failed on it and ``memcore recover``
found and moved it. On one server and on a Redis Cluster (one script over the session's slot).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memcore import DistributedMemoryManager, create_backup
from memcore.cli import EXIT_ERROR
from memcore.recovery import recover_corrupted_memory, verify_session, verify_store
from memcore.stores import open_store
from memcore.stores.redis import RedisStore, every_key
from tests.cli_support import run_cli


@pytest.fixture(params=["single", "cluster"])
def any_redis_url(request: pytest.FixtureRequest) -> str:
    fixture = "redis_url" if request.param == "single" else "redis_cluster_url"
    return str(request.getfixturevalue(fixture))


def _fill(url: str) -> None:
    """Session ``s``: three commits, a backup, and its incarnation made (by a sync's read)."""

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for n in range(3):
            manager.set("s", f"k{n}", {"content": f"lint rule {n}"})
            await manager.sync_session_memory("s")
        await manager.close()
        await create_backup("s", url)

    asyncio.run(fill())


def _raw(url: str) -> Any:
    store = open_store(url)
    assert isinstance(store, RedisStore)
    return store.sync_client()


def _check_reported_then_repaired(url: str, named: str, capsys: pytest.CaptureFixture[str]) -> None:
    health = asyncio.run(verify_session("s", url))  # (reported, as verify_store reports it)
    assert not health.ok
    assert named in health.describe()
    assert "memcore recover" in health.describe()
    report = asyncio.run(verify_store(url))
    assert report.corrupted == ("s",)
    assert report.sessions[0].problems == health.problems
    code, out, err = run_cli(capsys, "verify", "--store", url, "s")
    assert code == EXIT_ERROR
    assert "all ok" not in out
    assert named in out  # (its CORRUPTED line)
    assert err == ""
    result = recover_corrupted_memory("s", url)
    assert result.success, result.message
    assert asyncio.run(verify_session("s", url, deep=True)).ok
    code, out, _ = run_cli(capsys, "verify", "--store", url, "s")
    assert (code, "all ok" in out) == (0, True)


@pytest.mark.parametrize("part", ["journal", "incarnation", "backups", "blobs"])
def test_a_key_of_another_type_that_a_snapshot_does_not_read_is_reported(
    any_redis_url: str, part: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = any_redis_url
    _fill(url)
    name = every_key("s")[part]
    with _raw(url) as raw:
        raw.delete(name)
        raw.set(name, "x")
    _check_reported_then_repaired(url, f"{name} is a string", capsys)


@pytest.mark.parametrize(
    ("part", "field", "value"),
    [
        ("meta", "replaced_at", b"x"),
        ("meta", "journal_floor", b"x"),
        ("meta", "journal_trimmed", b"-1"),
        ("meta", "contended", b"x"),
        ("meta", "next_backup", b"1.5"),
        ("jpos", "2", b"x"),
        ("incarnation", "deletions", b"x"),
        ("incarnation", "id", b"\xff\xfe"),
    ],
)
def test_a_field_that_a_snapshot_does_not_read_is_reported(
    any_redis_url: str, part: str, field: str, value: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    url = any_redis_url
    _fill(url)
    name = every_key("s")[part]
    with _raw(url) as raw:
        raw.hset(name, field, value)
    _check_reported_then_repaired(url, f"{name} {field}", capsys)
