/* lib/codec.h — the block integer codec used for postings: doc gaps, term
 * frequencies and position gaps. One interface:
 *
 *   values are cut into groups of USJ_CODEC_BLOCK (128), the last group
 *   holding the rest; a group of k >= USJ_CODEC_MINPACK (8) values is
 *   bit-packed: one byte holding the bit width b (0..32), then
 *   ceil(k*b/8) bytes (k values, b bits each, LSB-first); a last group of
 *   fewer than 8 values is written as LEB128 varints (no width byte).
 *   Patched groups (PFOR): when a few values are much wider than the rest,
 *   the width byte has bit 6 set (USJ_CODEC_EXC), a byte nexc follows, the
 *   k values are packed at width b (their low bits), then nexc exceptions
 *   {u8 index in the group, varint value >> b (non-zero)} patch the wide
 *   ones. The encoder picks the b that gives the fewest bytes.
 *
 * The decoder takes (p, end), never reads past end, and returns -1 on
 * malformed input without setting a message: callers know which section and
 * term they are decoding and report USJ_ECORRUPT with that context. */
#ifndef USJ_CODEC_H
#define USJ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define USJ_CODEC_BLOCK 128u
#define USJ_CODEC_MINPACK 8u
#define USJ_CODEC_EXC   0x40u

/* Worst-case encoded size of n values. */
static inline size_t usj_codec_bound(size_t n)
{
    return (n / USJ_CODEC_BLOCK + 1) * (2 + 4 * USJ_CODEC_BLOCK);
}

/* Encode in[0..n) into out (room for usj_codec_bound(n)); returns bytes. */
size_t usj_codec_encode(const uint32_t *in, size_t n, uint8_t *out);

/* Decode n values from [p, end) into out; *next = first unread byte.
 * Returns 0, or -1 when the bytes are truncated or malformed. */
int usj_codec_decode(const uint8_t *p, const uint8_t *end, uint32_t *out,
                     size_t n, const uint8_t **next);

/* The groups of a run of n values, one at a time (for a reader that needs
 * only some of them): group g holds values [128 g, min(n, 128 g + 128)),
 * k = their count. decode_group decodes one group of k values into out,
 * which must have room for USJ_CODEC_BLOCK values (a short group may leave
 * garbage in out[k..128)); skip_group steps over it reading only its width
 * byte and exceptions, and rejects what decoding would reject. Both return
 * 0 and set *next to the group's end, or -1 (truncated or malformed). */
int usj_codec_decode_group(const uint8_t *p, const uint8_t *end,
                           uint32_t *out, size_t k, const uint8_t **next);
int usj_codec_skip_group(const uint8_t *p, const uint8_t *end, size_t k,
                         const uint8_t **next);

/* LEB128 varints (up to 64 bits). put returns bytes written (<= 10). */
static inline size_t usj_varint_put(uint8_t *p, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

/* Read one varint at *p (< end); advances *p. Returns 0, or -1 when
 * truncated or longer than 10 bytes / 64 bits. */
static inline int usj_varint_get(const uint8_t **pp, const uint8_t *end,
                                 uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {       /* fast path: one byte */
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return -1;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = r;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Same, for values that must fit 32 bits. */
static inline int usj_varint_get32(const uint8_t **pp, const uint8_t *end,
                                   uint32_t *v)
{
    uint64_t x;
    if (usj_varint_get(pp, end, &x) || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

#endif
