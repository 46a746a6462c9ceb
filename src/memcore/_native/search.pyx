"""BM25 inverted index (compiled twin of ``memcore._pure.search``, whose docstring defines the
tokens, the score and the ranking; both return the same keys with bit-identical scores).

What this module adds is speed:

* tokenizing and term interning happen in C on the string's own buffer, with no Python object
  per token (``search_scan.pyx`` scans, ASCII eight bytes at a time; ``search_vocab.pyx`` holds
  the terms; both shared through their ``.pxd``);
* postings are C arrays of ``(doc, tf)`` per term, appended in doc-id order (a document gets a
  fresh id each time it is added), grown geometrically; removal marks the document dead
  (a tombstone) and compacts a term's postings once they are mostly dead, and renumbers all
  documents once most ids are dead, so add and remove cost the document's length (amortized);
* a query walks the postings document-at-a-time with MaxScore pruning (per-term upper bounds from
  the largest tf and the shortest document) and a bounded heap, so the postings of common terms
  are skipped by galloping once they can no longer lift a document into the top k; bounds kept
  per block of 64 postings (the largest tf and the smallest dl / tf: a score rises with the
  one and falls with the other) let it skip whole blocks of the terms it still walks
  (block-max).
  Bounds are compared with a little slack, so pruning never drops a tie (ties go by key).

Memory is taken with ``PyMem_*`` and freed in ``__dealloc__``; every index is checked against
its array's length before it is read.
"""

cimport cython
from cpython.dict cimport PyDict_SetDefault
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.unicode cimport PyUnicode_Compare
from libc.math cimport log
from libc.stdint cimport int32_t, int64_t

from memcore._native.search_scan cimport scan_text
from memcore._native.search_vocab cimport (
    BLOCK_SHIFT,
    INT32_LIMIT,
    SCRATCH_KEEP,
    Block,
    Posting,
    Term,
    Vocab,
    grow,
    mc_prefetch,
)

from memcore._native.search_code_words import code_words  # noqa: F401  (compound names' words)
from memcore._native.search_scan import tokenize  # noqa: F401  (this family's tokenizer)
from memcore._pure.search import TOKEN_PATTERN  # noqa: F401  (one definition, re-exported)
from memcore._pure.search import _by_rank

ctypedef struct Doc:
    int32_t *terms       # distinct term ids (the forward index, for removal)
    int32_t nterms
    int32_t dl
    int32_t alive

ctypedef struct QTerm:
    const Posting *post
    const Block *blk
    Py_ssize_t bblk      # the block whose bound `bub` holds (-1: none yet)
    double bub
    int32_t n
    int32_t cur
    int32_t qpos
    double idf
    double ub

cdef enum:
    MIN_COMPACT = 16

cdef double PRUNE_SLACK = 1e-9  # bounds are compared with room for rounding: never prune a tie


cdef int32_t _seek(const Posting *p, int32_t n, int32_t lo, int32_t target) noexcept nogil:
    """First index >= lo whose doc >= target (galloping, then binary search)."""
    if lo >= n or p[lo].doc >= target:
        return lo
    cdef int32_t step = 1
    cdef int32_t hi = lo + 1
    while hi < n and p[hi].doc < target:
        lo = hi
        step *= 2
        hi = lo + step if step < n - lo else n
    if hi > n:
        hi = n
    cdef int32_t mid
    while hi - lo > 1:  # p[lo].doc < target; hi == n or p[hi].doc >= target
        mid = lo + (hi - lo) // 2
        if p[mid].doc < target:
            lo = mid
        else:
            hi = mid
    return hi


cdef inline void _bound(Term *term, Py_ssize_t i, int32_t tf, int32_t dl) noexcept nogil:
    """Fold posting ``i`` (tf, document length) into its block's bounds."""
    cdef Block *blk = &term.blk[i >> BLOCK_SHIFT]
    if (i & ((1 << BLOCK_SHIFT) - 1)) == 0:
        blk.maxtf = tf
        blk.rtf = tf
        blk.rdl = dl
        return
    if tf > blk.maxtf:
        blk.maxtf = tf
    if <int64_t>dl * blk.rtf < <int64_t>blk.rdl * tf:  # dl / tf < rdl / rtf, exactly
        blk.rtf = tf
        blk.rdl = dl


