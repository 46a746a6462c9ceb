"""Every Store backend refuses bad session ids, keys, records and versions; takes any bytes and
digest; matches the memory reference under random operations; and keeps working across a fork."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest

from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem
from memcore.stores import Entry, Store, decode_entry, encode_entry, live_digest
from memcore.stores.memory import MemoryStore
from tests.store_support import (  # noqa: F401  (the fixtures store and twin)
    make_store,
    rec,
    store_fixture,
    twin_fixture,
)

BAD_SESSIONS: list[Any] = [
    "a:b",
    "alpha:items",
    "memcore:alpha",
    "*",
    "a*",
    "a?",
    "[ab]",
    "{a}",
    "",
    "../x",
    "a/b",
    "a b",
    "a\n",
    "+a",
    "=a",
    "é",
    "x" * 201,
    5,
    None,
    b"bytes",
]


def session_calls(store: Store, session_id: Any) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: store.version(session_id),
        lambda: store.read_changes(session_id, 0),
        lambda: store.read_snapshot(session_id),
        lambda: store.commit(session_id, 0, {"k": b"v"}, 1),
        lambda: store.replace_state(session_id, 0, {"k": b"v"}, 1),
        lambda: store.read_journal(session_id),
        lambda: store.truncate_journal(session_id, 0),
        lambda: store.journal_floor(session_id),
        lambda: store.put_backup(session_id, 0, b"b"),
        lambda: store.list_backups(session_id),
        lambda: store.get_backup(session_id, 1),
        lambda: store.delete_backup(session_id, 1),
        lambda: store.delete_session(session_id),
    ]


async def test_bad_session_ids_are_refused_everywhere(store: Store) -> None:
    await store.commit("alpha", 0, {"k": rec("v")}, 1)
    for bad in BAD_SESSIONS:
        for call in session_calls(store, bad):
            with pytest.raises(ValidationError):
                await call()
    assert await store.list_sessions() == ["alpha"]
    assert (await store.read_snapshot("alpha")).records == {"k": b"v"}
    # the longest valid id and the full alphabet are fine
    for good in ("x" * 200, "a.b_c@d-e+f=g", "0", "-", ".."):
        assert await store.commit(good, 0, {"k": b"v"}, 1) == 1
    assert len(await store.list_sessions()) == 6


@pytest.mark.parametrize(
    "records",
    [
        {"": b"v"},
        {"a\x00b": b"v"},
        {"tab\there": b"v"},
        {"del\x7f": b"v"},
        {"k" * 1025: b"v"},
        {"\ud800": b"v"},
        {3: b"v"},
        {"k": "text, not bytes"},
        {"k": None},
        {"ok": b"v", "": b"v"},
    ],
)
async def test_bad_keys_and_records_are_refused(store: Store, records: dict[Any, Any]) -> None:
    with pytest.raises(ValidationError):
        await store.commit("s", 0, records, 1)
    with pytest.raises(ValidationError):
        await store.replace_state("s", 0, records, 1)
    assert await store.version("s") == 0
    assert await store.list_sessions() == []


@pytest.mark.parametrize("version", [-1, True, "1", 1.0, None])
async def test_bad_versions_are_refused(store: Store, version: Any) -> None:
    with pytest.raises(ValidationError):
        await store.commit("s", version, {"k": b"v"}, 1)
    with pytest.raises(ValidationError):
        await store.read_changes("s", version)
    with pytest.raises(ValidationError):
        await store.read_journal("s", version)
    with pytest.raises(ValidationError):
        await store.truncate_journal("s", version)
    with pytest.raises(ValidationError):
        await store.put_backup("s", version, b"b")
    assert await store.list_sessions() == []


async def test_arbitrary_bytes_and_keys_round_trip(store: Store) -> None:
    rng = random.Random(1234)
    records = {
        "empty": b"",
        "every-byte": bytes(range(256)),
        "nul-heavy": b"\x00" * 100,
        "big": rng.randbytes(300_000),
        "ключ 🔑 with spaces:and*glob?[x]{y}": rng.randbytes(100),
        "k" * 1024: b"longest key",
        "é" * 512: b"1024 bytes of UTF-8",
    }
    records.update({f"rnd-{i}": rng.randbytes(rng.randrange(0, 2000)) for i in range(50)})
    assert await store.commit("s", 0, records, 2**64 - 1) == 1
    snap = await store.read_snapshot("s")
    assert snap.records == records
    assert snap.digest == 2**64 - 1
    assert (await store.read_changes("s", 0)).records == records
    assert {e.key: e.record for e in await store.read_journal("s")} == records
    assert await store.replace_state("s", 1, records, 2**63) == 2
    assert (await store.read_snapshot("s")).records == records


@pytest.mark.parametrize("digest", [0, 1, 2**63 - 1, 2**63, 2**64 - 1, 0x8000_0000_DEAD_BEEF])
async def test_digest_is_any_unsigned_64_bit_value(store: Store, digest: int) -> None:
    await store.commit("s", 0, {"k": b"v"}, digest)
    assert (await store.read_snapshot("s")).digest == digest


async def test_entries_written_by_a_replica_decode_back(store: Store) -> None:
    entries = {
        "note": Entry({"content": "hello", "tags": ["a", "b"]}, 17, "replica-1"),
        "gone": Entry(None, 18, "replica-2", deleted=True),
    }
    digest = live_digest(entries)
    await store.commit("s", 0, {k: encode_entry(e) for k, e in entries.items()}, digest)
    snap = await store.read_snapshot("s")
    assert {k: decode_entry(r) for k, r in snap.records.items()} == entries
    assert snap.digest == digest


async def test_tamper_changes_bytes_but_not_the_version(store: Store) -> None:
    await store.commit("s", 0, {"a": rec("good"), "b": rec("b")}, 1)
    await store.commit("s", 1, {"b": rec("b2")}, 2)
    store._tamper("s", "a", b"\xffcorrupt")  # type: ignore[attr-defined]
    assert (await store.read_snapshot("s")).records["a"] == b"\xffcorrupt"
    assert (await store.read_changes("s", 1)).records == {"b": b"b2"}
    assert (await store.read_changes("s", 0)).records["a"] == b"\xffcorrupt"
    assert await store.version("s") == 2
    assert (await store.read_journal("s"))[0].record == b"good"
    with pytest.raises(KeyError):
        store._tamper("s", "missing", b"x")  # type: ignore[attr-defined]


async def test_store_is_reusable_after_close_and_as_context_manager(store: Store) -> None:
    async with cast(Any, store) as entered:
        assert entered is store
        await store.commit("s", 0, {"k": rec("v")}, 1)
    await store.close()  # closing twice is fine
    if isinstance(store, MemoryStore):
        assert await store.version("s") == 1
    else:  # a closed sqlite or redis store reconnects on next use, data intact
        assert (await store.read_snapshot("s")).records == {"k": b"v"}
        assert await store.commit("s", 1, {"k": rec("w")}, 2) == 2


async def apply(target: Store, op: tuple[Any, ...]) -> object:
    """Run one operation; backup infos lose their created_at (it differs between stores)."""
    name, sid, *args = op
    if name == "get_backup":
        try:
            return await target.get_backup(sid, *args)
        except NotFoundError:
            return "missing"
    if name == "list_sessions":
        return await target.list_sessions()
    result = await getattr(target, name)(sid, *args)
    if name == "put_backup":
        return (result.backup_id, result.version, result.size)
    if name == "list_backups":
        return [(b.backup_id, b.version, b.size) for b in result]
    return result


async def test_random_operations_match_the_memory_reference(store: Store) -> None:
    """A seeded random mix of every operation gives the same results as MemoryStore."""
    if isinstance(store, MemoryStore):
        pytest.skip("the reference itself")
    ref = MemoryStore()
    rng = random.Random(99)
    sessions, keys = ["s1", "s2", "s3"], [f"k{i}" for i in range(6)]
    for step in range(250):
        sid = rng.choice(sessions)
        version = await ref.version(sid)
        expected = version if rng.random() < 0.8 else max(0, version + rng.choice([-1, 1]))
        chosen = {k: rng.randbytes(rng.randrange(8)) for k in rng.sample(keys, rng.randrange(4))}
        digest = rng.randrange(2**64)
        since = rng.randrange(version + 2)
        backup_id = rng.randrange(1, 5)
        ops: list[tuple[Any, ...]] = rng.choices(  # type: ignore[assignment]
            [
                [("commit", sid, expected, chosen, digest)],
                [("replace_state", sid, expected, chosen, digest)],
                [("read_changes", sid, since), ("read_journal", sid, since)],
                [("read_snapshot", sid), ("list_sessions", sid)],
                [("put_backup", sid, version, chosen.get("k0", b"")), ("list_backups", sid)],
                [("get_backup", sid, backup_id), ("delete_backup", sid, backup_id)],
                [("delete_session", sid), ("list_sessions", sid)],
                [("version", sid)],
                [("truncate_journal", sid, since), ("journal_floor", sid)],
            ],
            weights=[5, 1, 1.5, 1, 1, 1, 0.3, 0.5, 0.7],
        )[0]
        for op in ops:
            got, want = await apply(store, op), await apply(ref, op)
            assert got == want, f"step {step} {op[0]}: {got!r} != {want!r}"


def _forked_commit(target: Store, out: Any) -> None:
    """In a forked child: the inherited store must start its own connection and commit."""

    async def run() -> int | None:
        new = await target.commit("s", 1, {"child": b"c"}, 2)
        await target.close()
        return new

    out.put(asyncio.run(run()))


#: A fork beside the threads of the stores (and of pytest-xdist's worker), which is what these
#: tests try: 3.12+ warn of it.
FORKS_BESIDE_THREADS = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


@FORKS_BESIDE_THREADS
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_store_keeps_working_in_a_forked_child_and_in_the_parent(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_store(kind, request, tmp_path)
    assert asyncio.run(target.commit("s", 0, {"parent": b"p"}, 1)) == 1
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_forked_commit, args=(target, out))
    child.start()
    try:
        assert out.get(timeout=60) == 2
    finally:
        child.join(30)
    assert child.exitcode == 0

    async def parent() -> None:
        # the parent's own connection was left alone by the child
        assert (await target.read_snapshot("s")).records == {"parent": b"p", "child": b"c"}
        assert await target.commit("s", 2, {"parent": b"p2"}, 3) == 3
        await target.close()

    asyncio.run(parent())


def _report_process_id(out: Any) -> None:
    from memcore.stores import process_id

    out.put((process_id.PID, os.getpid()))


@FORKS_BESIDE_THREADS
def test_the_process_id_the_stores_check_is_the_childs_after_a_fork() -> None:
    """The stores tell a forked child from its parent by ``process_id.PID`` (no system call a
    look): a child made by fork, as ``multiprocessing`` makes it, sees its own id there."""
    from memcore.stores import process_id

    assert os.getpid() == process_id.PID
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_report_process_id, args=(out,))
    child.start()
    try:
        seen, actual = out.get(timeout=60)
    finally:
        child.join(30)
    assert seen == actual != os.getpid()
    assert os.getpid() == process_id.PID  # the parent's is its own still


class _Forwarding:
    """A wrapper that forwards every attribute it lacks to the store it wraps."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_store_behind_a_forwarding_wrapper_is_a_store_on_every_python() -> None:
    """``isinstance`` of the protocol looks members up statically from Python 3.12 and misses
    forwarded ones; memcore takes such a wrapper as a store on every version, and still
    refuses what answers none of the protocol."""
    from memcore.stores import is_store, resolve_store
    from memcore.sync import DistributedMemoryManager

    inner = MemoryStore()
    wrapped = _Forwarding(inner)
    assert is_store(inner)
    assert is_store(wrapped)
    assert resolve_store(wrapped) == (wrapped, False)
    async with DistributedMemoryManager(storage_backend=wrapped) as manager:
        manager.set("s", "k", MemoryItem("k", "v"))
        await manager.sync_session_memory("s")
    assert await inner.version("s") == 1
    for other in (object(), b"memory://", _Forwarding(cast(Store, object()))):
        assert not is_store(other)
        with pytest.raises(ValidationError, match="expected a store URL or a Store"):
            resolve_store(cast(Store, other))
