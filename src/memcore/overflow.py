"""Context overflow: fitting a session's items back under its token budget.

:func:`handle_context_overflow` acts when a session holds more than 90 % of its budget and stops
as soon as it holds at most 80 %, in three steps, each taken only if still needed:

1. ``compress``: summarize every non-critical item (extractively, by default) at the one ratio that
   brings the session toward 70 % of the budget;
2. ``hierarchical_summarization``: replace the non-critical items old enough for compression
   levels 3 and 4 (24 h and more, by default) by one summary per group of similar items, and one
   summary of the oldest;
3. ``evict``: drop the least valuable non-critical items (value: priority, recency and use, from
   ``metadata["access_count"]`` or ``metadata["uses"]``) until the target is met.

Critical items are never changed nor evicted. When they alone exceed the whole budget, nothing is
changed and :class:`~memcore.errors.ContextBudgetError` says so; when they fit the budget but not
the 80 % target, every non-critical item goes and ``final_token_count`` shows where it ended.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from memcore.compression import HierarchicalMemoryCompressor
from memcore.errors import ContextBudgetError, ValidationError
from memcore.model import MemoryItem, OverflowStrategy, Priority, to_utc_datetime, utc_now
from memcore.summarize import ExtractiveSummarizer, Summarizer
from memcore.tokens import TokenCounter, resolve_counter

TRIGGER = 0.90
TARGET = 0.80
COMPRESS_TOWARD = 0.70
#: Summaries never go below this share of an item's tokens in the compress step.
MIN_RATIO = 0.05

ACTION_COMPRESS = "compress"
ACTION_HIERARCHICAL = "hierarchical_summarization"
ACTION_EVICT = "evict"


class SessionState:
    """A session's items and its token budget; ``handle_context_overflow`` edits ``items``.

    ``counter`` counts tokens (default :func:`memcore.count_tokens`), ``summarizer`` makes the
    summaries (default extractive), ``now``/``clock`` give the time for ages.
    """

    def __init__(
        self,
        items: Iterable[MemoryItem | Mapping[str, Any]],
        token_budget: int,
        *,
        counter: TokenCounter | None = None,
        summarizer: Summarizer | None = None,
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget <= 0:
            raise ValidationError(f"token_budget must be a positive int (got {token_budget!r})")
        self.items: list[MemoryItem] = [MemoryItem.coerce(item) for item in items]
        self.token_budget = token_budget
        self.count = resolve_counter(counter)
        self.summarizer: Summarizer = summarizer or ExtractiveSummarizer(counter)
        self.now = None if now is None else to_utc_datetime(now)
        self.clock = clock or utc_now

    def current_time(self) -> datetime:
        return self.now if self.now is not None else to_utc_datetime(self.clock())

    def token_count(self) -> int:
        """Tokens the session's items hold now."""
        return sum(self.count(item.content) for item in self.items)

    @property
    def usage(self) -> float:
        """Share of the budget in use."""
        return self.token_count() / self.token_budget


def item_value(item: MemoryItem, now: datetime) -> float:
    """How much keeping ``item`` is worth: priority, then recency (a day's half-life), then use."""
    age_hours = max(0.0, (now - item.created_at).total_seconds() / 3600.0)
    recency = 0.5 ** (age_hours / 24.0)
    uses = item.metadata.get("access_count", item.metadata.get("uses", 0))
    use = math.log1p(uses) if isinstance(uses, (int, float)) and uses > 0 else 0.0
    return float(item.priority.rank + recency + 0.25 * use)


def _critical(item: MemoryItem) -> bool:
    return item.priority is Priority.CRITICAL


