"""One BM25 index over a project's memory, kept between the MCP server's ``recall`` calls.

Built afresh at every call, the index cost every item of every session decoded and tokenized
again: 0.25-0.3 s a call once 110 sessions were saved, where the syncs themselves took 16 ms.
Kept, it is brought up to date session by session: a session whose state digest (the replica's
order-independent hash of its live items, see ``MemorySyncMetadata.checksum``) is what it was
when indexed is skipped; one that changed is compared key by key and only the items whose
text changed are indexed again.

Copies of one text (a command run again, the same search in another session) are one hit:
:meth:`ProjectRecall.search` asks the index for more hits until ``k`` distinct texts are found
or the index has no more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from memcore.model import MemoryItem
from memcore.search import MemoryIndex, item_text

#: The index is first asked for this many times ``k`` hits, then twice as many each round.
FIRST_ASK = 3


class ProjectRecall:
    """The recall index of some sessions of one replica (a ``DistributedMemoryManager``)."""

    __slots__ = ("_held", "_index", "_marks", "_refs")

    def __init__(self) -> None:
        self._index = MemoryIndex()
        self._marks: dict[str, int] = {}  # session -> its state digest when indexed
        self._held: dict[str, dict[str, MemoryItem]] = {}  # session -> key -> item indexed
        self._refs: dict[str, tuple[str, str]] = {}  # index key -> (session, key)

    def __len__(self) -> int:
        return len(self._index)

    def refresh(self, manager: Any, sessions: Iterable[str]) -> None:
        """Index what ``manager`` holds of ``sessions`` (synced by the caller) and nothing else."""
        wanted = list(dict.fromkeys(sessions))
        for name in set(self._held) - set(wanted):
            self._replace(name, {})
            del self._marks[name]
        for name in wanted:
            mark = manager.metadata(name).checksum
            if self._marks.get(name) == mark and name in self._held:
                continue
            items = {}
            for key, value in manager.state(name).items():
                item = MemoryItem.coerce(value)
                if item.metadata.get("kind") != "scaffolding":  # Claude Code's own plumbing
                    items[key] = item
            self._replace(name, items)
            self._marks[name] = mark

    def _replace(self, name: str, items: dict[str, MemoryItem]) -> None:
        held = self._held.get(name, {})
        for key in held.keys() - items.keys():
            ref = _ref(name, key)
            self._index.discard(ref)
            del self._refs[ref]
        for key, item in items.items():
            before = held.get(key)
            if before is None or before.content != item.content:
                ref = _ref(name, key)
                self._index.add(ref, item_text(item))
                self._refs[ref] = (name, key)
        if items:
            self._held[name] = items
        else:
            self._held.pop(name, None)

    def search(self, query: str, k: int) -> list[tuple[str, MemoryItem, float]]:
        """The ``k`` best ``(session, item, score)`` with distinct texts, best first."""
        asked = k * FIRST_ASK
        while True:
            hits = self._index.search(query, asked)
            found: list[tuple[str, MemoryItem, float]] = []
            said: set[str] = set()
            for ref, score in hits:
                name, key = self._refs[ref]
                item = self._held[name][key]
                words = " ".join(item.content.split())
                if words not in said:
                    said.add(words)
                    found.append((name, item, score))
                    if len(found) == k:
                        return found
            if len(hits) < asked:
                return found
            asked *= 2


def _ref(session: str, key: str) -> str:
    """One index key per (session, key), whatever characters they hold."""
    return f"{len(session)}:{session}{key}"


__all__ = ["FIRST_ASK", "ProjectRecall"]
