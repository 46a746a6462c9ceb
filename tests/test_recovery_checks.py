"""Verification over a store, deep checks, URLs and errors; random states under random damage
(recovery repairs or changes nothing); recovery reports success only for what it read back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from memcore.errors import MemcoreError, ValidationError
from memcore.model import MemoryItem
from memcore.recovery import (
    arecover_corrupted_memory,
    create_backup,
    recover_corrupted_memory,
    verify_session,
    verify_store,
)
from memcore.stores import open_store
from memcore.stores.base import (
    Entry,
    Store,
    encode_entry,
    live_digest,
)
from memcore.stores.memory import MemoryStore
from tests.conftest import RedisServer, free_port
from tests.recovery_support import (  # noqa: F401  (the fixtures store and url)
    DELETE,
    SESSION,
    assert_intact,
    commit,
    damage_journal,
    damage_journal_where,
    flip,
    history,
    records_of,
    rewrite_backups,
    store_fixture,
    store_url,
    tamper,
    url_fixture,
)

# --- verification over a store, deep checks, URLs, errors -----------------------------------------


async def test_verify_store_names_the_corrupted_session(url: str) -> None:
    with_store = open_store(url)
    try:
        await commit(with_store, {"a": 1}, session="good")
        await commit(with_store, {"a": 1, "b": 2}, session="bad")
        records = await records_of(with_store, "bad")
        await tamper(with_store, "b", flip(records["b"], 2), session="bad")
        report = await verify_store(with_store)
        assert [s.session_id for s in report.sessions] == ["bad", "good"]
        assert report.corrupted == ("bad",)
        assert not report.ok
        assert report.sessions[1].describe().startswith("ok (1 items")
        assert "record 'b'" in report.sessions[0].describe()
    finally:
        await with_store.close()


async def test_deep_verify_reports_bad_backups_and_journal() -> None:
    store = MemoryStore()
    await commit(store, {"a": 1})
    await create_backup(SESSION, store)
    await commit(store, {"b": 2})
    await create_backup(SESSION, store)
    shallow = await verify_session(SESSION, store)
    deep = await verify_session(SESSION, store, deep=True)
    assert shallow.ok
    assert deep.ok
    assert deep.backups_checked == 2
    assert deep.journal_checked == 2
    await rewrite_backups(store, lambda pos, blob: flip(blob, 20) if pos == 1 else blob)
    await damage_journal(store, version=2)
    deep = await verify_session(SESSION, store, deep=True)
    oldest = (await store.list_backups(SESSION))[1].backup_id
    assert deep.state_ok
    assert not deep.ok
    assert deep.bad_backups == (oldest,)
    assert deep.bad_journal_versions == (2,)
    assert (await verify_session(SESSION, store)).ok  # the shallow check looks at items only


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_url_is_opened_and_closed(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = store_url(backend, tmp_path, request)
    writer = open_store(url)
    try:
        before = await history(writer)
        await tamper(writer, "d", flip(before["d"], 8))
    finally:
        await writer.close()
    assert not (await verify_session(SESSION, url)).ok
    info = await verify_store(url)
    assert info.corrupted == (SESSION,)
    result = await asyncio.to_thread(recover_corrupted_memory, SESSION, url)
    assert result.success, result.message
    assert not result.rebuild_required
    assert (await create_backup(SESSION, url)).version == 6
    reader = open_store(url)
    try:
        await assert_intact(reader, before)
    finally:
        await reader.close()


async def test_sync_form_works_inside_a_running_loop() -> None:
    store = MemoryStore()
    before = await history(store)
    store._tamper(SESSION, "a", flip(before["a"], 11))
    result = recover_corrupted_memory(SESSION, store)  # this test's loop is running
    assert result.success, result.message
    await assert_intact(store, before)


@pytest.mark.parametrize("session", ["", "a:b", "x*", "+lead", 7, None])
async def test_bad_session_ids_are_rejected(session: Any) -> None:
    store = MemoryStore()
    with pytest.raises(ValidationError):
        recover_corrupted_memory(session, store)
    with pytest.raises(ValidationError):
        await arecover_corrupted_memory(session, store)
    with pytest.raises(ValidationError):
        await create_backup(session, store)
    with pytest.raises(ValidationError):
        await verify_session(session, store)


async def test_a_store_that_is_not_a_store_is_rejected() -> None:
    with pytest.raises(ValidationError):
        await arecover_corrupted_memory(SESSION, object())  # type: ignore[arg-type]


async def test_unreachable_backend_raises_backend_error(tmp_path: Path) -> None:
    pytest.importorskip("memcore.stores.redis")
    from memcore.errors import BackendError

    with pytest.raises(BackendError):
        await arecover_corrupted_memory(SESSION, f"redis://127.0.0.1:{free_port()}/0")


# --- property: random states, random damage ---------------------------------------------------

keys = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=4),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
)
changes = st.dictionaries(keys, st.one_of(values, st.just(DELETE)), min_size=1, max_size=4)
steps = st.lists(st.tuples(changes, st.booleans()), min_size=1, max_size=8)
damages = st.lists(
    st.tuples(
        st.sampled_from(["item", "cut", "backup", "journal"]),
        st.integers(min_value=0, max_value=10**6),  # which record (mod count)
        st.integers(min_value=0, max_value=10**6),  # which byte (mod length)
        st.integers(min_value=1, max_value=255),  # xor mask
    ),
    min_size=1,
    max_size=2,
)


def damage_one(victim: int, byte: int, mask: int) -> Callable[[int, bytes], bytes]:
    return lambda pos, blob: flip(blob, byte, mask) if pos == victim else blob


async def build_and_damage(
    store: Store, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Write the plan, then damage items, backups or journal records byte by byte."""
    for change, backup in plan:
        await commit(store, change)
        if backup:
            await create_backup(SESSION, store, keep=2, compact_journal=compact)
    original = await records_of(store)
    journal_size = len(await store.read_journal(SESSION, 0))
    for target, which, byte, mask in damage:
        if target == "item":
            key = sorted(original)[which % len(original)]
            current = (await records_of(store))[key]
            await tamper(store, key, flip(current, byte, mask))
        elif target == "cut":
            key = sorted(original)[which % len(original)]
            current = (await records_of(store))[key]
            await tamper(store, key, current[: byte % max(len(current), 1)])
        elif target == "backup":
            listed = await store.list_backups(SESSION)
            if listed:
                await rewrite_backups(store, damage_one(which % len(listed), byte, mask))
        elif journal_size:
            chosen = which % journal_size
            await damage_journal_where(store, lambda i, _v: i == chosen, byte, mask)  # noqa: B023
    return original, await records_of(store)


