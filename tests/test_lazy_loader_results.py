"""What a LazyMemoryProxy's loader hands back: another item than the one asked for is refused
(the proxy stays unloaded and tries again later), and ``format`` goes to the item as ``str``
does."""

from __future__ import annotations

import threading

import pytest

from memcore.errors import ValidationError
from memcore.lazy import LazyMemoryProxy, LazySession, is_loaded
from memcore.model import MemoryItem
from memcore.stores import Entry, encode_entry, live_digest, open_store


def test_a_loader_returning_another_item_is_refused_and_the_proxy_stays_unloaded() -> None:
    # It was taken as it was: a proxy of "goal" answered with the content of "cart".
    answers = iter([MemoryItem("cart", "cart.py rounds"), MemoryItem("goal", "Ship Friday")])
    proxy = LazyMemoryProxy("goal", lambda item_id: next(answers))
    with pytest.raises(ValidationError, match="'cart'"):
        _ = proxy.content
    assert not is_loaded(proxy)
    assert proxy.content == "Ship Friday"  # a later access loads again
    assert proxy.id == "goal"


def test_threads_racing_a_wrong_loader_all_see_the_refusal() -> None:
    proxy = LazyMemoryProxy("goal", lambda item_id: MemoryItem("other", "x"))
    errors: list[BaseException] = []

    def read() -> None:
        try:
            _ = proxy.content
        except ValidationError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8
    assert not is_loaded(proxy)


def test_values_that_are_no_memory_items_are_taken_as_they_are() -> None:
    proxy = LazyMemoryProxy("goal", lambda item_id: {"id": "another", "content": "c"})
    assert proxy["content"] == "c"  # (only a MemoryItem says which item it is)


def test_format_goes_to_the_item() -> None:
    # ``f"{proxy:.2f}"`` was a TypeError: object.__format__ takes no format spec.
    proxy = LazyMemoryProxy("pi", lambda item_id: 3.14159)
    assert f"{proxy:.2f}" == "3.14"
    assert f"{proxy}" == "3.14159"
    item = LazyMemoryProxy("goal", lambda item_id: MemoryItem("goal", "Ship Friday"))
    assert format(item, "") == str(item)


async def test_a_views_proxy_reads_the_record_under_its_key_whatever_id_it_holds() -> None:
    store = open_store("memory://")
    entries = {"k1": Entry(MemoryItem("m-1", "written straight to the store"), 1000, "replica")}
    records = {key: encode_entry(entry) for key, entry in entries.items()}
    await store.commit("s1", 0, records, live_digest(entries))
    view = await LazySession.open(store, "s1")
    proxy = view.proxy("k1")
    assert isinstance(proxy, LazyMemoryProxy)
    assert repr(proxy) == "<LazyMemoryProxy 'k1' (not loaded)>"
    assert proxy.content == "written straight to the store"
    await store.close()
