# The default tokenizer of the compiled BM25 index (``search_scan.pyx``), for ``search.pyx``.
from memcore._native.search_vocab cimport Vocab

cdef Py_ssize_t scan_text(Vocab v, str text, bint insert) except -1
