"""Predict the next memory accesses of a session and load them before they are asked for.

:class:`PredictiveMemoryPrefetcher` keeps one access-pattern model per session (the ``patterns``
kernel: successor counts of the last one to ``window_size - 1`` accesses inside a sliding window,
blended by Witten-Bell interpolation, fresh after every access, bounded in memory; see
:mod:`memcore._pure.patterns`). Item ids are strings here, interned to ints for the kernel. On real
access sequences this beats the order-1 frequencies of the original design (see
``benchmarks/prefetch_quality.py``).

* ``record_access`` counts one access (``record_accesses`` a batch, through the kernel's batch
  ingest);
* ``predict_next_accesses`` returns ``(item_id, confidence)``, likeliest first: the confidence is
  the model's probability that the item is the very next access. Only items that were seen right
  after ``current_item`` can be predicted;
* ``prefetch_predicted_items`` loads every prediction above ``threshold`` through ``loader`` into
  a bounded LRU cache, concurrently; ``get`` serves from that cache and counts hits and misses.

A loader is an async callable ``(session_id, item_id) -> value``, or an object with a ``get(
session_id, item_id)`` method, sync or async (a :class:`~memcore.sync.DistributedMemoryManager`
qualifies). A bare :class:`~memcore.stores.base.Store` does not: it only reads whole snapshots,
which would cost more than the read being saved; wrap it in a manager. Prefetching is speculative,
so a failed load never propagates: it is logged, counted in ``load_errors`` and not cached, and the
caller's own read will go to the source. A loader that returns ``None`` (nothing there) caches
nothing either.
"""

from __future__ import annotations

import array
import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from memcore import _kernels
from memcore.errors import ValidationError
from memcore.stores.base import validate_session_id

log = logging.getLogger(__name__)

Loader = Callable[[str, str], Awaitable[Any]]


def _check_item(item_id: object) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ValidationError(f"item ids are non-empty strings (got {item_id!r})")
    return item_id


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be an int >= 1 (got {value!r})")
    return value


def _resolve_loader(loader: object) -> Callable[[str, str], Any] | None:
    """The call that reads one item, or ``ValidationError`` for something that cannot read."""
    if loader is None:
        return None
    getter = getattr(loader, "get", None)
    if getter is not None and callable(getter) and not inspect.isroutine(loader):
        return getter  # type: ignore[no-any-return]
    if callable(loader):
        return loader
    raise ValidationError(
        f"loader must be an async callable (session_id, item_id) -> value or an object with a "
        f"get(session_id, item_id) method (got {type(loader).__name__}); to read from a Store, "
        "wrap it in a DistributedMemoryManager"
    )


class _SessionModel:
    """One session's kernel counter and its string <-> int interning."""

    __slots__ = ("counter", "ids", "names")

    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def intern(self, item_id: str) -> int:
        number = self.ids.get(item_id)
        if number is None:
            number = self.ids[item_id] = len(self.names)
            self.names.append(item_id)
        return number


