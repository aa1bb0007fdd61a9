/* lib/utf8.c — UTF-8 validation and sanitizing (usj/analyze.h "UTF-8
 * helpers"). The decoder itself is inline in analyze_int.h so the analyzer's
 * hot loop can use it; invalid sequences follow the Unicode "maximal
 * subpart" practice: one U+FFFD per maximal prefix of a valid sequence. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"
#include "usj/error.h"

int usj_utf8_valid(const char *p, size_t len, size_t *bad_off)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    const unsigned char *q = s;
    while (q < end) {
        if (*q < 0x80) { q++; continue; }
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
        if (*s < 0x80) {
            if (*s == '\r' && s + 1 < end && s[1] == '\n') { s++; continue; }
            n++; s++;
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
    size_t o = 0;
    while (s < end) {
        if (*s < 0x80) {
            if (*s == '\r' && s + 1 < end && s[1] == '\n') { s++; continue; }
            d[o++] = (char)*s++;
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
    d[o] = '\0';
    *out = d;
    if (out_len) *out_len = o;
    if (ninvalid) *ninvalid = bad;
    return 0;
}
