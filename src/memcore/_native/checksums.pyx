"""XXH64 and the canonical, order-independent hash of a memory state (compiled twin).

Bit-for-bit the same results as ``memcore._pure.checksums``, whose docstring specifies the
canonical encoding; the tags and constants come from ``memcore._pure._checksum_tables`` (imported
below, never copied). What this module adds is speed: XXH64 runs over raw buffers without the GIL,
values are walked with the CPython C API (dict entries read in place, see ``_dict_walk.pxd``;
list/tuple items, PEP 393 string data, datetime fields) and streamed into an on-stack XXH64 state,
so no per-value Python object and no encoded copy of the state is ever made. Compact ASCII strings
are hashed straight from their storage; others by the UTF-8 form CPython caches on them (see
``_put_str_general``). A state's items are fetched from memory a few entries ahead of the one
being hashed (``_dict_walk.pxd`` too): a state larger than the caches is otherwise waited on load
after load.

The parts, included below: ``checksums_xxh64.pxi`` (XXH64 and its streaming state),
``checksums_encode.pxi`` (the canonical encoding of values) and ``checksums_digest.pxi`` (the
order-independent digests of dicts and memory items); this file holds the Python API.
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.buffer cimport (
    PyBUF_RECORDS_RO,
    PyBUF_SIMPLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_Check,
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_DATE_GET_TZINFO,
    PyDateTime_DELTA_GET_DAYS,
    PyDateTime_DELTA_GET_MICROSECONDS,
    PyDateTime_DELTA_GET_SECONDS,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    PyDelta_Check,
    import_datetime,
)
from cpython.dict cimport PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_GET_LENGTH
from libc.math cimport isnan
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, strchr

from memcore._native._dict_walk cimport (
    mc_dict_walk_disable,
    mc_dict_walk_enabled,
    mc_prefetch_object,
    mc_prefetch_table,
    mc_prefetch_values,
    mc_walk,
    mc_walk_next,
    mc_walk_peek,
    mc_walk_start,
    mc_walk_sync,
)

from collections.abc import Mapping
from datetime import datetime, timezone

from memcore._pure import _checksum_tables as _tables
from memcore.errors import ValidationError
from memcore.model import MemoryItem, Priority

import_datetime()

include "checksums_xxh64.pxi"
include "checksums_encode.pxi"
include "checksums_digest.pxi"

_MASK = 0xFFFFFFFFFFFFFFFF
cdef Py_ssize_t _NOGIL_THRESHOLD = 1 << 16


cdef bint _same_walk(dict probe):
    """Whether an ``mc_walk`` and ``PyDict_Next`` give ``probe``'s entries alike."""
    cdef mc_walk walk
    cdef Py_ssize_t b = 0
    cdef PyObject* ka
    cdef PyObject* va
    cdef PyObject* kb
    cdef PyObject* vb
    cdef bint more
    mc_walk_start(&walk, probe)
    while True:
        more = mc_walk_next(&walk, &ka, &va)
        if more != PyDict_Next(probe, &b, &kb, &vb):
            return False
        if not more:
            return True
        if walk.pos != b or ka != kb or va != vb:
            return False


def _probe_dict_walk():
    """Check the in-place dict walk against ``PyDict_Next`` on dicts of every table kind (str
    keys, other keys, deleted entries, a resized table); on any difference use only
    ``PyDict_Next`` from then on. Returns whether the in-place walk is in use."""
    str_keys = {f"k{i}": i for i in range(40)}
    for i in range(0, 40, 3):
        del str_keys[f"k{i}"]
    mixed_keys = {1: "a", "b": 2, (3,): None, 4.5: [], "e": {}}
    del mixed_keys["b"]
    probes = [{}, {"a": 1}, str_keys, mixed_keys, dict.fromkeys(range(300))]
    if not all(_same_walk(probe) for probe in probes):
        mc_dict_walk_disable()
    return bool(mc_dict_walk_enabled())


_probe_dict_walk()


# --- argument checks ----------------------------------------------------------------------------

cdef uint64_t _seed_arg(object seed) except? 0:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValidationError(f"xxh64 seed must be an int (got {type(seed).__name__})")
    if seed < 0 or seed > _MASK:
        raise ValidationError(f"xxh64 seed must be in 0..2**64-1 (got {seed})")
    return <uint64_t>seed


cdef int _get_buffer(object data, Py_buffer* view) except -1:
    cdef Py_buffer described
    cdef bint objects
    if isinstance(data, str):
        raise ValidationError("xxh64 hashes bytes-like data, not str (encode it first)")
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except TypeError as exc:
        raise ValidationError(
            f"xxh64 needs a bytes-like object (got {type(data).__name__})"
        ) from exc
    except (BufferError, ValueError) as exc:  # numpy says ValueError for strided arrays
        raise ValidationError("xxh64 needs a C-contiguous buffer") from exc
    if type(data) is bytes or type(data) is bytearray:
        return 0
    # A buffer of Python objects would hash their addresses: ask the exporter for its format.
    try:
        PyObject_GetBuffer(data, &described, PyBUF_RECORDS_RO)
    except BaseException:
        PyBuffer_Release(view)
        raise
    objects = described.format != NULL and strchr(described.format, b"O") != NULL
    PyBuffer_Release(&described)
    if objects:
        PyBuffer_Release(view)
        raise ValidationError("xxh64 cannot hash a buffer of Python objects (their addresses)")
    return 0


