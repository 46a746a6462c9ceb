"""The default tokenizer of the compiled BM25 index, scanning straight into its vocabulary.

Tokens are ``re.findall(r"(?u)\\b\\w\\w+\\b", text.lower())`` (the pure twin's definition),
read off the string's own buffer with no Python object per token:

* an ASCII text is classified and lowercased eight bytes at a time into a bitmap of word
  characters, whose runs are the tokens (``_scan_ascii_bytes``); each token is hashed and
  compared a word at a time, and its table slot and term are fetched ahead of its lookup;
* any other text is cut at ASCII separators into pieces: the ASCII ones take the same path, each
  one around a non-ASCII character goes through ``str.lower`` and ``\\w`` exactly as ``re``
  defines it (``Py_UNICODE_ISALNUM`` or ``_``), term by term through ``Vocab.intern``.

Split from ``search_vocab.pyx`` (terms, their table and postings), whose ``.pxd`` shares the
inline lookup helpers; ``search.pyx`` cimports ``scan_text`` through ``search_scan.pxd``.
"""

cimport cython
from cpython.unicode cimport Py_UNICODE_ISALNUM
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from memcore._native.search_vocab cimport (
    EMPTY,
    HASH_SEED,
    INT32_LIMIT,
    PADDED,
    Vocab,
    _find,
    _finish,
    _mix_word,
    _take,
    grow,
    mc_data,
    mc_is_ascii,
    mc_kind,
    mc_load_le64,
    mc_prefetch,
    mc_read,
    mc_store_le64,
)

cdef extern from *:
    """
    #include <stdint.h>
    /* the index of the lowest set bit of x != 0 */
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int mc_ctz64(uint64_t x) {
        unsigned long i;
        _BitScanForward64(&i, x);
        return (int)i;
    }
    #else
    static inline int mc_ctz64(uint64_t x) { return __builtin_ctzll(x); }
    #endif
    /* Eight ASCII bytes (a little-endian word, every byte < 0x80) at once: returns one bit per
       byte (bit k: byte k is [0-9A-Za-z_], i.e. \w in ASCII) and sets *low to the word
       lowercased. Range tests by adding to each byte a constant that carries into its high
       bit exactly from the bound on (no carry crosses a byte: 0x7F + 0x7F < 0x100). */
    #define MC_ONES 0x0101010101010101ULL
    #define MC_HIGH 0x8080808080808080ULL
    static inline uint64_t mc_ascii_word_bits(uint64_t x, uint64_t *low) {
        uint64_t digit = (x + MC_ONES * (0x80 - '0')) & ~(x + MC_ONES * (0x7F - '9'));
        uint64_t upper = (x + MC_ONES * (0x80 - 'A')) & ~(x + MC_ONES * (0x7F - 'Z'));
        uint64_t lower = (x + MC_ONES * (0x80 - 'a')) & ~(x + MC_ONES * (0x7F - 'z'));
        uint64_t under = ~((x ^ (MC_ONES * '_')) + MC_ONES * 0x7F);
        *low = x | ((upper & MC_HIGH) >> 2);
        /* gather the eight high bits into the top byte (no two partial products collide) */
        return ((((digit | upper | lower | under) & MC_HIGH) >> 7) * 0x0102040810204080ULL) >> 56;
    }
    """
    int mc_ctz64(uint64_t x) noexcept nogil
    uint64_t mc_ascii_word_bits(uint64_t x, uint64_t *low) noexcept nogil

ctypedef fused uchar:  # the code unit of a str's buffer (its kind: 1, 2 or 4 bytes)
    uint8_t
    uint16_t
    uint32_t

cdef uint8_t WORD[128]
cdef uint8_t SEP[128]
for _c in range(128):
    WORD[_c] = chr(_c).isalnum() or _c == 0x5F
    # Separators: ASCII characters neither word nor case-ignorable. ``str.lower`` maps each
    # character alone except capital sigma, whose final form looks across case-ignorable
    # neighbours and stops at any other; so the lowercase of a piece cut at separators is that
    # piece of the whole text's lowercase (asked of ``str.lower`` itself, not a copied list).
    SEP[_c] = not WORD[_c] and ("A" + chr(_c) + "\u03a3").lower().endswith("\u03c3")
cdef uint64_t _low
for _c in range(128):  # the SWAR classifier (C, above) is the same \w and lowercase as str's
    if mc_ascii_word_bits(_c, &_low) != WORD[_c] or _low != <uint64_t>ord(chr(_c).lower()):
        raise ImportError(f"memcore: the ASCII word classifier disagrees with str at {_c:#x}")


cdef bint is_word(Py_UCS4 c) noexcept:
    if c < 128:
        return WORD[c]
    return Py_UNICODE_ISALNUM(c)


