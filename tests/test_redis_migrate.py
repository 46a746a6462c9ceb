"""``memcore migrate-redis``: data in the layout before Redis Cluster support (``memcore:S:part``
keys and a ``memcore:sessions`` set) moved in place, or copied onto a real cluster."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from memcore.cli import main
from memcore.errors import BackendError
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.stores.redis import LEGACY_SESSIONS_KEY, session_keys
from memcore.stores.redis_migrate import legacy_keys
from memcore.sync import DistributedMemoryManager

SESSIONS = ("alpha", "beta.2", "g@m-3")
SKIPPED_SESSIONS_KEY = "memcore:sessions:skipped"  # (where skipped legacy set members are kept)


def raw_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


async def _fill(url: str) -> dict[str, Any]:
    """Three sessions with commits, a replacement, a truncated journal and backups; returns
    everything the store API reads back, to compare after the move."""
    store = open_store(url)
    seen: dict[str, Any] = {}
    try:
        for n, session in enumerate(SESSIONS):
            for version in range(4):
                records = {f"k{version}": bytes([n, version]), "shared": bytes([version])}
                await store.commit(session, version, records, 100 * n + version)
            await store.put_backup(session, 4, b"backup of " + session.encode())
            await store.truncate_journal(session, 1)
            await store.replace_state(session, 4, {"only": b"x"}, 7)
            seen[session] = await _read(store, session)
    finally:
        await store.close()
    return seen


async def _read(store: Any, session: str) -> tuple[Any, ...]:
    snapshot = await store.read_snapshot(session)
    delta = await store.read_changes(session, 2)
    backups = [(b.backup_id, b.version, b.size) for b in await store.list_backups(session)]
    return (
        snapshot,
        delta,
        await store.read_journal(session),
        await store.journal_floor(session),
        backups,
        await store.get_backup(session, backups[0][0]),
    )


async def _read_all(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        return {session: await _read(store, session) for session in SESSIONS}
    finally:
        await store.close()


def make_legacy(url: str) -> dict[str, Any]:
    """Write sessions, then give their keys the legacy names and the legacy set (the two
    layouts differ only in key names and that set)."""
    seen = asyncio.run(_fill(url))
    with raw_client(url) as raw:
        for session in SESSIONS:
            for part, name in session_keys(session).items():
                if raw.exists(name):
                    raw.rename(name, legacy_keys(session)[part])
            raw.delete(f"memcore:{{{session}}}:incarnation")
            raw.sadd(LEGACY_SESSIONS_KEY, session)
    return seen


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def _listing(url: str) -> list[str]:
    store = open_store(url)
    try:
        return await store.list_sessions()
    finally:
        await store.close()


def test_legacy_data_is_refused_until_moved_in_place(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = make_legacy(redis_url)
    with pytest.raises(BackendError, match=f"`memcore migrate-redis {re.escape(redis_url)}` first"):
        asyncio.run(_listing(redis_url))
    code, out, _ = run_cli(capsys, "migrate-redis", redis_url, "--dry-run")
    assert code == 0
    assert "would move 3 session(s)" in out
    with raw_client(redis_url) as raw:
        assert raw.scard(LEGACY_SESSIONS_KEY) == 3
    code, out, err = run_cli(capsys, "migrate-redis", redis_url)
    assert code == 0, err
    assert "moved 3 session(s)" in out
    assert asyncio.run(_listing(redis_url)) == sorted(SESSIONS)
    assert asyncio.run(_read_all(redis_url)) == seen
    with raw_client(redis_url) as raw:
        names = {k.decode() for k in raw.keys("*")}
        assert LEGACY_SESSIONS_KEY not in names
        assert all("{" in name for name in names)
    code, out, _ = run_cli(capsys, "migrate-redis", redis_url)  # again: nothing left to do
    assert code == 0
    assert "moved 0 session(s)" in out


def test_a_replica_on_legacy_data_is_refused_instead_of_writing_beside_it(redis_url: str) -> None:
    """Before the refusal moved into the connection, a replica saw a legacy session as empty
    and committed its writes beside the old keys, where a later migration skips the session."""
    make_legacy(redis_url)

    async def sync_one() -> None:
        manager = DistributedMemoryManager(redis_url, replica_id="r")
        try:
            manager.set("alpha", "new", MemoryItem("new", "written after the upgrade"))
            await manager.sync_session_memory("alpha")
        finally:
            await manager.close()

    with pytest.raises(BackendError, match="migrate-redis"):
        asyncio.run(sync_one())
    with raw_client(redis_url) as raw:
        assert not raw.exists(session_keys("alpha")["meta"])  # nothing written beside it


def test_a_session_in_both_layouts_is_skipped_and_named(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_legacy(redis_url)
    with raw_client(redis_url) as raw:
        raw.hset(session_keys("alpha")["meta"], "version", 1)
    code, out, _ = run_cli(capsys, "migrate-redis", redis_url)
    assert code == 1
    assert "skipped alpha: already in the new layout too" in out
    with raw_client(redis_url) as raw:
        assert raw.exists(legacy_keys("alpha")["items"])  # untouched
        assert raw.smembers(LEGACY_SESSIONS_KEY) == {b"alpha"}


def test_copy_onto_a_cluster_checks_each_session_and_keeps_the_source(
    redis_url: str, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = make_legacy(redis_url)
    code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--to", redis_cluster_url)
    assert code == 0, err
    assert "moved 3 session(s)" in out
    assert asyncio.run(_listing(redis_cluster_url)) == sorted(SESSIONS)
    assert asyncio.run(_read_all(redis_cluster_url)) == seen
    with raw_client(redis_url) as raw:
        assert raw.scard(LEGACY_SESSIONS_KEY) == 3  # the source is left as it was

    # the copy is a working store: commits go on from where the source was
    async def carry_on() -> int | None:
        async with open_store(redis_cluster_url) as store:
            return await store.commit("alpha", 5, {"new": b"y"}, 8)

    assert asyncio.run(carry_on()) == 6
    code, out, _ = run_cli(capsys, "migrate-redis", redis_url, "--to", redis_cluster_url)
    assert code == 1  # alpha, written there since, is not overwritten; the others are done
    assert out.count("the destination already holds it") == 1
    assert "skipped alpha: the destination already holds it, in another state" in out


def test_in_place_on_a_cluster_is_one_clear_line(
    redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "migrate-redis", redis_cluster_url)
    assert code == 1
    assert out == ""
    assert "--to" in err
    assert err.count("\n") == 1


def test_journal_entries_of_both_packings_read_back() -> None:
    """Entries packed by earlier versions (a bin record) and by the commit script (str types
    only, Redis's cmsgpack) decode to the same entry; anything else is corruption."""
    import msgpack

    from memcore.errors import CorruptedMemoryError
    from memcore.stores.base import JournalEntry
    from memcore.stores.redis_journal_aside import unpack_journal_entry

    expected = JournalEntry(3, "ключ", b"\x00\xff")
    older = msgpack.packb([3, "ключ", b"\x00\xff"], use_bin_type=True)
    script = msgpack.packb([3, "ключ".encode(), b"\x00\xff"], use_bin_type=False)
    assert unpack_journal_entry(older) == unpack_journal_entry(script) == expected
    for bad in (b"\xc1", msgpack.packb([3, 4, b"x"]), msgpack.packb([3, b"\xff", b"x"])):
        with pytest.raises(CorruptedMemoryError):
            unpack_journal_entry(bad)


def test_stray_legacy_entries_are_skipped_named_and_kept_aside(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A legacy set member that is no session id (``bad session``, a byte that is not UTF-8)
    stopped the migration (or gave a traceback), so the store stayed refused for good: it is
    skipped and named, the rest moved, and the member kept aside, out of the legacy set."""
    seen = make_legacy(redis_url)
    with raw_client(redis_url) as raw:
        raw.sadd(LEGACY_SESSIONS_KEY, "bad session", b"\xff")
    code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--dry-run")
    assert (code, err) == (1, "")
    assert "would move 3 session(s)" in out
    assert "skipped 'bad session': in memcore:sessions, not a session id" in out
    assert "skipped '\\xff': in memcore:sessions, not a session id" in out
    with raw_client(redis_url) as raw:
        assert raw.scard(LEGACY_SESSIONS_KEY) == 5  # a dry run changes nothing
    code, out, err = run_cli(capsys, "migrate-redis", redis_url)
    assert (code, err) == (1, "")
    assert "moved 3 session(s)" in out
    assert out.count(f"the entry is kept in {SKIPPED_SESSIONS_KEY}") == 2
    with raw_client(redis_url) as raw:
        assert not raw.exists(LEGACY_SESSIONS_KEY)
        assert raw.smembers(SKIPPED_SESSIONS_KEY) == {b"bad session", b"\xff"}
    assert asyncio.run(_listing(redis_url)) == sorted(SESSIONS)  # no longer refused
    assert asyncio.run(_read_all(redis_url)) == seen
    code, out, _ = run_cli(capsys, "migrate-redis", redis_url)
    assert code == 0
    assert "moved 0 session(s)" in out


def test_a_legacy_session_with_a_key_of_the_wrong_type_is_skipped_and_left_as_it_is(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_legacy(redis_url)
    meta = legacy_keys("alpha")["meta"]
    with raw_client(redis_url) as raw:
        raw.delete(meta)
        raw.set(meta, "hello")
    code, out, err = run_cli(capsys, "migrate-redis", redis_url)
    assert (code, err) == (1, "")
    assert "moved 2 session(s)" in out
    assert f"skipped alpha: its key {meta} is a string, not the hash memcore writes there" in out
    with raw_client(redis_url) as raw:
        assert raw.get(meta) == b"hello"  # left as it was
        assert raw.exists(legacy_keys("alpha")["items"])
        assert raw.smembers(SKIPPED_SESSIONS_KEY) == {b"alpha"}
    assert asyncio.run(_listing(redis_url)) == ["beta.2", "g@m-3"]


def test_a_copy_skips_and_names_what_memcore_never_wrote(
    redis_url: str, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key of the wrong type was copied, and the copy stopped partway at it; a key naming no
    session gave a traceback. Both are skipped and named, every other session copied."""
    seen = asyncio.run(_fill(redis_url))
    with raw_client(redis_url) as raw:
        raw.set("memcore:{zzz}:meta", "hello")
        raw.set(b"memcore:{\xfe}:meta", "x")
    code, out, err = run_cli(capsys, "migrate-redis", redis_url, "--to", redis_cluster_url)
    assert (code, err) == (1, "")
    assert "moved 3 session(s)" in out
    assert "skipped zzz: its key memcore:{zzz}:meta is a string" in out
    assert "skipped '\\xfe': its key memcore:{\\xfe}:meta names no valid session id" in out
    assert asyncio.run(_read_all(redis_cluster_url)) == seen
    with raw_client(redis_url) as raw:
        assert raw.get("memcore:{zzz}:meta") == b"hello"


@pytest.mark.parametrize(
    "args", [["--to", "sqlite:///x.db"], ["--to", "memory://"], ["--to", "redis://h:port"]]
)
def test_a_destination_that_is_no_redis_url_is_a_usage_error(
    redis_url: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run_cli(capsys, "migrate-redis", redis_url, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "argument --to" in err
    code, _, err = run_cli(capsys, "migrate-redis", "sqlite:///x.db")
    assert code == 2
    assert "not a redis URL" in err
