# cython: freethreading_compatible = False
"""Compiled ``partition`` kernel: the compression level of each item from its priority rank and
age, over plain buffers without the GIL. The pure-Python twin is ``memcore/_pure/partition.py``;
the ``pipeline`` family re-exports both.
"""

from array import array

cimport cython


# --- level partitioning ------------------------------------------------------------------------


@cython.boundscheck(False)
cdef void _partition(
    const signed char[:] ranks,
    const double[:] ages,
    unsigned char[:] out,
    double level1,
    double level2,
    double level3,
) noexcept nogil:
    cdef Py_ssize_t i
    cdef signed char rank
    cdef double age
    for i in range(out.shape[0]):  # callers check that all three have out's length
        rank = ranks[i]
        age = ages[i]
        if rank >= 3 or age < level1:
            out[i] = 1
        elif rank == 2 or age < level2:
            out[i] = 2
        elif age < level3:
            out[i] = 3
        else:
            out[i] = 4


def partition_levels(
    ranks, ages, double level1_seconds, double level2_seconds, double level3_seconds
) -> bytearray:
    """The compression level (1-4) of each item from its priority rank (3 = critical) and age.

    Runs without the GIL over ``array('b')``/``array('d')`` (or numpy int8/float64) buffers;
    other sequences are copied into such arrays first.
    """
    cdef const signed char[:] rank_view
    cdef const double[:] age_view
    try:
        rank_view = ranks
    except (TypeError, ValueError):
        rank_view = array("b", ranks)
    try:
        age_view = ages
    except (TypeError, ValueError):
        age_view = array("d", ages)
    cdef Py_ssize_t n = rank_view.shape[0]
    if age_view.shape[0] != n:
        raise ValueError(f"{n} ranks but {age_view.shape[0]} ages")
    out = bytearray(n)
    cdef unsigned char[:] out_view = out
    if n:
        with nogil:
            _partition(rank_view, age_view, out_view, level1_seconds, level2_seconds, level3_seconds)
    return out