cdef inline Py_ssize_t _next_word(
    int kind, const void *data, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *start
) noexcept:
    """The end of the next run of two or more word characters at or after ``i`` (its start
    in ``start``), or -1 when there is none."""
    while True:
        while i < n and not is_word(mc_read(kind, data, i)):
            i += 1
        if i >= n:
            return -1
        start[0] = i
        while i < n and is_word(mc_read(kind, data, i)):
            i += 1
        if i - start[0] >= 2:
            return i


def tokenize(str text):
    """The default tokenizer (same tokens as the pure twin's ``re.findall`` on ``text.lower()``)."""
    cdef str low = text.lower()
    cdef int kind = mc_kind(low)
    cdef const void *data = mc_data(low)
    cdef Py_ssize_t n = len(low), i = 0, start = 0
    out = []
    while True:
        i = _next_word(kind, data, n, i, &start)
        if i < 0:
            return out
        out.append(low[start:i])


ctypedef struct Pending:  # a token found, not yet looked up
    Py_ssize_t start     # in ``low``
    Py_ssize_t length
    uint64_t head
    uint64_t h

cdef enum:
    RING = 16        # pending tokens (a power of two above LAG_LOOKUP)
    LAG_TERM = 4     # tokens between fetching a token's table slot and its term
    LAG_LOOKUP = 8   # tokens between fetching a token's table slot and looking it up


cdef inline int _look_up(Vocab v, const Pending *p, const uint8_t *low, bint insert) except -1:
    """Look a pending token up (adding it when ``insert``) and count it (``_take``)."""
    cdef Py_ssize_t slot
    cdef Py_ssize_t tid = _find(v, PADDED, low + p.start, p.length, p.head, p.h, &slot)
    if tid < 0 and insert:
        tid = v.add_term(slot, 1, low + p.start, p.length, p.h, 0x7F)
    return _take(v, tid)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef Py_ssize_t _scan_ascii_bytes(Vocab v, const uint8_t *s, Py_ssize_t n, bint insert) except -1:
    """``_scan_ascii`` for a one-byte buffer, without a branch per character: a first pass
    classifies and lowercases eight bytes at a time (``mc_ascii_word_bits``) into a bitmap of
    word characters (``bits``, room for ``n / 64 + 2`` words) and ``low`` (``n + 8`` bytes);
    the tokens are then the runs of ones, found by counting trailing zeros, and hashed and
    compared a word at a time straight from ``low``. A token is looked up ``LAG_LOOKUP``
    tokens after it is found, its table slot and then its term fetched ahead meanwhile, so
    those cache misses overlap the work on the tokens between. Returns the token count."""
    cdef uint8_t *low = v.low
    cdef uint64_t *bits = v.bits
    cdef uint64_t m = 0, w, lw, h, head, entry
    cdef Py_ssize_t j, full = n >> 3, nwords, i, wi, start, end, length
    cdef Py_ssize_t found = 0, done = 0
    cdef Pending ring[RING]
    cdef Pending *p
    for j in range(full):
        m |= mc_ascii_word_bits(mc_load_le64(s + 8 * j), &lw) << ((j & 7) << 3)
        mc_store_le64(low + 8 * j, lw)
        if (j & 7) == 7:
            bits[j >> 3] = m
            m = 0
    if n & 7:  # the last bytes, zero-filled (zero is no word character)
        w = 0
        memcpy(&w, s + 8 * full, <size_t>(n & 7))
        m |= mc_ascii_word_bits(w, &lw) << ((full & 7) << 3)
        mc_store_le64(low + 8 * full, lw)
        full += 1
    if (full & 7) or (n & 7):  # the last, partial word of the bitmap
        bits[(full - 1) >> 3] = m
    nwords = (full + 7) >> 3
    bits[nwords] = 0  # a run ending at the very end stops here
    i = 0
    while True:
        wi = i >> 6
        m = bits[wi] & (0xFFFFFFFFFFFFFFFFULL << (i & 63))
        while m == 0 and wi + 1 < nwords:
            wi += 1
            m = bits[wi]
        if m == 0:
            break
        start = (wi << 6) + mc_ctz64(m)
        m = ~bits[wi] & (0xFFFFFFFFFFFFFFFFULL << (start & 63))
        while m == 0:
            wi += 1
            m = ~bits[wi]
        end = (wi << 6) + mc_ctz64(m)
        i = end
        length = end - start
        if length < 2:
            continue
        w = mc_load_le64(low + start)
        if length < 8:
            w &= 0xFFFFFFFFFFFFFFFFULL >> (8 * (8 - length))
        head = w
        h = _mix_word(HASH_SEED, w)
        j = start + 8
        while j < end:
            w = mc_load_le64(low + j)
            if end - j < 8:
                w &= 0xFFFFFFFFFFFFFFFFULL >> (8 * (8 - (end - j)))
            h = _mix_word(h, w)
            j += 8
        h = _finish(h, length)
        p = &ring[found & (RING - 1)]
        p.start, p.length, p.head, p.h = start, length, head, h
        mc_prefetch(&v.table[h & <uint64_t>(v.tcap - 1)])
        if found >= LAG_TERM:
            p = &ring[(found - LAG_TERM) & (RING - 1)]
            entry = v.table[p.h & <uint64_t>(v.tcap - 1)]
            if entry != EMPTY:
                mc_prefetch(&v.terms[<uint32_t>entry])
        found += 1
        if found - done > LAG_LOOKUP:
            _look_up(v, &ring[done & (RING - 1)], low, insert)
            done += 1
    while done < found:
        _look_up(v, &ring[done & (RING - 1)], low, insert)
        done += 1
    return found


