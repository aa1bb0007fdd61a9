/* lib/codec.c — the block integer codec (lib/codec.h): 128-value bit-packing
 * with a LEB128 varint tail. Full groups are packed and unpacked by one
 * straight-line function per width (pack128_B, unpack128_B, B = 1..32),
 * unpacked with AVX2 byte shuffles where the CPU has them (widths <= 25,
 * unpack128_avx2); short groups by generic loops. USJ_NO_AVX2 set to a
 * non-empty value in the environment (read once per process) keeps the
 * scalar unpackers on an AVX2 CPU: the tests use it so that both paths are
 * checked on any machine, and it gives a way to compare them. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "format.h"     /* usj_ld32, usj_ld64, usj_st32: little-endian */

/* Pack n values of width b: ceil(n * b / 8) bytes, LSB-first (32 bits
 * stored at a time). */
static uint8_t *pack(const uint32_t *in, size_t n, unsigned b, uint8_t *o)
{
    if (b == 0)
        return o;
    uint64_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)in[i] << bits;    /* bits < 32, b <= 32: fits */
        bits += b;
        if (bits >= 32) {
            o[0] = (uint8_t)acc;
            o[1] = (uint8_t)(acc >> 8);
            o[2] = (uint8_t)(acc >> 16);
            o[3] = (uint8_t)(acc >> 24);
            o += 4;
            acc >>= 32;
            bits -= 32;
        }
    }
    for (; bits > 0; bits = bits > 8 ? bits - 8 : 0) {
        *o++ = (uint8_t)acc;
        acc >>= 8;
    }
    return o;
}

/* pack() of a full group at a constant width b (values < 2^b): the same
 * bytes, as 4 x b words built in a register with constant shifts. */
static inline __attribute__((always_inline)) void
pack128(const uint32_t *restrict in, uint8_t *restrict o, const unsigned b)
{
    for (unsigned q = 0; q < 4; q++, in += 32, o += 4 * b) {
        uint32_t w = 0;
#pragma GCC unroll 32
        for (unsigned i = 0; i < 32; i++) {
            const unsigned bit = i * b, s = bit % 32;
            w |= in[i] << s;
            if (s + b >= 32) {
                usj_st32(o + 4 * (bit / 32), w);
                w = s + b > 32 ? in[i] >> (32 - s) : 0;
            }
        }
    }
}

#define PACK128(B) \
    static void pack128_##B(const uint32_t *restrict in, uint8_t *restrict o) \
    { pack128(in, o, B); }
PACK128(1)  PACK128(2)  PACK128(3)  PACK128(4)  PACK128(5)  PACK128(6)
PACK128(7)  PACK128(8)  PACK128(9)  PACK128(10) PACK128(11) PACK128(12)
PACK128(13) PACK128(14) PACK128(15) PACK128(16) PACK128(17) PACK128(18)
PACK128(19) PACK128(20) PACK128(21) PACK128(22) PACK128(23) PACK128(24)
PACK128(25) PACK128(26) PACK128(27) PACK128(28) PACK128(29) PACK128(30)
PACK128(31) PACK128(32)
#undef PACK128

static void (*const packers[33])(const uint32_t *restrict, uint8_t *restrict) = {
    NULL,        pack128_1,  pack128_2,  pack128_3,  pack128_4,  pack128_5,
    pack128_6,  pack128_7,  pack128_8,  pack128_9,  pack128_10, pack128_11,
    pack128_12, pack128_13, pack128_14, pack128_15, pack128_16, pack128_17,
    pack128_18, pack128_19, pack128_20, pack128_21, pack128_22, pack128_23,
    pack128_24, pack128_25, pack128_26, pack128_27, pack128_28, pack128_29,
    pack128_30, pack128_31, pack128_32,
};

/* Pack k values (all < 2^b) of one group. */
static uint8_t *pack_group(const uint32_t *in, size_t k, unsigned b, uint8_t *o)
{
    if (b == 0)
        return o;
    if (k == USJ_CODEC_BLOCK) {
        packers[b](in, o);
        return o + 16 * b;
    }
    return pack(in, k, b, o);
}

static size_t packed_bytes(size_t n, unsigned b)
{
    return (n * b + 7) / 8;
}

