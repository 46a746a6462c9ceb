"""Carry what one session learned (preferences, shortcuts, habits, recurring tasks) into another.

:meth:`SessionKnowledgeTransfer.extract_transferable_knowledge` reads a session from the store and
gathers

* **patterns**: frequent access sequences, from an attached :class:`PredictiveMemoryPrefetcher`'s
  counts when one is attached and has seen the session, else from the session's stored access log
  (see :func:`save_access_log`; ``memcore import-claude-code`` writes one);
* **preferences** and **shortcuts**: items whose ``metadata["kind"]`` says so;
* **common tasks**: task items that are near-duplicates of each other, grouped and counted.

Every piece carries a confidence (``metadata["confidence"]``, default 1.0, for items; the
conditional frequency for patterns). :meth:`~SessionKnowledgeTransfer.transfer_knowledge` turns
the pieces into memory items and writes them into the target session through a
:class:`DistributedMemoryManager` replica of its own, so the target's own replicas see them after
their next sync. An item that clashes with one the target already holds under the same key is
settled by the sync strategies, named as in :mod:`memcore.sync` (``timestamp``: the copy
created later wins; ``local-wins``: the transferred copy; ``remote-wins``: the target's) and
reported in ``TransferResult.conflicts``; identical copies are left alone. Each transfer is
recorded in the store's transfer history.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import importlib
import inspect
import itertools
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.access_log import ACCESS_LOG_SESSION, load_access_log, save_access_log
from memcore.errors import ValidationError
from memcore.model import (
    Conflict,
    MemoryItem,
    Priority,
    TransferableKnowledge,
    TransferResult,
    coerce_items,
    utc_now,
)

if TYPE_CHECKING:
    from memcore.prefetch import PredictiveMemoryPrefetcher
    from memcore.stores.base import Store
    from memcore.sync import DistributedMemoryManager

MERGE_STRATEGIES = ("selective", "full", "manual")
CONFLICT_STRATEGIES = ("timestamp", "local-wins", "remote-wins")
#: ``selective`` transfers only what is known with more confidence than this.
SELECTIVE_THRESHOLD = 0.8
#: The session that holds the transfer history (one item per transfer).
HISTORY_SESSION = "memcore.transfer-history"
#: Metadata keys that say where a transferred item came from; ignored when comparing values.
_PROVENANCE = ("transferred_from", "transferred_at", "transfer_id")

logger = logging.getLogger("memcore.transfer")

Reviewer = Callable[[list[MemoryItem], str], Awaitable[Sequence[MemoryItem]]]


@dataclass(frozen=True, slots=True)
class AccessPattern:
    """A frequent access sequence: after ``sequence[:-1]``, ``sequence[-1]`` came next."""

    sequence: tuple[str, ...]
    count: int
    confidence: float


@dataclass(frozen=True, slots=True)
class CommonTask:
    """Near-duplicate task items, counted; ``item`` is the most recent of them."""

    item: MemoryItem
    count: int
    item_ids: tuple[str, ...]
    confidence: float


@dataclass(slots=True)
class _Candidates:
    items: list[MemoryItem] = field(default_factory=list)


def _confidence(item: MemoryItem) -> float:
    """An item's confidence in 0..1: 1.0 when it states none; a number written as text is read;
    anything else (a list, NaN, a word) is no confidence at all, 0.0, which ``selective``
    leaves behind rather than trusting it fully."""
    value = item.metadata.get("confidence")
    if value is None:
        return 1.0
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


def _kind(item: MemoryItem) -> str:
    kind = item.metadata.get("kind")
    return kind if isinstance(kind, str) else ""


def mine_patterns(
    accesses: Sequence[str], *, max_length: int = 3, min_count: int = 2
) -> list[AccessPattern]:
    """Frequent access sequences of 2..``max_length`` accesses, with P(last | the ones before).

    A sequence is kept when it occurred at least ``min_count`` times; its confidence is how often
    its prefix was followed by its last access, out of how often the prefix was followed at all.
    """
    if max_length < 2:
        raise ValidationError(f"max_length must be at least 2 (got {max_length})")
    patterns: list[AccessPattern] = []
    for length in range(2, max_length + 1):
        grams = Counter(tuple(accesses[i : i + length]) for i in range(len(accesses) - length + 1))
        prefixes: Counter[tuple[str, ...]] = Counter()
        for gram, count in grams.items():
            prefixes[gram[:-1]] += count
        for gram, count in grams.items():
            if count >= min_count:
                patterns.append(AccessPattern(gram, count, count / prefixes[gram[:-1]]))
    patterns.sort(key=lambda p: (-p.count, -p.confidence, p.sequence))
    return patterns


def _word_set(text: str) -> frozenset[str]:
    return frozenset(w.strip(".,;:!?()[]{}'\"`").lower() for w in text.split()) - {""}


def group_near_duplicates(texts: Sequence[str], threshold: float = 0.6) -> list[list[int]]:
    """Indices of ``texts`` grouped when their word sets overlap by ``threshold`` (Jaccard).

    Uses memcore's similarity grouping (``memcore.summarize.group_similar``) when it is available;
    otherwise this plain single-link grouping over word sets, which is enough for task phrasings.
    """
    try:
        summarize = importlib.import_module("memcore.summarize")
    except ImportError:
        summarize = None
    group_similar = getattr(summarize, "group_similar", None)
    if callable(group_similar):
        return [[int(i) for i in group] for group in group_similar(list(texts))]
    words = [_word_set(text) for text in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            union = words[i] | words[j]
            if union and len(words[i] & words[j]) / len(union) >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def group_tasks(tasks: Sequence[MemoryItem], *, min_count: int = 2) -> list[CommonTask]:
    """Group near-duplicate task items and keep the groups seen at least ``min_count`` times."""
    groups = group_near_duplicates([item.content for item in tasks])
    common: list[CommonTask] = []
    for group in groups:
        members = [tasks[i] for i in group]
        if len(members) < min_count:
            continue
        members.sort(key=lambda item: item.created_at)
        confidence = sum(_confidence(m) for m in members) / len(members)
        common.append(
            CommonTask(
                item=members[-1],
                count=len(members),
                item_ids=tuple(m.id for m in members),
                confidence=confidence,
            )
        )
    common.sort(key=lambda task: (-task.count, task.item.id))
    return common


def _pattern_item(pattern: AccessPattern, when: datetime) -> MemoryItem:
    digest = hashlib.blake2b("\x1f".join(pattern.sequence).encode(), digest_size=8).hexdigest()
    return MemoryItem(
        id=f"pattern:{digest}",
        content=" -> ".join(pattern.sequence),
        priority=Priority.LOW,
        created_at=when,
        metadata={
            "kind": "pattern",
            "sequence": list(pattern.sequence),
            "count": pattern.count,
            "confidence": pattern.confidence,
        },
    )


def _task_item(task: CommonTask) -> MemoryItem:
    return MemoryItem(
        id=task.item.id,
        content=task.item.content,
        priority=task.item.priority,
        created_at=task.item.created_at,
        metadata={
            **task.item.metadata,
            "kind": "task",
            "count": task.count,
            "similar_ids": list(task.item_ids),
            "confidence": task.confidence,
        },
    )


def knowledge_items(knowledge: TransferableKnowledge) -> list[MemoryItem]:
    """Every piece of ``knowledge`` as a memory item, ready to be written into a session."""
    items: list[MemoryItem] = []
    items.extend(_pattern_item(p, knowledge.extracted_at) for p in knowledge.patterns)
    items.extend(MemoryItem.coerce(p) for p in knowledge.preferences)
    items.extend(MemoryItem.coerce(s) for s in knowledge.shortcuts)
    items.extend(_task_item(t) for t in knowledge.common_tasks)
    unique: dict[str, MemoryItem] = {}
    for item in items:
        unique.setdefault(item.id, item)
    return list(unique.values())


def _comparable(item: MemoryItem) -> dict[str, Any]:
    data = item.to_dict()
    data["metadata"] = {k: v for k, v in item.metadata.items() if k not in _PROVENANCE}
    return data


def _settle(strategy: str, incoming: MemoryItem, existing: MemoryItem) -> str:
    """Who wins a clash: ``"local"`` (the transferred item) or ``"remote"`` (the target's)."""
    if strategy == "local-wins":
        return "local"
    if strategy == "remote-wins":
        return "remote"
    return "local" if incoming.created_at >= existing.created_at else "remote"


class SessionKnowledgeTransfer:
    """Extracts a session's transferable knowledge and writes it into other sessions.

    ``storage_backend`` is a storage URL or an open store. ``prefetcher``, when given, is the
    source of access patterns for the sessions it has seen. ``conflict_strategy`` settles items
    that clash with the target's (``"timestamp"``, ``"local-wins"``, ``"remote-wins"``).
    """

    def __init__(
        self,
        storage_backend: str | Store | None = None,
        *,
        prefetcher: PredictiveMemoryPrefetcher | None = None,
        conflict_strategy: str = "timestamp",
        min_pattern_count: int = 2,
        min_task_count: int = 2,
    ) -> None:
        if conflict_strategy not in CONFLICT_STRATEGIES:
            raise ValidationError(
                f"conflict_strategy must be one of {', '.join(CONFLICT_STRATEGIES)} "
                f"(got {conflict_strategy!r})"
            )
        from memcore.stores import resolve_store

        self.store, self._owns_store = resolve_store(storage_backend)
        self._url: str | None = getattr(self.store, "url", None)
        self.prefetcher = prefetcher
        self.conflict_strategy = conflict_strategy
        self.min_pattern_count = min_pattern_count
        self.min_task_count = min_task_count

    def attach_prefetcher(self, prefetcher: PredictiveMemoryPrefetcher) -> None:
        """Use ``prefetcher``'s counts as the source of access patterns."""
        self.prefetcher = prefetcher

    def _manager(self, replica: str) -> DistributedMemoryManager:
        from memcore.sync import DistributedMemoryManager

        return DistributedMemoryManager(
            storage_backend=self.store, replica_id=replica, strategy=self.conflict_strategy
        )

    async def _read_state(self, session_id: str) -> dict[str, MemoryItem]:
        manager = self._manager(f"transfer-reader-{os.urandom(4).hex()}")
        try:
            await manager.sync_session_memory(session_id)
            return {k: MemoryItem.coerce(v) for k, v in manager.state(session_id).items()}
        finally:
            await manager.close()

    async def extract_knowledge(self, session_id: str) -> TransferableKnowledge:
        """The async form of :meth:`extract_transferable_knowledge`."""
        if not isinstance(session_id, str) or not session_id:
            raise ValidationError("session_id must be a non-empty string")
        state = await self._read_state(session_id)
        items = sorted(state.values(), key=lambda item: (item.created_at, item.id))
        preferences = [i for i in items if _kind(i) == "preference"]
        shortcuts = [i for i in items if _kind(i) == "shortcut"]
        tasks = [i for i in items if _kind(i) == "task"]
        common = group_tasks(tasks, min_count=self.min_task_count) if tasks else []
        accesses = await load_access_log(self.store, session_id)
        patterns = self._prefetcher_patterns(session_id, [*state, *accesses], accesses)
        if patterns is None:
            patterns = mine_patterns(accesses, min_count=self.min_pattern_count)
        return TransferableKnowledge(
            patterns=list(patterns),
            preferences=preferences,
            shortcuts=shortcuts,
            common_tasks=common,
            source_session=session_id,
            extracted_at=utc_now(),
            pattern_count=len(patterns),
        )

    def extract_transferable_knowledge(self, session_id: str) -> TransferableKnowledge:
        """Gather ``session_id``'s transferable knowledge (see the module docstring).

        Synchronous, as the contract has it; async code may ``await``
        :meth:`extract_knowledge` instead. Called inside a running event loop, the store is read
        on a worker thread with its own loop (a Redis store is reopened from its URL there, since
        its connections belong to the loop that made them).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.extract_knowledge(session_id))
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self._extract_on_own_loop, session_id).result()

    def _extract_on_own_loop(self, session_id: str) -> TransferableKnowledge:
        if self._url is not None and self._url.startswith(("redis://", "rediss://")):
            worker = SessionKnowledgeTransfer(
                self._url,
                prefetcher=self.prefetcher,
                conflict_strategy=self.conflict_strategy,
                min_pattern_count=self.min_pattern_count,
                min_task_count=self.min_task_count,
            )

            async def run() -> TransferableKnowledge:
                try:
                    return await worker.extract_knowledge(session_id)
                finally:
                    await worker.close()

            return asyncio.run(run())
        return asyncio.run(self.extract_knowledge(session_id))

    def _prefetcher_patterns(
        self, session_id: str, known: Sequence[str], accesses: Sequence[str]
    ) -> list[AccessPattern] | None:
        """Patterns from the attached prefetcher's predictions for every item known to the
        session: its keys, its logged accesses, and the ids the prefetcher itself counted for it
        (``file:a.py``, ``cmd:pytest``: ids that are no key were left out, and with them every
        pattern of a session whose accesses are not its keys). A prediction is a pattern only
        for a pair that happened (counted by the prefetcher, or in the log): the prefetcher
        fills its list with recent items it has no count for.

        ``count`` is how often the pair occurs in the stored access log (0 when the prefetcher
        learned it from accesses that were never logged).
        """
        if self.prefetcher is None:
            return None
        pairs = Counter(itertools.pairwise(accesses))
        counted = self.prefetcher.export_counts(session_id)
        patterns: list[AccessPattern] = []
        for current in dict.fromkeys([*known, *counted]):
            followed = counted.get(current, {})
            for following, confidence in self.prefetcher.predict_next_accesses(
                session_id, current, n=5
            ):
                if following not in followed and not pairs[(current, following)]:
                    continue
                patterns.append(
                    AccessPattern(
                        (current, following), pairs[(current, following)], float(confidence)
                    )
                )
        if not patterns:
            return None
        patterns.sort(key=lambda p: (-p.confidence, -p.count, p.sequence))
        return patterns

    async def transfer_knowledge(
        self,
        knowledge: TransferableKnowledge,
        target_session_id: str,
        merge_strategy: str = "selective",
        review: Reviewer | None = None,
    ) -> TransferResult:
        """Write ``knowledge`` into ``target_session_id``; see the module docstring."""
        if not isinstance(knowledge, TransferableKnowledge):
            raise ValidationError(
                "knowledge must be a TransferableKnowledge (from extract_knowledge) "
                f"(got {type(knowledge).__name__})"
            )
        if merge_strategy not in MERGE_STRATEGIES:
            raise ValidationError(
                f"merge_strategy must be one of {', '.join(MERGE_STRATEGIES)} "
                f"(got {merge_strategy!r})"
            )
        if not isinstance(target_session_id, str) or not target_session_id:
            raise ValidationError("target_session_id must be a non-empty string")
        if merge_strategy == "manual" and review is None:
            raise ValidationError("merge_strategy 'manual' needs a review callback")
        candidates = knowledge_items(knowledge)
        chosen = await self._choose(candidates, target_session_id, merge_strategy, review)
        transfer_id = os.urandom(16).hex()
        now = utc_now()
        manager = self._manager(f"transfer-{transfer_id[:12]}")
        conflicts: list[Conflict] = []
        written = 0
        try:
            await manager.sync_session_memory(target_session_id)
            existing = {
                k: MemoryItem.coerce(v) for k, v in manager.state(target_session_id).items()
            }
            for item in chosen:
                incoming = MemoryItem(
                    id=item.id,
                    content=item.content,
                    priority=item.priority,
                    created_at=item.created_at,
                    metadata={
                        **item.metadata,
                        "transferred_from": knowledge.source_session,
                        "transferred_at": now.isoformat(),
                        "transfer_id": transfer_id,
                    },
                )
                held = existing.get(item.id)
                if held is not None:
                    if _comparable(held) == _comparable(incoming):
                        continue  # already there, unchanged: nothing to transfer
                    winner = _settle(self.conflict_strategy, incoming, held)
                    conflicts.append(Conflict(item.id, incoming, held, winner))
                    if winner == "remote":
                        continue
                manager.set(target_session_id, item.id, incoming)
                written += 1
            sync = await manager.sync_session_memory(target_session_id)
        finally:
            await manager.close()
        conflicts.extend(sync.conflicts)
        result = TransferResult(
            success=sync.success,
            items_transferred=written,
            conflicts_resolved=len(conflicts),
            merge_strategy=merge_strategy,
            conflicts=conflicts,
        )
        await self._record(transfer_id, now, knowledge, target_session_id, result, candidates)
        return result

    async def _choose(
        self,
        candidates: list[MemoryItem],
        target: str,
        strategy: str,
        review: Reviewer | None,
    ) -> list[MemoryItem]:
        if strategy == "full":
            return candidates
        if strategy == "selective":
            return [c for c in candidates if _confidence(c) > SELECTIVE_THRESHOLD]
        assert review is not None
        reviewed = review(list(candidates), target)
        picked = await reviewed if inspect.isawaitable(reviewed) else reviewed
        offered = {c.id: c for c in candidates}
        chosen: list[MemoryItem] = []
        for item in coerce_items(picked, "what the reviewer returned"):
            if item.id not in offered:
                raise ValidationError(f"the reviewer returned {item.id!r}, which was not offered")
            chosen.append(item)
        return chosen

    async def _record(
        self,
        transfer_id: str,
        when: datetime,
        knowledge: TransferableKnowledge,
        target: str,
        result: TransferResult,
        candidates: list[MemoryItem],
    ) -> None:
        entry = {
            "source": knowledge.source_session,
            "target": target,
            "merge_strategy": result.merge_strategy,
            "conflict_strategy": self.conflict_strategy,
            "candidates": len(candidates),
            "items_transferred": result.items_transferred,
            "conflicts_resolved": result.conflicts_resolved,
            "conflict_keys": [c.key for c in result.conflicts],
            "success": result.success,
        }
        manager = self._manager(f"transfer-history-{transfer_id[:12]}")
        try:
            await manager.sync_session_memory(HISTORY_SESSION)
            manager.set(
                HISTORY_SESSION,
                f"transfer:{transfer_id}",
                MemoryItem(
                    id=f"transfer:{transfer_id}",
                    content=json.dumps(entry, sort_keys=True),
                    priority=Priority.LOW,
                    created_at=when,
                    metadata={"kind": "transfer", **entry},
                ),
            )
            await manager.sync_session_memory(HISTORY_SESSION)
        finally:
            await manager.close()

    async def transfer_history(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Past transfers, oldest first; only those from or into ``session_id`` when given."""
        state = await self._read_state(HISTORY_SESSION)
        entries = []
        for item in sorted(state.values(), key=lambda i: (i.created_at, i.id)):
            try:
                decoded = json.loads(item.content)
            except (ValueError, RecursionError):
                decoded = None
            if not isinstance(decoded, dict):  # not written by a transfer: another's item
                logger.warning("transfer history entry %r is not a transfer record", item.id)
                continue
            entry = dict(decoded)
            entry["id"] = item.id
            entry["at"] = item.created_at
            if session_id is None or session_id in (entry.get("source"), entry.get("target")):
                entries.append(entry)
        return entries

    async def close(self) -> None:
        """Close the store when this object opened it from a URL."""
        if self._owns_store:
            await self.store.close()


__all__ = [
    "ACCESS_LOG_SESSION",
    "CONFLICT_STRATEGIES",
    "HISTORY_SESSION",
    "MERGE_STRATEGIES",
    "SELECTIVE_THRESHOLD",
    "AccessPattern",
    "CommonTask",
    "SessionKnowledgeTransfer",
    "group_near_duplicates",
    "group_tasks",
    "knowledge_items",
    "load_access_log",
    "mine_patterns",
    "save_access_log",
]
