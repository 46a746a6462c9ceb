"""Sliding-window access-pattern counting and next-item prediction (compiled twin).

Same state, same eviction and decay, same probabilities (bit for bit) as
``memcore._pure.patterns``, whose docstring specifies the model; the limits come from there too.
What this module adds is speed: contexts live in one C array of fixed-size records with a chained
hash index and an intrusive least-recently-updated list, successors in a flat array beside them
(``patterns_store.pxi``), so an access is ``max_order`` hash lookups and short scans with no
Python object made. Memory is taken with ``PyMem_*`` (so ``tracemalloc`` sees it), grows by
doubling and never passes ``max_contexts`` records. Here: the counting and the prediction; the
per-session table the prefetcher calls is ``patterns_sessions.pxi``.
"""

cimport cython
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.long cimport PyLong_AsLongLong, PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memcpy, memset

import logging

from memcore._pure import patterns as _pure
from memcore.errors import ValidationError
from memcore.stores.base import validate_session_id

log = logging.getLogger("memcore.prefetch")

cdef enum:
    MAXO = 8  # must equal _pure.MAX_ORDER (checked at import)
    MAXR = 32  # must equal _pure.MAX_RECENCY (checked at import)
    STACK_SCORED = 256  # candidates scored on the stack; more take a heap buffer

if _pure.MAX_ORDER != MAXO or _pure.MAX_RECENCY != MAXR:
    raise ImportError("memcore._native.patterns: MAX_ORDER/MAX_RECENCY differ from the pure twin")

cdef int64_t C_MAX_WINDOW = _pure.MAX_WINDOW
cdef int64_t C_MAX_SUCCESSORS = _pure.MAX_SUCCESSORS
cdef int64_t C_MAX_CONTEXTS = _pure.MAX_CONTEXTS
cdef int64_t C_INT64_MAX = 0x7FFFFFFFFFFFFFFF
_as_item_id = _pure.as_item_id

# The interpolation step, kept out of reach of floating-point contraction (an FMA would round
# differently from the pure twin's separate multiply and add).
cdef extern from *:
    """
    #include <stdint.h>
    static double mc_wb_step(int64_t count, int64_t distinct, double p, int64_t total) {
        volatile double scaled = (double)distinct * p;
        double numerator = (double)count + scaled;
        return numerator / (double)(total + distinct);
    }
    """
    double mc_wb_step(int64_t count, int64_t distinct, double p, int64_t total) noexcept nogil

include "patterns_store.pxi"


ctypedef struct Scored:
    double p
    int64_t id


cdef int _compare_scored(const void *a, const void *b) noexcept nogil:
    cdef const Scored *x = <const Scored *>a
    cdef const Scored *y = <const Scored *>b
    if x.p > y.p:
        return -1
    if x.p < y.p:
        return 1
    if x.id < y.id:
        return -1
    if x.id > y.id:
        return 1
    return 0


cdef int64_t _check_int(str name, object value, int64_t low, int64_t high) except? -1:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be an int in [{low}, {high}] (got {value!r})")
    return value


cdef inline int64_t _item(object value) except? -1:
    cdef int overflow = 0
    cdef long long v
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0:
            return v
    return _as_item_id(value)


