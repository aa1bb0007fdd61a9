/* lib/utf8.c — UTF-8 validation and sanitizing (usj/analyze.h "UTF-8
 * helpers"). The decoder itself is inline in analyze_int.h so the analyzer's
 * hot loop can use it; invalid sequences follow the Unicode "maximal
 * subpart" practice: one U+FFFD per maximal prefix of a valid sequence.
 *
 * Both functions skip ASCII 8 bytes at a time; sanitizing valid text
 * without CRLF (the common case) is one scan and one memcpy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"
#include "usj/error.h"

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Number of bytes from s that are ASCII (and, if stop_cr, not '\r'). */
static size_t ascii_run(const unsigned char *s, const unsigned char *end,
                        int stop_cr)
{
    const unsigned char *p = s;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w & HIGHS)
            break;
        if (stop_cr) {
            uint64_t x = w ^ (ONES * '\r');   /* a zero byte where '\r' was */
            if ((x - ONES) & ~x & HIGHS)
                break;
        }
        p += 8;
    }
    while (p < end && *p < 0x80 && !(stop_cr && *p == '\r'))
        p++;
    return (size_t)(p - s);
}

int usj_utf8_valid(const char *p, size_t len, size_t *bad_off)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    const unsigned char *q = s;
    while (q < end) {
        q += ascii_run(q, end, 0);
        if (q >= end)
            break;
        size_t adv;
        if (usj_utf8_decode(q, end, &adv) < 0) {
            if (bad_off) *bad_off = (size_t)(q - s);
            return 0;
        }
        q += adv;
    }
    return 1;
}

/* Bytes the sanitized copy needs (without the NUL). */
static size_t sanitized_len(const unsigned char *s, const unsigned char *end,
                            size_t *ninvalid)
{
    size_t n = 0, bad = 0;
    while (s < end) {
        size_t r = ascii_run(s, end, 1);
        n += r;
        s += r;
        if (s >= end)
            break;
        if (*s == '\r') {
            if (!(s + 1 < end && s[1] == '\n'))
                n++;
            s++;
            continue;
        }
        size_t adv;
        if (usj_utf8_decode(s, end, &adv) < 0) { n += 3; bad++; }
        else n += adv;
        s += adv;
    }
    *ninvalid = bad;
    return n;
}

int usj_utf8_sanitize(const char *p, size_t len, char **out, size_t *out_len,
                      size_t *ninvalid)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    size_t bad;
    if (len > (SIZE_MAX - 1) / 3)             /* the copy is at most 3 * len */
        return usj_error_set(USJ_ENOMEM, "utf8: input of %zu bytes too large",
                             len);
    size_t n = sanitized_len(s, end, &bad);
    char *d = malloc(n + 1);
    if (!d)
        return usj_error_set(USJ_ENOMEM, "utf8: out of memory copying %zu bytes",
                             len);
    if (n == len && bad == 0) {
        /* nothing replaced and no CRLF folded: a plain copy (a lone CR
         * counts one byte, a CRLF one: n == len means there was none) */
        if (len)
            memcpy(d, p, len);
    } else {
        size_t o = 0;
        while (s < end) {
            size_t r = ascii_run(s, end, 1);
            memcpy(d + o, s, r);
            o += r;
            s += r;
            if (s >= end)
                break;
            if (*s == '\r') {
                if (!(s + 1 < end && s[1] == '\n'))
                    d[o++] = '\r';
                s++;
                continue;
            }
            size_t adv;
            if (usj_utf8_decode(s, end, &adv) < 0) {
                d[o++] = (char)0xEF; d[o++] = (char)0xBF; d[o++] = (char)0xBD;
            } else {
                memcpy(d + o, s, adv);
                o += adv;
            }
            s += adv;
        }
    }
    d[n] = '\0';
    *out = d;
    if (out_len) *out_len = n;
    if (ninvalid) *ninvalid = bad;
    return 0;
}