def handle_context_overflow(state: SessionState) -> OverflowStrategy:
    """Bring ``state`` from above 90 % of its budget to at most 80 % (see the module doc)."""
    costs = {id(item): state.count(item.content) for item in state.items}
    start = sum(costs.values())
    budget = state.token_budget
    if start <= TRIGGER * budget:
        return OverflowStrategy(actions_taken=[], tokens_saved=0, final_token_count=start)
    critical_tokens = sum(costs[id(item)] for item in state.items if _critical(item))
    if critical_tokens > budget:
        raise ContextBudgetError(
            f"critical items alone hold {critical_tokens} tokens, more than the budget of "
            f"{budget}; they are never evicted, so nothing was changed"
        )
    now = state.current_time()
    target = TARGET * budget
    actions: list[str] = []
    total = start

    # 1. compress: every non-critical item summarized at one ratio, toward 70 % of the budget
    loose = total - critical_tokens
    ratio = (COMPRESS_TOWARD * budget - critical_tokens) / loose if loose else 1.0
    ratio = min(1.0, max(MIN_RATIO, ratio))
    if loose and ratio < 1.0:
        saved = 0
        items = []
        for item in state.items:
            if _critical(item):
                items.append(item)
                continue
            summary = state.summarizer.summarize(item.content, ratio)
            cost = state.count(summary)
            if summary and cost < costs[id(item)]:
                saved += costs[id(item)] - cost
                item = _replaced(item, summary, costs[id(item)])
                costs[id(item)] = cost
            items.append(item)
        if saved > 0:
            state.items = items
            total = sum(costs[id(item)] for item in items)
            actions.append(ACTION_COMPRESS)

    # 2. hierarchical summarization of the old non-critical items (levels 3 and 4)
    if total > target:
        total = _summarize_old(state, costs, now, actions, total)

    # 3. evict the least valuable non-critical items
    if total > target:
        victims = sorted(
            (item for item in state.items if not _critical(item)),
            key=lambda item: (item_value(item, now), item.created_at, item.id),
        )
        gone: set[int] = set()
        for item in victims:
            if total <= target:
                break
            gone.add(id(item))
            total -= costs[id(item)]
        if gone:
            state.items = [item for item in state.items if id(item) not in gone]
            actions.append(ACTION_EVICT)

    final = sum(costs[id(item)] for item in state.items)
    return OverflowStrategy(
        actions_taken=actions, tokens_saved=start - final, final_token_count=final
    )


def _replaced(item: MemoryItem, content: str, original_tokens: int) -> MemoryItem:
    metadata = dict(item.metadata)
    metadata.setdefault("original_tokens", original_tokens)
    metadata["summarized"] = True
    return MemoryItem(item.id, content, item.priority, item.created_at, metadata)


def _summarize_old(
    state: SessionState,
    costs: dict[int, int],
    now: datetime,
    actions: list[str],
    total: int,
) -> int:
    compressor = HierarchicalMemoryCompressor(now, summarizer=state.summarizer, counter=state.count)
    loose = [item for item in state.items if not _critical(item)]
    levels = compressor.partition(loose, now)
    old = levels[2] + levels[3]
    if not old:
        return total
    bundle = compressor.compress(old)
    new_items: list[MemoryItem] = []
    for group in bundle.level3.groups:
        if group.count > 1 or group.summary:
            new_items.append(_summary_item(group.ids, group.summary, group.time_range, "level3"))
    if bundle.level4.count and bundle.level4.summary and bundle.level4.time_range:
        oldest = [item.id for item in levels[3]]
        new_items.append(_summary_item(oldest, bundle.level4.summary, bundle.level4.time_range,
                                       "level4"))  # fmt: skip
    replaced = {item_id for item in new_items for item_id in item.metadata["summarizes"]}
    removed = [item for item in old if item.id in replaced]
    saved = sum(costs[id(item)] for item in removed)
    for item in new_items:
        costs[id(item)] = state.count(item.content)
        saved -= costs[id(item)]
    if saved <= 0:
        return total
    removed_ids = {id(item) for item in removed}
    state.items = [item for item in state.items if id(item) not in removed_ids] + new_items
    actions.append(ACTION_HIERARCHICAL)
    return total - saved


def _summary_item(
    ids: list[str], summary: str, time_range: tuple[datetime, datetime], level: str
) -> MemoryItem:
    return MemoryItem(
        id=f"summary:{level}:{ids[0]}",
        content=summary,
        priority=Priority.LOW,
        created_at=time_range[1],
        metadata={
            "kind": "summary",
            "level": level,
            "summarizes": list(ids),
            "time_range": [time_range[0].isoformat(), time_range[1].isoformat()],
        },
    )


__all__ = [
    "ACTION_COMPRESS",
    "ACTION_EVICT",
    "ACTION_HIERARCHICAL",
    "SessionState",
    "handle_context_overflow",
    "item_value",
]
