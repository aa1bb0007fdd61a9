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
    for (size_t i = 0; i < k; i++)
        hist[in[i] ? 32 - __builtin_clz(in[i]) : 0]++;
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
        return pack(in, k, best, o);
    }
    uint32_t low[USJ_CODEC_BLOCK] = {0};
    const uint32_t mask = (uint32_t)((UINT64_C(1) << best) - 1);
    unsigned nexc = 0;
    for (size_t i = 0; i < k; i++) {
        low[i] = in[i] & mask;
        nexc += (in[i] >> best) != 0;
    }
    *o++ = (uint8_t)(best | USJ_CODEC_EXC);
    *o++ = (uint8_t)nexc;
    o = pack(low, k, best, o);
    for (size_t i = 0; i < k; i++)
        if (in[i] >> best) {
            *o++ = (uint8_t)i;
            o += usj_varint_put(o, in[i] >> best);
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
        unsigned b = *p++, nexc = 0;
        if (b & USJ_CODEC_EXC) {
            b &= ~USJ_CODEC_EXC;
            if (p >= end || b >= 32)
                return -1;
            nexc = *p++;
        }
        size_t nb = packed_bytes(k, b);
        if (b > 32 || (size_t)(end - p) < nb)
            return -1;
        unpack(p, end, k, b, out + i);
        p += nb;
        for (unsigned e = 0; e < nexc; e++) {
            uint32_t hi;
            if (p >= end || *p >= k)
                return -1;
            size_t at = *p++;
            if (usj_varint_get32(&p, end, &hi) || hi == 0 || (b > 0 && (hi >> (32 - b)) != 0))
                return -1;
            out[i + at] |= hi << b;
        }
        i += k;
    }
    for (; i < n; i++)
        if (usj_varint_get32(&p, end, &out[i]))
            return -1;
    *next = p;
    return 0;
}