/* Encode one group of k values (k <= 128): choose the width b that
 * minimises packed bits plus exceptions (values wider than b, stored as
 * index byte + varint of their high bits). */
static uint8_t *encode_group(const uint32_t *in, size_t k, uint8_t *o)
{
    unsigned hist[33] = {0};
    for (size_t i = 0; i < k; i++)       /* bit width, 0 for 0 */
        hist[32 - __builtin_clz(in[i] | 1) - (in[i] == 0)]++;
    unsigned maxb = 32;
    while (maxb > 0 && hist[maxb] == 0)
        maxb--;
    unsigned best = maxb;
    size_t best_cost = packed_bytes(k, maxb);
    /* lower widths cost more in exceptions, which only grow as b falls:
     * stop once they alone cannot beat the best */
    for (unsigned b = maxb; b-- > 0;) {
        size_t exc = 1, nexc = 0;
        for (unsigned l = b + 1; l <= maxb; l++) {
            nexc += hist[l];
            exc += hist[l] * (1 + (l - b + 6) / 7);
        }
        if (exc >= best_cost || nexc > 255)
            break;
        size_t cost = packed_bytes(k, b) + exc;
        if (cost < best_cost) {
            best_cost = cost;
            best = b;
        }
    }
    if (best == maxb) {
        *o++ = (uint8_t)best;
        return pack_group(in, k, best, o);
    }
    /* the low bits of every value, and where the wide ones are */
    uint32_t low[USJ_CODEC_BLOCK] = {0};   /* (pack reads k of them) */
    uint8_t at[USJ_CODEC_BLOCK];
    const uint32_t mask = (uint32_t)((UINT64_C(1) << best) - 1);
    unsigned nexc = 0;
    for (size_t i = 0; i < k; i++) {
        low[i] = in[i] & mask;
        at[nexc] = (uint8_t)i;
        nexc += in[i] > mask;
    }
    *o++ = (uint8_t)(best | USJ_CODEC_EXC);
    *o++ = (uint8_t)nexc;
    o = pack_group(low, k, best, o);
    for (unsigned e = 0; e < nexc; e++) {
        *o++ = at[e];
        o += usj_varint_put(o, in[at[e]] >> best);
    }
    return o;
}

size_t usj_codec_encode(const uint32_t *in, size_t n, uint8_t *out)
{
    uint8_t *o = out;
    size_t i = 0;
    while (n - i >= USJ_CODEC_MINPACK) {
        size_t k = n - i < USJ_CODEC_BLOCK ? n - i : USJ_CODEC_BLOCK;
        o = encode_group(in + i, k, o);
        i += k;
    }
    for (; i < n; i++)
        o += usj_varint_put(o, in[i]);
    return (size_t)(o - out);
}

/* A full group of 128 values of width b is 4 x 32 values, each in exactly
 * b little-endian 32-bit words (128 * b bits = 16 * b bytes). With b a
 * constant (one copy of this per width, below) every shift, mask and word
 * index is a constant and the loop unrolls to straight-line loads, shifts
 * and stores, reading no byte outside the group. */
static inline __attribute__((always_inline)) void
unpack128(const uint8_t *restrict p, uint32_t *restrict out, const unsigned b)
{
    const uint32_t mask = b >= 32 ? UINT32_MAX : (UINT32_C(1) << b) - 1;
    for (unsigned q = 0; q < 4; q++, p += 4 * b, out += 32) {
#pragma GCC unroll 32
        for (unsigned i = 0; i < 32; i++) {
            const unsigned bit = i * b, w = bit / 32, s = bit % 32;
            uint32_t v = usj_ld32(p + 4 * w) >> s;
            if (s + b > 32)
                v |= usj_ld32(p + 4 * w + 4) << (32 - s);
            out[i] = v & mask;
        }
    }
}

#define UNPACK128(B) \
    static void unpack128_##B(const uint8_t *restrict p, uint32_t *restrict out) \
    { unpack128(p, out, B); }