def xxh64(data, seed=0):
    """Standard XXH64 of a bytes-like object (bit-exact with the reference implementation).
    The data is checked before the seed, as the pure twin checks them: two bad arguments are
    refused for the same one."""
    cdef uint64_t s
    cdef Py_buffer view
    cdef uint64_t h
    _get_buffer(data, &view)
    try:
        s = _seed_arg(seed)
        if view.len >= _NOGIL_THRESHOLD:
            with nogil:
                h = xxh64_raw(<const uint8_t*>view.buf, <size_t>view.len, s)
        else:
            h = xxh64_raw(<const uint8_t*>view.buf, <size_t>view.len, s)
    finally:
        PyBuffer_Release(&view)
    return h


@cython.auto_pickle(False)  # memcore never pickles
cdef class XXH64State:
    """Streaming XXH64: ``update`` with pieces, ``intdigest`` any time (the state is kept)."""

    cdef XState _st

    def __init__(self, seed=0):
        xs_init(&self._st, _seed_arg(seed))

    def update(self, data):
        cdef Py_buffer view
        _get_buffer(data, &view)
        try:
            if view.len >= _NOGIL_THRESHOLD:
                with nogil:
                    xs_update(&self._st, <const uint8_t*>view.buf, <size_t>view.len)
            else:
                xs_update(&self._st, <const uint8_t*>view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)

    def intdigest(self):
        return xs_digest(&self._st)

    def copy(self):
        cdef XXH64State twin = XXH64State.__new__(XXH64State)
        twin._st = self._st
        return twin

def entry_hash(key, value):
    """The 64-bit hash of one ``(key, value)`` entry of a state."""
    cdef uint64_t h
    entry_hash_c(key, value, 0, &h)
    return h


def state_checksum(state):
    """Canonical, insertion-order-independent 64-bit checksum of a mapping of items."""
    cdef uint64_t h
    if not isinstance(state, Mapping):
        raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
    mapping_digest(state, 0, &h)
    return h


cdef uint64_t _entry_arg(object entry) except? 0:
    if not isinstance(entry, int) or isinstance(entry, bool) or not 0 <= entry <= _MASK:
        raise ValidationError(f"an entry hash is an int in 0..2**64-1 (got {entry!r})")
    return <uint64_t>entry


@cython.auto_pickle(False)
cdef class StateDigest:
    """``state_checksum`` kept up to date one entry at a time, in O(1) per ``add``/``remove``.

    ``remove`` must be given an entry that was added (same key and value); a digest cannot tell
    in O(1) that an entry was never added, except when it is empty.
    """

    cdef uint64_t _count
    cdef uint64_t _total
    cdef uint64_t _mixed

    def __init__(self):
        self._count = 0
        self._total = 0
        self._mixed = 0

    @classmethod
    def from_state(cls, state):
        if not isinstance(state, Mapping):
            raise ValidationError(f"state must be a mapping (got {type(state).__name__})")
        digest = cls()
        for key, value in state.items():
            digest.add(key, value)
        return digest

    cdef inline void _add(self, uint64_t h) noexcept:
        self._count += 1
        self._total += h
        self._mixed += _avalanche(h)

    cdef int _remove(self, uint64_t h) except -1:
        if self._count == 0:
            raise ValidationError("cannot remove an entry from an empty StateDigest")
        self._count -= 1
        self._total -= h
        self._mixed -= _avalanche(h)
        return 0

    def add(self, key, value):
        cdef uint64_t h
        entry_hash_c(key, value, 0, &h)
        self._add(h)

    def remove(self, key, value):
        cdef uint64_t h
        entry_hash_c(key, value, 0, &h)
        self._remove(h)

    def add_hash(self, entry):
        """Add an entry by its ``entry_hash`` (for callers that keep hashes, not values)."""
        self._add(_entry_arg(entry))

    def remove_hash(self, entry):
        """Remove an entry by its ``entry_hash``."""
        self._remove(_entry_arg(entry))

    @property
    def value(self):
        return finalize(self._count, self._total, self._mixed)

    @property
    def count(self):
        return self._count

    def copy(self):
        cdef StateDigest twin = StateDigest.__new__(StateDigest)
        twin._count = self._count
        twin._total = self._total
        twin._mixed = self._mixed
        return twin

    def __eq__(self, other):
        cdef StateDigest that
        if not isinstance(other, StateDigest):
            return NotImplemented
        that = <StateDigest>other
        return (
            self._count == that._count
            and self._total == that._total
            and self._mixed == that._mixed
        )

    __hash__ = None  # mutable

    def __repr__(self):
        return f"StateDigest(count={self._count}, value=0x{self.value:016x})"


__all__ = ["StateDigest", "XXH64State", "entry_hash", "state_checksum", "xxh64"]
