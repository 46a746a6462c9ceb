"""Sliding-window access-pattern counting and next-item prediction (pure-Python twin).

``memcore._native.patterns`` keeps the same state and returns the same numbers, bit for bit; this
module is the reference and is what runs when the compiled kernels are not in use. Item ids are
ints (the prefetcher interns its string ids); the kernel never sees strings.

The model (one :class:`PatternCounter` per session):

* **contexts**: after each access ``x`` the last ``k`` accesses before it (``k = 1 ..
  max_order``, all inside the window of ``window_size`` accesses) form a context, and ``x`` is
  counted as that context's successor. One access is ``max_order`` counter updates, so O(window)
  per access; history is never rescanned and counts are fresh after every access.
* **bounded memory**: at most ``max_contexts`` contexts, evicted least recently updated first;
  at most ``max_successors`` successors per context, the one with the smallest count (then the
  oldest update) replaced by a newcomer; a context whose total reaches ``decay_at`` halves its
  total and every count (floor), dropping zeros, so old habits fade. Every rule is a pure function
  of the access stream, so both twins hold identical state.
* **prediction** (Witten-Bell interpolation, as in PPM-style text models): with ``c(x)`` the count
  of ``x`` after a context, ``t`` the context's total and ``d`` its number of distinct successors,
  ``P1(x) = c1(x) / t1`` for the order-1 context (the current item alone) and ``Pk(x) = (ck(x) +
  dk * Pk-1(x)) / (tk + dk)`` for each longer context the recorded history supplies (only when the
  current item is the last one recorded). ``Pk`` is an honest probability estimate in [0, 1]; the
  counts of evicted successors stay in ``t``, so probabilities sum to at most 1. Only items seen
  right after the current item (in some context ending with it) can be predicted.
* **recency**: the last ``recency`` distinct items, most recent first (``recent()``), kept in
  O(recency) per access, and how often an access was the item at each recency rank
  (``rank_hits()``); the prefetcher blends them with the context model (an agent often goes back
  to what it just touched, which no successor count has seen yet; a program trace rarely does).

:class:`SessionTable` is the prefetcher's per-call path: one ``record(session_id, item_id)`` finds
(or creates) the session's counter, interns the string id and counts it. A session id is checked
once, when its session is created; an item id is known valid once interned.

**Threads**: the compiled twin's calls are atomic under the GIL, so these are too: each public
method of a counter holds the counter's lock, each of a table its own lock (then the counter's, to
count). Without them, threads recording into one table lost accesses, corrupted its tables and
raised from inside them.
"""

from __future__ import annotations

import logging
import operator
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from memcore.errors import ValidationError
from memcore.model import plain_str
from memcore.stores.base import validate_session_id

log = logging.getLogger("memcore.prefetch")

#: Hard bounds on the parameters (the compiled twin sizes fixed arrays by ``MAX_ORDER``).
MAX_ORDER = 8
MAX_WINDOW = 64
MAX_SUCCESSORS = 1024
MAX_CONTEXTS = 1 << 24
MAX_RECENCY = 32

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

#: One context's state as ``state()`` reports it: (context ids oldest first, total,
#: [(successor id, count, last-update stamp), ...] sorted by id).
ContextState = tuple[tuple[int, ...], int, list[tuple[int, int, int]]]


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be an int in [{low}, {high}] (got {value!r})")
    return value


def as_item_id(value: object) -> int:
    """``value`` as a 64-bit signed item id, or ``ValidationError``."""
    if isinstance(value, bool):
        raise ValidationError(f"item ids are 64-bit ints, not bool ({value!r})")
    try:
        item = operator.index(value)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValidationError(f"item ids are 64-bit ints (got {type(value).__name__})") from exc
    if not _INT64_MIN <= item <= _INT64_MAX:
        raise ValidationError(f"item id {item} does not fit in 64 bits")
    return item