@cython.final
cdef class PatternCounter:
    """Per-session successor counts over the last ``window_size`` accesses (see the pure twin)."""

    cdef int64_t _window, _order, _decay_at, _tick
    cdef Contexts _s  # the context records (patterns_store.pxi)
    cdef int64_t _history[MAXO]
    cdef int _hlen
    cdef int64_t _recent[MAXR]  # the last _recency distinct items, oldest first
    cdef int64_t _rank_hits[MAXR]  # accesses that were the r-th most recent item
    cdef int _rlen, _recency

    def __cinit__(self) -> None:
        # (a counter made by ``__new__`` alone, never initialized, is an empty one: no list
        # to walk, no index to look in; reading it must not touch the NULL arrays)
        self._s.ctx = NULL
        self._s.succ = NULL
        self._s.buckets = NULL
        self._s.head = -1
        self._s.tail = -1

    def __init__(
        self,
        window_size=5,
        max_order=None,
        max_contexts=65536,
        max_successors=16,
        decay_at=1024,
        recency=8,
    ):
        # Every parameter is checked before any is set: ``__init__`` called again with a bad one
        # must leave the counter as it was (a new max_successors over the old arrays would index
        # past them).
        cdef int64_t window = _check_int("window_size", window_size, 2, C_MAX_WINDOW)
        cdef int64_t recent = _check_int("recency", recency, 0, MAXR)
        if max_order is None:  # the whole window is the context
            max_order = min(MAXO, window - 1)
        cdef int64_t order = _check_int("max_order", max_order, 1, min(MAXO, window - 1))
        cdef int64_t contexts = _check_int("max_contexts", max_contexts, 1, C_MAX_CONTEXTS)
        cdef int64_t successors = _check_int(
            "max_successors", max_successors, 1, C_MAX_SUCCESSORS
        )
        cdef int64_t decay = _check_int("decay_at", decay_at, 2, C_INT64_MAX)
        _contexts_free(&self._s)
        self._window = window
        self._recency = <int>recent
        self._rlen = 0
        memset(self._rank_hits, 0, sizeof(self._rank_hits))
        self._order = order
        self._s.max_contexts = contexts
        self._s.max_successors = successors
        self._decay_at = decay
        self._tick = 0
        self._s.count = 0
        self._s.cap = 0
        self._s.nbuckets = 0
        self._s.head = -1
        self._s.tail = -1
        self._hlen = 0
        _contexts_grow(&self._s)

    def __dealloc__(self) -> None:
        _contexts_free(&self._s)

    # --- parameters and size -------------------------------------------------------------
    @property
    def window_size(self) -> int:
        return self._window

    @property
    def max_order(self) -> int:
        return self._order

    @property
    def max_contexts(self) -> int:
        return self._s.max_contexts

    @property
    def max_successors(self) -> int:
        return self._s.max_successors

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
        return self._s.count

    def last(self):
        """The most recently recorded item, or None before the first access."""
        if self._hlen == 0:
            return None
        return self._history[self._hlen - 1]

    def recent(self) -> list:
        """The last ``recency`` distinct items recorded, most recent first."""
        return [self._recent[j] for j in range(self._rlen - 1, -1, -1)]

    def rank_hits(self) -> list:
        """Per recency rank, how many accesses were the item then at that rank (see the twin)."""
        return [self._rank_hits[j] for j in range(self._recency)]

    # --- counting ------------------------------------------------------------------------
    cpdef record(self, object item):
        """Count one access: O(max_order) updates."""
        self._record(_item(item))

    def record_many(self, items) -> None:
        """Count accesses in order, exactly as many ``record`` calls would.

        A C-contiguous int64 buffer (a numpy ``int64`` array, ``array('q')``) is read directly;
        anything else is checked item by item first, so a bad batch changes nothing. Another
        array is read by its ``tolist`` as the pure twin reads it, so both refuse its values
        alike (a float array's ``float``, not numpy's ``float64``); ``None`` is refused (a
        memoryview takes it as empty).
        """
        cdef const int64_t[::1] view
        cdef Py_ssize_t i, n
        if isinstance(items, (str, bytes, bytearray)):
            raise ValidationError("record_many takes a sequence of int ids, not a string")
        if items is not None:
            try:
                view = items
            except (TypeError, ValueError, BufferError):
                pass
            else:
                n = view.shape[0]
                for i in range(n):
                    self._record(view[i])
                return
        tolist = getattr(items, "tolist", None)
        if callable(tolist):
            items = tolist()
        try:
            ids = [_item(value) for value in items]
        except TypeError as exc:
            raise ValidationError("record_many takes an iterable of int ids") from exc
        for value in ids:
            self._record(value)

    def break_sequence(self) -> None:
        """End the current sequence: the next access follows nothing (see the twin)."""
        self._hlen = 0

    cdef int _record(self, int64_t item) except -1:
        cdef int k, j
        cdef uint64_t h = 0
        self._tick += 1
        cdef int upto = self._hlen if self._hlen < self._order else <int>self._order
        for k in range(1, upto + 1):
            # the order-k context is the last k ids of the history, in place; its hash extends
            # the order-(k-1) one by one older id
            h = _hash_step(h, self._history[self._hlen - k])
            self._update(&self._history[self._hlen - k], k, item, h)
        if self._hlen < self._order:
            self._history[self._hlen] = item
            self._hlen += 1
        else:
            for j in range(self._hlen - 1):
                self._history[j] = self._history[j + 1]
            self._history[self._hlen - 1] = item
        if self._recency:
            # drop the item's older place (or the oldest item when full), append it as newest
            for j in range(self._rlen):
                if self._recent[j] == item:
                    self._rank_hits[self._rlen - 1 - j] += 1
                    break
            else:
                if self._rlen < self._recency:
                    j = self._rlen
                    self._rlen += 1
                else:
                    j = 0
            for k in range(j, self._rlen - 1):
                self._recent[k] = self._recent[k + 1]
            self._recent[self._rlen - 1] = item
        return 0

    cdef int _update(self, const int64_t *key, int order, int64_t item, uint64_t h) except -1:
        cdef int32_t i = _find(&self._s, key, order, h)
        cdef int32_t s, victim
        cdef int j
        cdef Context *c
        cdef Successor *succ
        if i < 0:
            i = _contexts_add(&self._s, key, order, h)
        else:
            _contexts_touch(&self._s, i)
        c = &self._s.ctx[i]
        succ = &self._s.succ[<int64_t>i * self._s.max_successors]
        for s in range(c.nsucc):
            if succ[s].id == item:
                succ[s].count += 1
                succ[s].stamp = self._tick
                break
        else:
            if c.nsucc < self._s.max_successors:
                s = c.nsucc
                c.nsucc += 1
            else:
                victim = 0
                for s in range(1, c.nsucc):
                    if succ[s].count < succ[victim].count or (
                        succ[s].count == succ[victim].count and succ[s].stamp < succ[victim].stamp
                    ):
                        victim = s
                s = victim
            succ[s].id = item
            succ[s].count = 1
            succ[s].stamp = self._tick
        c.total += 1
        if c.total >= self._decay_at:
            c.total //= 2
            j = 0
            for s in range(c.nsucc):
                succ[s].count //= 2
                if succ[s].count > 0:
                    succ[j] = succ[s]
                    j += 1
            c.nsucc = j
        return 0

    # --- prediction ----------------------------------------------------------------------
    cdef int32_t _lookup(self, object context) except -2:
        cdef int64_t key[MAXO]
        cdef int order = 0
        for value in context:
            if order >= MAXO:
                return -1
            key[order] = _item(value)
            order += 1
        if order == 0:
            return -1
        return _find(&self._s, key, order, _hash_key(key, order))

    cdef int64_t _count_of(self, int32_t i, int64_t item) noexcept:
        cdef Successor *succ = &self._s.succ[<int64_t>i * self._s.max_successors]
        cdef int s
        for s in range(self._s.ctx[i].nsucc):
            if succ[s].id == item:
                return succ[s].count
        return 0

    def predict(self, current, n=5) -> list:
        """The ``n`` likeliest items to follow ``current`` as ``(id, probability)``, likeliest
        first, lower id first on ties (see the pure twin)."""
        cdef int64_t cur = _item(current)
        cdef int overflow = 0
        cdef int64_t limit = 0
        if type(n) is int:
            limit = PyLong_AsLongLongAndOverflow(n, &overflow)
        if overflow != 0 or limit < 1:
            limit = _check_int("n", n, 1, C_INT64_MAX)
        cdef int32_t chain[MAXO]
        cdef int nchain = 0
        cdef int32_t first
        cdef int64_t key[MAXO]
        cdef int k, j, q, s
        cdef Context *c
        cdef Successor *succ
        key[0] = cur
        first = _find(&self._s, key, 1, _hash_key(key, 1))
        cdef int32_t found
        if self._hlen > 0 and self._history[self._hlen - 1] == cur:
            for k in range(2, min(<int>self._order, self._hlen) + 1):
                for j in range(k):
                    key[j] = self._history[self._hlen - k + j]
                found = _find(&self._s, key, k, _hash_key(key, k))
                if found >= 0:
                    chain[nchain] = found
                    nchain += 1
        cdef int64_t room = (nchain + 1) * self._s.max_successors
        cdef Scored local[STACK_SCORED]
        cdef Scored *scored = local
        if room > STACK_SCORED:
            scored = <Scored *>PyMem_Malloc(room * sizeof(Scored))
            if scored == NULL:
                raise MemoryError()
        cdef int64_t m = 0, t
        cdef double p
        cdef int32_t idx
        try:
            # candidates: every successor of every context in the chain, once
            for q in range(-1, nchain):
                idx = first if q < 0 else chain[q]
                if idx < 0:
                    continue
                succ = &self._s.succ[<int64_t>idx * self._s.max_successors]
                for s in range(self._s.ctx[idx].nsucc):
                    for t in range(m):
                        if scored[t].id == succ[s].id:
                            break
                    else:
                        scored[m].id = succ[s].id
                        m += 1
            for t in range(m):
                p = 0.0
                if first >= 0:
                    p = (
                        <double>self._count_of(first, scored[t].id)
                        / <double>self._s.ctx[first].total
                    )
                for q in range(nchain):
                    c = &self._s.ctx[chain[q]]
                    p = mc_wb_step(self._count_of(chain[q], scored[t].id), c.nsucc, p, c.total)
                scored[t].p = p
            qsort(scored, m, sizeof(Scored), _compare_scored)
            result = []
            for t in range(m):
                if scored[t].p <= 0.0 or t >= limit:
                    break
                result.append((scored[t].id, scored[t].p))
            return result
        finally:
            if scored != local:
                PyMem_Free(scored)

    def total(self, context) -> int:
        """How many accesses followed one context (ids oldest first; decayed), 0 if unknown."""
        cdef int32_t i = self._lookup(list(context))
        return 0 if i < 0 else self._s.ctx[i].total

    # ``successors`` and ``state`` copy what they read before they make a Python object: making
    # one may run the cyclic GC's finalizers, and with them Python code that records into this
    # counter (in this thread, or another that takes the GIL meanwhile), which may grow, and so
    # move, the arrays a pointer into them would still read.

    def successors(self, context) -> dict:
        """The kept successor counts of one context (ids oldest first), empty if unknown."""
        cdef int32_t i = self._lookup(list(context))
        if i < 0:
            return {}
        cdef int32_t n = self._s.ctx[i].nsucc
        cdef Successor *copy = <Successor *>PyMem_Malloc((n if n > 0 else 1) * sizeof(Successor))
        if copy == NULL:
            raise MemoryError()
        memcpy(copy, &self._s.succ[<int64_t>i * self._s.max_successors], n * sizeof(Successor))
        try:
            return dict(sorted([(copy[s].id, copy[s].count) for s in range(n)]))
        finally:
            PyMem_Free(copy)

    def state(self) -> list:
        """Every context, least recently updated first, for comparisons and export."""
        cdef int64_t n = self._s.count, k = 0, per = self._s.max_successors
        cdef Context *ctx = <Context *>PyMem_Malloc((n if n > 0 else 1) * sizeof(Context))
        cdef Successor *succ = <Successor *>PyMem_Malloc((n * per if n > 0 else 1) * sizeof(Successor))
        cdef int32_t i = self._s.head
        cdef Context *c
        if ctx == NULL or succ == NULL:
            PyMem_Free(ctx)
            PyMem_Free(succ)
            raise MemoryError()
        try:
            while i >= 0 and k < n:  # (the copy: no Python object made)
                ctx[k] = self._s.ctx[i]
                memcpy(&succ[k * per], &self._s.succ[<int64_t>i * per], ctx[k].nsucc * sizeof(Successor))
                k += 1
                i = self._s.ctx[i].next
            out = []
            for t in range(k):
                c = &ctx[t]
                key = tuple([c.key[j] for j in range(c.order)])
                entries = sorted(
                    [(succ[t * per + s].id, succ[t * per + s].count, succ[t * per + s].stamp)
                     for s in range(c.nsucc)]
                )
                out.append((key, c.total, entries))
            return out
        finally:
            PyMem_Free(ctx)
            PyMem_Free(succ)


include "patterns_sessions.pxi"
