/* lib/codec.c — the block integer codec (lib/codec.h): 128-value bit-packing
 * with a LEB128 varint tail. */
#include <string.h>

#include "codec.h"

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static unsigned width_of(const uint32_t *in, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++)
        m |= in[i];
    return m ? 32u - (unsigned)__builtin_clz(m) : 0u;
}

/* Pack n values of width b: ceil(n * b / 8) bytes, LSB-first. */
static uint8_t *pack(const uint32_t *in, size_t n, unsigned b, uint8_t *o)
{
    if (b == 0)
        return o;
    uint64_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)in[i] << bits;
        bits += b;
        while (bits >= 8) {
            *o++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits)
        *o++ = (uint8_t)acc;
    return o;
}

static size_t packed_bytes(size_t n, unsigned b)
{
    return (n * b + 7) / 8;
}

size_t usj_codec_encode(const uint32_t *in, size_t n, uint8_t *out)
{
    uint8_t *o = out;
    size_t i = 0;
    while (n - i >= USJ_CODEC_MINPACK) {
        size_t k = n - i < USJ_CODEC_BLOCK ? n - i : USJ_CODEC_BLOCK;
        unsigned b = width_of(in + i, k);
        *o++ = (uint8_t)b;
        o = pack(in + i, k, b, o);
        i += k;
    }
    for (; i < n; i++)
        o += usj_varint_put(o, in[i]);
    return (size_t)(o - out);
}

/* Unpack n values of width b from p (packed_bytes(n, b) bytes available). */
static void unpack(const uint8_t *p, const uint8_t *end, size_t n, unsigned b,
                   uint32_t *out)
{
    if (b == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    const uint64_t mask = (UINT64_C(1) << b) - 1;
    if ((size_t)(end - p) >= packed_bytes(n, b) + 8) {
        /* fast path: one unaligned 64-bit load per value */
        uint64_t bit = 0;
        for (size_t i = 0; i < n; i++, bit += b)
            out[i] = (uint32_t)((load64(p + bit / 8) >> (bit % 8)) & mask);
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

int usj_codec_decode(const uint8_t *p, const uint8_t *end, uint32_t *out,
                     size_t n, const uint8_t **next)
{
    size_t i = 0;
    while (n - i >= USJ_CODEC_MINPACK) {
        size_t k = n - i < USJ_CODEC_BLOCK ? n - i : USJ_CODEC_BLOCK;
        if (p >= end)
            return -1;
        unsigned b = *p++;
        size_t nb = packed_bytes(k, b);
        if (b > 32 || (size_t)(end - p) < nb)
            return -1;
        unpack(p, end, k, b, out + i);
        p += nb;
        i += k;
    }
    for (; i < n; i++)
        if (usj_varint_get32(&p, end, &out[i]))
            return -1;
    *next = p;
    return 0;
}