class _Context:
    __slots__ = ("successors", "total")

    def __init__(self) -> None:
        self.total = 0
        # id -> [count, stamp]; the order of this dict never influences any result.
        self.successors: dict[int, list[int]] = {}


class PatternCounter:
    """Per-session successor counts over the last ``window_size`` accesses; see the module doc.

    ``max_order`` defaults to ``window_size - 1`` (at most ``MAX_ORDER``): the accesses before
    the current one that share its window are its context.
    """

    def __init__(
        self,
        window_size: int = 5,
        max_order: int | None = None,
        max_contexts: int = 65536,
        max_successors: int = 16,
        decay_at: int = 1024,
        recency: int = 8,
    ) -> None:
        # Every parameter is checked before any is set: ``__init__`` called again with a bad one
        # leaves the counter as it was (the compiled twin's arrays are sized by them).
        window = _check_int("window_size", window_size, 2, MAX_WINDOW)
        recency = _check_int("recency", recency, 0, MAX_RECENCY)
        if max_order is None:  # the whole window is the context
            max_order = min(MAX_ORDER, window - 1)
        order = _check_int("max_order", max_order, 1, min(MAX_ORDER, window - 1))
        contexts = _check_int("max_contexts", max_contexts, 1, MAX_CONTEXTS)
        successors = _check_int("max_successors", max_successors, 1, MAX_SUCCESSORS)
        decay = _check_int("decay_at", decay_at, 2, _INT64_MAX)
        # (``__init__`` again keeps the lock: a thread inside a method holds that one)
        self._lock: threading.Lock = getattr(self, "_lock", None) or threading.Lock()
        with self._lock:
            self._window = window
            self._recency = recency
            self._recent: list[int] = []  # the last ``recency`` distinct items, oldest first
            self._rank_hits = [0] * recency  # accesses that were the r-th most recent item
            self._order = order
            self._max_contexts = contexts
            self._max_successors = successors
            self._decay_at = decay
            self._contexts: OrderedDict[tuple[int, ...], _Context] = OrderedDict()
            self._history: list[int] = []  # the last max_order accesses, oldest first
            self._tick = 0

    # --- parameters and size -------------------------------------------------------------
    @property
    def window_size(self) -> int:
        return self._window

    @property
    def max_order(self) -> int:
        return self._order

    @property
    def max_contexts(self) -> int:
        return self._max_contexts

    @property
    def max_successors(self) -> int:
        return self._max_successors

    @property
    def decay_at(self) -> int:
        return self._decay_at

    @property
    def recency(self) -> int:
        return self._recency

    @property
    def accesses(self) -> int:
        """How many accesses were recorded (also the stamp of the latest one)."""
        return self._tick

    @property
    def context_count(self) -> int:
        return len(self._contexts)

    def last(self) -> int | None:
        """The most recently recorded item, or None before the first access."""
        with self._lock:
            return self._history[-1] if self._history else None

    def recent(self) -> list[int]:
        """The last ``recency`` distinct items recorded, most recent first."""
        with self._lock:  # (an access moves an item: without it, one could be seen missing)
            return self._recent[::-1]

    def rank_hits(self) -> list[int]:
        """Per recency rank ``r`` (0: the latest item), how many accesses were the item then at
        rank ``r`` of ``recent()``: what recency has been worth in this stream so far."""
        with self._lock:
            return list(self._rank_hits)

    # --- counting ------------------------------------------------------------------------
    def record(self, item: int) -> None:
        """Count one access: O(max_order) updates."""
        item = as_item_id(item)
        with self._lock:
            self._record(item)

    def record_many(self, items: Iterable[Any]) -> None:
        """Count accesses in order, exactly as many ``record`` calls would.

        Every id is checked before any is counted, so a bad batch changes nothing.
        """
        if isinstance(items, (str, bytes, bytearray)):
            raise ValidationError("record_many takes a sequence of int ids, not a string")
        tolist = getattr(items, "tolist", None)  # numpy arrays, array.array: plain ints at once
        if callable(tolist):
            items = tolist()
        try:
            ids = [as_item_id(value) for value in items]
        except TypeError as exc:
            raise ValidationError("record_many takes an iterable of int ids") from exc
        with self._lock:  # (one batch, uninterleaved: as the compiled twin counts it)
            for item in ids:
                self._record(item)

    def break_sequence(self) -> None:
        """End the current sequence: the next access follows nothing (``last()`` is None until
        then). Counts, contexts and recent items stay; for sequences that are not one stream,
        such as the accesses of separate earlier sessions."""
        with self._lock:
            self._history.clear()

    def _record(self, item: int) -> None:
        """``record`` on a checked id, the caller holding ``_lock``."""
        self._tick += 1
        history = self._history
        size = len(history)
        for k in range(1, min(self._order, size) + 1):
            self._update(tuple(history[size - k :]), item)
        history.append(item)
        if len(history) > self._order:
            del history[0]
        if self._recency:
            recent = self._recent
            if item in recent:
                self._rank_hits[len(recent) - 1 - recent.index(item)] += 1
                recent.remove(item)
            elif len(recent) >= self._recency:
                del recent[0]
            recent.append(item)

    def _update(self, key: tuple[int, ...], item: int) -> None:
        contexts = self._contexts
        context = contexts.get(key)
        if context is None:
            if len(contexts) >= self._max_contexts:
                contexts.popitem(last=False)
            context = contexts[key] = _Context()
        else:
            contexts.move_to_end(key)
        successors = context.successors
        entry = successors.get(item)
        if entry is not None:
            entry[0] += 1
            entry[1] = self._tick
        else:
            if len(successors) >= self._max_successors:
                victim = min(successors.items(), key=lambda kv: (kv[1][0], kv[1][1]))[0]
                del successors[victim]
            successors[item] = [1, self._tick]
        context.total += 1
        if context.total >= self._decay_at:
            context.total //= 2
            for key_id in list(successors):
                entry = successors[key_id]
                entry[0] //= 2
                if entry[0] == 0:
                    del successors[key_id]

    # --- prediction ----------------------------------------------------------------------
    def _chain(self, current: int) -> tuple[_Context | None, list[_Context]]:
        """The order-1 context of ``current`` and the longer recorded ones, shortest first."""
        first = self._contexts.get((current,))
        longer: list[_Context] = []
        history = self._history
        if history and history[-1] == current:
            for k in range(2, min(self._order, len(history)) + 1):
                context = self._contexts.get(tuple(history[len(history) - k :]))
                if context is not None:
                    longer.append(context)
        return first, longer

    def predict(self, current: int, n: int = 5) -> list[tuple[int, float]]:
        """The ``n`` likeliest items to follow ``current`` as ``(id, probability)``, likeliest
        first, lower id first on ties.

        Longer contexts are used only when ``current`` is the last recorded access: otherwise the
        recorded history is not what preceded ``current``.
        """
        current = as_item_id(current)
        n = _check_int("n", n, 1, _INT64_MAX)
        with self._lock:
            return self._predict(current, n)

    def _predict(self, current: int, n: int) -> list[tuple[int, float]]:
        first, longer = self._chain(current)
        candidates: dict[int, None] = {}
        if first is not None:
            candidates.update(dict.fromkeys(first.successors))
        for context in longer:
            candidates.update(dict.fromkeys(context.successors))
        scored: list[tuple[int, float]] = []
        for item in candidates:
            p = 0.0
            if first is not None:
                entry = first.successors.get(item)
                if entry is not None:
                    p = float(entry[0]) / float(first.total)
            for context in longer:
                entry = context.successors.get(item)
                count = entry[0] if entry is not None else 0
                distinct = len(context.successors)
                p = (float(count) + float(distinct) * p) / float(context.total + distinct)
            if p > 0.0:
                scored.append((item, p))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:n]

    def total(self, context: Iterable[int]) -> int:
        """How many accesses followed one context (ids oldest first; decayed), 0 if unknown."""
        key = tuple(as_item_id(value) for value in context)
        with self._lock:
            found = self._contexts.get(key)
            return 0 if found is None else found.total

    def successors(self, context: Iterable[int]) -> dict[int, int]:
        """The kept successor counts of one context (ids oldest first), empty if unknown."""
        key = tuple(as_item_id(value) for value in context)
        with self._lock:
            found = self._contexts.get(key)
            if found is None:
                return {}
            return {item: entry[0] for item, entry in sorted(found.successors.items())}

    def state(self) -> list[ContextState]:
        """Every context, least recently updated first, for comparisons and export."""
        with self._lock:
            return [
                (
                    key,
                    context.total,
                    [(i, e[0], e[1]) for i, e in sorted(context.successors.items())],
                )
                for key, context in self._contexts.items()
            ]


