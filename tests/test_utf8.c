/* tests/test_utf8.c — UTF-8 validation and sanitizing (usj_utf8_valid,
 * usj_utf8_sanitize): every class of invalid sequence, CRLF folding, and a
 * differential check against an independent reference decoder and
 * utf8proc on random byte strings. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "usj/analyze.h"

static void check_invalid(const char *s, size_t n, size_t want_off)
{
    size_t off = 12345;
    cr_assert_eq(usj_utf8_valid(s, n, &off), 0, "should be invalid");
    cr_assert_eq(off, want_off, "bad offset %zu, want %zu", off, want_off);
}

Test(utf8, valid_strings)
{
    const char *ok[] = {
        "", "plain ASCII", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9D\x84\x9E",
        "Japan\xE2\x80\x99s", "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF",
        "\xED\x9F\xBF", "\xEE\x80\x80",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert_eq(usj_utf8_valid(ok[i], strlen(ok[i]), NULL), 1,
                     "case %zu", i);
    /* NUL bytes are valid UTF-8 */
    cr_assert_eq(usj_utf8_valid("a\0b", 3, NULL), 1);
}

Test(utf8, invalid_sequences_and_offsets)
{
    check_invalid("a\x80z", 3, 1);                 /* lone continuation */
    check_invalid("ab\xBF", 3, 2);
    check_invalid("a\xE2\x82", 3, 1);              /* truncated at end */
    check_invalid("a\xE2\x82z", 4, 1);             /* truncated inside */
    check_invalid("\xF0\x9F\x98", 3, 0);
    check_invalid("\xC0\x80", 2, 0);               /* overlong NUL */
    check_invalid("\xC1\xBF", 2, 0);
    check_invalid("\xE0\x80\xAF", 3, 0);           /* overlong '/' */
    check_invalid("\xF0\x80\x80\xAF", 4, 0);
    check_invalid("x\xED\xA0\x80", 4, 1);          /* surrogate D800 */
    check_invalid("\xED\xBF\xBF", 3, 0);           /* surrogate DFFF */
    check_invalid("ok\xFF", 3, 2);                 /* 0xFF */
    check_invalid("\xFE", 1, 0);
    check_invalid("\xF4\x90\x80\x80", 4, 0);       /* above U+10FFFF */
    check_invalid("\xF5\x80\x80\x80", 4, 0);
    cr_assert_eq(usj_utf8_valid("\x80", 1, NULL), 0);   /* NULL bad_off */
}

static void check_sanitize(const char *in, size_t n, const char *want,
                           size_t want_bad)
{
    char *out = NULL;
    size_t len = 0, bad = 99;
    cr_assert_eq(usj_utf8_sanitize(in, n, &out, &len, &bad), 0);
    cr_assert_not_null(out);
    cr_assert_eq(len, strlen(want), "len %zu want %zu", len, strlen(want));
    cr_assert_eq(memcmp(out, want, len), 0, "got '%s' want '%s'", out, want);
    cr_assert_eq(out[len], '\0');
    cr_assert_eq(bad, want_bad, "ninvalid %zu want %zu", bad, want_bad);
    cr_assert_eq(usj_utf8_valid(out, len, NULL), 1);
    free(out);
}

#define R "\xEF\xBF\xBD"

Test(utf8, sanitize_replaces_maximal_subparts)
{
    check_sanitize("", 0, "", 0);
    check_sanitize("plain", 5, "plain", 0);
    check_sanitize("a\x80z", 3, "a" R "z", 1);
    check_sanitize("a\xE2\x82z", 4, "a" R "z", 1);      /* one U+FFFD */
    check_sanitize("a\xE2\x82", 3, "a" R, 1);
    check_sanitize("\xC0\x80", 2, R R, 2);               /* C0 never valid */
    check_sanitize("\xE0\x80\xAF", 3, R R R, 3);
    check_sanitize("\xED\xA0\x80", 3, R R R, 3);         /* surrogate */
    check_sanitize("\xFF\xFE", 2, R R, 2);
    check_sanitize("\xF0\x9F\x98!", 4, R "!", 1);
    check_sanitize("caf\xC3\xA9", 5, "caf\xC3\xA9", 0);
}

