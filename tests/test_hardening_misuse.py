"""A developer's plausible misuse of the public API gets memcore's own errors, never a bare
``TypeError``/``AttributeError``/``ValueError`` from deep inside (found by a probe of the API as
the README presents it; each case failed before its fix).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

from memcore import DistributedMemoryManager, MemoryItem
from memcore.compression import HierarchicalMemoryCompressor, compress_memory_hierarchy
from memcore.digest import session_digest
from memcore.errors import MemcoreError, NotFoundError, ValidationError
from memcore.lazy import LazyMemoryProxy, LazySession
from memcore.overflow import SessionState, handle_context_overflow
from memcore.search import HybridRetriever, MemoryIndex
from memcore.transfer import SessionKnowledgeTransfer

ITEM = MemoryItem("a", "Run the tests before pushing.")


def _embed(texts: list[str]) -> list[list[float]]:
    return [[float(len(text)), 1.0] for text in texts]


def _index_with_bad_tokenizer() -> object:
    index = MemoryIndex(tokenizer=lambda text: None)  # type: ignore[arg-type,return-value]
    index.add("a", "some text")
    return index


def _manager() -> DistributedMemoryManager:
    return DistributedMemoryManager("memory://")


def _transfer_nothing() -> object:
    async def run() -> object:
        transfer = SessionKnowledgeTransfer("memory://")
        try:
            return await transfer.transfer_knowledge(None, "target")  # type: ignore[arg-type]
        finally:
            await transfer.close()

    return asyncio.run(run())


MISUSES: dict[str, Callable[[], object]] = {
    "set with a list as session": lambda: _manager().set([], "a", ITEM),  # type: ignore[arg-type]
    "get with a list as key": lambda: _manager().get("s", []),  # type: ignore[arg-type]
    "delete with a list as key": lambda: _manager().delete("s", []),  # type: ignore[arg-type]
    "state of a list": lambda: _manager().state([]),  # type: ignore[arg-type]
    "compress None": lambda: compress_memory_hierarchy(None),  # type: ignore[arg-type]
    "compress a dict (its keys)": lambda: compress_memory_hierarchy({"a": ITEM}),  # type: ignore[dict-item]
    "a NaN threshold": lambda: HierarchicalMemoryCompressor(thresholds=(math.nan, 2, 3)),
    "SessionState of None": lambda: SessionState(None, 10),  # type: ignore[arg-type]
    "overflow of None": lambda: handle_context_overflow(None),  # type: ignore[arg-type]
    "a tokenizer giving None": _index_with_bad_tokenizer,
    "a counter that is no callable": lambda: session_digest([ITEM], 100, counter=5),  # type: ignore[arg-type]
    "digest of a dict": lambda: session_digest({"a": ITEM}, 100),  # type: ignore[dict-item]
    "transfer of None": _transfer_nothing,
    "retriever over a number": lambda: HybridRetriever.from_items(5, _embed),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", sorted(MISUSES))
def test_misuse_raises_a_memcore_error(name: str) -> None:
    with pytest.raises(MemcoreError):
        MISUSES[name]()


def test_a_dict_given_for_items_is_named_as_such() -> None:
    with pytest.raises(ValidationError, match=r"not a mapping \(pass its .values\(\)\)"):
        compress_memory_hierarchy({"a": ITEM})  # type: ignore[dict-item]


def test_a_retriever_takes_a_list_of_items_by_their_ids() -> None:
    retriever = HybridRetriever.from_items([ITEM], _embed)
    assert len(retriever) == 1
    assert retriever.search("tests")[0][0] == "a"


def test_a_lazy_proxy_whose_loader_misses_says_not_found() -> None:
    missing: dict[str, MemoryItem] = {}
    proxy: LazyMemoryProxy[MemoryItem] = LazyMemoryProxy("k", lambda key: missing[key])
    with pytest.raises(NotFoundError, match="no item 'k'"):
        _ = proxy.content
    assert not proxy.loaded  # tried again at the next access


async def test_a_lazy_session_opens_from_a_url_without_making_a_store(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    with pytest.raises(NotFoundError):
        await LazySession.open(url, "s")
    assert not (tmp_path / "memory.db").exists()
    writer = DistributedMemoryManager(url)
    writer.set("s", "a", ITEM)
    await writer.sync_session_memory("s")
    await writer.close()
    session = await LazySession.open(url, "s")
    assert session["a"].content == ITEM.content