def _check_item(item_id: object) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ValidationError(f"item ids are non-empty strings (got {item_id!r})")
    return _plain(item_id)


#: An id as its text: a subclass's own ``__hash__`` or ``__eq__`` interned it apart from that
#: text, where no later lookup by the text found it (the compiled twin's per-access path takes
#: exact ``str`` only, and calls this for the rest).
_plain = plain_str


class SessionModel:
    """One session's counter and its string <-> int interning.

    ``counter``, ``ids`` and ``names`` are read-only (their contents are not): the compiled
    twin's per-access path uses them unchecked, so neither twin lets them be replaced.
    """

    __slots__ = ("_counter", "_ids", "_names", "used")

    def __init__(self, counter: PatternCounter) -> None:
        if not isinstance(counter, PatternCounter):
            raise TypeError(
                f"Argument 'counter' has incorrect type (expected PatternCounter, "
                f"got {type(counter).__name__})"
            )
        self._counter = counter
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self.used = 0  # the table's clock at this session's latest use (least recent evicted)

    @property
    def counter(self) -> PatternCounter:
        return self._counter

    @property
    def ids(self) -> dict[str, int]:
        return self._ids

    @property
    def names(self) -> list[str]:
        return self._names

    def intern(self, item_id: str) -> int:
        with self._counter._lock:  # (the counter's: the table interns and counts under it)
            return self._intern(item_id)

    def _intern(self, item_id: str) -> int:
        number = self._ids.get(item_id)
        if number is None:  # (named first, then numbered: a reader that finds the number
            number = len(self._names)  # finds its name)
            self._names.append(item_id)
            self._ids[item_id] = number
        return number


