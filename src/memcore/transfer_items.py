"""The pieces of knowledge a session can pass on, and how they become memory items.

Split from :mod:`memcore.transfer` (which re-exports these names): access patterns mined from a
session's accesses, near-duplicate tasks grouped and counted, confidences read from item
metadata, the memory items a transfer writes, and the stamp of the write each one carries (what
the ``timestamp`` strategy weighs against the target's copy).
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memcore import hlc
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority, TransferableKnowledge, coerce_items

#: Who wrote a piece of knowledge, and when, by the sync layer's clock: ``(HLC stamp, replica)``.
Written = tuple[int, str]


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


def _confidence(item: MemoryItem) -> float:
    """An item's confidence in 0..1: 1.0 when it states none; a number written as text is read;
    anything else (a list, a word, NaN or an infinity, which say no amount) is no confidence at
    all, 0.0, which ``selective`` leaves behind rather than trusting it fully."""
    value = item.metadata.get("confidence")
    if value is None:
        return 1.0
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        number = float(value)
    except OverflowError:  # an int too big for a float: no amount either
        return 0.0
    if not math.isfinite(number):
        return 0.0
    return min(1.0, max(0.0, number))


def _kind(item: MemoryItem) -> str:
    kind = item.metadata.get("kind")
    return kind if isinstance(kind, str) else ""


def mine_patterns(
    accesses: Iterable[str], *, max_length: int = 3, min_count: int = 2
) -> list[AccessPattern]:
    """Frequent access sequences of 2..``max_length`` accesses, with P(last | the ones before).

    A sequence is kept when it occurred at least ``min_count`` times; its confidence is how often
    its prefix was followed by its last access, out of how often the prefix was followed at all.
    """
    for name, value, least in (("max_length", max_length, 2), ("min_count", min_count, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValidationError(f"{name} must be an int >= {least} (got {value!r})")
    accesses = _strings(accesses, "accesses")
    patterns: list[AccessPattern] = []
    # (no sequence is longer than the accesses: a max_length of 10**7 counted ten million
    # empty lengths, for seconds)
    for length in range(2, min(max_length, len(accesses)) + 1):
        grams = Counter(tuple(accesses[i : i + length]) for i in range(len(accesses) - length + 1))
        prefixes: Counter[tuple[str, ...]] = Counter()
        for gram, count in grams.items():
            prefixes[gram[:-1]] += count
        for gram, count in grams.items():
            if count >= min_count:
                patterns.append(AccessPattern(gram, count, count / prefixes[gram[:-1]]))
    patterns.sort(key=lambda p: (-p.count, -p.confidence, p.sequence))
    return patterns


def _strings(values: object, what: str) -> list[str]:
    """``values`` as a list of str, or ``ValidationError`` (``None`` or an item that is no str
    failed as a ``TypeError`` or an ``AttributeError``; a str was read as its letters)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(f"{what} must be a sequence of str (got {type(values).__name__})")
    listed = list(values)
    for value in listed:
        if not isinstance(value, str):
            raise ValidationError(
                f"{what} must be a sequence of str (got a {type(value).__name__})"
            )
    return listed


def word_set(text: str) -> frozenset[str]:
    return frozenset(w.strip(".,;:!?()[]{}'\"`").lower() for w in text.split()) - {""}