cdef inline Py_ssize_t _scan_ascii(Vocab v, const uchar *s, Py_ssize_t n, bint insert) except -1:
    """Count the tokens of ``s[:n]``, every character of which is ASCII: a two- or four-byte
    buffer is first narrowed into ``low`` (which ``_scan_ascii_bytes`` then lowercases in
    place)."""
    cdef Py_ssize_t i
    cdef uint8_t *low = v.low
    if uchar is uint8_t:
        return _scan_ascii_bytes(v, s, n, insert)
    else:
        for i in range(n):
            low[i] = <uint8_t>s[i]
        return _scan_ascii_bytes(v, low, n, insert)


cdef Py_ssize_t _scan_lowered(Vocab v, str low, bint insert) except -1:
    """Count the tokens of an already lowercased text, any characters (``_next_word``)."""
    cdef Py_ssize_t n = len(low), i = 0, start = 0, count = 0
    cdef int kind = mc_kind(low)
    cdef const char *data = <const char *>mc_data(low)
    while True:
        i = _next_word(kind, data, n, i, &start)
        if i < 0:
            return count
        _take(v, v.intern(kind, data + start * kind, i - start, insert))
        count += 1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _scan_mixed(Vocab v, str text, const uchar *s, Py_ssize_t n, bint insert) except -1:
    """Count the tokens of a text holding non-ASCII characters: the ASCII stretches through
    ``_scan_ascii``; each piece around a non-ASCII character, cut at separators (``SEP``), is
    lowercased by ``str.lower`` and scanned by ``_scan_lowered``."""
    cdef Py_ssize_t i = 0, j, a, b, count = 0
    while i < n:
        j = i
        while j < n and s[j] < 128:
            j += 1
        if j == n:
            return count + _scan_ascii(v, s + i, n - i, insert)
        a = j
        while a > i and not SEP[s[a - 1]]:
            a -= 1
        b = j + 1
        while b < n and not (s[b] < 128 and SEP[s[b]]):
            b += 1
        if a > i:
            count += _scan_ascii(v, s + i, a - i, insert)
        count += _scan_lowered(v, text[a:b].lower(), insert)
        i = b
    return count


cdef Py_ssize_t scan_text(Vocab v, str text, bint insert) except -1:
    """Tokenize ``text``: its distinct known terms into ``ids`` (first occurrence order),
    ``ndist`` of them, each term's count in its ``scratch``; returns the token count."""
    v.ndist = 0
    try:
        return _scan_text(v, text, insert)
    except BaseException:
        v.clear()
        raise


cdef Py_ssize_t _scan_text(Vocab v, str text, bint insert) except -1:
    cdef Py_ssize_t n = len(text), count
    cdef int kind = mc_kind(text)
    cdef const void *data = mc_data(text)
    if n >= INT32_LIMIT:
        raise OverflowError("a document or query holds too many tokens")
    if n + 8 > v.clow:  # room for the text lowercased and a word after it
        v.low = <uint8_t *>grow(v.low, &v.clow, n + 8, 1)
    if (n >> 6) + 2 > v.cbits:  # a bit per character, and a zero word after them
        v.bits = <uint64_t *>grow(v.bits, &v.cbits, (n >> 6) + 2, sizeof(uint64_t))
    if mc_is_ascii(text):
        return _scan_ascii(v, <const uint8_t *>data, n, insert)
    if kind == 1:
        count = _scan_mixed(v, text, <const uint8_t *>data, n, insert)
    elif kind == 2:
        count = _scan_mixed(v, text, <const uint16_t *>data, n, insert)
    else:
        count = _scan_mixed(v, text, <const uint32_t *>data, n, insert)
    if count >= INT32_LIMIT:  # lowercasing can lengthen a text
        raise OverflowError("a document or query holds too many tokens")
    return count