class PredictiveMemoryPrefetcher:
    """Per-session access-pattern prediction and a prefetch cache in front of a loader.

    ``window_size`` bounds the context (``max_order`` previous accesses, by default and at most
    ``window_size - 1``); ``cache_size`` bounds the prefetch cache (items, LRU);
    ``threshold``: only predictions with a confidence above it are prefetched. ``max_contexts``,
    ``max_successors`` and ``decay_at`` bound each session's model (see the kernel);
    ``max_items`` distinct item ids per session (past it the session's model starts afresh) and
    ``max_sessions`` models (least recently used dropped first) bound the rest.
    """

    def __init__(
        self,
        window_size: int = 5,
        loader: Loader | Any | None = None,
        cache_size: int = 256,
        threshold: float = 0.6,
        *,
        max_order: int | None = None,
        max_contexts: int = 8192,
        max_successors: int = 16,
        decay_at: int = 1024,
        max_items: int = 1 << 20,
        max_sessions: int = 1024,
        prefetch_n: int = 5,
    ) -> None:
        window_size = _check_positive("window_size", window_size)
        if window_size < 2:
            raise ValidationError("window_size must be at least 2 (a context and its successor)")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValidationError(f"threshold must be a number in [0, 1] (got {threshold!r})")
        if not 0.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold must be in [0, 1] (got {threshold!r})")
        self.window_size = window_size
        self.threshold = float(threshold)
        self.cache_size = _check_positive("cache_size", cache_size)
        self.max_items = _check_positive("max_items", max_items)
        self.max_sessions = _check_positive("max_sessions", max_sessions)
        self.prefetch_n = _check_positive("prefetch_n", prefetch_n)
        self._counter_args: dict[str, Any] = {
            "window_size": window_size,
            "max_order": None if max_order is None else _check_positive("max_order", max_order),
            "max_contexts": max_contexts,
            "max_successors": max_successors,
            "decay_at": decay_at,
        }
        self._new_counter()  # validates the kernel parameters now, not at the first access
        self._load = _resolve_loader(loader)
        self.loader = loader
        self._sessions: OrderedDict[str, _SessionModel] = OrderedDict()
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.load_errors = 0

    # --- the models ------------------------------------------------------------------------
    def _new_counter(self) -> Any:
        return _kernels.patterns.PatternCounter(**self._counter_args)

    def _model(self, session_id: str) -> _SessionModel:
        """The session's model for a write: created (evicting the least recent) if new."""
        model = self._sessions.get(session_id)
        if model is not None:
            self._sessions.move_to_end(session_id)
            return model
        if len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
        model = self._sessions[session_id] = _SessionModel(self._new_counter())
        return model

    def _fresh_model(self, session_id: str) -> _SessionModel:
        # Interned ids are never reused while the counter may still name them, so past
        # ``max_items`` the one bounded way out is a fresh model (predictions restart cold).
        log.info(
            "prefetch: session %s passed %d distinct items; model reset", session_id, self.max_items
        )
        model = self._sessions[session_id] = _SessionModel(self._new_counter())
        return model

    def record_access(self, session_id: str, item_id: str) -> None:
        """Count one access of ``item_id`` in ``session_id`` (the model is updated at once)."""
        validate_session_id(session_id)
        _check_item(item_id)
        model = self._model(session_id)
        number = model.ids.get(item_id)
        if number is None:
            if len(model.names) >= self.max_items:
                model = self._fresh_model(session_id)
            number = model.intern(item_id)
        model.counter.record(number)

    def record_accesses(self, session_id: str, item_ids: Iterable[str]) -> None:
        """Count a batch of accesses in order, as ``record_access`` one by one would."""
        validate_session_id(session_id)
        if isinstance(item_ids, str):
            raise ValidationError("record_accesses takes an iterable of item ids, not one string")
        try:
            checked = [_check_item(item_id) for item_id in item_ids]
        except TypeError as exc:
            raise ValidationError("record_accesses takes an iterable of item ids") from exc
        model = self._model(session_id)
        numbers: list[int] = []
        for item_id in checked:
            if item_id not in model.ids and len(model.names) >= self.max_items:
                model.counter.record_many(array.array("q", numbers))
                model = self._fresh_model(session_id)
                numbers = []
            numbers.append(model.intern(item_id))
        model.counter.record_many(array.array("q", numbers))

    def predict_next_accesses(
        self, session_id: str, current_item: str, n: int = 5
    ) -> list[tuple[str, float]]:
        """Up to ``n`` ``(item_id, confidence)`` likeliest to follow ``current_item``.

        Confidences are probabilities in [0, 1], highest first (ties: the item seen first in the
        session first). The accesses before ``current_item`` in the window are its context when
        it is the latest one recorded; otherwise ``current_item`` alone is. Unknown sessions or
        items give ``[]``.
        """
        validate_session_id(session_id)
        _check_item(current_item)
        _check_positive("n", n)
        model = self._sessions.get(session_id)
        if model is None:
            return []
        number = model.ids.get(current_item)
        if number is None:
            return []
        names = model.names
        return [(names[item], confidence) for item, confidence in model.counter.predict(number, n)]

    def export_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        """``{item: {next item: count}}``: the session's kept order-1 successor counts."""
        validate_session_id(session_id)
        model = self._sessions.get(session_id)
        if model is None:
            return {}
        names = model.names
        counts: dict[str, dict[str, int]] = {}
        for context, _total, successors in model.counter.state():
            if len(context) == 1:
                counts[names[context[0]]] = {names[i]: count for i, count, _ in successors}
        return counts

    def sessions(self) -> list[str]:
        """The sessions with a model, least recently used first."""
        return list(self._sessions)

    def forget_session(self, session_id: str) -> None:
        """Drop one session's model and its cached items."""
        validate_session_id(session_id)
        self._sessions.pop(session_id, None)
        self.invalidate(session_id)

    # --- prefetching -----------------------------------------------------------------------
    async def _read(self, session_id: str, item_id: str) -> Any:
        assert self._load is not None
        value = self._load(session_id, item_id)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def prefetch_predicted_items(self, session_id: str, current_item: str) -> int:
        """Load the predictions above ``threshold`` that are not cached yet; return how many.

        Loads run concurrently. A failing load is logged and counted (``load_errors``), not
        cached and not raised: prefetching is a guess and must not break the caller.
        """
        if self._load is None:
            raise ValidationError("this prefetcher has no loader to prefetch with")
        predictions = self.predict_next_accesses(session_id, current_item, self.prefetch_n)
        wanted: list[str] = []
        for item_id, confidence in predictions:
            if confidence <= self.threshold:
                break  # sorted: the rest are lower
            key = (session_id, item_id)
            if key in self._cache:
                self._cache.move_to_end(key)
            else:
                wanted.append(item_id)
        if not wanted:
            return 0
        results = await asyncio.gather(
            *(self._read(session_id, item_id) for item_id in wanted), return_exceptions=True
        )
        loaded = 0
        for item_id, result in zip(wanted, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation, KeyboardInterrupt: not ours to swallow
                self.load_errors += 1
                log.warning("prefetch of %r in session %s failed: %r", item_id, session_id, result)
                continue
            if result is None:
                continue
            self._put((session_id, item_id), result)
            loaded += 1
        return loaded

    def _put(self, key: tuple[str, str], value: Any) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def get(self, session_id: str, item_id: str) -> Any | None:
        """The prefetched value of ``item_id`` (a hit), or None when it was not prefetched (a
        miss; read it from the source then)."""
        validate_session_id(session_id)
        _check_item(item_id)
        key = (session_id, item_id)
        if key in self._cache:
            self.hits += 1
            self._cache.move_to_end(key)
            return self._cache[key]
        self.misses += 1
        return None

    def invalidate(self, session_id: str, item_id: str | None = None) -> None:
        """Drop cached values of a session (or one item of it), e.g. after a write."""
        validate_session_id(session_id)
        if item_id is not None:
            self._cache.pop((session_id, _check_item(item_id)), None)
            return
        for key in [key for key in self._cache if key[0] == session_id]:
            del self._cache[key]

    @property
    def cached_count(self) -> int:
        return len(self._cache)

    @property
    def hit_rate(self) -> float:
        """Hits over lookups through ``get`` (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


__all__ = ["Loader", "PredictiveMemoryPrefetcher"]