def near(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    """Whether two word sets overlap by ``threshold`` (Jaccard): the one comparison the
    grouping makes of a pair, so that the candidates' filters can be checked against it."""
    union = len(a | b)
    return bool(union) and len(a & b) / union >= threshold


#: How far below the threshold the candidate filters reckon (relative): a quotient that rounds
#: up to the threshold passes ``near``, and a filter must never turn away a pair that passes.
_FILTER_SLACK = 1e-9


def group_near_duplicates(texts: Sequence[str], threshold: float = 0.6) -> list[list[int]]:
    """Indices of ``texts`` grouped when their word sets overlap by ``threshold`` (Jaccard).

    Single-link: two texts share a group when a chain of texts, each ``threshold``-near the
    next, joins them. Groups are listed by their first index, members in input order. The same
    groups as comparing every pair, found without comparing every pair (a session of thousands
    of prompts is saved within the hooks' timeout): only texts that share one of their rarest
    words can be near (prefix filtering), and a text already in a group is not compared with
    that group's other members again.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ValidationError(f"threshold must be a number (got {threshold!r})")
    words = [word_set(text) for text in _strings(texts, "texts")]
    parent = list(range(len(words)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        first, second = sorted((root(i), root(j)))
        parent[second] = first

    if threshold <= 0:  # every pair with a word between them is near: one group, if any word
        if any(words):
            for i in range(1, len(words)):
                join(0, i)
    elif threshold <= 1:  # (above 1, or NaN, no pair is near)
        _join_near(words, threshold, root, join)
    groups: dict[int, list[int]] = {}
    for i in range(len(words)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _join_near(
    words: Sequence[frozenset[str]],
    threshold: float,
    root: Callable[[int], int],
    join: Callable[[int, int], None],
) -> None:
    """``join`` every pair of ``words`` that is ``near``, or one linking the same groups.

    All-Pairs prefix filtering: words ranked rarest first, a set of ``a`` words overlaps a set
    of ``b <= a`` near it in at least ``t/(1+t)*(a+b)`` words, so a set's first
    ``a - ceil(t*a) + 1`` words (probed) meet a smaller set's first ``b - ceil(2t/(1+t)*b) + 1``
    (indexed) and ``b >= t*a``. Sets are taken smallest first; each index entry holds its sets
    by group, and a group the probing set joined is passed over whole.
    """
    low = threshold * (1 - _FILTER_SLACK)
    indexed_low = 2 * low / (1 + low)
    frequency = Counter(word for each in words for word in each)
    rank = {word: at for at, (word, _) in enumerate(sorted(frequency.items(), key=_rarest))}
    index: dict[str, dict[int, list[int]]] = {}
    for i in sorted(range(len(words)), key=lambda i: (len(words[i]), i)):
        size = len(words[i])
        if not size:
            continue  # (an empty set is near nothing: no word to share)
        ordered = sorted(words[i], key=rank.__getitem__)
        shortest = low * size
        for word in ordered[: size - math.ceil(low * size) + 1]:
            by_group = index.get(word)
            if by_group is None:
                continue
            for label in list(by_group):
                if root(label) != label:  # groups joined since: one entry
                    _merge_entry(by_group, label, root(label))
            for group, members in by_group.items():
                if root(group) == root(i):
                    continue
                for j in members:
                    if len(words[j]) >= shortest and near(words[i], words[j], threshold):
                        join(i, j)
                        break
        group = root(i)
        for word in ordered[: size - math.ceil(indexed_low * size) + 1]:
            by_group = index.setdefault(word, {})
            by_group.setdefault(group, []).append(i)


def _rarest(entry: tuple[str, int]) -> tuple[int, str]:
    word, count = entry
    return count, word


def _merge_entry(by_group: dict[int, list[int]], old: int, group: int) -> None:
    """Move the sets an index entry holds under ``old`` to ``group``, which ``old`` joined (the
    shorter list into the longer one)."""
    moved = by_group.pop(old)
    kept = by_group.get(group)
    if kept is None:
        by_group[group] = moved
    elif len(kept) >= len(moved):
        kept.extend(moved)
    else:
        moved.extend(kept)
        by_group[group] = moved


def group_tasks(
    tasks: Iterable[MemoryItem | Mapping[str, Any]], *, min_count: int = 2
) -> list[CommonTask]:
    """Group near-duplicate task items and keep the groups seen at least ``min_count`` times."""
    if isinstance(min_count, bool) or not isinstance(min_count, int):
        raise ValidationError(f"min_count must be an int (got {min_count!r})")
    items = coerce_items(tasks, "tasks")
    groups = group_near_duplicates([item.content for item in items])
    common: list[CommonTask] = []
    for group in groups:
        members = [items[i] for i in group]
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
    item = MemoryItem.coerce(task.item)
    return MemoryItem(
        id=item.id,
        content=item.content,
        priority=item.priority,
        created_at=item.created_at,
        metadata={
            **item.metadata,
            "kind": "task",
            "count": task.count,
            "similar_ids": list(task.item_ids),
            "confidence": task.confidence,
        },
    )


def _pieces(value: object, what: str) -> list[object]:
    """``value`` as the list of pieces it holds, or ``ValidationError`` for what holds none."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise ValidationError(f"knowledge.{what} must be a list (got {type(value).__name__})")
    return list(value)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_pattern(pattern: object) -> AccessPattern:
    if not isinstance(pattern, AccessPattern):
        raise ValidationError(
            f"knowledge.patterns holds AccessPatterns (got {type(pattern).__name__})"
        )
    sequence = pattern.sequence
    if (
        not isinstance(sequence, (tuple, list))
        or len(sequence) < 2
        or not all(isinstance(step, str) and step and _encodable(step) for step in sequence)
    ):
        raise ValidationError(
            f"an access pattern's sequence is two or more non-empty strings (got {sequence!r})"
        )
    if isinstance(pattern.count, bool) or not isinstance(pattern.count, int) or pattern.count < 0:
        raise ValidationError(f"an access pattern's count is an int >= 0 (got {pattern.count!r})")
    if not _is_real(pattern.confidence):
        raise ValidationError(
            f"an access pattern's confidence is a number (got {pattern.confidence!r})"
        )
    return pattern


def _encodable(text: str) -> bool:
    """Whether ``text`` is UTF-8 (a lone surrogate is not: a pattern's id is a hash of its
    steps' bytes, and it was a bare ``UnicodeEncodeError``)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_task(task: object) -> CommonTask:
    if not isinstance(task, CommonTask):
        raise ValidationError(
            f"knowledge.common_tasks holds CommonTasks (got {type(task).__name__})"
        )
    MemoryItem.coerce(task.item)  # (a mapping that is no item: ValidationError)
    if isinstance(task.count, bool) or not isinstance(task.count, int) or task.count < 0:
        raise ValidationError(f"a common task's count is an int >= 0 (got {task.count!r})")
    if not isinstance(task.item_ids, (tuple, list)) or not all(
        isinstance(i, str) for i in task.item_ids
    ):
        raise ValidationError(f"a common task's item_ids are strings (got {task.item_ids!r})")
    if not _is_real(task.confidence):
        raise ValidationError(f"a common task's confidence is a number (got {task.confidence!r})")
    return task


def check_knowledge(knowledge: TransferableKnowledge) -> None:
    """``ValidationError`` unless every field of ``knowledge`` has the shape extraction gives it.

    Knowledge may be built or edited by hand (or come from elsewhere): a field of the wrong
    shape would otherwise fail half-way through a transfer with whatever Python raised there.
    """
    if not isinstance(knowledge.source_session, str) or not knowledge.source_session:
        raise ValidationError(
            f"knowledge.source_session is a non-empty string (got {knowledge.source_session!r})"
        )
    when = knowledge.extracted_at
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValidationError(f"knowledge.extracted_at is a timezone-aware datetime (got {when!r})")
    for pattern in _pieces(knowledge.patterns, "patterns"):
        _check_pattern(pattern)
    for what in ("preferences", "shortcuts"):
        coerce_items(_pieces(getattr(knowledge, what), what), f"knowledge.{what}")
    for task in _pieces(knowledge.common_tasks, "common_tasks"):
        _check_task(task)
    written = knowledge.written
    if not isinstance(written, Mapping):
        raise ValidationError(
            f"knowledge.written maps item ids to (stamp, replica) (got {type(written).__name__})"
        )
    for item_id, stamp in written.items():
        if (
            not isinstance(item_id, str)
            or not isinstance(stamp, (tuple, list))
            or len(stamp) != 2
            or not isinstance(stamp[1], str)
        ):
            raise ValidationError(
                f"knowledge.written maps item ids to (HLC stamp, replica) (got {item_id!r}: "
                f"{stamp!r})"
            )
        try:
            hlc.check_stamp(stamp[0])
        except ValidationError as exc:
            raise ValidationError(f"knowledge.written[{item_id!r}]: {exc}") from exc


def knowledge_items(knowledge: TransferableKnowledge) -> list[MemoryItem]:
    """Every piece of ``knowledge`` as a memory item, ready to be written into a session
    (``ValidationError`` for knowledge of the wrong shape: see :func:`check_knowledge`)."""
    check_knowledge(knowledge)
    items: list[MemoryItem] = []
    items.extend(_pattern_item(p, knowledge.extracted_at) for p in knowledge.patterns)
    items.extend(MemoryItem.coerce(p) for p in knowledge.preferences)
    items.extend(MemoryItem.coerce(s) for s in knowledge.shortcuts)
    items.extend(_task_item(t) for t in knowledge.common_tasks)
    unique: dict[str, MemoryItem] = {}
    for item in items:
        unique.setdefault(item.id, item)
    return list(unique.values())


def extraction_stamp(knowledge: TransferableKnowledge) -> Written:
    """The stamp of ``knowledge``'s extraction: what a piece whose own write is unknown (a
    pattern, derived then; knowledge built by hand) is taken as written at."""
    wall_ms = int(knowledge.extracted_at.timestamp() * 1000)
    return hlc.pack(min(max(0, wall_ms), hlc.MAX_WALL_MS)), ""


def written_at(knowledge: TransferableKnowledge, item_id: str) -> Written:
    """When the copy of ``item_id`` in ``knowledge`` was written in its source session, as of
    extraction (``knowledge.written``), else the extraction's own stamp."""
    stamp = knowledge.written.get(item_id)
    return (stamp[0], stamp[1]) if stamp is not None else extraction_stamp(knowledge)


def task_written(task: CommonTask, written: dict[str, Written]) -> Written | None:
    """A common task's write: the latest of its members' (its count and text are theirs)."""
    stamps = [written[i] for i in task.item_ids if i in written]
    return max(stamps, key=lambda w: hlc.order_key(*w)) if stamps else None