Test(utf8, sanitize_folds_crlf_only)
{
    check_sanitize("a\r\nb\rc\n\r\n", 9, "a\nb\rc\n\n", 0);
    check_sanitize("\r", 1, "\r", 0);
    check_sanitize("x\r\n", 3, "x\n", 0);
    /* NUL bytes are kept */
    char *out;
    size_t len, bad;
    cr_assert_eq(usj_utf8_sanitize("a\0b", 3, &out, &len, &bad), 0);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(out, "a\0b", 3), 0);
    free(out);
}

/* Independent reference: the Unicode table 3-7 of well-formed sequences. */
static size_t ref_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    unsigned lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c == 0xE0) { need = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) need = 3;
    else if (c == 0xED) { need = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) need = 3;
    else if (c == 0xF0) { need = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 4;
    else if (c == 0xF4) { need = 4; hi = 0x8F; }
    else return 0;
    if (n < need) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < need; k++)
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    return need;
}

static int ref_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = ref_len(p + i, n - i);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

static int utf8proc_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i),
                                              &cp);
        if (l <= 0 || cp < 0) return 0;
        i += (size_t)l;
    }
    return 1;
}

Test(utf8, differential_random_bytes)
{
    static const unsigned char pool[] = {
        'a', 'Z', ' ', '\r', '\n', 0, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
        0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF3,
        0xF4, 0xF5, 0xFF,
    };
    unsigned seed = 12345;
    unsigned char buf[24];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pool[rand_r(&seed) % (int)sizeof pool];
        int v = usj_utf8_valid((const char *)buf, n, NULL);
        cr_assert_eq(v, ref_valid(buf, n), "reference disagrees, iter %d", iter);
        cr_assert_eq(v, utf8proc_valid(buf, n), "utf8proc disagrees, iter %d",
                     iter);
        char *out;
        size_t len, bad;
        cr_assert_eq(usj_utf8_sanitize((const char *)buf, n, &out, &len, &bad),
                     0);
        cr_assert_eq(usj_utf8_valid(out, len, NULL), 1);
        cr_assert_eq(bad == 0, v == 1);
        if (v) {
            /* valid input: only CRLF -> LF changes */
            size_t crlf = 0;
            for (size_t i = 0; i + 1 < n; i++)
                crlf += buf[i] == '\r' && buf[i + 1] == '\n';
            cr_assert_eq(len, n - crlf);
        }
        free(out);
    }
}

/* Longer, mostly ASCII strings: the 8-byte ASCII skipping at every
 * alignment, with CR, CRLF and bad bytes placed anywhere. */
Test(utf8, differential_long_mostly_ascii)
{
    unsigned seed = 777;
    unsigned char buf[300];
    for (int iter = 0; iter < 50000; iter++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed) % 100;
            buf[i] = r < 90 ? (unsigned char)('a' + r % 26)
                   : r < 93 ? '\r' : r < 96 ? '\n'
                   : r < 98 ? 0xC3 : 0xA9;        /* é halves */
        }
        int v = usj_utf8_valid((const char *)buf, n, NULL);
        cr_assert_eq(v, ref_valid(buf, n), "iter %d", iter);
        char *out;
        size_t len, bad;
        cr_assert_eq(usj_utf8_sanitize((const char *)buf, n, &out, &len, &bad),
                     0);
        /* reference sanitize: byte by byte */
        size_t o = 0, rb = 0, i = 0;
        static char want[3 * sizeof buf + 1];
        while (i < n) {
            if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n') { i++; continue; }
            size_t l = ref_len(buf + i, n - i);
            if (l) { memcpy(want + o, buf + i, l); o += l; i += l; continue; }
            /* with this alphabet every invalid sequence is one byte: a
             * lone A9, or a C3 not followed by a continuation byte */
            memcpy(want + o, "\xEF\xBF\xBD", 3);
            o += 3;
            rb++;
            i++;
        }
        cr_assert_eq(len, o, "iter %d: len %zu want %zu", iter, len, o);
        cr_assert_eq(memcmp(out, want, o), 0, "iter %d", iter);
        cr_assert_eq(bad, rb);
        free(out);
    }
}
