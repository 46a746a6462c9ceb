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
written last wins, by the sync layer's hybrid-logical-clock stamps and writer ids: the target's
copy as written there against the knowledge's copy as written in its source session before the
extraction, so an edit in the target after it outlives a re-sent older copy; ``local-wins``:
the transferred copy; ``remote-wins``: the target's) and reported in
``TransferResult.conflicts``; identical copies (by their canonical checksum, transfer
provenance aside) are left alone. Each transfer is recorded in the store's transfer history,
a reserved session (as is the access log's) that no transfer may write into.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore import hlc
from memcore.access_log import ACCESS_LOG_SESSION, load_access_log, save_access_log
from memcore.codec import entry_hash
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
from memcore.session_items import is_pasted_output
from memcore.stores.base import validate_session_id
from memcore.transfer_items import (
    AccessPattern,
    CommonTask,
    Written,
    _confidence,
    _kind,
    group_near_duplicates,
    group_tasks,
    knowledge_items,
    mine_patterns,
    task_written,
    written_at,
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
#: Sessions memcore keeps for itself: knowledge written into them would corrupt what they hold.
RESERVED_SESSIONS = (HISTORY_SESSION, ACCESS_LOG_SESSION)
#: Metadata keys that say where a transferred item came from; ignored when comparing values.
_PROVENANCE = ("transferred_from", "transferred_at", "transfer_id")

logger = logging.getLogger("memcore.transfer")

Reviewer = Callable[[list[MemoryItem], str], Awaitable[Sequence[MemoryItem]]]


def _comparable(item: MemoryItem) -> int:
    """``item``'s canonical checksum without its transfer provenance (nor an access pattern's
    time, which is when it was extracted): identical items compare
    equal (a NaN in their metadata too, which dict equality would call a change), whatever the
    order of their metadata."""
    data = item.to_dict()
    data["metadata"] = {k: v for k, v in item.metadata.items() if k not in _PROVENANCE}
    if item.metadata.get("kind") == "pattern":  # (its time is its extraction's, not its own:
        del data["created_at"]  # the same pattern extracted again is the same knowledge)
    return entry_hash(item.id, data)


def _same_knowledge(conflict: Conflict) -> bool:
    """Whether a conflict the sync settled is between two copies of one piece of knowledge,
    transfer provenance aside (as ``transfer_knowledge`` leaves a copy already there)."""
    try:
        local, remote = MemoryItem.coerce(conflict.local), MemoryItem.coerce(conflict.remote)
    except ValidationError:  # (a deletion, or a value that is no item: a real clash)
        return False
    return _comparable(local) == _comparable(remote)


def _settle(strategy: str, incoming: Written, existing: Written) -> str:
    """Who wins a clash: ``"local"`` (the transferred item) or ``"remote"`` (the target's);
    ``timestamp`` takes the later write (``(HLC stamp, replica)``, as the sync layer does)."""
    if strategy == "local-wins":
        return "local"
    if strategy == "remote-wins":
        return "remote"
    return "local" if hlc.is_newer(*incoming, *existing) else "remote"


def _count_limit(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a whole number >= 1 (got {value!r})")
    return value


def _check_prefetcher(prefetcher: object) -> None:
    """``ValidationError`` unless ``prefetcher`` is None or a prefetcher (anything else was
    taken, then failed at the next extraction with an ``AttributeError``)."""
    from memcore.prefetch import PredictiveMemoryPrefetcher

    if prefetcher is not None and not isinstance(prefetcher, PredictiveMemoryPrefetcher):
        raise ValidationError(
            f"prefetcher must be a PredictiveMemoryPrefetcher (got {type(prefetcher).__name__})"
        )


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

        _check_prefetcher(prefetcher)
        self.store, self._owns_store = resolve_store(storage_backend)
        self._url: str | None = getattr(self.store, "url", None)
        self.prefetcher = prefetcher
        self.conflict_strategy = conflict_strategy
        self.min_pattern_count = _count_limit(min_pattern_count, "min_pattern_count")
        self.min_task_count = _count_limit(min_task_count, "min_task_count")
        self._closed = False

    def _check_open(self) -> None:
        # (a closed store reopens on its next call: a transfer used after close() would open
        # connections again that nothing closes any more)
        if self._closed:
            raise ValidationError("this SessionKnowledgeTransfer is closed: make a new one")

    def attach_prefetcher(self, prefetcher: PredictiveMemoryPrefetcher) -> None:
        """Use ``prefetcher``'s counts as the source of access patterns."""
        _check_prefetcher(prefetcher)
        self.prefetcher = prefetcher

    def _manager(self, replica: str) -> DistributedMemoryManager:
        from memcore.sync import DistributedMemoryManager

        self._check_open()
        return DistributedMemoryManager(
            storage_backend=self.store, replica_id=replica, strategy=self.conflict_strategy
        )

    async def _read_state(
        self, session_id: str, kinds: tuple[str, ...] = ()
    ) -> tuple[dict[str, MemoryItem], dict[str, Written]]:
        """The session's items, and the write (stamp, replica) of those of ``kinds``."""
        manager = self._manager(f"transfer-reader-{os.urandom(4).hex()}")
        try:
            await manager.sync_session_memory(session_id)
            state = {k: MemoryItem.coerce(v) for k, v in manager.state(session_id).items()}
            written: dict[str, Written] = {}
            for key, item in state.items():
                entry = manager.entry(session_id, key) if _kind(item) in kinds else None
                if entry is not None:
                    written[item.id] = (entry.stamp, entry.replica)
            return state, written
        finally:
            await manager.close()

    async def extract_knowledge(self, session_id: str) -> TransferableKnowledge:
        """The async form of :meth:`extract_transferable_knowledge`."""
        if not isinstance(session_id, str) or not session_id:
            raise ValidationError("session_id must be a non-empty string")
        self._check_open()
        state, written = await self._read_state(session_id, ("preference", "shortcut", "task"))
        items = sorted(state.values(), key=lambda item: (item.created_at, item.id))
        preferences = [i for i in items if _kind(i) == "preference"]
        shortcuts = [i for i in items if _kind(i) == "shortcut"]
        # (a program's output the user pasted twice is no task of theirs to carry over)
        tasks = [i for i in items if _kind(i) == "task" and not is_pasted_output(i.content)]
        common = group_tasks(tasks, min_count=self.min_task_count) if tasks else []
        for task in common:  # (a task item stands for its group: its latest member's write)
            latest = task_written(task, written)
            if latest is not None:
                written[task.item.id] = latest
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
            written=written,
        )

    def extract_transferable_knowledge(self, session_id: str) -> TransferableKnowledge:
        """Gather ``session_id``'s transferable knowledge (see the module docstring).

        Synchronous, as the contract has it; async code may ``await``
        :meth:`extract_knowledge` instead. Called inside a running event loop, the store is read
        on a worker thread with its own loop (a Redis store is reopened from its URL there, since
        its connections belong to the loop that made them).
        """
        self._check_open()
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
        if target_session_id in RESERVED_SESSIONS:
            raise ValidationError(
                f"{target_session_id!r} is a session memcore keeps for itself: "
                "transfer knowledge into a session of your own"
            )
        if merge_strategy == "manual" and review is None:
            raise ValidationError("merge_strategy 'manual' needs a review callback")
        if review is not None and not callable(review):
            raise ValidationError(
                "review must be a callable (candidates, target session) -> the items to take "
                f"(got {type(review).__name__})"
            )
        self._check_open()
        candidates = knowledge_items(knowledge)  # (checks its shape: ValidationError)
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
                    entry = manager.entry(target_session_id, item.id)
                    theirs = (0, "") if entry is None else (entry.stamp, entry.replica)
                    ours = written_at(knowledge, item.id)
                    winner = _settle(self.conflict_strategy, ours, theirs)
                    conflicts.append(Conflict(item.id, incoming, held, winner))
                    if winner == "remote":
                        continue
                manager.set(target_session_id, item.id, incoming)
                written += 1
            sync = await manager.sync_session_memory(target_session_id)
        finally:
            await manager.close()
        # (transfers racing into one target each write the same knowledge, with provenance of
        # their own: the sync settles those as conflicts, which they are not, and the copy was
        # there before this one: the first to commit transferred it)
        there_already = 0
        for conflict in sync.conflicts:
            if _same_knowledge(conflict):
                there_already += 1
            else:
                conflicts.append(conflict)
        result = TransferResult(
            success=sync.success,
            items_transferred=written - there_already,
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
        """The candidates ``strategy`` takes. A ``manual`` reviewer's picks count once per key:
        an item returned twice is transferred once, two different items under one key are a
        ``ValidationError`` (which to write would be a guess)."""
        if strategy == "full":
            return candidates
        if strategy == "selective":
            return [c for c in candidates if _confidence(c) > SELECTIVE_THRESHOLD]
        assert review is not None
        reviewed = review(list(candidates), target)
        picked = await reviewed if inspect.isawaitable(reviewed) else reviewed
        offered = {c.id for c in candidates}
        chosen: dict[str, MemoryItem] = {}
        for item in coerce_items(picked, "what the reviewer returned"):
            if item.id not in offered:
                raise ValidationError(f"the reviewer returned {item.id!r}, which was not offered")
            twin = chosen.setdefault(item.id, item)
            if twin is not item and _comparable(twin) != _comparable(item):
                raise ValidationError(
                    f"the reviewer returned two different items under {item.id!r}: "
                    "return one version of each"
                )
        return list(chosen.values())

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
        """Past transfers, oldest first; only those from or into ``session_id`` when given (an
        id no session can have, ``"bad/"``, is a ``ValidationError`` as everywhere else: it
        matched no transfer and said nothing)."""
        if session_id is not None:
            validate_session_id(session_id)
        state, _ = await self._read_state(HISTORY_SESSION)
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
        """Close the store when this object opened it from a URL; later calls (but ``close``)
        are a ``ValidationError``."""
        if self._closed:
            return
        self._closed = True
        if self._owns_store:
            await self.store.close()


__all__ = [
    "ACCESS_LOG_SESSION",
    "CONFLICT_STRATEGIES",
    "HISTORY_SESSION",
    "MERGE_STRATEGIES",
    "RESERVED_SESSIONS",
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
