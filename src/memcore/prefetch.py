"""Predict the next memory accesses of a session and load them before they are asked for.

:class:`PredictiveMemoryPrefetcher` keeps one access-pattern model per session (the ``patterns``
kernel's :class:`~memcore._pure.patterns.SessionTable`: per session, successor counts of the last
one to ``window_size - 1`` accesses inside a sliding window, blended by Witten-Bell interpolation,
and the last few distinct items; fresh after every access, bounded in memory). Item ids are
strings here, interned to ints by the kernel in the same native call that counts them.

* ``record_access`` counts one access (``record_accesses`` a batch); ``warm_start`` teaches a
  session what earlier sessions of the same project did;
* ``predict_next_accesses`` returns ``(item_id, confidence)``, likeliest first. The score mixes
  the context model (weight ``t / (t + CONTEXT_WEIGHT)``, ``t`` the accesses seen after the
  current item) with recency (the rest, times how often this session's next access has been the
  item at that recency rank, starting from :data:`RECENCY_PRIOR`): on agent sessions the next
  access is the current item again about a fifth of the time, often before any count has seen
  it; in a program trace it rarely is, and the session's own rates learn that. Items that name
  their kind (``file:...``, ``cmd:...``) take their recency share by kind instead
  (:mod:`memcore.prefetch_kinds`: after an edit, the last command, not an older file). The
  confidence is that score **calibrated**: mapped through the measured hit rate of scores like
  it on real Claude Code sessions (:data:`CALIBRATION`, fitted by
  ``benchmarks/prefetch_quality.py --fit``: :mod:`memcore.prefetch_calibration`), so a
  confidence of 0.6 means right about 60 % of the time on such sessions (on other streams, fit
  your own with :func:`fit_calibration` and pass it as ``calibration``), then corrected by how
  the session's own top predictions have fared so far (:mod:`memcore.prefetch_outcomes`: a
  session harder than the table's mix is told less confidence as it goes);
* ``prefetch_predicted_items`` loads every prediction above ``threshold`` through ``loader`` into
  a bounded LRU cache, concurrently; ``get`` serves from that cache and counts hits and misses;
  ``invalidate`` drops cached values (a session's, or one item's).

A loader is an async callable ``(session_id, item_id) -> value``, or an object with a ``get(
session_id, item_id)`` method, sync or async (a :class:`~memcore.sync.DistributedMemoryManager`
qualifies), or a :class:`~memcore.stores.base.Store` (:mod:`memcore.prefetch_loaders`). A store
is read through a replica of its own, one delta sync per prefetch, which re-checks every
prediction above the threshold, cached or not: a cached value another replica updated is
replaced and one it deleted is evicted. Other loaders cannot say what changed: a cached value is
kept until the LRU evicts it or ``invalidate`` drops it, so ``invalidate`` what you write through
another path. ``get`` itself never reads the source: it serves what the last prefetch saw.

Threads may share a prefetcher: a kernel call is atomic (the compiled one under the GIL, the
pure twin under its table's and counter's locks), and the session's record of outcomes and the
cache each hold a lock of their own, so concurrent ``record_access``, ``predict_next_accesses``,
``get`` and ``invalidate`` neither raise nor lose a count. The compiled per-access path takes no
lock.

Prefetching is speculative, so a failed load never propagates: it is logged, counted in
``load_errors`` and not cached (a cached value whose re-check failed stays as it was), and the
caller's own read will go to the source. A loader that returns ``None`` (nothing there) caches
nothing either.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from memcore import _kernels, prefetch_kinds
from memcore.errors import ValidationError
from memcore.model import plain_str
from memcore.prefetch_calibration import CALIBRATION as CALIBRATION
from memcore.prefetch_calibration import Calibration as Calibration
from memcore.prefetch_calibration import calibrate as calibrate
from memcore.prefetch_calibration import (
    calibrated,
    check_calibration,
    check_positive,
)
from memcore.prefetch_calibration import fit_calibration as fit_calibration
from memcore.prefetch_kinds import KindPrior, check_kind_prior, kind_shares
from memcore.prefetch_loaders import Loader, StoreReader, resolve_loader
from memcore.prefetch_outcomes import SessionOutcomes
from memcore.stores.base import validate_session_id

log = logging.getLogger(__name__)


def _check_item(item_id: object) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ValidationError(f"item ids are non-empty strings (got {item_id!r})")
    return plain_str(item_id)


def _session(session_id: object) -> str:
    return plain_str(validate_session_id(session_id))


#: Context-model weight: ``t / (t + CONTEXT_WEIGHT)`` for ``t`` accesses seen after the current
#: item; the rest goes to recency. Tuned online on real Claude Code sessions and on the program
#: traces of ``benchmarks/prefetch_quality.py``: 4 is best on the import traces and a point
#: lower on Claude Code, 16 the reverse; 8 is within a point of the best on both.
CONTEXT_WEIGHT = 8.0
#: How likely the next access is the item at each recency rank (0: the current item again), as
#: measured on real Claude Code sessions: the prior of each session's own rate (``rank_hits``),
#: worth ``RECENCY_PRIOR_WEIGHT`` accesses. Ranks past the table take its last value.
RECENCY_PRIOR = (0.205, 0.045, 0.032, 0.022, 0.011, 0.009, 0.011, 0.007)
RECENCY_PRIOR_WEIGHT = 20.0


def _scaled(confidence: float, factor: float) -> float:
    """``confidence`` with its odds multiplied by ``factor``: a low one moves by about that
    factor, a high one less, and none past 1."""
    if confidence >= 1.0 or factor == 1.0:
        return confidence
    odds = confidence / (1.0 - confidence) * factor
    return odds / (1.0 + odds)


class PredictiveMemoryPrefetcher:
    """Per-session access-pattern prediction and a prefetch cache in front of a loader.

    ``window_size`` bounds the context (``max_order`` previous accesses, by default and at most
    ``window_size - 1``); ``cache_size`` bounds the prefetch cache (items, LRU);
    ``threshold``: only predictions with a confidence above it are prefetched. ``max_contexts``,
    ``max_successors`` and ``decay_at`` bound each session's model (see the kernel);
    ``max_items`` distinct item ids per session (past it the session's model starts afresh) and
    ``max_sessions`` models (least recently used dropped first) bound the rest. ``calibration``
    replaces :data:`CALIBRATION` (e.g. a table from :func:`fit_calibration` on your own sessions),
    ``kind_prior`` :data:`~memcore.prefetch_kinds.KIND_PRIOR` (``{}``: plain recency only).
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
        calibration: Calibration | None = None,
        kind_prior: KindPrior | None = None,
    ) -> None:
        widest = _kernels.patterns.MAX_WINDOW  # (the kernel's bound; 2: a context and its next)
        if (
            isinstance(window_size, bool)
            or not isinstance(window_size, int)
            or not 2 <= window_size <= widest
        ):  # one message for every bad value (it was three, two of them silent on the range)
            raise ValidationError(
                f"window_size must be an int in [2, {widest}] (got {window_size!r})"
            )
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValidationError(f"threshold must be a number in [0, 1] (got {threshold!r})")
        if not 0.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold must be in [0, 1] (got {threshold!r})")
        self.window_size = window_size
        self.threshold = float(threshold)
        self.cache_size = check_positive("cache_size", cache_size)
        self.max_items = check_positive("max_items", max_items)
        self.max_sessions = check_positive("max_sessions", max_sessions)
        self.prefetch_n = check_positive("prefetch_n", prefetch_n)
        self.calibration = calibration  # (checked: see the property)
        self.kind_prior = (
            prefetch_kinds.KIND_PRIOR if kind_prior is None else check_kind_prior(kind_prior)
        )
        self._counter_args: dict[str, Any] = {
            "window_size": window_size,
            "max_order": None if max_order is None else check_positive("max_order", max_order),
            "max_contexts": max_contexts,
            "max_successors": max_successors,
            "decay_at": decay_at,
        }
        # The session table checks the kernel parameters now, not at the first access.
        self._table = _kernels.patterns.SessionTable(
            self._counter_args, max_items=self.max_items, max_sessions=self.max_sessions
        )
        # The per-call path: one native call (session lookup, interning, counting).
        self.record_access = self._table.record  # type: ignore[method-assign]
        load = resolve_loader(loader)
        # a store's reader can say what changed: prefetches re-check cached predictions with it
        self._reader = load if isinstance(load, StoreReader) else None
        self._load = load.get if isinstance(load, StoreReader) else load
        self.loader = loader
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        # held around every use of the cache and its counts (get and invalidate may come from
        # threads; a prefetch's loop holds it only between its awaits)
        self._cache_lock = threading.RLock()  # (a value's __eq__ may read the cache)
        self.hits = 0
        self.misses = 0
        self.load_errors = 0
        self._outcomes = SessionOutcomes()

    # --- the models ------------------------------------------------------------------------
    def record_access(self, session_id: str, item_id: str) -> None:  # replaced per instance
        """Count one access of ``item_id`` in ``session_id`` (the model is updated at once).

        Bound to the session table's native ``record`` in ``__init__``; bad arguments raise
        ``ValidationError`` and change nothing.
        """
        self._table.record(session_id, item_id)

    def record_accesses(self, session_id: str, item_ids: Iterable[str]) -> None:
        """Count a batch of accesses in order, as ``record_access`` one by one would."""
        self._table.record_many(session_id, item_ids)

    def warm_start(self, session_id: str, earlier_sessions: Iterable[Iterable[str]]) -> int:
        """Teach ``session_id`` the accesses of earlier sessions (of the same project), oldest
        first, before or between its own; return how many accesses were learned. Each is
        learned as a stream of its own: no access is counted as following another sequence's.

        A new session otherwise starts cold: nothing to predict from until it repeats itself.
        The Claude Code integration knows each session's project, so it can pass the access
        sequences of that project's earlier transcripts.
        """
        message = "warm_start takes an iterable of access sequences (lists of item ids)"
        if isinstance(earlier_sessions, str):
            raise ValidationError(message)
        learned = 0
        sequences: list[list[str]] = []
        try:
            for sequence in earlier_sessions:
                if isinstance(sequence, str):
                    raise ValidationError(message)
                sequences.append([_check_item(item_id) for item_id in sequence])
        except TypeError as exc:
            raise ValidationError(message) from exc
        session_id = _session(session_id)
        table = self._table
        for sequence in sequences:  # all checked first: a bad call learns nothing
            # each earlier session is a stream of its own: none follows another's last access,
            # nor this session's (whose next access then follows nothing learned here either);
            # (the model is looked up each time: one past ``max_items`` is replaced)
            table.model(session_id).counter.break_sequence()
            table.record_many(session_id, sequence)
            learned += len(sequence)
        if sequences:
            table.model(session_id).counter.break_sequence()
        return learned

    @property
    def calibration(self) -> Calibration:
        """The table confidences are read from (set to None: the default, ``CALIBRATION``)."""
        return self._calibration

    @calibration.setter
    def calibration(self, table: object) -> None:
        self._calibration = CALIBRATION if table is None else check_calibration(table)

    def predict_next_accesses(
        self, session_id: str, current_item: str, n: int = 5
    ) -> list[tuple[str, float]]:
        """Up to ``n`` ``(item_id, confidence)`` likeliest to follow ``current_item``.

        Confidences are calibrated probabilities in [0, 1] (see the module doc), corrected by
        how the session's own earlier top predictions fared (``memcore.prefetch_outcomes``),
        highest first (ties: the item interned first). The accesses before ``current_item`` in
        the window are its context when it is the latest one recorded; otherwise
        ``current_item`` alone is.
        Unknown sessions or items give ``[]``.
        """
        session_id, current_item = _session(session_id), _check_item(current_item)
        model = self._model_for(session_id, current_item, n)
        if model is None:
            self._outcomes.forget(session_id)
            return []
        counter = model.counter
        # Another thread may record between these reads: the session's own record (below) is
        # kept only when none did, so a prediction is never settled against another access
        # than the one after the state it was made on.
        accesses = counter.accesses
        last = counter.last()
        scored = self._scores(model, current_item, n)
        table = self.calibration
        stated = [(item, calibrated(score, table)) for item, score in scored]
        if counter.accesses != accesses:
            factor = self._outcomes.current(session_id)
            return [(item, _scaled(confidence, factor)) for item, confidence in stated]
        latest = None if last is None else model.names[last]
        # (the session's own record of its top predictions: ``memcore.prefetch_outcomes``)
        factor = self._outcomes.factor(session_id, accesses, latest)
        if stated and current_item == latest:  # (what follows the latest: the next access says)
            self._outcomes.predicted(session_id, accesses, *stated[0])
            if len(self._outcomes) > 2 * self.max_sessions:
                self._outcomes.keep_only(set(self._table.sessions()))
        return [(item, _scaled(confidence, factor)) for item, confidence in stated]

    def score_next_accesses(
        self, session_id: str, current_item: str, n: int = 5
    ) -> list[tuple[str, float]]:
        """``predict_next_accesses`` before calibration: ``(item_id, score)``, the model's blend
        (what the calibration is fitted on)."""
        session_id, current_item = _session(session_id), _check_item(current_item)
        model = self._model_for(session_id, current_item, n)
        return [] if model is None else self._scores(model, current_item, n)

    def _model_for(
        self, session_id: str, current_item: str, n: int
    ) -> _kernels.patterns.SessionModel | None:
        """The session's model (None: unknown), the arguments of a prediction checked."""
        validate_session_id(session_id)
        _check_item(current_item)
        check_positive("n", n)
        return self._table.get(session_id)

    def _scores(
        self, model: _kernels.patterns.SessionModel, current_item: str, n: int
    ) -> list[tuple[str, float]]:
        """``score_next_accesses`` on one session's model (checked arguments)."""
        number = model.ids.get(current_item)
        if number is None:
            return []
        counter = model.counter
        seen = counter.total((number,))
        weight = seen / (seen + CONTEXT_WEIGHT)
        scores: dict[int, float] = {}
        for item, probability in counter.predict(number, counter.max_successors * 2):
            scores[item] = weight * probability
        recent = counter.recent()
        names = model.names
        if recent:
            # each rank's share: this session's rate of "the next access was the item at rank r",
            # pulled towards the measured prior while the session is young
            hits = counter.rank_hits()
            seen_total = counter.accesses + RECENCY_PRIOR_WEIGHT
            last = len(RECENCY_PRIOR) - 1
            # items that name their kind take their share by kind (memcore.prefetch_kinds)
            by_kind = kind_shares(self.kind_prior, current_item, [names[i] for i in recent])
            for rank, item in enumerate(recent):
                share = by_kind[rank]
                if share is None:
                    prior = RECENCY_PRIOR[min(rank, last)] * RECENCY_PRIOR_WEIGHT
                    share = (hits[rank] + prior) / seen_total
                scores[item] = scores.get(item, 0.0) + (1.0 - weight) * share
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:n]
        return [(names[item], score) for item, score in ranked]

    def export_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        """``{item: {next item: count}}``: the session's kept order-1 successor counts."""
        session_id = _session(session_id)
        model = self._table.get(session_id)
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
        return list(self._table.sessions())

    def forget_session(self, session_id: str) -> None:
        """Drop one session's model and its cached items."""
        session_id = _session(session_id)
        self._table.forget(session_id)
        self._outcomes.forget(session_id)
        self.invalidate(session_id)

    # --- prefetching -----------------------------------------------------------------------
    async def _read(self, session_id: str, item_id: str) -> Any:
        assert self._load is not None
        value = self._load(session_id, item_id)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def prefetch_predicted_items(self, session_id: str, current_item: str) -> int:
        """Load the predictions above ``threshold`` that are not cached yet; return how many
        values it cached (new ones, and with a store loader changed ones).

        Loads run concurrently. A failing load is logged and counted (``load_errors``), not
        cached and not raised: prefetching is a guess and must not break the caller. With a
        store as the loader, cached predictions are re-checked too (see the module doc): an
        update replaces the cached value, a deletion evicts it.
        """
        if self._load is None:
            raise ValidationError("this prefetcher has no loader to prefetch with")
        session_id = _session(session_id)  # (the cache's keys are plain str)
        predictions = self.predict_next_accesses(session_id, current_item, self.prefetch_n)
        above = [item_id for item_id, confidence in predictions if confidence > self.threshold]
        if self._reader is not None:
            return await self._recheck(self._reader, session_id, above)
        wanted: list[str] = []
        with self._cache_lock:
            for item_id in above:
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
                with self._cache_lock:
                    self.load_errors += 1
                log.warning("prefetch of %r in session %s failed: %r", item_id, session_id, result)
                continue
            if result is None:
                continue
            self._put((session_id, item_id), result)
            loaded += 1
        return loaded

    async def _recheck(self, reader: StoreReader, session_id: str, item_ids: list[str]) -> int:
        """``prefetch_predicted_items`` through a store's reader: one delta, then every
        prediction read from the reader's replica, cached or not; returns how many values
        were cached anew (new or changed)."""
        if not item_ids:
            return 0
        try:
            values = await reader.read(session_id, item_ids)
        except Exception as exc:  # (the cached values stay as they were: nothing was learned)
            with self._cache_lock:
                self.load_errors += sum((session_id, i) not in self._cache for i in item_ids)
            log.warning("prefetch in session %s failed: %r", session_id, exc)
            return 0
        loaded = 0
        with self._cache_lock:
            for item_id, value in zip(item_ids, values, strict=True):
                key = (session_id, item_id)
                if value is None:  # absent, or deleted since it was cached
                    self._cache.pop(key, None)
                elif key in self._cache and self._cache[key] == value:
                    self._cache.move_to_end(key)
                else:
                    self._store(key, value)
                    loaded += 1
        return loaded

    def _put(self, key: tuple[str, str], value: Any) -> None:
        with self._cache_lock:
            self._store(key, value)

    def _store(self, key: tuple[str, str], value: Any) -> None:
        """Cache ``value`` as the most recent, evicting past ``cache_size``; the caller holds
        ``_cache_lock``."""
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def get(self, session_id: str, item_id: str) -> Any | None:
        """The prefetched value of ``item_id`` (a hit), or None when it was not prefetched (a
        miss; read it from the source then). Never reads the source: the value is the one the
        last prefetch saw (see the module doc)."""
        key = (_session(session_id), _check_item(item_id))
        with self._cache_lock:
            if key in self._cache:
                self.hits += 1
                self._cache.move_to_end(key)
                return self._cache[key]
            self.misses += 1
            return None

    def invalidate(self, session_id: str, item_id: str | None = None) -> None:
        """Drop cached values of a session (or one item of it): after a write that the loader
        cannot tell the prefetcher of (only a store loader's prefetches re-check cached
        values), or to give memory back. The next ``get`` is a miss; a later prefetch loads
        the value again."""
        session_id = _session(session_id)
        if item_id is not None:
            key = (session_id, _check_item(item_id))
            with self._cache_lock:
                self._cache.pop(key, None)
            return
        with self._cache_lock:
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