UNPACK128(1)  UNPACK128(2)  UNPACK128(3)  UNPACK128(4)  UNPACK128(5)
UNPACK128(6)  UNPACK128(7)  UNPACK128(8)  UNPACK128(9)  UNPACK128(10)
UNPACK128(11) UNPACK128(12) UNPACK128(13) UNPACK128(14) UNPACK128(15)
UNPACK128(16) UNPACK128(17) UNPACK128(18) UNPACK128(19) UNPACK128(20)
UNPACK128(21) UNPACK128(22) UNPACK128(23) UNPACK128(24) UNPACK128(25)
UNPACK128(26) UNPACK128(27) UNPACK128(28) UNPACK128(29) UNPACK128(30)
UNPACK128(31) UNPACK128(32)
#undef UNPACK128

static void (*const unpackers[33])(const uint8_t *restrict, uint32_t *restrict) = {
    NULL,          unpack128_1,  unpack128_2,  unpack128_3,  unpack128_4,
    unpack128_5,  unpack128_6,  unpack128_7,  unpack128_8,  unpack128_9,
    unpack128_10, unpack128_11, unpack128_12, unpack128_13, unpack128_14,
    unpack128_15, unpack128_16, unpack128_17, unpack128_18, unpack128_19,
    unpack128_20, unpack128_21, unpack128_22, unpack128_23, unpack128_24,
    unpack128_25, unpack128_26, unpack128_27, unpack128_28, unpack128_29,
    unpack128_30, unpack128_31, unpack128_32,
};

/* A full group at width b <= USJ_AVX2_MAXB with AVX2 (x86-64 CPUs that
 * have it, checked once at run time): every 8 values start on a byte
 * (8 b bits), so one byte shuffle per 128-bit lane puts each value's 4
 * bytes in its 32-bit slot, one variable shift per slot and a mask finish
 * it: the same values as unpack128_B, ~7 instructions per 8 instead of ~4
 * per value, reading no byte outside the group. Wider values span 5 bytes:
 * those keep the scalar unpackers. */
#define USJ_AVX2_MAXB 25u
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <pthread.h>
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <sys/platform/x86.h>     /* glibc's own CPUID results */
#endif

static struct {
    uint8_t  shuf[USJ_AVX2_MAXB + 1][32];
    uint32_t shift[USJ_AVX2_MAXB + 1][8];
} avx2_tab;
static int have_avx2;
static pthread_once_t avx2_once = PTHREAD_ONCE_INIT;

/* AVX2 usable (the CPU has it and the OS saves the ymm registers)? glibc
 * has asked the CPU already; libgcc's __builtin_cpu_supports would pull in
 * a constructor that asks again in every process, and CPUID traps to the
 * hypervisor in a VM (~85 us of a 1.2 ms usjsearch run). */
static int cpu_has_avx2(void)
{
#ifdef CPU_FEATURE_ACTIVE
    return CPU_FEATURE_ACTIVE(AVX2);
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#endif
}

static void avx2_init(void)
{
    for (unsigned b = 1; b <= USJ_AVX2_MAXB; b++)
        for (unsigned j = 0; j < 8; j++) {
            /* lane 0 holds values 0..3 from the 8's first byte, lane 1
             * values 4..7 from byte 4b/8, 4b % 8 bits into it */
            unsigned bit = j < 4 ? j * b : (4 * b) % 8 + (j - 4) * b;
            for (unsigned x = 0; x < 4; x++)
                avx2_tab.shuf[b][4 * j + x] = (uint8_t)(bit / 8 + x);
            avx2_tab.shift[b][j] = bit % 8;
        }
    const char *off = getenv("USJ_NO_AVX2");
    have_avx2 = cpu_has_avx2() && !(off && *off);
}

__attribute__((target("avx2"))) static inline void
unpack8_avx2(const uint8_t *p, uint32_t *out, size_t half, __m256i shuf,
             __m256i shift, __m256i mask)
{
    __m256i v = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
        _mm_loadu_si128((const __m128i *)(p + half)), 1);
    v = _mm256_srlv_epi32(_mm256_shuffle_epi8(v, shuf), shift);
    _mm256_storeu_si256((__m256i *)out, _mm256_and_si256(v, mask));
}

/* avail bytes are readable at p: with 16 past the group's 16 b, all
 * eights read in place; else the last ones, whose 16-byte loads would pass
 * the group's end, read a copy of its tail. */
