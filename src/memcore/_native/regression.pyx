"""A ring buffer of ``(time, rss)`` samples and the slopes a leak detector needs (compiled twin).

Same names, signatures, rules and numbers as ``memcore._pure.regression`` (whose docstring states
the rules); the argument checks are imported from there, never copied. Samples live in two C
arrays, so ``push`` is a few stores; the fits run over C scratch buffers without the GIL, and the
Theil–Sen median is found by a branchless selection (O(n²) for the n² pair slopes) instead of a
sort.
"""

cimport cython
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport INFINITY, copysign, fabs, frexp, isfinite, ldexp

from memcore._pure.regression import (
    DEFAULT_CAPACITY,
    DEFAULT_LAST_N,
    MAX_CAPACITY,
    SAFE_HIGH,
    SAFE_LOW,
    check_count,
    check_real,
)
from memcore.errors import ValidationError

cdef double _SAFE_LOW = SAFE_LOW
cdef double _SAFE_HIGH = SAFE_HIGH


cdef inline double _real(object value, str what) except? -1.0:
    cdef double number
    if PyFloat_CheckExact(value):
        number = PyFloat_AS_DOUBLE(value)
        if isfinite(number):
            return number
    return check_real(value, what)  # the slow path, and every error, as in the pure twin


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int _scale(double* values, Py_ssize_t n) noexcept nogil:
    """Scale ``values`` in place by 2**-e so every magnitude is below 1; return e.

    Magnitudes within [SAFE_LOW, SAFE_HIGH] are left alone (e = 0): scaling by a power of two
    could not change a bit of the result there (the pure twin's ``_scaled`` explains why).
    """
    cdef double largest = 0.0, magnitude, factor
    cdef int exponent = 0
    cdef Py_ssize_t i
    for i in range(n):
        magnitude = fabs(values[i])
        if magnitude > largest:
            largest = magnitude
    if largest == 0.0 or (_SAFE_LOW <= largest <= _SAFE_HIGH):
        return 0
    frexp(largest, &exponent)
    if -1022 <= -exponent <= 1023:  # 2**-e is a normal float: one exact multiply each
        factor = ldexp(1.0, -exponent)
        for i in range(n):
            values[i] = values[i] * factor
    else:
        for i in range(n):
            values[i] = ldexp(values[i], -exponent)
    return exponent


