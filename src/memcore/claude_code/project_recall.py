"""One BM25 index over a project's memory, kept between the MCP server's ``recall`` calls.

Built afresh at every call, the index cost every item of every session decoded and tokenized
again: 0.25-0.3 s a call once 110 sessions were saved, where the syncs themselves took 16 ms.
Kept, it is brought up to date session by session: a session whose state digest (the replica's
order-independent hash of its live items, see ``MemorySyncMetadata.checksum``) is what it was
when indexed is skipped; one that changed is compared key by key, by each value's hash
(``DistributedMemoryManager.value_hashes``), and only the items that changed are decoded and
indexed again. The items themselves stay with the manager, encoded: holding them decoded here
took 150 MB of the server's 380 MB for 220 saved sessions (66,000 items), more than the index;
a hit is decoded when it is found.

Copies of one text (a command run again, the same search in another session) are one hit:
:meth:`ProjectRecall.search` asks the index for more hits until ``k`` distinct texts are found
or the index has no more. ``recall`` folds more than copies (every successful run of one
command is one hit, ``said_as``): :meth:`ProjectRecall.ranked` asks for a larger pool until
``k`` hits remain once folded, or the index has no more.

A session shared by projects (the notes of folders whose paths differ only in ``/`` and ``-``)
is indexed for one of them: only the notes stored with that project's folder (``is_note_of``),
and a hit is checked again when it is decoded (written over since the refresh by the other
project, it is not shown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from memcore.claude_code.project import is_note_of
from memcore.claude_code.recall_rank import pool_size, rank, recall_index
from memcore.claude_code.stored_values import item_of
from memcore.model import MemoryItem
from memcore.search import item_text

logger = logging.getLogger(__name__)

#: The index is first asked for this many times ``k`` hits, then twice as many each round.
FIRST_ASK = 3


class ProjectRecall:
    """The recall index of some sessions of one replica (a ``DistributedMemoryManager``)."""

    __slots__ = ("_held", "_index", "_manager", "_marks", "_owned", "_refs", "_refused")

    def __init__(self) -> None:
        self._index = recall_index()
        self._manager: Any = None  # the replica of the last refresh, which decodes the hits
        self._marks: dict[str, int] = {}  # session -> its state digest when indexed
        self._held: dict[str, dict[str, int]] = {}  # session -> key -> value hash when read
        # index key -> (session, key, the hash of its text's words: copies of one text, told
        # apart without decoding them)
        self._refs: dict[str, tuple[str, str, int]] = {}
        self._owned: dict[str, str] = {}  # session -> the project whose notes only are indexed
        self._refused: set[tuple[str, str]] = set()  # (session, key) of no item, warned of once

    def __len__(self) -> int:
        return len(self._index)

    def refresh(
        self,
        manager: Any,
        sessions: Iterable[str],
        owned: Mapping[str, str] | None = None,
    ) -> None:
        """Index what ``manager`` holds of ``sessions`` (synced by the caller) and nothing else;
        of a session in ``owned``, only the notes of the project it names (``is_note_of``)."""
        if manager is not self._manager:
            self._forget_all()
            self._manager = manager
        wanted = list(dict.fromkeys(sessions))
        owned = owned or {}
        for name in set(self._held) - set(wanted):
            self._replace(name, {})
            self._marks.pop(name, None)
            self._owned.pop(name, None)
        for name in wanted:
            if self._owned.get(name) != owned.get(name):
                self._replace(name, {})  # (indexed for another owner, or for all)
                self._marks.pop(name, None)
                self._owned.pop(name, None)
                if name in owned:
                    self._owned[name] = owned[name]
            mark = manager.metadata(name).checksum
            if self._marks.get(name) == mark and name in self._held:
                continue
            self._replace(name, manager.value_hashes(name))
            self._marks[name] = mark

    def _forget_all(self) -> None:
        for name in list(self._held):
            self._replace(name, {})
        self._marks.clear()
        self._owned.clear()
        self._refused.clear()

    def _replace(self, name: str, hashes: dict[str, int]) -> None:
        """Bring ``name``'s documents to ``hashes`` (its live keys and their value hashes)."""
        held = self._held.get(name, {})
        for key in held.keys() - hashes.keys():
            self._drop(_ref(name, key))
        for key, value_hash in hashes.items():
            if held.get(key) == value_hash:
                continue
            ref = _ref(name, key)
            item = self._item(name, key)
            if item is None or not self._shown(name, item):
                self._drop(ref)  # (Claude Code's own plumbing is never indexed, nor another's)
            else:
                self._index.add(ref, item_text(item))
                self._refs[ref] = (name, key, hash(_words(item)))
        if hashes:
            self._held[name] = hashes
        else:
            self._held.pop(name, None)

    def _drop(self, ref: str) -> None:
        if self._refs.pop(ref, None) is not None:
            self._index.discard(ref)

    def _item(self, name: str, key: str) -> MemoryItem | None:
        """The item of ``key``, or None: deleted, or a value that is no item (another program's,
        through the plain store API), which is warned of once and left out, as ``memcore
        search`` leaves it out: it made every ``recall`` of the project fail."""
        value = self._manager.get(name, key)
        if value is None:
            return None
        item = item_of(value, name, key, by="recall", warned=self._refused, log=logger)
        if item is not None:
            self._refused.discard((name, key))
        return item

    def _shown(self, name: str, item: MemoryItem) -> bool:
        """Whether ``item`` of session ``name`` is one to index and show."""
        if item.metadata.get("kind") == "scaffolding":
            return False
        owner = self._owned.get(name)
        return owner is None or is_note_of(item, owner)

    def finds(self, terms: str) -> bool:
        """Whether any indexed item has one of ``terms``."""
        return bool(self._index.search(terms, 1))

    def search(self, query: str, k: int) -> list[tuple[str, MemoryItem, float]]:
        """The ``k`` best ``(session, item, score)`` with distinct texts, best first."""
        return self._search(query, k, {})

    def ranked(self, query: str, k: int) -> list[tuple[str, MemoryItem, float]]:
        """The ``k`` best hits as ``recall`` ranks them (``rank``: weighed, the runs of one
        command folded into one), from a pool of ``pool_size(k)`` distinct texts, doubled
        until ``k`` remain once folded or the index has no more: sixty runs of one command
        filled the pool and folded into one hit, and five notes that matched went unshown."""
        pool = pool_size(k)
        decoded: dict[str, MemoryItem | None] = {}  # (a larger pool sees the same hits again)
        while True:
            hits = self._search(query, pool, decoded)
            best = rank(hits, k)
            if len(best) == k or len(hits) < pool:
                return best
            pool *= 2

    def _search(
        self, query: str, k: int, decoded: dict[str, MemoryItem | None]
    ) -> list[tuple[str, MemoryItem, float]]:
        """:meth:`search`, with the hits ``decoded`` so far (each round adds its own)."""
        asked = k * FIRST_ASK
        while True:
            hits = self._index.search(query, asked)
            found: list[tuple[str, MemoryItem, float]] = []
            said: set[int] = set()
            for ref, score in hits:
                name, key, words = self._refs[ref]
                if words in said:
                    continue
                if ref not in decoded:
                    decoded[ref] = self._item(name, key)
                item = decoded[ref]
                if item is None or not self._shown(name, item):
                    continue  # (changed since the refresh: the next one indexes it)
                said.add(words)
                found.append((name, item, score))
                if len(found) == k:
                    return found
            if len(hits) < asked:
                return found
            asked *= 2


def _words(item: MemoryItem) -> str:
    """An item's text as copies of it share it: its words, whatever the spaces between."""
    return " ".join(item.content.split())


def _ref(session: str, key: str) -> str:
    """One index key per (session, key), whatever characters they hold."""
    return f"{len(session)}:{session}{key}"


__all__ = ["FIRST_ASK", "ProjectRecall"]