__attribute__((target("avx2"))) static void
unpack128_avx2(const uint8_t *p, size_t avail, uint32_t *out, unsigned b)
{
    const __m256i shuf = _mm256_loadu_si256((const __m256i *)avx2_tab.shuf[b]);
    const __m256i shift = _mm256_loadu_si256((const __m256i *)avx2_tab.shift[b]);
    const __m256i mask = _mm256_set1_epi32((int)((UINT32_C(1) << b) - 1));
    const size_t half = 4 * b / 8, total = 16 * (size_t)b;
    unsigned g = 0;
    if (avail >= total + 16) {
        for (; g < USJ_CODEC_BLOCK / 8; g++)
            unpack8_avx2(p + g * b, out + 8 * g, half, shuf, shift, mask);
        return;
    }
    for (; g < USJ_CODEC_BLOCK / 8 && g * b + half + 16 <= total; g++)
        unpack8_avx2(p + g * b, out + 8 * g, half, shuf, shift, mask);
    if (g < USJ_CODEC_BLOCK / 8) {
        /* (16 - g) b < b/2 + 16 bytes left, read up to 16 past them */
        uint8_t tail[64] = {0};
        memcpy(tail, p + g * b, total - g * b);
        for (unsigned h = 0; g < USJ_CODEC_BLOCK / 8; g++, h++)
            unpack8_avx2(tail + h * b, out + 8 * g, half, shuf, shift, mask);
    }
}

/* 0: not checked yet; 1: no AVX2; 2: AVX2 */
static int avx2_state;

static void avx2_check(void)
{
    pthread_once(&avx2_once, avx2_init);
    __atomic_store_n(&avx2_state, have_avx2 ? 2 : 1, __ATOMIC_RELEASE);
}

/* Unpack a full group of width b (1..32) at p, avail bytes readable. */
static inline void unpack_full(const uint8_t *p, size_t avail, uint32_t *out,
                               unsigned b)
{
    int st = __atomic_load_n(&avx2_state, __ATOMIC_ACQUIRE);
    if (__builtin_expect(st == 0, 0)) {
        avx2_check();
        st = __atomic_load_n(&avx2_state, __ATOMIC_ACQUIRE);
    }
    if (st == 2 && b <= USJ_AVX2_MAXB)
        unpack128_avx2(p, avail, out, b);
    else
        unpackers[b](p, out);
}
#else
static inline void unpack_full(const uint8_t *p, size_t avail, uint32_t *out,
                               unsigned b)
{
    (void)avail;
    unpackers[b](p, out);
}
#endif

/* Unpack n (< 128) values of width b (1..32) from p; packed_bytes(n, b)
 * bytes are available before end. */
static void unpack_short(const uint8_t *p, const uint8_t *end, size_t n,
                         unsigned b, uint32_t *out)
{
    const uint64_t mask = (UINT64_C(1) << b) - 1;
    if ((size_t)(end - p) >= packed_bytes(n, b) + 8) {
        /* one unaligned 64-bit load per value (within end) */
        uint64_t bit = 0;
        for (size_t i = 0; i < n; i++, bit += b)
            out[i] = (uint32_t)((usj_ld64(p + bit / 8) >> (bit % 8)) & mask);
        return;
    }
    uint64_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        while (bits < b) {
            acc |= (uint64_t)*p++ << bits;
            bits += 8;
        }
        out[i] = (uint32_t)(acc & mask);
        acc >>= b;
        bits -= b;
    }
}

/* The header of a packed group of k values at *pp: width b (0..32), nexc
 * exceptions, nb packed bytes, all present before end; *pp moves to the
 * packed bytes. Returns 0 or -1. */
static inline int group_head(const uint8_t **pp, const uint8_t *end, size_t k,
                             unsigned *b, unsigned *nexc, size_t *nb)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return -1;
    *b = *p++;
    *nexc = 0;
    if (*b & USJ_CODEC_EXC) {
        *b &= ~USJ_CODEC_EXC;
        if (p >= end || *b >= 32)
            return -1;
        *nexc = *p++;
    }
    if (*b > 32)
        return -1;
    *nb = packed_bytes(k, *b);
    if ((size_t)(end - p) < *nb)
        return -1;
    *pp = p;
    return 0;
}