cdef inline double _scale_back(double value, int exponent) noexcept nogil:
    cdef double result = ldexp(value, exponent)
    if not isfinite(result) and isfinite(value):
        return copysign(INFINITY, value)
    return result


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _mean(const double* values, Py_ssize_t n) noexcept nogil:
    cdef double total = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        total += values[i]
    return total / n


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _select(double* a, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The k-th smallest of ``a[0:n]`` (0-based, ``0 <= k < n``); reorders ``a`` so that
    ``a[0:k]`` holds values no larger than it.

    Quickselect with a median-of-three pivot and branchless partitions (the comparison result
    moves an index instead of choosing a branch: on fresh data a branchy partition mispredicts
    about half its comparisons, which costs more than the work itself). A second pass gathers
    the elements equal to the pivot, so runs of equal slopes (samples on a flat line, common)
    stay linear.
    """
    cdef Py_ssize_t lo = 0, hi = n, i, j, e  # the k-th smallest lies in a[lo:hi]
    cdef double pivot, x, y, z
    while hi - lo > 1:
        x = a[lo]
        y = a[lo + (hi - lo) // 2]
        z = a[hi - 1]
        if x < y:
            pivot = y if y < z else (z if x < z else x)
        else:
            pivot = x if x < z else (z if y < z else y)
        j = lo
        for i in range(lo, hi):  # a[lo:j] < pivot <= a[j:i]
            x = a[i]
            a[i] = a[j]
            a[j] = x
            j += x < pivot
        if k < j:
            hi = j  # the pivot itself is >= pivot, so j < hi: progress
            continue
        e = j
        for i in range(j, hi):  # a[j:e] == pivot < a[e:i]
            x = a[i]
            a[i] = a[e]
            a[e] = x
            e += x <= pivot
        if k < e:
            return pivot
        lo = e  # the equal block holds the pivot, so e > j >= lo: progress
    return a[lo]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _max(const double* a, Py_ssize_t n) noexcept nogil:
    cdef double best = a[0]
    cdef Py_ssize_t i
    for i in range(1, n):
        if a[i] > best:
            best = a[i]
    return best


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _ols(double* u, double* v, Py_ssize_t n) noexcept nogil:
    """Least-squares slope of ``v`` on ``u`` (both scaled in place)."""
    cdef Py_ssize_t i
    cdef double lo, hi, mean_u, mean_v, du, sxx = 0.0, sxy = 0.0
    cdef int time_exp, value_exp
    if n < 2:
        return 0.0
    lo = hi = u[0]
    for i in range(1, n):
        if u[i] < lo:
            lo = u[i]
        elif u[i] > hi:
            hi = u[i]
    if lo == hi:
        return 0.0
    time_exp = _scale(u, n)
    value_exp = _scale(v, n)
    mean_u = _mean(u, n)
    mean_v = _mean(v, n)
    for i in range(n):
        du = u[i] - mean_u
        sxx += du * du
        sxy += du * (v[i] - mean_v)
    if sxx == 0.0:
        return 0.0
    return _scale_back(sxy / sxx, value_exp - time_exp)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _theil_sen(double* u, double* v, Py_ssize_t n, double* slopes) noexcept nogil:
    """Median pairwise slope of ``v`` on ``u``; ``slopes`` holds at least n*(n-1)/2 doubles."""
    cdef Py_ssize_t i, j, m = 0, half
    cdef double du, ui, vi, middle, upper
    cdef int time_exp, value_exp
    if n < 2:
        return 0.0
    time_exp = _scale(u, n)
    value_exp = _scale(v, n)
    for i in range(n - 1):
        ui = u[i]
        vi = v[i]
        for j in range(i + 1, n):
            du = u[j] - ui
            if du != 0.0:
                slopes[m] = (v[j] - vi) / du  # m < n*(n-1)/2: one slot per pair at most
                m += 1
    if m == 0:
        return 0.0
    half = m // 2
    middle = _select(slopes, m, half)
    if m % 2 == 0:
        # After selecting index `half`, slopes[0:half] holds the smaller ones: the lower middle
        # is the largest of them.
        upper = middle
        middle = _max(slopes, half)
        middle = 0.5 * middle + 0.5 * upper
    return _scale_back(middle, value_exp - time_exp)


cdef enum:
    STACK_WINDOW = 128  # windows up to this size are fitted from scratch on the C stack


@cython.auto_pickle(False)  # memcore never pickles
cdef class SampleRing:
    """The newest ``capacity`` samples of ``(time in seconds, rss in MB)``, oldest overwritten.

    Each fit copies its window, with the GIL held, into scratch of its own (the stack for a small
    window, else a buffer freed on return) and only then releases the GIL: scratch shared by the
    ring would let two threads fitting at once scale each other's copies in place (wrong slopes)
    or free a Theil-Sen buffer another thread is still writing (a crash).
    """

    cdef double* _times
    cdef double* _values
    cdef Py_ssize_t _capacity, _count, _head

    def __cinit__(self, *args, **kwargs):
        self._times = NULL
        self._values = NULL
        self._capacity = 0
        self._count = 0
        self._head = 0

    def __init__(self, capacity=DEFAULT_CAPACITY) -> None:
        check_count(capacity, "capacity", 2)
        if capacity > MAX_CAPACITY:
            raise ValidationError(f"capacity must be at most {MAX_CAPACITY} (got {capacity})")
        if self._times != NULL:  # __init__ called again: start over
            self._release()
        cdef Py_ssize_t size = <Py_ssize_t>capacity * sizeof(double)
        self._times = <double*>PyMem_Malloc(size)
        self._values = <double*>PyMem_Malloc(size)
        if self._times == NULL or self._values == NULL:
            self._release()
            raise MemoryError()
        self._capacity = capacity
        self._count = 0
        self._head = 0

    cdef void _release(self) noexcept:
        PyMem_Free(self._times)
        PyMem_Free(self._values)
        self._times = self._values = NULL
        self._capacity = 0
        self._count = 0
        self._head = 0

    def __dealloc__(self):
        self._release()

    cdef int _check_ready(self) except -1:
        if self._times == NULL:
            raise ValidationError("SampleRing was not initialized")
        return 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def push(self, t, mb) -> None:
        """Add one sample, dropping the oldest when full; O(1)."""
        cdef double time_s = _real(t, "time")
        cdef double value = _real(mb, "rss")
        self._check_ready()
        cdef Py_ssize_t head = self._head
        if head < 0 or head >= self._capacity:  # cannot happen; never write out of bounds
            raise ValidationError("SampleRing head out of range")
        self._times[head] = time_s
        self._values[head] = value
        head += 1
        self._head = 0 if head == self._capacity else head
        if self._count < self._capacity:
            self._count += 1

    def clear(self) -> None:
        """Forget every sample (a detector does this after a recovery: a new trend starts)."""
        self._head = 0
        self._count = 0

    cdef Py_ssize_t _size(self, object last_n) except -1:
        """How many samples the newest ``last_n`` are (``last_n`` checked)."""
        cdef Py_ssize_t wanted
        if type(last_n) is int and 1 <= last_n <= self._capacity:
            wanted = last_n
        else:
            wanted = min(check_count(last_n, "last_n", 1), self._capacity)
        self._check_ready()
        return wanted if wanted < self._count else self._count

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _copy(self, double* u, double* v, Py_ssize_t n) noexcept:
        """The newest ``n`` (<= count) samples, oldest first, into ``u`` and ``v`` (GIL held:
        the ring cannot change under the copy)."""
        cdef Py_ssize_t start = (self._head - n) % self._capacity
        cdef Py_ssize_t offset, index
        if start < 0:
            start += self._capacity
        for offset in range(n):
            index = (start + offset) % self._capacity
            u[offset] = self._times[index]
            v[offset] = self._values[index]

    def samples(self, last_n=DEFAULT_CAPACITY) -> list[tuple[float, float]]:
        """The newest ``last_n`` samples, oldest first."""
        cdef Py_ssize_t n = self._size(last_n)
        cdef Py_ssize_t start = (self._head - n) % self._capacity if n else 0
        if start < 0:
            start += self._capacity
        return [
            (self._times[(start + i) % self._capacity], self._values[(start + i) % self._capacity])
            for i in range(n)
        ]

    def ols_slope(self, last_n=DEFAULT_LAST_N) -> float:
        """Least-squares slope (MB per second) over the newest ``last_n`` samples."""
        cdef Py_ssize_t n = self._size(last_n)
        cdef double local[2 * STACK_WINDOW]
        cdef double* scratch = local
        cdef double slope
        if n > STACK_WINDOW:
            scratch = <double*>PyMem_Malloc(2 * n * sizeof(double))
            if scratch == NULL:
                raise MemoryError()
        try:
            self._copy(scratch, scratch + n, n)
            with nogil:
                slope = _ols(scratch, scratch + n, n)
        finally:
            if scratch != local:
                PyMem_Free(scratch)
        return slope

    def theil_sen_slope(self, last_n=DEFAULT_LAST_N) -> float:
        """Median of pairwise slopes (MB per second) over the newest ``last_n`` samples.

        Robust where least squares is not: a few spikes (a burst of allocations, a big request)
        move the median little, so they neither fake a leak nor hide one.
        """
        cdef Py_ssize_t n = self._size(last_n)
        cdef Py_ssize_t pairs
        cdef double* scratch
        cdef double slope
        if n < 2:
            return 0.0
        pairs = n * (n - 1) // 2
        scratch = <double*>PyMem_Malloc((2 * n + pairs) * sizeof(double))
        if scratch == NULL:
            raise MemoryError()
        try:
            self._copy(scratch, scratch + n, n)
            with nogil:
                slope = _theil_sen(scratch, scratch + n, n, scratch + 2 * n)
        finally:
            PyMem_Free(scratch)
        return slope


__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LAST_N",
    "MAX_CAPACITY",
    "SAFE_HIGH",
    "SAFE_LOW",
    "SampleRing",
    "check_count",
    "check_real",
]