@cython.cdivision(True)
cdef inline double _take(
    QTerm *t, int32_t d, int32_t dl, double avgdl, double k1, double b, double *contrib
) noexcept nogil:
    """Score term ``t`` in document ``d`` if its cursor is on it (then step past it); 0 if not.
    The expression is the pure twin's, operation for operation (the scores are bit-identical)."""
    if t.cur >= t.n or t.post[t.cur].doc != d:
        return 0.0
    cdef int32_t tf = t.post[t.cur].tf
    cdef double score = t.idf * tf / (tf + k1 * (1.0 - b + b * dl / avgdl))
    contrib[t.qpos] = score
    t.cur += 1
    return score


@cython.cdivision(True)
cdef double _block_bound(
    QTerm *q, Py_ssize_t fe, Py_ssize_t m, double avgdl, double k1, double b, int32_t *last
) noexcept nogil:
    """The most the essential terms ``q[fe:m]`` can give any document from the current one up
    to ``last`` (set here: the earliest end of their current blocks), from block bounds."""
    cdef double bound = 0.0
    cdef Py_ssize_t i, blk, end
    cdef const Block *bk
    last[0] = INT32_LIMIT
    for i in range(fe, m):
        if q[i].cur >= q[i].n:
            continue
        blk = q[i].cur >> BLOCK_SHIFT
        if blk != q[i].bblk:
            # a score is idf / (1 + k1 (1 - b) / tf + k1 b (dl / tf) / avgdl): at most this
            # with the block's largest tf and smallest dl / tf (both from one posting or not)
            bk = &q[i].blk[blk]
            q[i].bub = q[i].idf / (
                1.0 + k1 * (1.0 - b) / bk.maxtf + k1 * b * (<double>bk.rdl / bk.rtf) / avgdl
            )
            q[i].bblk = blk
        bound += q[i].bub
        end = (blk + 1) << BLOCK_SHIFT
        if end > q[i].n:
            end = q[i].n
        if q[i].post[end - 1].doc < last[0]:
            last[0] = q[i].post[end - 1].doc
    return bound


