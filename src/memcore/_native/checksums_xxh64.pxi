# XXH64 for ``checksums.pyx`` (included there): little-endian loads and short copies, the
# published constants, one-shot hashing of a buffer and the streaming state ``XState`` the
# canonical encoder writes into.

# Little-endian loads and stores of unaligned words; big-endian hosts byte-swap.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #  define MC_BSWAP64(x) __builtin_bswap64(x)
    #  define MC_BSWAP32(x) __builtin_bswap32(x)
    #else
    #  define MC_BSWAP64(x) (x)
    #  define MC_BSWAP32(x) (x)
    #endif
    static inline uint64_t mc_read64(const unsigned char *p) {
        uint64_t v; memcpy(&v, p, 8); return MC_BSWAP64(v);
    }
    static inline uint32_t mc_read32(const unsigned char *p) {
        uint32_t v; memcpy(&v, p, 4); return MC_BSWAP32(v);
    }
    static inline void mc_write64(unsigned char *p, uint64_t v) {
        v = MC_BSWAP64(v); memcpy(p, &v, 8);
    }
    /* memcpy for the short pieces most entries are made of, without a libc call: two
       overlapping fixed-size moves cover any length up to twice their size */
    static inline void mc_copy(unsigned char *dst, const unsigned char *src, size_t n) {
        uint64_t a, b; uint32_t c, d;
        if (n >= 8 && n <= 16) {
            memcpy(&a, src, 8); memcpy(&b, src + n - 8, 8);
            memcpy(dst, &a, 8); memcpy(dst + n - 8, &b, 8);
        } else if (n >= 4 && n < 8) {
            memcpy(&c, src, 4); memcpy(&d, src + n - 4, 4);
            memcpy(dst, &c, 4); memcpy(dst + n - 4, &d, 4);
        } else if (n < 4) {
            if (n) { dst[0] = src[0]; dst[n / 2] = src[n / 2]; dst[n - 1] = src[n - 1]; }
        } else if (n <= 32) {
            unsigned char x[16], y[16];
            memcpy(x, src, 16); memcpy(y, src + n - 16, 16);
            memcpy(dst, x, 16); memcpy(dst + n - 16, y, 16);
        } else if (n <= 64) {
            unsigned char x[32], y[32];
            memcpy(x, src, 32); memcpy(y, src + n - 32, 32);
            memcpy(dst, x, 32); memcpy(dst + n - 32, y, 32);
        } else {
            memcpy(dst, src, n);
        }
    }
    """
    uint64_t mc_read64(const uint8_t *p) noexcept nogil
    void mc_copy(uint8_t *dst, const uint8_t *src, size_t n) noexcept nogil
    uint32_t mc_read32(const uint8_t *p) noexcept nogil
    void mc_write64(uint8_t *p, uint64_t v) noexcept nogil

# XXH64's published constants, as compile-time literals (checked against the tables at import).
cdef extern from *:
    """
    #define MC_P1 0x9E3779B185EBCA87ULL
    #define MC_P2 0xC2B2AE3D27D4EB4FULL
    #define MC_P3 0x165667B19E3779F9ULL
    #define MC_P4 0x85EBCA77C2B2AE63ULL
    #define MC_P5 0x27D4EB2F165667C5ULL
    """
    const uint64_t MC_P1
    const uint64_t MC_P2
    const uint64_t MC_P3
    const uint64_t MC_P4
    const uint64_t MC_P5

if (MC_P1, MC_P2, MC_P3, MC_P4, MC_P5) != (
    _tables.PRIME64_1, _tables.PRIME64_2, _tables.PRIME64_3, _tables.PRIME64_4, _tables.PRIME64_5
):
    raise ImportError("memcore._native.checksums: XXH64 primes differ from the shared tables")



cdef inline uint64_t _rotl(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _round(uint64_t acc, uint64_t lane) noexcept nogil:
    acc = acc + lane * MC_P2
    acc = _rotl(acc, 31)
    return acc * MC_P1


cdef inline uint64_t _merge(uint64_t h, uint64_t acc) noexcept nogil:
    h = h ^ _round(0, acc)
    return h * MC_P1 + MC_P4


cdef inline uint64_t _avalanche(uint64_t h) noexcept nogil:
    h = h ^ (h >> 33)
    h = h * MC_P2
    h = h ^ (h >> 29)
    h = h * MC_P3
    return h ^ (h >> 32)


cdef inline uint64_t _step8(uint64_t h, uint64_t word) noexcept nogil:
    """Fold one 8-byte word of the tail into ``h``."""
    return _rotl(h ^ _round(0, word), 27) * MC_P1 + MC_P4


cdef inline uint64_t _finish(uint64_t h, const uint8_t* p, size_t n) noexcept nogil:
    """Fold the last ``n < 32`` bytes at ``p`` into ``h`` and avalanche."""
    while n >= 8:
        h = _step8(h, mc_read64(p))
        p += 8
        n -= 8
    if n >= 4:
        h = h ^ (<uint64_t>mc_read32(p) * MC_P1)
        h = _rotl(h, 23) * MC_P2 + MC_P3
        p += 4
        n -= 4
    while n > 0:
        h = h ^ (<uint64_t>p[0] * MC_P5)
        h = _rotl(h, 11) * MC_P1
        p += 1
        n -= 1
    return _avalanche(h)


cdef enum:
    XS_BUFFER = 256  # pending bytes are batched: small writes are plain stores, no stripe work


cdef struct XState:
    uint64_t v1
    uint64_t v2
    uint64_t v3
    uint64_t v4
    uint64_t total
    uint64_t seed
    size_t used  # pending bytes in buf, not yet folded into the lanes
    uint8_t buf[XS_BUFFER]


cdef inline void xs_init(XState* st, uint64_t seed) noexcept nogil:
    st.v1 = seed + MC_P1 + MC_P2
    st.v2 = seed + MC_P2
    st.v3 = seed
    st.v4 = seed - MC_P1
    st.total = 0
    st.seed = seed
    st.used = 0


cdef inline const uint8_t* _xs_stripes(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    """Fold the whole 32-byte stripes of ``n`` bytes at ``p``; return where the rest starts."""
    cdef uint64_t v1 = st.v1, v2 = st.v2, v3 = st.v3, v4 = st.v4
    while n >= 32:
        v1 = _round(v1, mc_read64(p))
        v2 = _round(v2, mc_read64(p + 8))
        v3 = _round(v3, mc_read64(p + 16))
        v4 = _round(v4, mc_read64(p + 24))
        p += 32
        n -= 32
    st.v1, st.v2, st.v3, st.v4 = v1, v2, v3, v4
    return p


cdef inline uint64_t _converge(const XState* lanes) noexcept nogil:
    """Fold the four lanes into one hash (XXH64's start of the finish for inputs >= 32 bytes)."""
    cdef uint64_t h = (
        _rotl(lanes.v1, 1) + _rotl(lanes.v2, 7) + _rotl(lanes.v3, 12) + _rotl(lanes.v4, 18)
    )
    h = _merge(h, lanes.v1)
    h = _merge(h, lanes.v2)
    h = _merge(h, lanes.v3)
    h = _merge(h, lanes.v4)
    return h


cdef uint64_t xxh64_raw(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """One-shot XXH64 of ``n`` bytes at ``p``."""
    cdef XState lanes  # only the lanes are used: the buffer stays untouched
    cdef const uint8_t* rest
    cdef uint64_t h
    cdef size_t total = n
    if n >= 32:
        xs_init(&lanes, seed)
        rest = _xs_stripes(&lanes, p, n)
        n -= <size_t>(rest - p)
        p = rest
        h = _converge(&lanes)
    else:
        h = seed + MC_P5
    h = h + <uint64_t>total
    return _finish(h, p, n)


cdef inline void _xs_flush(XState* st) noexcept nogil:
    """Fold the buffer's whole stripes, keeping its (< 32 byte) tail at the front."""
    cdef const uint8_t* rest = _xs_stripes(st, st.buf, st.used)
    cdef size_t left = st.used - <size_t>(rest - st.buf)
    if left:
        memmove(st.buf, rest, left)
    st.used = left


cdef void _xs_update_long(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    """Top the buffer up to a stripe boundary, fold it, then fold straight from the input."""
    cdef size_t fill = (32 - st.used % 32) % 32
    memcpy(&st.buf[st.used], p, fill)
    st.used += fill
    p += fill
    n -= fill
    _xs_stripes(st, st.buf, st.used)
    st.used = 0
    p = _xs_stripes(st, p, n)
    n = n % 32
    memcpy(st.buf, p, n)
    st.used = n


cdef inline void xs_update(XState* st, const uint8_t* p, size_t n) noexcept nogil:
    st.total += n
    if st.used + n <= XS_BUFFER:  # the common case, small pieces: a plain copy
        mc_copy(&st.buf[st.used], p, n)
        st.used += n
    else:
        _xs_update_long(st, p, n)


cdef inline uint64_t xs_digest(const XState* st) noexcept nogil:
    """The XXH64 of everything streamed so far; the state itself is left as it was."""
    cdef XState lanes
    cdef const uint8_t* tail
    cdef uint64_t h
    if st.total >= 32:
        lanes.v1, lanes.v2, lanes.v3, lanes.v4 = st.v1, st.v2, st.v3, st.v4
        tail = _xs_stripes(&lanes, st.buf, st.used)
        h = _converge(&lanes)
    else:
        tail = <const uint8_t*>st.buf
        h = st.seed + MC_P5
    h = h + st.total
    return _finish(h, tail, st.used - <size_t>(tail - st.buf))


cdef inline void xs_tag_u64(XState* st, uint8_t tag, uint64_t value) noexcept nogil:
    """Stream a tag byte followed by a little-endian u64 (the shape of most encodings)."""
    if st.used + 9 > XS_BUFFER:
        _xs_flush(st)
    st.buf[st.used] = tag
    mc_write64(&st.buf[st.used + 1], value)
    st.used += 9
    st.total += 9


cdef inline void xs_tag(XState* st, uint8_t tag) noexcept nogil:
    if st.used + 1 > XS_BUFFER:
        _xs_flush(st)
    st.buf[st.used] = tag
    st.used += 1
    st.total += 1
