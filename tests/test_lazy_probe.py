"""What a probe of ``memcore.lazy`` broke:

* a plain loader that returns a coroutine (``lambda i: fetch(i)`` over an async ``fetch``) was
  taken as the item: the proxy stood for a coroutine never awaited, for good;
* ``unwrap`` and ``is_loaded`` of what is no proxy were an ``AttributeError``;
* a ``LazySession`` read with a key that is no ``str`` (a list) was a ``TypeError``, so
  ``view.get(["a"], default)`` and ``["a"] in view`` failed where a mapping answers;
  ``LazySession(session, None)`` was an ``AttributeError``.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from memcore.errors import NotFoundError, ValidationError
from memcore.lazy import LazyMemoryProxy, LazySession, is_loaded, unwrap
from memcore.model import MemoryItem
from memcore.stores import Entry, Snapshot, encode_entry


async def _fetch(item_id: str) -> MemoryItem:
    return MemoryItem(item_id, "text")


def test_a_loader_that_returns_a_coroutine_is_a_validation_error() -> None:
    proxy: LazyMemoryProxy[Any] = LazyMemoryProxy("a", lambda item_id: _fetch(item_id))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the coroutine is closed: no "never awaited")
        with pytest.raises(ValidationError, match="returned an awaitable"):
            _ = proxy.content
    assert not is_loaded(proxy)


@pytest.mark.parametrize("value", [5, None, MemoryItem("a", "x")], ids=["int", "none", "item"])
def test_unwrap_and_is_loaded_of_no_proxy_are_validation_errors(value: Any) -> None:
    with pytest.raises(ValidationError, match="expected a LazyMemoryProxy"):
        unwrap(value)
    with pytest.raises(ValidationError, match="expected a LazyMemoryProxy"):
        is_loaded(value)


def _view() -> LazySession:
    item = MemoryItem("a", "text")
    return LazySession("s", Snapshot(1, {"a": encode_entry(Entry(item, 1, "r", False))}, None))


@pytest.mark.parametrize("key", [["a"], {"a": 1}, None, 5], ids=repr)
def test_a_key_that_is_no_str_is_no_item(key: Any) -> None:
    view = _view()
    assert key not in view
    assert view.get(key, "default") == "default"
    with pytest.raises(NotFoundError):
        view[key]
    with pytest.raises(NotFoundError):
        view.entry(key)
    with pytest.raises(NotFoundError):
        view.proxy(key)
    view.release(key)
    assert view["a"].content == "text"


def test_a_lazy_session_reads_a_snapshot_only() -> None:
    with pytest.raises(ValidationError, match="reads a Snapshot"):
        LazySession("s", None)  # type: ignore[arg-type]