class SessionTable:
    """Session id -> :class:`SessionModel`, bounded: ``max_sessions`` models (least recently used
    dropped first), ``max_items`` distinct item ids each (past it a session starts afresh).

    ``counter_args`` are :class:`PatternCounter`'s keyword arguments, checked here once.
    """

    def __init__(
        self, counter_args: dict[str, Any], max_items: int = 1 << 20, max_sessions: int = 1024
    ) -> None:
        args = dict(counter_args)
        PatternCounter(**args)  # bad parameters fail now, not at the first access
        items = _check_int("max_items", max_items, 1, _INT64_MAX)
        sessions = _check_int("max_sessions", max_sessions, 1, _INT64_MAX)
        # (all checked before any is set: a bad call again changes nothing)
        self._lock: threading.Lock = getattr(self, "_lock", None) or threading.Lock()
        with self._lock:
            self._args = args
            self.max_items = items
            self.max_sessions = sessions
            self._sessions: dict[str, SessionModel] = {}
            self._clock = 0

    def _new(self, session_id: str) -> SessionModel:
        validate_session_id(session_id)
        return self._insert(session_id)

    def _insert(self, session_id: str) -> SessionModel:
        """A fresh model for ``session_id`` (checked), evicting the least recent if full."""
        if len(self._sessions) >= self.max_sessions:
            oldest = min(self._sessions.items(), key=lambda kv: kv[1].used)[0]
            del self._sessions[oldest]
        model = self._sessions[session_id] = SessionModel(PatternCounter(**self._args))
        return model

    def _reset(self, session_id: str) -> SessionModel:
        # Interned ids are never reused while the counter may still name them, so past
        # ``max_items`` the one bounded way out is a fresh model (predictions restart cold).
        # (Logged by the caller once the access is counted, as the compiled twin must: logging
        # runs Python code, where it could switch threads halfway through the table.)
        del self._sessions[session_id]
        return self._insert(session_id)

    def _log_reset(self, session_id: str) -> None:
        log.info(
            "prefetch: session %s passed %d distinct items; model reset", session_id, self.max_items
        )

    def model(self, session_id: str) -> SessionModel:
        """The session's model for a write: created (evicting the least recent) if new."""
        with self._lock:
            return self._model(_plain(session_id))

    def _model(self, session_id: str) -> SessionModel:
        model = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if model is None:
            model = self._new(session_id)
        self._clock += 1
        model.used = self._clock
        return model

    def record(self, session_id: str, item_id: str) -> None:
        """Count one access of ``item_id`` in ``session_id``; a rejected call changes nothing."""
        session_id = _plain(session_id)
        with self._lock:
            model = self._sessions.get(session_id) if isinstance(session_id, str) else None
            if model is not None and type(item_id) is str:
                number = model.ids.get(item_id)
                if number is not None:  # the common call: a known session and a known item
                    self._clock += 1
                    model.used = self._clock
                    counter = model.counter
                    with counter._lock:
                        counter._record(number)
                    return
            item_id = _check_item(item_id)
            model = self._model(session_id)
            counted = self._count(model, session_id, item_id)
        if counted is not model:
            self._log_reset(session_id)

    def _count(self, model: SessionModel, session_id: str, item_id: str) -> SessionModel:
        """Intern (resetting a session past ``max_items``) and count; the model now in use (a
        new one after a reset). The caller holds ``_lock``."""
        if item_id not in model.ids and len(model.names) >= self.max_items:
            model = self._reset(session_id)
            model.used = self._clock
        counter = model.counter
        with counter._lock:
            counter._record(model._intern(item_id))
        return model

    def record_many(self, session_id: str, item_ids: Iterable[str]) -> None:
        """Count a batch in order, as ``record`` one by one would; a bad batch changes nothing."""
        if isinstance(item_ids, str):
            raise ValidationError("record_many takes an iterable of item ids, not one string")
        try:
            checked = [_check_item(item_id) for item_id in item_ids]
        except TypeError as exc:
            raise ValidationError("record_many takes an iterable of item ids") from exc
        session_id = _plain(session_id)
        resets = 0
        with self._lock:
            model = self._model(session_id)
            for item_id in checked:
                counted = self._count(model, session_id, item_id)
                resets += counted is not model
                model = counted
        for _ in range(resets):
            self._log_reset(session_id)

    def get(self, session_id: str) -> SessionModel | None:
        """The session's model, or None (a read: the session's place in the LRU order stays)."""
        with self._lock:
            return self._sessions.get(_plain(session_id))

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(_plain(session_id), None)

    def sessions(self) -> list[str]:
        """The sessions with a model, least recently used first."""
        with self._lock:
            return [name for name, _ in sorted(self._sessions.items(), key=lambda kv: kv[1].used)]

    def __len__(self) -> int:
        return len(self._sessions)


__all__ = [
    "MAX_CONTEXTS",
    "MAX_ORDER",
    "MAX_RECENCY",
    "MAX_SUCCESSORS",
    "MAX_WINDOW",
    "ContextState",
    "PatternCounter",
    "SessionModel",
    "SessionTable",
    "as_item_id",
]
