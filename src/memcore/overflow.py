"""Context overflow: fitting a session's items back under its token budget.

:func:`handle_context_overflow` acts when a session holds more than 90 % of its budget and ends
at most at 80 %, aiming at 75 % (between 70 % and 80 % whenever the items allow), so that what
stays is as much of the session as the budget holds, not a third of it. Critical items and the
latest requests (``kind`` task; not one longer than a quarter of the budget, a pasted log) are
kept whole; summarizing is preferred to evicting:

1. ``session_digest`` (a coding-agent session, see :mod:`memcore.session_items`): everything but
   its latest items becomes one digest item (:func:`~memcore.digest.session_digest`: what was
   asked, decided, touched, run, broken and fixed; the dumps are cut, their paths and names
   kept) in most of the room, and the latest items stay whole in the rest;
2. ``compress`` (other sessions): every other item summarized at the one ratio that brings the
   session toward 75 %;
3. ``hierarchical_summarization``: the non-critical items old enough for compression levels 3
   and 4 (24 h and more, by default) replaced by one summary per group of similar items, and one
   summary of the oldest;
4. ``evict``: the least valuable items dropped (value: priority, recency and use, from
   ``metadata["access_count"]`` or ``metadata["uses"]``; an agent's scaffolding first) until the
   80 % target is met; then the room that an eviction left below 75 % is filled again with the
   most valuable of the evicted items, whole if they fit, else summarized into the room.

Items stay in session order; summaries take the place of what they summarize. The actions
listed are the ones whose result is in the items at the end, in the order of the steps.
Critical items are never changed nor evicted. When they alone exceed the 80 % target, nothing
is changed and :class:`~memcore.errors.ContextBudgetError` says so: the target cannot be met
(evicting everything else would still leave the session above it).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.compression import HierarchicalMemoryCompressor
from memcore.errors import ContextBudgetError, ValidationError
from memcore.model import (
    MemoryItem,
    OverflowStrategy,
    Priority,
    coerce_items,
    to_utc_datetime,
    utc_now,
)
from memcore.session_items import in_session_order, is_agent_session, is_scaffolding
from memcore.summarize import (
    ExtractiveSummarizer,
    Summarizer,
    checked_summarizer,
    group_similar_texts,
)
from memcore.tokens import MAX_TOKEN_BUDGET, TokenCounter, resolve_counter

if TYPE_CHECKING:
    from memcore.digest import SessionDigest

TRIGGER = 0.90
TARGET = 0.80
#: Where the steps aim: the middle of the 70-80 % band they should end in.
AIM = 0.75
#: Summaries never go below this share of an item's tokens in the compress step.
MIN_RATIO = 0.05
#: The latest requests (``kind`` task) kept whole beside the critical items, each when it
#: takes at most ``REQUEST_SHARE`` of the budget: a longer one (a pasted log, a whole plan) is a
#: dump, and the digest or a summary says it in fewer tokens.
LATEST_REQUESTS = 2
REQUEST_SHARE = 0.25
#: Of an agent session's room, the share its latest items keep whole at least (the digest has
#: the rest, or what of it the digest does not need).
RECENT_SHARE = 0.15
#: A summary put into the room left needs at least this many tokens to say something.
MIN_ROOM = 12

ACTION_COMPRESS = "compress"
ACTION_DIGEST = "session_digest"
ACTION_HIERARCHICAL = "hierarchical_summarization"
ACTION_EVICT = "evict"
_ACTION_ORDER = (ACTION_DIGEST, ACTION_COMPRESS, ACTION_HIERARCHICAL, ACTION_EVICT)


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
        self.token_budget = token_budget
        self.items: list[MemoryItem] = coerce_items(items)
        self.count = resolve_counter(counter)
        self.summarizer: Summarizer = checked_summarizer(summarizer) or ExtractiveSummarizer(
            counter
        )
        self.now = None if now is None else to_utc_datetime(now)
        if clock is not None and not callable(clock):  # (else a TypeError at the overflow)
            raise ValidationError(f"clock must be a callable () -> datetime (got {clock!r})")
        self.clock = clock or utc_now

    @property
    def token_budget(self) -> int:
        return self._token_budget

    @token_budget.setter
    def token_budget(self, token_budget: int) -> None:
        # checked when set later too: a budget of 0 set after construction evicted everything,
        # a negative one blamed the critical items, NaN did nothing and said nothing
        if isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget <= 0:
            raise ValidationError(f"token_budget must be a positive int (got {token_budget!r})")
        if token_budget > MAX_TOKEN_BUDGET:
            raise ValidationError(f"token_budget must be at most {MAX_TOKEN_BUDGET} (got more)")
        self._token_budget = int(token_budget)

    @property
    def count(self) -> TokenCounter:
        """The token counter (checked, as the constructor takes it)."""
        return self._count

    @count.setter
    def count(self, counter: TokenCounter | None) -> None:
        # checked when set later too: a counter put here unchecked gave numpy's ints to the
        # result (``final_token_count=np.int64(158)``), a float a TypeError deep in the plan
        self._count = resolve_counter(counter)

    def current_time(self) -> datetime:
        return self.now if self.now is not None else to_utc_datetime(self.clock())

    def token_count(self) -> int:
        """Tokens the session's items hold now (what was put in ``items`` since, as the
        constructor takes it)."""
        return sum(self.count(item.content) for item in coerce_items(self.items, "state.items"))

    @property
    def usage(self) -> float:
        """Share of the budget in use."""
        return self.token_count() / self.token_budget


#: Uses counted at most (``access_count`` is the caller's metadata: any int may be there).
_MOST_USES = 1e18


def item_value(item: MemoryItem, now: datetime) -> float:
    """How much keeping ``item`` is worth: priority, then recency (a day's half-life), then use;
    an agent's scaffolding is worth nothing."""
    if not isinstance(item, MemoryItem) or not isinstance(now, datetime) or now.tzinfo is None:
        # (a dict was an AttributeError, a naive ``now`` a TypeError in the subtraction)
        raise ValidationError("item_value takes a MemoryItem and a timezone-aware datetime")
    if is_scaffolding(item):
        return 0.0
    age_hours = max(0.0, (now - item.created_at).total_seconds() / 3600.0)
    recency = 0.5 ** (age_hours / 24.0)
    uses = item.metadata.get("access_count", item.metadata.get("uses", 0))
    use = 0.0
    if isinstance(uses, (int, float)) and not isinstance(uses, bool) and uses > 0:
        use = math.log1p(min(uses, _MOST_USES))  # (an int past a float's range, or inf: capped)
    return float(item.priority.rank + recency + 0.25 * use)


def _critical(item: MemoryItem) -> bool:
    return item.priority is Priority.CRITICAL


class _Plan:
    """The session's items as slots in session order: each slot holds what stands for one
    original item now (itself, its summary, a summary of many, or nothing: evicted)."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        # (``items`` is a public attribute: what was put there since, a dict or an item whose
        # fields were assigned, is checked as the constructor checks it, not an AttributeError)
        self.given = coerce_items(state.items, "state.items")
        # one object repeated in the items is one item per slot: the steps find slots by the
        # object (``id``), so each repeat gets a copy of its own (given back when left whole)
        seen: set[int] = set()
        self.originals: list[MemoryItem] = []
        for item in self.given:
            self.originals.append(copy.copy(item) if id(item) in seen else item)
            seen.add(id(item))
        self.slots: list[list[MemoryItem]] = [[item] for item in self.originals]
        # by content, not by object: a count is the text's, and an object's id may be reused
        self.costs: dict[str, int] = {}
        self.total = sum(self.cost(item) for item in self.originals)
        # the steps whose result each new item is (by object: they are kept alive in
        # ``made``), and the slots an eviction emptied: ``actions`` reads what is left of them
        # at the end, so a step whose every result was evicted later is not listed
        self.made: dict[int, tuple[MemoryItem, frozenset[str]]] = {}
        self.evictions: set[int] = set()
        self.kept: set[int] = set()  # slots never touched: critical items, latest requests

    def cost(self, item: MemoryItem) -> int:
        cost = self.costs.get(item.content)
        if cost is None:
            cost = self.costs[item.content] = self.state.count(item.content)
        return cost

    def put(self, slot: int, items: list[MemoryItem]) -> None:
        self.total += sum(self.cost(i) for i in items) - sum(self.cost(i) for i in self.slots[slot])
        self.slots[slot] = items

    def loose(self) -> list[int]:
        """Slots that may change: not kept, and still holding their original item."""
        return [
            k
            for k, held in enumerate(self.slots)
            if k not in self.kept and len(held) == 1 and held[0] is self.originals[k]
        ]

    def made_by(self, item: MemoryItem, action: str, source: MemoryItem | None = None) -> None:
        """Record that ``item`` is the result of ``action`` (and of the steps that made
        ``source``, when it stands for an item that was itself a step's result)."""
        earlier = self.made.get(id(source), (None, frozenset()))[1] if source else frozenset()
        self.made[id(item)] = (item, earlier | {action})

    def evict(self, slot: int) -> None:
        self.put(slot, [])
        self.evictions.add(slot)

    def actions(self) -> list[str]:
        """The steps whose results are in the items now, in the order of the steps."""
        done: set[str] = set()
        for held in self.slots:
            for item in held:
                entry = self.made.get(id(item))
                if entry is not None and entry[0] is item:
                    done |= entry[1]
        if any(not self.slots[k] for k in self.evictions):
            done.add(ACTION_EVICT)
        return [action for action in _ACTION_ORDER if action in done]

    def items(self) -> list[MemoryItem]:
        out: list[MemoryItem] = []
        for k, held in enumerate(self.slots):
            whole = len(held) == 1 and held[0] is self.originals[k]
            out.extend([self.given[k]] if whole else held)
        return out


def handle_context_overflow(state: SessionState) -> OverflowStrategy:
    """Bring ``state`` from above 90 % of its budget to at most 80 % (see the module doc)."""
    if not isinstance(state, SessionState):
        raise ValidationError(
            f"handle_context_overflow takes a SessionState(items, token_budget) "
            f"(got {type(state).__name__})"
        )
    plan = _Plan(state)
    start = plan.total
    budget = state.token_budget
    if start <= TRIGGER * budget:
        return OverflowStrategy(actions_taken=[], tokens_saved=0, final_token_count=start)
    critical = [k for k, item in enumerate(plan.originals) if _critical(item)]
    critical_tokens = sum(plan.cost(plan.originals[k]) for k in critical)
    if critical_tokens > TARGET * budget:
        raise ContextBudgetError(
            f"critical items alone hold {critical_tokens} tokens, more than {TARGET:.0%} of the "
            f"budget of {budget}; they are never evicted, so nothing was changed"
        )
    now = state.current_time()
    plan.kept = set(critical) | _latest_requests(
        plan, AIM * budget - critical_tokens, REQUEST_SHARE * budget
    )

    if is_agent_session(plan.originals):
        _digest_history(plan, budget)
    elif plan.total > TARGET * budget:
        _compress(plan, budget)
    if plan.total > TARGET * budget:
        _summarize_old(plan, now)
    if plan.total > TARGET * budget:
        _evict(plan, budget, now)

    state.items = plan.items()
    final = plan.total
    return OverflowStrategy(
        actions_taken=plan.actions(), tokens_saved=start - final, final_token_count=final
    )


def _latest_requests(plan: _Plan, room: float, most: float) -> set[int]:
    """The slots of the latest ``LATEST_REQUESTS`` requests that fit ``room`` together, each of
    at most ``most`` tokens."""
    chosen: set[int] = set()
    used = 0
    for k in range(len(plan.originals) - 1, -1, -1):
        item = plan.originals[k]
        if item.metadata.get("kind") != "task" or _critical(item) or is_scaffolding(item):
            continue
        cost = plan.cost(item)
        if used + cost <= room and cost <= most:
            chosen.add(k)
            used += cost
        if len(chosen) == LATEST_REQUESTS:
            break
    return chosen


def _pasted_request(item: MemoryItem, cost: int, budget: int) -> bool:
    """A request longer than its share of the budget (``REQUEST_SHARE``): a pasted log, never
    kept whole."""
    return item.metadata.get("kind") == "task" and cost > REQUEST_SHARE * budget


def _history_digest(items: list[MemoryItem], budget: int, count: TokenCounter) -> SessionDigest:
    """The digest of a session's history: its latest items follow it whole, so it does not say
    what was under way at its end (``ongoing``)."""
    from memcore.digest import unchecked_digests  # the digest's tables load on first use

    # (unchecked: a counter that says the empty text is over the budget leaves an empty digest,
    # and the items are evicted as having nothing to tell)
    return unchecked_digests(items, (budget,), counter=count, ongoing=True)[0]


def _digest_history(plan: _Plan, budget: int) -> None:
    """An agent session: everything but its latest items (and its scaffolding) one digest item,
    the latest items whole in the rest of the room.

    The digest may say all it has to in fewer tokens than its share (``1 - RECENT_SHARE``) of
    the room: a first digest of all the loose items measures what it needs, the latest items
    take all the room it leaves (an item too big for what is left stays with the history), and
    the digest is then made of the items before them. When it has nothing to say of them (only
    dumps are left, their calls kept whole), they are evicted.
    """

    loose = plan.loose()
    fixed = plan.total - sum(plan.cost(plan.originals[k]) for k in loose)
    room = math.floor(AIM * budget - fixed)
    if room < MIN_ROOM or not loose:
        return
    count = plan.state.count
    share = math.floor(room * (1.0 - RECENT_SHARE))
    sizing = _history_digest([plan.originals[k] for k in loose], share, count)
    reserve = max(MIN_ROOM, sizing.tokens) if sizing.text.strip() else share
    # newest first; a dump too big for the room is skipped, and a log pasted as a request (the
    # digest says it: see _latest_requests)
    recent = _newest_fitting(plan, loose, room - reserve, budget)
    history = [k for k in loose if k not in recent]
    history_tokens = sum(plan.cost(plan.originals[k]) for k in history)
    if not history or history_tokens <= reserve:
        return
    items = [plan.originals[k] for k in history]
    digest = _history_digest(items, reserve, count)
    slack = reserve - digest.tokens
    if slack >= MIN_ROOM and digest.text.strip():
        # the history said all it had in less than its share (the latest items took part of
        # what the sizing digest counted on): the newest of it that fit the slack stay whole
        moved = _newest_fitting(plan, history, slack)
        if moved:
            history = [k for k in history if k not in moved]
            items = [plan.originals[k] for k in history]
            digest = _history_digest(items, reserve, count) if items else digest
    if not history:
        return
    if not digest.text.strip():
        # nothing in them to tell: dumps (a file read, a long output) whose calls stay whole
        for k in history:
            plan.evict(k)
        return
    summary = _summary_item(
        [item.id for item in items], digest.text, _span(items), ACTION_DIGEST, Priority.NORMAL
    )
    for k in history[:-1]:
        plan.put(k, [])
    plan.put(history[-1], [summary])  # in the place of the latest item it stands for
    plan.made_by(summary, ACTION_DIGEST)


def _newest_fitting(
    plan: _Plan, slots: list[int], room: int, budget: int | None = None
) -> set[int]:
    """The newest of ``slots`` (not scaffolding) that fit ``room`` tokens together, newest first
    (one too big is passed over, and the agent's thinking past it: ``_musing``); with the
    session's ``budget``, a request pasted as a log (``_pasted_request``) is passed over too."""
    chosen: set[int] = set()
    used = 0
    skipped = False
    for k in reversed(slots):
        item = plan.originals[k]
        cost = plan.cost(item)
        if budget is not None and _pasted_request(item, cost, budget):
            continue
        if is_scaffolding(item) or (skipped and _musing(item)):
            continue
        if used + cost <= room:
            chosen.add(k)
            used += cost
        else:
            skipped = True
    return chosen


def _musing(item: MemoryItem) -> bool:
    """The agent's thinking: past an item too big to keep whole (a gap in what the latest items
    keep), it is no longer the session's end, and alone, out of its place, it says little; the
    digest of the history has it."""
    return item.metadata.get("kind") == "thinking"


def _compress(plan: _Plan, budget: int) -> None:
    """Every loose item summarized at the one ratio that brings the session toward ``AIM``."""
    loose = plan.loose()
    loose_tokens = sum(plan.cost(plan.originals[k]) for k in loose)
    if not loose_tokens:
        return
    ratio = (AIM * budget - (plan.total - loose_tokens)) / loose_tokens
    ratio = min(1.0, max(MIN_RATIO, ratio))
    if ratio >= 1.0:
        return
    for k in loose:
        item = plan.originals[k]
        summary = plan.state.summarizer.summarize(item.content, ratio)
        if summary and plan.state.count(summary) < plan.cost(item):
            shorter = _replaced(item, summary, plan.cost(item))
            plan.put(k, [shorter])
            plan.made_by(shorter, ACTION_COMPRESS)


def _summarize_old(plan: _Plan, now: datetime) -> None:
    """Groups of similar old loose items, and the oldest, replaced by their summaries.

    The compressor names a group's members by id, and two items may share one: found by id, a
    level-4 item sharing a level-3 item's id was taken for grouped (a summary of no item, an
    IndexError), and two groups could meet in one slot (a summary lost). The members are taken
    by object instead (``_old_groups``).
    """
    state = plan.state
    loose = plan.loose()
    compressor = HierarchicalMemoryCompressor(now, summarizer=state.summarizer, counter=state.count)
    levels = compressor.partition([plan.originals[k] for k in loose], now)
    if not levels[2] and not levels[3]:
        return
    slot_of = {id(plan.originals[k]): k for k in loose}
    replacements = [
        (sorted(slot_of[id(m)] for m in members), summary)
        for members, summary in _old_groups(compressor, levels[2], levels[3])
    ]
    saved = sum(
        sum(plan.cost(plan.originals[k]) for k in slots) - plan.cost(summary)
        for slots, summary in replacements
    )
    if saved <= 0:
        return
    for slots, summary in replacements:
        for k in slots[:-1]:
            plan.put(k, [])
        plan.put(slots[-1], [summary])
        plan.made_by(summary, ACTION_HIERARCHICAL)


def _old_groups(
    compressor: HierarchicalMemoryCompressor, third: list[MemoryItem], fourth: list[MemoryItem]
) -> list[tuple[list[MemoryItem], MemoryItem]]:
    """The summary items of the level-3 (``third``) and level-4 (``fourth``) items, each with
    the items it stands for (never none).

    ``compress`` gives each group's members only as ids; here they are the objects: the
    scaffolding is compressed apart (its one group holds all of it), and the other level-3
    groups are found again as ``compress`` finds them (``group_similar_texts`` of the items in
    session order), each checked against the ids ``compress`` gave.
    """
    scaffolding = [item for item in third + fourth if is_scaffolding(item)]
    third = [item for item in third if not is_scaffolding(item)]
    fourth = [item for item in fourth if not is_scaffolding(item)]
    out: list[tuple[list[MemoryItem], MemoryItem]] = []
    if scaffolding:
        for group in compressor.compress(scaffolding).level3.groups:
            if group.summary:
                item = _summary_item(group.ids, group.summary, group.time_range, "level3")
                out.append((scaffolding, item))
    if not third and not fourth:
        return out
    bundle = compressor.compress(third + fourth)
    ordered = in_session_order(third)
    found = group_similar_texts(
        [item.content for item in ordered], compressor.max_distance, compressor.kernels
    )
    groups = bundle.level3.groups
    # (were it ever not the grouping compress made, no level-3 group would be replaced)
    if len(found) == len(groups) and all(
        [ordered[k].id for k in members] == group.ids
        for members, group in zip(found, groups, strict=True)
    ):
        for members, group in zip(found, groups, strict=True):
            if group.summary:
                item = _summary_item(group.ids, group.summary, group.time_range, "level3")
                out.append(([ordered[k] for k in members], item))
    oldest = bundle.level4
    if fourth and oldest.count and oldest.summary and oldest.time_range:
        ids = [item.id for item in fourth]
        out.append((fourth, _summary_item(ids, oldest.summary, oldest.time_range, "level4")))
    return out


def _evict(plan: _Plan, budget: int, now: datetime) -> None:
    """Drop the least valuable slots until the target is met, then fill the room an eviction
    left below ``AIM`` with the most valuable evicted items, whole or summarized."""
    candidates = [k for k, held in enumerate(plan.slots) if held and k not in plan.kept]

    def value(k: int) -> tuple[float, datetime, str]:
        item = plan.slots[k][0]
        return (item_value(item, now), item.created_at, item.id)

    gone: list[tuple[int, list[MemoryItem]]] = []
    for k in sorted(candidates, key=value):
        if plan.total <= TARGET * budget:
            break
        gone.append((k, plan.slots[k]))
        plan.evict(k)
    for k, held in reversed(gone):  # the most valuable first
        room = math.floor(AIM * budget) - plan.total
        cost = sum(plan.cost(item) for item in held)
        if cost <= room:
            plan.put(k, held)
            continue
        if room >= MIN_ROOM and len(held) == 1:
            shorter = _shortened(plan, held[0], room)
            if shorter is not None:
                plan.put(k, [shorter])
                plan.made_by(shorter, ACTION_COMPRESS, held[0])


def _shortened(plan: _Plan, item: MemoryItem, room: int) -> MemoryItem | None:
    """``item`` summarized into ``room`` tokens, or None if its summary does not fit."""
    if is_scaffolding(item):
        return None
    original = item.metadata.get("original_tokens")
    cost = plan.cost(item)
    summary = plan.state.summarizer.summarize(item.content, min(1.0, room / max(1, cost)))
    if not summary or plan.state.count(summary) > room:
        return None
    return _replaced(item, summary, original if isinstance(original, int) else cost)


def _replaced(item: MemoryItem, content: str, original_tokens: int) -> MemoryItem:
    metadata = dict(item.metadata)
    metadata.setdefault("original_tokens", original_tokens)
    metadata["summarized"] = True
    return MemoryItem(item.id, content, item.priority, item.created_at, metadata)


def _span(items: Sequence[MemoryItem]) -> tuple[datetime, datetime]:
    stamps = [item.created_at for item in items]
    return (min(stamps), max(stamps))


def _summary_item(
    ids: list[str],
    summary: str,
    time_range: tuple[datetime, datetime],
    level: str,
    priority: Priority = Priority.LOW,
) -> MemoryItem:
    return MemoryItem(
        id=f"summary:{level}:{ids[0]}",
        content=summary,
        priority=priority,
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
    "ACTION_DIGEST",
    "ACTION_EVICT",
    "ACTION_HIERARCHICAL",
    "SessionState",
    "handle_context_overflow",
    "item_value",
]