async def recover_or_change_nothing(
    store: Store, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool = False
) -> None:
    """With ``compact`` every backup also compacts the journal: an intact journal plus the
    intact newest backup must still be enough, and a failure must name the compaction when
    the journal alone was no longer enough."""
    original, damaged = await build_and_damage(store, plan, damage, compact)
    version = await store.version(SESSION)
    try:
        result = await arecover_corrupted_memory(SESSION, store)
    except MemcoreError:  # allowed, but then nothing may have changed
        result = None
    event(f"outcome: {result and (result.success, result.rebuild_required)}")
    if result is None:
        assert await records_of(store) == damaged
        return
    after = await records_of(store)
    if result.success:
        assert after == original, result.message
        assert (await verify_session(SESSION, store)).state_ok
        assert await store.version(SESSION) == version + (damaged != original)
    else:
        assert after == damaged
        assert await store.version(SESSION) == version
        assert damaged != original  # an intact item set never needs (or fails) recovery
        if await store.journal_floor(SESSION) > 0:
            assert result.rebuild_required
            assert "journal was compacted" in result.message
    if {target for target, *_ in damage} <= {"item", "cut"}:  # journal intact: must succeed
        assert result.success, result.message
        assert result.updates_applied <= len(await store.read_journal(SESSION, 0))


PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(PROPERTY, max_examples=80)
@given(plan=steps, damage=damages)
def test_random_damage_memory(plan: list[tuple[dict[str, Any], bool]], damage: list[Any]) -> None:
    """Random histories, random byte damage: recovered exactly, or reported and left as is."""
    asyncio.run(recover_or_change_nothing(MemoryStore(), plan, damage))


@settings(PROPERTY, max_examples=60)
@given(plan=steps, damage=damages)
def test_random_damage_with_compaction_memory(
    plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    asyncio.run(recover_or_change_nothing(MemoryStore(), plan, damage, compact=True))


def on_store(
    url: str, plan: list[tuple[dict[str, Any], bool]], damage: list[Any], compact: bool = False
) -> None:
    """``recover_or_change_nothing`` on a store opened from ``url``, closed after."""

    async def scenario() -> None:
        store = open_store(url)
        try:
            await recover_or_change_nothing(store, plan, damage, compact)
        finally:
            await store.close()

    asyncio.run(scenario())


@settings(PROPERTY, max_examples=15)
@given(plan=steps, damage=damages)
def test_random_damage_with_compaction_redis(
    redis_server: RedisServer, plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    on_store(redis_server.clean_url(), plan, damage, compact=True)


@settings(PROPERTY, max_examples=25)
@given(plan=steps, damage=damages)
def test_random_damage_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
    plan: list[tuple[dict[str, Any], bool]],
    damage: list[Any],
) -> None:
    path = tmp_path_factory.mktemp("prop") / "memory.db"
    on_store(f"sqlite:///{path}", plan, damage)


@settings(PROPERTY, max_examples=25)
@given(plan=steps, damage=damages)
def test_random_damage_redis(
    redis_server: RedisServer, plan: list[tuple[dict[str, Any], bool]], damage: list[Any]
) -> None:
    on_store(redis_server.clean_url(), plan, damage)


# --- recovery reports success only for what it read back ---------------------------------------


class DroppingWrites:
    """A store whose ``replace_state`` silently leaves one record out (as a damaged index made
    SQLite do): the write "succeeds", the state it leaves does not verify."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def replace_state(
        self, session_id: str, expected: int, records: Mapping[str, bytes], digest: int
    ) -> int | None:
        kept = dict(sorted(records.items())[1:])
        return await self._inner.replace_state(session_id, expected, kept, digest)


async def test_recovery_reports_failure_when_its_write_does_not_read_back() -> None:
    inner = MemoryStore()
    entries = {k: Entry(MemoryItem(k, f"value of {k}"), i + 1, "w") for i, k in enumerate("abc")}
    records = {k: encode_entry(e) for k, e in entries.items()}
    assert await inner.commit(SESSION, 0, records, live_digest(entries)) == 1
    await create_backup(SESSION, inner)
    await tamper(inner, "b", flip(records["b"], 11))
    result = await arecover_corrupted_memory(SESSION, DroppingWrites(inner))
    assert not result.success
    assert "reading it back gives other records" in result.message
    assert "missing ['a']" in result.message
    assert not (await verify_session(SESSION, inner)).ok
    # the same repair through a store that writes what it is given does hold
    assert (await arecover_corrupted_memory(SESSION, inner)).success
    assert (await verify_session(SESSION, inner)).ok
