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

static uint8_t *pack128(const uint32_t *in, unsigned b, uint8_t *o)
{
    *o++ = (uint8_t)b;
    if (b == 0)
        return o;
    uint64_t acc = 0;
    unsigned bits = 0;
    for (unsigned i = 0; i < USJ_CODEC_BLOCK; i++) {
        acc |= (uint64_t)in[i] << bits;
        bits += b;
        while (bits >= 8) {
            *o++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    return o;   /* 128 * b bits is a whole number of bytes */
}

size_t usj_codec_encode(const uint32_t *in, size_t n, uint8_t *out)
{
    uint8_t *o = out;
    size_t i = 0;
    for (; i + USJ_CODEC_BLOCK <= n; i += USJ_CODEC_BLOCK)
        o = pack128(in + i, width_of(in + i, USJ_CODEC_BLOCK), o);
    for (; i < n; i++)
        o += usj_varint_put(o, in[i]);
    return (size_t)(o - out);
}

/* Unpack 128 values of width b from p, which has at least 16*b bytes. */
static void unpack128(const uint8_t *p, const uint8_t *end, unsigned b,
                      uint32_t *out)
{
    if (b == 0) {
        memset(out, 0, USJ_CODEC_BLOCK * sizeof *out);
        return;
    }
    const uint64_t mask = (UINT64_C(1) << b) - 1;
    size_t need = 16u * b;
    if ((size_t)(end - p) >= need + 8) {
        /* fast path: one unaligned 64-bit load per value */
        uint64_t bit = 0;
        for (unsigned i = 0; i < USJ_CODEC_BLOCK; i++, bit += b)
            out[i] = (uint32_t)((load64(p + bit / 8) >> (bit % 8)) & mask);
        return;
    }
    uint64_t acc = 0;
    unsigned bits = 0;
    for (unsigned i = 0; i < USJ_CODEC_BLOCK; i++) {
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
    for (; i + USJ_CODEC_BLOCK <= n; i += USJ_CODEC_BLOCK) {
        if (p >= end)
            return -1;
        unsigned b = *p++;
        if (b > 32 || (size_t)(end - p) < 16u * b)
            return -1;
        unpack128(p, end, b, out + i);
        p += 16u * b;
    }
    for (; i < n; i++)
        if (usj_varint_get32(&p, end, &out[i]))
            return -1;
    *next = p;
    return 0;
}