/* The next exception of a group of k values at width b at *pp: index
 * *at < k, high bits *hi in [1, 2^(32-b) - 1] (most of them two bytes, a
 * one-byte varint). Returns 0 or -1. */
static inline int group_exception(const uint8_t **pp, const uint8_t *end,
                                  size_t k, unsigned b, size_t *at,
                                  uint32_t *hi)
{
    const uint8_t *p = *pp;
    if ((size_t)(end - p) >= 2 && p[1] < 0x80) {
        *at = p[0];
        *hi = p[1];
        p += 2;
    } else {
        if (p >= end)
            return -1;
        *at = *p++;
        if (usj_varint_get32(&p, end, hi))
            return -1;
    }
    const uint32_t himax = b < 32 ? UINT32_MAX >> b : 0;
    if (*at >= k || *hi - 1 >= himax)
        return -1;
    *pp = p;
    return 0;
}

/* One group of k values (8 <= k <= 128) at p. room: out has space for 128
 * values, so a short group may be unpacked as a full one when the 16 * b
 * bytes are there (values past k are then garbage). */
static inline int decode_packed(const uint8_t *p, const uint8_t *end,
                                uint32_t *out, size_t k, int room,
                                const uint8_t **next)
{
    unsigned b, nexc;
    size_t nb;
    if (group_head(&p, end, k, &b, &nexc, &nb))
        return -1;
    size_t avail = (size_t)(end - p);
    if (b == 0)
        memset(out, 0, k * sizeof *out);
    else if (k == USJ_CODEC_BLOCK || (room && avail >= 16u * b))
        unpack_full(p, avail, out, b);
    else
        unpack_short(p, end, k, b, out);
    p += nb;
    /* exceptions whose high bits fit one byte (most) two bytes at a time
     * while 2 bytes per remaining exception are there; the checks are
     * group_exception's */
    const uint32_t himax = b < 32 ? UINT32_MAX >> b : 0;
    unsigned e = 0;
    if ((size_t)(end - p) >= 2u * nexc)
        for (; e < nexc && p[1] < 0x80; e++, p += 2) {
            uint32_t hi = p[1];
            if (p[0] >= k || hi - 1 >= himax)
                return -1;
            out[p[0]] |= hi << b;
        }
    for (; e < nexc; e++) {
        uint32_t hi;
        size_t at;
        if (group_exception(&p, end, k, b, &at, &hi))
            return -1;
        out[at] |= hi << b;
    }
    *next = p;
    return 0;
}

int usj_codec_decode(const uint8_t *p, const uint8_t *end, uint32_t *out,
                     size_t n, const uint8_t **next)
{
    size_t i = 0;
    while (n - i >= USJ_CODEC_MINPACK) {
        size_t k = n - i < USJ_CODEC_BLOCK ? n - i : USJ_CODEC_BLOCK;
        if (decode_packed(p, end, out + i, k, 0, &p))
            return -1;
        i += k;
    }
    for (; i < n; i++)
        if (usj_varint_get32(&p, end, &out[i]))
            return -1;
    *next = p;
    return 0;
}

int usj_codec_decode_group(const uint8_t *p, const uint8_t *end,
                           uint32_t *out, size_t k, const uint8_t **next)
{
    if (k >= USJ_CODEC_MINPACK)
        return decode_packed(p, end, out, k, 1, next);
    for (size_t i = 0; i < k; i++)
        if (usj_varint_get32(&p, end, &out[i]))
            return -1;
    *next = p;
    return 0;
}

int usj_codec_skip_group(const uint8_t *p, const uint8_t *end, size_t k,
                         const uint8_t **next)
{
    uint32_t v;
    if (k < USJ_CODEC_MINPACK) {
        for (size_t i = 0; i < k; i++)
            if (usj_varint_get32(&p, end, &v))
                return -1;
        *next = p;
        return 0;
    }
    unsigned b, nexc;
    size_t nb, at;
    if (group_head(&p, end, k, &b, &nexc, &nb))
        return -1;
    p += nb;
    for (unsigned e = 0; e < nexc; e++)     /* the checks decode makes */
        if (group_exception(&p, end, k, b, &at, &v))
            return -1;
    *next = p;
    return 0;
}
