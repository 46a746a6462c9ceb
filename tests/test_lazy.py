"""LazyMemoryProxy (loads once, thread-safely, retries after errors, repr never loads) and
LazySession over real stores (memory:// and a SQLite file): decoded on demand, equal to a full
load, tombstones hidden, corruption caught on read."""

from __future__ import annotations

import asyncio
import copy
import pickle
import threading
import time
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memcore.codec import encode_record
from memcore.errors import CorruptedMemoryError, MemcoreError, NotFoundError, ValidationError
from memcore.lazy import LazyMemoryProxy, LazySession, is_loaded, unwrap
from memcore.model import MemoryItem, Priority
from memcore.stores import Entry, Store, decode_entry, encode_entry, live_digest, open_store

START = datetime(2025, 3, 1, tzinfo=timezone.utc)


class CountingLoader:
    def __init__(self, make: Any = None, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.make = make or (lambda item_id: MemoryItem(item_id, f"content of {item_id}"))
        self.lock = threading.Lock()

    def __call__(self, item_id: str) -> Any:
        with self.lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.make(item_id)


# --- the proxy -----------------------------------------------------------------------------------


def test_loads_once_on_first_attribute_access() -> None:
    loader = CountingLoader()
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-1", loader)
    assert loader.calls == 0
    assert not proxy.loaded
    assert not is_loaded(proxy)
    assert proxy.item_id == "m-1"
    assert loader.calls == 0
    assert proxy.content == "content of m-1"
    assert proxy.id == "m-1"
    assert proxy.priority == "normal"
    assert loader.calls == 1
    assert proxy.loaded
    assert is_loaded(proxy)
    assert isinstance(unwrap(proxy), MemoryItem)


def test_repr_does_not_load() -> None:
    loader = CountingLoader()
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-2", loader)
    assert repr(proxy) == "<LazyMemoryProxy 'm-2' (not loaded)>"
    assert loader.calls == 0
    _ = proxy.content
    assert repr(proxy).startswith("<LazyMemoryProxy 'm-2' loaded: MemoryItem(id='m-2'")


def test_concurrent_first_accesses_call_the_loader_once() -> None:
    loader = CountingLoader(delay=0.05)
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-3", loader)
    barrier = threading.Barrier(8)
    seen: list[object] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            barrier.wait()
            seen.append(proxy.content)
            seen.append(unwrap(proxy))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert loader.calls == 1
    assert seen[::2] == ["content of m-3"] * 8
    assert all(item is seen[1] for item in seen[1::2])


def test_loader_errors_propagate_and_a_later_access_retries() -> None:
    attempts: list[str] = []

    def flaky(item_id: str) -> MemoryItem:
        attempts.append(item_id)
        if len(attempts) == 1:
            raise ConnectionError("store unreachable")
        return MemoryItem(item_id, "back again")

    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-4", flaky)
    with pytest.raises(ConnectionError, match="unreachable"):
        _ = proxy.content
    assert not proxy.loaded
    assert proxy.content == "back again"
    assert proxy.content == "back again"
    assert attempts == ["m-4", "m-4"]


def test_a_loader_reading_its_own_proxy_is_an_error_not_a_hang() -> None:
    holder: list[LazyMemoryProxy[Any]] = []

    def loader(item_id: str) -> Any:
        return holder[0].content

    holder.append(LazyMemoryProxy("m-5", loader))
    with pytest.raises(MemcoreError, match="read the proxy it is loading"):
        _ = holder[0].content
    assert not holder[0].loaded


def test_bad_loaders_are_refused() -> None:
    async def async_loader(item_id: str) -> str:
        await asyncio.sleep(0)
        return item_id

    with pytest.raises(ValidationError, match="plain function"):
        LazyMemoryProxy("x", async_loader)
    with pytest.raises(ValidationError):
        LazyMemoryProxy("x", "not callable")  # type: ignore[arg-type]


def test_protocols_go_to_the_item() -> None:
    data = {"a": 1, "b": 2}
    proxy: LazyMemoryProxy[dict[str, int]] = LazyMemoryProxy("d", lambda _: data)
    assert len(proxy) == 2
    assert "a" in proxy
    assert proxy["b"] == 2
    assert sorted(proxy) == ["a", "b"]
    assert proxy == {"a": 1, "b": 2}
    assert proxy == LazyMemoryProxy("other", lambda _: {"a": 1, "b": 2})
    assert bool(proxy)
    assert str(proxy) == str(data)
    assert "keys" in dir(proxy)
    assert hash(LazyMemoryProxy("s", lambda _: "text")) == hash("text")
    assert not LazyMemoryProxy("e", lambda _: [])


def test_attribute_writes_go_to_the_item_and_own_slots_are_protected() -> None:
    item = MemoryItem("m-6", "old")
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-6", lambda _: item)
    proxy.content = "new"
    assert item.content == "new"
    with pytest.raises(AttributeError):
        proxy._value = "x"
    with pytest.raises(AttributeError):
        del proxy._loader
    with pytest.raises(AttributeError):
        _ = proxy.no_such_attribute


def test_a_copy_is_a_proxy_of_the_same_key_and_loader() -> None:
    """copy.copy of a loaded proxy was a RecursionError."""
    loader = CountingLoader()
    cold: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-c", loader)
    twin = copy.copy(cold)
    assert isinstance(twin, LazyMemoryProxy)
    assert twin.item_id == "m-c"
    assert not is_loaded(twin)  # copying loads nothing
    assert not is_loaded(cold)
    assert twin.content == "content of m-c"
    assert loader.calls == 1
    assert not is_loaded(cold)  # each loads on its own
    _ = cold.content
    shallow = copy.copy(cold)
    assert is_loaded(shallow)
    assert unwrap(shallow) is unwrap(cold)
    assert loader.calls == 2


def test_a_deep_copy_holds_a_deep_copy_of_the_loaded_item() -> None:
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy(
        "m-d", lambda item_id: MemoryItem(item_id, "x", metadata={"tags": ["a"]})
    )
    assert not is_loaded(copy.deepcopy(proxy))
    _ = proxy.content
    deep = copy.deepcopy(proxy)
    assert is_loaded(deep)
    assert deep == proxy
    assert unwrap(deep) is not unwrap(proxy)
    deep.metadata["tags"].append("b")
    assert proxy.metadata["tags"] == ["a"]
    holder = [proxy, proxy]
    copied = copy.deepcopy(holder)
    assert copied[0] is copied[1]  # one proxy copied once


def test_a_proxy_never_initialized_says_so_without_recursing() -> None:
    """Its __getattr__ read its own unset slots, which called __getattr__ again."""
    bare = LazyMemoryProxy.__new__(LazyMemoryProxy)
    assert not hasattr(bare, "x")
    with pytest.raises(AttributeError, match="never initialized"):
        _ = bare.content


def test_the_repr_of_a_proxy_never_initialized_says_so() -> None:
    """It raised AttributeError (a repr must not fail: debuggers and logs call it)."""
    bare = LazyMemoryProxy.__new__(LazyMemoryProxy)
    assert repr(bare) == "<LazyMemoryProxy (never initialized)>"


@pytest.mark.parametrize("item_id", [None, "", 5, b"m-1"])
def test_an_item_id_that_is_no_non_empty_string_is_refused(item_id: object) -> None:
    """``LazyMemoryProxy(None, ...)`` was accepted and handed None to the loader."""
    calls: list[object] = []
    with pytest.raises(ValidationError, match="item id must be a non-empty string"):
        LazyMemoryProxy(item_id, calls.append)  # type: ignore[arg-type]
    assert calls == []


def test_a_proxy_hashes_as_its_item_does() -> None:
    """As documented: a proxy of a hashable item hashes like it; a MemoryItem is unhashable
    (a mutable dataclass), and so is its proxy, with the item's own TypeError."""
    assert hash(LazyMemoryProxy("s", lambda _: "text")) == hash("text")
    item = MemoryItem("m-h", "unhashable")
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-h", lambda _: item)
    with pytest.raises(TypeError, match="unhashable"):
        hash(item)
    with pytest.raises(TypeError, match="unhashable"):
        hash(proxy)


def test_a_loaders_own_error_propagates_as_it_is() -> None:
    """The documented contract: the loader is the caller's code; only a KeyError is said in
    memcore's terms (NotFoundError, still a KeyError)."""

    def broken(item_id: str) -> MemoryItem:
        raise ValueError(f"bad record for {item_id}")

    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-v", broken)
    with pytest.raises(ValueError, match="bad record for m-v") as raised:
        _ = proxy.content
    assert not isinstance(raised.value, MemcoreError)
    assert not proxy.loaded


@pytest.mark.parametrize("loaded", [False, True])
def test_pickling_a_proxy_is_refused_clearly(loaded: bool) -> None:
    """It was a TypeError about an RLock."""
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("m-p", CountingLoader())
    if loaded:
        _ = proxy.content
    with pytest.raises(ValidationError, match="cannot be pickled"):
        pickle.dumps(proxy)
    if loaded:
        assert pickle.loads(pickle.dumps(unwrap(proxy))) == unwrap(proxy)


# --- the lazy session view -----------------------------------------------------------------------


def make_items(count: int) -> dict[str, MemoryItem]:
    return {
        f"k{i:04d}": MemoryItem(
            f"m-{i}",
            f"fact number {i}: the user prefers option {i % 7}",
            priority=list(Priority)[i % 4],
            created_at=START + timedelta(minutes=i),
            metadata={"kind": "preference", "confidence": 0.5 + (i % 5) / 10},
        )
        for i in range(count)
    }


async def write_session(
    store: Store, session_id: str, items: dict[str, MemoryItem], deleted: Collection[str] = ()
) -> None:
    entries = {
        key: Entry(value, 1000 + n, "replica-a") for n, (key, value) in enumerate(items.items())
    }
    entries.update({key: Entry(None, 5000, "replica-a", deleted=True) for key in deleted})
    records = {key: encode_entry(entry) for key, entry in entries.items()}
    version = await store.version(session_id)
    assert await store.commit(session_id, version, records, live_digest(entries)) == version + 1


def full_load(records: dict[str, bytes]) -> dict[str, Any]:
    """What an eager open does: check and decode every record, drop tombstones."""
    entries = {key: decode_entry(record) for key, record in records.items()}
    return {key: entry.value for key, entry in entries.items() if not entry.deleted}


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'lazy.db'}"
    opened = open_store(url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_opens_without_decoding_and_decodes_on_read(store: Store) -> None:
    items = make_items(40)
    await write_session(store, "s1", items, deleted={"gone-1", "gone-2"})
    view = await LazySession.open(store, "s1")
    assert view.decoded_count == 0
    assert len(view) == 40
    assert set(view) == set(items)
    assert "gone-1" not in view
    assert "k0003" in view
    assert view.decoded_count == 0
    assert view["k0003"] == items["k0003"]
    assert view.decoded_count == 1
    assert view["k0003"] is view["k0003"]  # kept once decoded
    assert view.version == await store.version("s1")
    assert repr(view) == "<LazySession 's1' version=1 items=40 decoded=1>"
    view.release("k0003")
    assert view.decoded_count == 0
    assert view["k0003"] == items["k0003"]
    view.release()
    assert view.decoded_count == 0


async def test_equals_a_full_load(store: Store) -> None:
    items = make_items(25)
    await write_session(store, "s2", items, deleted={"k0001-old"})
    snapshot = await store.read_snapshot("s2")
    view = await LazySession.open(store, "s2")
    assert dict(view) == full_load(snapshot.records) == items
    assert view.decoded_count == 25


async def test_missing_and_deleted_keys(store: Store) -> None:
    await write_session(store, "s3", make_items(3), deleted={"gone"})
    view = await LazySession.open(store, "s3")
    for key in ("gone", "never-there"):
        with pytest.raises(NotFoundError):
            _ = view[key]
        with pytest.raises(KeyError):
            _ = view[key]
        assert view.get(key, "default") == "default"
        with pytest.raises(NotFoundError):
            view.proxy(key)
    entry = view.entry("k0002")
    assert entry.replica == "replica-a"
    assert entry.stamp == 1002


async def test_proxies_read_through_the_view(store: Store) -> None:
    items = make_items(5)
    await write_session(store, "s4", items)
    view = await LazySession.open(store, "s4")
    proxy = view.proxy("k0004")
    assert repr(proxy) == "<LazyMemoryProxy 'k0004' (not loaded)>"
    assert view.decoded_count == 0
    assert proxy.content == items["k0004"].content
    assert view.decoded_count == 1


async def test_corruption_is_caught_when_the_item_is_read() -> None:
    store = open_store("memory://")
    bad = bytearray(encode_entry(Entry(MemoryItem("b", "flipped"), 2, "r")))
    bad[12] ^= 0x40  # inside the payload; the trailing flag still reads "live"
    good = encode_entry(Entry(MemoryItem("g", "fine"), 1, "r"))
    await store.commit("s5", 0, {"good": good, "bad": bytes(bad)}, 0)
    await store.commit("s5", 1, {"short": b"MR\x01", "junk": b"not a record at all"}, 0)
    view = await LazySession.open(store, "s5")  # opening never fails on one bad record
    assert set(view) == {"good", "bad", "short", "junk"}
    assert view["good"].content == "fine"
    for key in ("bad", "short", "junk"):
        with pytest.raises(CorruptedMemoryError):
            _ = view[key]


async def test_records_in_another_layout_are_decoded_at_open() -> None:
    # Valid entries whose map order differs from encode_entry's: the flag peek cannot read them,
    # so the view decodes (and checks) them at once instead of guessing.
    store = open_store("memory://")
    reordered_live = encode_record({"d": False, "v": {"note": 1}, "t": 1, "r": "r"})
    reordered_gone = encode_record({"d": True, "v": None, "t": 2, "r": "r"})
    await store.commit("s6", 0, {"live": reordered_live, "gone": reordered_gone}, 0)
    view = await LazySession.open(store, "s6")
    assert list(view) == ["live"]
    assert view.decoded_count == 1
    assert view["live"] == {"note": 1}


def test_session_id_is_validated() -> None:
    from memcore.stores.base import Snapshot

    with pytest.raises(ValidationError):
        LazySession("bad id with spaces", Snapshot(0, {}, None))


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    live=st.dictionaries(st.text(min_size=1, max_size=8).filter(str.isprintable), values),
    deleted=st.sets(st.text(min_size=1, max_size=8).filter(str.isprintable), max_size=5),
)
def test_any_state_reads_back_like_a_full_load(live: dict[str, Any], deleted: set[str]) -> None:
    deleted -= set(live)
    entries = {key: Entry(value, 7, "r") for key, value in live.items()}
    entries.update({key: Entry(None, 8, "r", deleted=True) for key in deleted})
    records = {key: encode_entry(entry) for key, entry in entries.items()}
    from memcore.stores.base import Snapshot

    view = LazySession("h", Snapshot(1, records, None))
    assert view.decoded_count == 0
    assert len(view) == len(live)
    assert dict(view) == full_load(records) == live


def test_a_loader_that_returns_none_is_not_found() -> None:
    """``dict.get``'s way of saying "no such item" was an ``AttributeError`` at first use."""
    from memcore.errors import NotFoundError

    found: dict[str, Any] = {}
    proxy: Any = LazyMemoryProxy("k", lambda key: found.get(key))
    with pytest.raises(NotFoundError, match="the loader returned None"):
        _ = proxy.content
    assert not proxy.loaded