@cython.final
cdef class BM25Index:
    """Documents by key, interned terms and their postings in C arrays (see the module doc)."""

    cdef double _k1, _b
    cdef Vocab v  # terms, their postings, the token buffers
    cdef Doc *docs
    cdef Py_ssize_t ndocs, cdocs  # ids handed out (live and dead) / capacity
    cdef long long live, dead, total
    cdef long long zeroed, zbytes, gone  # since the last renumbering: terms whose df fell to
    # 0 and their bytes, and the tokens of the documents removed (``_settle``)
    cdef dict key_doc
    cdef list doc_key
    cdef readonly Py_ssize_t _candidates  # documents the last query scored (a diagnostic)

    def __cinit__(self, double k1=1.5, double b=0.75):
        self._k1 = k1
        self._b = b
        self.v = Vocab()
        self.key_doc = {}
        self.doc_key = []

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.docs != NULL:
            for i in range(self.ndocs):
                PyMem_Free(self.docs[i].terms)
            PyMem_Free(self.docs)

    @property
    def k1(self):
        return self._k1

    @property
    def b(self):
        return self._b

    def __len__(self):
        return self.live

    def __contains__(self, key):
        return key in self.key_doc

    # --- documents ---------------------------------------------------------------------------

    def add(self, str key, str text):
        """Index ``text`` under ``key`` with the default tokenizer (replacing ``key``'s text)."""
        try:
            self._add_ids(key, scan_text(self.v, text, True))
        finally:
            self.v.trim()

    def add_tokens(self, str key, list tokens):
        """Index a document given as its tokens (replacing what ``key`` held)."""
        try:
            self._add_ids(key, self.v.scan_tokens(tokens, True))
        finally:
            self.v.trim()

    def remove(self, str key):
        """Drop ``key``'s document; False when it was not there."""
        doc = self.key_doc.get(key)
        if doc is None:
            return False
        self._remove_doc(doc)
        self._settle()
        return True

    cdef int _add_ids(self, str key, Py_ssize_t ntok) except -1:
        """Add the document the vocabulary just scanned (``ntok`` tokens; its distinct terms in
        ``ids``, their tf in ``scratch``). Nothing here renumbers terms (``ids`` would go
        stale): that waits until the document is in."""
        cdef Py_ssize_t j, ndist = self.v.ndist
        cdef int32_t t, d
        cdef int32_t *fwd = NULL
        cdef Term *term
        cdef Term *terms = self.v.terms  # no term is added or dropped until the end
        cdef int32_t *ids = self.v.ids
        cdef bint keyed = False
        cdef PyObject *held
        cdef object dobj, old  # (objects: ``held`` is compared with the very one given)
        try:  # everything that can fail, before anything of the new document is written
            if self.ndocs >= INT32_LIMIT:
                self._renumber(False)
                if self.ndocs >= INT32_LIMIT:
                    raise OverflowError("too many documents for one index")
            dobj = self.ndocs
            held = PyDict_SetDefault(self.key_doc, key, dobj)  # one lookup for a new key
            keyed = True
            if held != <PyObject *>dobj:  # the key held a document: it goes first
                old = <object>held
                self._remove_doc(old)  # (which drops the key)
                self.key_doc[key] = dobj
            self.docs = <Doc *>grow(self.docs, &self.cdocs, self.ndocs + 1, sizeof(Doc))
            fwd = <int32_t *>PyMem_Malloc((ndist if ndist else 1) * sizeof(int32_t))
            if fwd == NULL:
                raise MemoryError()
            for j in range(ndist):  # (and fetch the lines the appends below will write)
                term = &terms[ids[j]]
                if term.npost >= term.cpost:
                    self._grow_postings(term, term.npost + 1)
                mc_prefetch(&term.post[term.npost])
                mc_prefetch(&term.blk[term.npost >> BLOCK_SHIFT])
        except BaseException:
            PyMem_Free(fwd)
            self.v.clear()
            if keyed:
                self.key_doc.pop(key, None)
            raise
        d = <int32_t>self.ndocs
        for j in range(ndist):
            t = ids[j]
            fwd[j] = t
            term = &terms[t]
            term.post[term.npost].doc = d
            term.post[term.npost].tf = term.scratch
            _bound(term, term.npost, term.scratch, <int32_t>ntok)
            term.npost += 1
            term.df += 1
            if term.scratch > term.maxtf:
                term.maxtf = term.scratch
            if ntok < term.mindl:
                term.mindl = <int32_t>ntok
            term.scratch = 0
        self.v.ndist = 0
        self.docs[d].terms = fwd
        self.docs[d].nterms = <int32_t>ndist
        self.docs[d].dl = <int32_t>ntok
        self.docs[d].alive = 1
        self.ndocs += 1
        self.doc_key.append(key)
        self.live += 1
        self.total += ntok
        return self._settle()

    cdef int _settle(self) except -1:
        """Renumber once most document ids are dead (amortized: each removal pays O(1)), or
        once most terms (or most of their bytes) may be unused and the documents removed since
        the last time held half as many tokens as the live ones: one removed document of a
        million distinct words otherwise kept their terms (100 MB), and one of a 50 MB word that
        word, until a thousand more documents went."""
        if self.dead > self.live and self.dead >= 1024:
            self._renumber(True)
        elif 2 * self.gone >= self.total and (
            (self.zeroed >= 1024 and 2 * self.zeroed > self.v.nterms)
            or (self.zbytes >= SCRATCH_KEEP and 2 * self.zbytes > self.v.narena)
        ):
            self._renumber(True)
        return 0

    cdef int _grow_postings(self, Term *term, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = term.cpost
        cdef Block *blk
        term.post = <Posting *>grow(term.post, &cap, need, sizeof(Posting))
        if term.blk == NULL or (cap >> BLOCK_SHIFT) != (term.cpost >> BLOCK_SHIFT):
            blk = <Block *>PyMem_Realloc(term.blk, ((cap >> BLOCK_SHIFT) + 1) * sizeof(Block))
            if blk == NULL:
                raise MemoryError()  # the postings keep their old count: still consistent
            term.blk = blk
        term.cpost = <int32_t>cap
        return 0

    cdef int _remove_doc(self, Py_ssize_t d) except -1:
        cdef Doc *doc = &self.docs[d]
        cdef Term *term
        cdef Py_ssize_t j
        doc.alive = 0
        self.live -= 1
        self.dead += 1
        self.total -= doc.dl
        self.gone += doc.dl
        for j in range(doc.nterms):
            term = &self.v.terms[doc.terms[j]]
            term.df -= 1
            if term.df == 0:
                self.zeroed += 1
                self.zbytes += term.length * term.kind
            if term.df == 0 or (term.npost - term.df > term.df and term.npost >= MIN_COMPACT):
                self._compact(term, NULL)
        PyMem_Free(doc.terms)
        doc.terms = NULL
        doc.nterms = 0
        key = self.doc_key[d]
        self.doc_key[d] = None
        del self.key_doc[key]
        return 0

    cdef void _compact(self, Term *term, const int32_t *remap) noexcept:
        """Drop a term's dead postings (renumbering docs when ``remap``); retighten bounds."""
        cdef int32_t i, kept = 0, dl
        cdef Posting p
        term.maxtf = 0
        term.mindl = INT32_LIMIT
        for i in range(term.npost):
            p = term.post[i]
            if not self.docs[p.doc].alive:
                continue
            dl = self.docs[p.doc].dl
            if remap != NULL:
                p.doc = remap[p.doc]
            term.post[kept] = p
            _bound(term, kept, p.tf, dl)
            kept += 1
            if p.tf > term.maxtf:
                term.maxtf = p.tf
            if dl < term.mindl:
                term.mindl = dl
        term.npost = kept
        if kept == 0:
            PyMem_Free(term.post)
            PyMem_Free(term.blk)
            term.post = NULL
            term.blk = NULL
            term.cpost = 0

    cdef int _renumber(self, bint drop_terms) except -1:
        """Give the live documents ids 0..live-1 (same order) and drop every dead posting; with
        ``drop_terms``, also the terms no document holds (never while ``ids`` is in use).

        The new list of keys is made first: making a Python object may run the garbage
        collector, whose finalizers may run any Python code (another thread's call on this
        index among it), so none is made while postings and documents disagree."""
        cdef Py_ssize_t i, j, new = 0
        cdef list keys = [self.doc_key[i] for i in range(self.ndocs) if self.docs[i].alive]
        cdef int32_t *remap = <int32_t *>PyMem_Malloc((self.ndocs if self.ndocs else 1) * 4)
        if remap == NULL:
            raise MemoryError()
        for i in range(self.ndocs):
            remap[i] = <int32_t>new if self.docs[i].alive else -1
            new += self.docs[i].alive
        for i in range(self.v.nterms):
            if self.v.terms[i].npost:
                self._compact(&self.v.terms[i], remap)
        for i in range(self.ndocs):
            if self.docs[i].alive:
                self.docs[remap[i]] = self.docs[i]
        PyMem_Free(remap)
        for i in range(new):  # (an int is no object the collector tracks)
            self.key_doc[keys[i]] = i
        self.doc_key = keys
        self.ndocs = new
        self.dead = 0
        self.zeroed = 0
        self.zbytes = 0
        self.gone = 0
        cdef int32_t *termmap = NULL
        if drop_terms and self.v.drop_dead_terms(&termmap):
            for i in range(self.ndocs):
                for j in range(self.docs[i].nterms):
                    self.docs[i].terms[j] = termmap[self.docs[i].terms[j]]
            PyMem_Free(termmap)
        return 0


    # --- queries -----------------------------------------------------------------------------

    def search(self, str query, Py_ssize_t k):
        """The ``k`` best ``(key, score)`` pairs for ``query`` (default tokenizer), best first."""
        try:
            return self._search_ids(scan_text(self.v, query, False), k)
        finally:
            self.v.trim()

    def search_tokens(self, list tokens, Py_ssize_t k):
        """The ``k`` best ``(key, score)`` pairs for a query given as its tokens, best first."""
        try:
            return self._search_ids(self.v.scan_tokens(tokens, False), k)
        finally:
            self.v.trim()

    cdef bint _better(self, double s1, int32_t d1, double s2, int32_t d2) except -1:
        if s1 != s2:
            return s1 > s2
        return PyUnicode_Compare(self.doc_key[d1], self.doc_key[d2]) < 0

    cdef int _sift(self, double *hs, int32_t *hd, Py_ssize_t n, Py_ssize_t i) except -1:
        """Restore the min-heap (worst hit at the root) below ``i``."""
        cdef Py_ssize_t c
        cdef double s
        cdef int32_t d
        while True:
            c = 2 * i + 1
            if c >= n:
                return 0
            if c + 1 < n and self._better(hs[c], hd[c], hs[c + 1], hd[c + 1]):
                c += 1
            if not self._better(hs[i], hd[i], hs[c], hd[c]):
                return 0
            s, d = hs[i], hd[i]
            hs[i], hd[i] = hs[c], hd[c]
            hs[c], hd[c] = s, d
            i = c

    @cython.cdivision(True)
    cdef list _search_ids(self, Py_ssize_t ntok, Py_ssize_t k):
        cdef Py_ssize_t j, m = 0, nd = self.v.ndist
        cdef int32_t t
        self.v.clear()  # resets the counts only: ids keeps the terms
        for j in range(nd):  # distinct known terms held, in query order
            t = self.v.ids[j]
            if self.v.terms[t].df > 0:
                self.v.ids[m] = t
                m += 1
        if self.live == 0 or k <= 0 or m == 0:
            return []
        if k > self.live:
            k = self.live
        cdef QTerm *q = <QTerm *>PyMem_Malloc(m * sizeof(QTerm))
        cdef double *mem = <double *>PyMem_Malloc((2 * m + k) * sizeof(double))
        cdef int32_t *hd = <int32_t *>PyMem_Malloc(k * sizeof(int32_t))
        try:
            if q == NULL or mem == NULL or hd == NULL:
                raise MemoryError()
            return self._maxscore(q, m, mem, hd, k)
        finally:
            PyMem_Free(q)
            PyMem_Free(mem)
            PyMem_Free(hd)

    @cython.cdivision(True)
    cdef list _maxscore(self, QTerm *q, Py_ssize_t m, double *mem, int32_t *hd, Py_ssize_t k):
        cdef double *prefix = mem
        cdef double *contrib = mem + m  # by query position, for the canonical sum
        cdef double *hs = mem + 2 * m
        cdef double n = <double>self.live
        cdef double avgdl = <double>self.total / n
        cdef double k1 = self._k1, b = self._b, idf, partial, score, thr = 0.0
        cdef bint pruned
        cdef Py_ssize_t i, j, fe = 0, filled = 0
        cdef int32_t d, dl, last
        cdef Term *term
        cdef QTerm tmp
        cdef const Posting *p
        for i in range(m):
            term = &self.v.terms[self.v.ids[i]]
            idf = log(1.0 + (self.live - term.df + 0.5) / (term.df + 0.5))
            q[i].post = term.post
            q[i].blk = term.blk
            q[i].bblk = -1
            q[i].n = term.npost
            q[i].cur = 0
            q[i].qpos = <int32_t>i
            q[i].idf = idf
            q[i].ub = idf * term.maxtf / (term.maxtf + k1 * (1.0 - b + b * term.mindl / avgdl))
            contrib[i] = 0.0
        self._candidates = 0
        for i in range(1, m):  # by upper bound, ascending (insertion sort: queries are short)
            tmp = q[i]
            j = i - 1
            while j >= 0 and q[j].ub > tmp.ub:
                q[j + 1] = q[j]
                j -= 1
            q[j + 1] = tmp
        partial = 0.0
        for i in range(m):
            partial += q[i].ub
            prefix[i] = partial
        while fe < m:
            d = INT32_LIMIT
            for i in range(fe, m):  # the next live document of the essential terms
                p = q[i].post
                while q[i].cur < q[i].n and not self.docs[p[q[i].cur].doc].alive:
                    q[i].cur += 1
                if q[i].cur < q[i].n and p[q[i].cur].doc < d:
                    d = p[q[i].cur].doc
            if d == INT32_LIMIT:
                break
            if filled == k and _block_bound(q, fe, m, avgdl, k1, b, &last) + (
                prefix[fe - 1] if fe > 0 else 0.0
            ) < thr:
                for i in range(fe, m):  # no document up to `last` can reach the k-th best
                    q[i].cur = _seek(q[i].post, q[i].n, q[i].cur, last + 1)
                continue
            dl = self.docs[d].dl
            self._candidates += 1
            partial = 0.0
            for i in range(fe, m):
                partial += _take(&q[i], d, dl, avgdl, k1, b, contrib)
            pruned = False
            i = fe - 1
            while i >= 0:  # the others, largest bound first, while they can still matter
                if filled == k and partial + prefix[i] < thr:
                    pruned = True
                    break
                q[i].cur = _seek(q[i].post, q[i].n, q[i].cur, d)
                partial += _take(&q[i], d, dl, avgdl, k1, b, contrib)
                i -= 1
            score = 0.0
            for i in range(m):  # canonical: the pure twin's order and rounding
                if contrib[i] != 0.0:
                    score += contrib[i]
                    contrib[i] = 0.0
            if pruned:
                continue  # cannot reach the k-th best
            if filled < k:
                hs[filled] = score
                hd[filled] = d
                filled += 1
                if filled == k:
                    for j in range(k // 2, -1, -1):
                        self._sift(hs, hd, k, j)
                else:
                    continue
            elif self._better(score, d, hs[0], hd[0]):
                hs[0] = score
                hd[0] = d
                self._sift(hs, hd, k, 0)
            else:
                continue
            thr = hs[0] - hs[0] * PRUNE_SLACK
            while fe < m and prefix[fe] < thr:
                fe += 1
        return self._hits(hs, hd, filled)

    cdef list _hits(self, const double *hs, const int32_t *hd, Py_ssize_t filled):
        """The hits as ``(key, score)``, best first. Their keys are held before any Python
        object is made (which may run the garbage collector, and through a finalizer another
        thread's call that renumbers the documents): read after, a key could be ``None``."""
        cdef Py_ssize_t j
        cdef PyObject **held = <PyObject **>PyMem_Malloc(
            (filled if filled else 1) * sizeof(PyObject *)
        )
        if held == NULL:
            raise MemoryError()
        for j in range(filled):
            key = self.doc_key[hd[j]]
            Py_INCREF(key)
            held[j] = <PyObject *>key
        try:
            hits = [(<object>held[j], hs[j]) for j in range(filled)]
        finally:
            for j in range(filled):
                Py_XDECREF(held[j])
            PyMem_Free(held)
        hits.sort(key=_by_rank)
        return hits

    def sizeof(self):
        """Bytes held: C arrays (by capacity) plus the key dict and list (keys themselves not)."""
        cdef Py_ssize_t size = sizeof(BM25Index) + self.v.sizeof() + self.cdocs * sizeof(Doc), i
        for i in range(self.ndocs):
            size += self.docs[i].nterms * sizeof(int32_t)
        return size + self.key_doc.__sizeof__() + self.doc_key.__sizeof__()
