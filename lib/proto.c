/* lib/proto.c — protocol pieces shared by usjsearchd and the client
 * (usj/proto.h): field escaping, request tokens and SEARCH options, status
 * and hit lines in both directions. The wire format is docs/PROTOCOL.md. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "limits.h"
#include "usj/error.h"
#include "usj/proto.h"

/* ------------------------------------------------------------ escaping */

/* For each of the 8 bytes of x that is \\, \t, \n or \r, the high bit of
 * that byte: the classic "has a zero byte" test on x XOR each of the four
 * bytes. Zero exactly when no byte is special; otherwise the lowest set bit
 * is in the first special byte (a borrow can only mark bytes above it). */
static inline uint64_t swar_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a = x ^ (ones * '\\'), b = x ^ (ones * '\t');
    uint64_t c = x ^ (ones * '\n'), d = x ^ (ones * '\r');
    uint64_t z = ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) |
                 ((d - ones) & ~d);
    return z & highs;
}

static inline char *put_escaped(char *d, char c)
{
    switch (c) {
    case '\\': *d++ = '\\'; *d++ = '\\'; break;
    case '\t': *d++ = '\\'; *d++ = 't'; break;
    case '\n': *d++ = '\\'; *d++ = 'n'; break;
    case '\r': *d++ = '\\'; *d++ = 'r'; break;
    default:   *d++ = c; break;
    }
    return d;
}

int usj_proto_escape(usj_buf *out, const char *p, size_t len)
{
    /* worst case doubles; reserve once so the loop does not check */
    if (len > (SIZE_MAX - 1) / 2)
        return usj_error_set(USJ_ENOMEM, "field too large to escape");
    int rc = usj_buf_reserve(out, 2 * len);
    if (rc)
        return rc;
    char *d = out->data + out->len;
    size_t i = 0;
#ifdef __SSE2__
    /* 16 bytes at a time, the same way (SSE2 is part of x86-64) */
    const __m128i bs = _mm_set1_epi8('\\'), tb = _mm_set1_epi8('\t');
    const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    while (i + 16 <= len) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        _mm_storeu_si128((__m128i *)(void *)d, x);
        __m128i m = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, bs), _mm_cmpeq_epi8(x, tb)),
            _mm_or_si128(_mm_cmpeq_epi8(x, nl), _mm_cmpeq_epi8(x, cr)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (!bits) {
            d += 16;
            i += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(bits);
        d = put_escaped(d + k, p[i + k]);
        i += k + 1;
    }
#endif
    /* 8 bytes at a time: copy them whole (there is room: at most 2*i bytes
     * were written for the first i, and 2*(len-i) >= 16 remain), keep those
     * before the first special byte, escape it, go on after it */
    while (i + 8 <= len) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        memcpy(d, &x, 8);
        uint64_t z = swar_special(x);
        if (!z) {
            d += 8;
            i += 8;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctzll(z) >> 3;
        d = put_escaped(d + k, p[i + k]);
        i += k + 1;
    }
    for (; i < len; i++)
        d = put_escaped(d, p[i]);
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int usj_proto_unescape(char **out, size_t *out_len, const char *p,
                       const char *end)
{
    *out = NULL;
    size_t n = (size_t)(end - p);
    if (n == SIZE_MAX)
        return usj_error_set(USJ_ENOMEM, "field too large");
    char *s = malloc(n + 1);
    if (!s)
        return usj_error_set(USJ_ENOMEM, "out of memory (%zu bytes)", n + 1);
    char *d = s;
    while (p < end) {
        char c = *p++;
        if (c != '\\') {
            *d++ = c;
            continue;
        }
        if (p == end) {
            free(s);
            return usj_error_set(USJ_EINVAL, "lone backslash at end of field");
        }
        switch (*p++) {
        case '\\': *d++ = '\\'; break;
        case 't':  *d++ = '\t'; break;
        case 'n':  *d++ = '\n'; break;
        case 'r':  *d++ = '\r'; break;
        default:
            free(s);
            return usj_error_set(USJ_EINVAL, "unknown escape \\%c", p[-1]);
        }
    }
    *d = '\0';
    if (out_len)
        *out_len = (size_t)(d - s);
    *out = s;
    return 0;
}

/* ------------------------------------------------------------ requests */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int usj_proto_token(const char **p, const char *end, const char **tok,
                    size_t *tok_len)
{
    const char *s = *p;
    while (s < end && is_blank(*s))
        s++;
    const char *t = s;
    while (s < end && !is_blank(*s))
        s++;
    *p = s;
    if (s == t)
        return 0;
    *tok = t;
    *tok_len = (size_t)(s - t);
    return 1;
}

int usj_proto_word_is(const char *tok, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len; i++) {
        char c = tok[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (word[i] == '\0' || c != word[i])
            return 0;
    }
    return word[i] == '\0';
}

/* Decimal uint64 in [tok, tok+len) (at most 20 digits, no overflow);
 * returns 0 or -1. */
static int parse_u64(const char *tok, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        unsigned d = (unsigned)(tok[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The same for a uint32 (at most 10 digits); returns 0 or -1. */
static int parse_u32(const char *tok, size_t len, uint32_t *out)
{
    uint64_t v;
    if (len > 10 || parse_u64(tok, len, &v) || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int usj_proto_parse_search(usj_proto_search *out, const char *p,
                           const char *end)
{
    const char *start = p;
    memset(out, 0, sizeof *out);
    out->limit = USJ_PROTO_DEFAULT_LIMIT;
    for (;;) {
        const char *save = p, *tok;
        size_t len;
        if (!usj_proto_token(&p, end, &tok, &len)) {
            p = save;
            break;
        }
        uint32_t *slot = NULL;      /* the option's number, or: */
        uint64_t *slot64 = NULL;
        if (usj_proto_word_is(tok, len, "LIMIT"))
            slot = &out->limit;
        else if (usj_proto_word_is(tok, len, "OFFSET"))
            slot = &out->offset;
        else if (usj_proto_word_is(tok, len, "TIMEOUT"))
            slot = &out->timeout_ms;
        else if (usj_proto_word_is(tok, len, "TOTALUPTO"))
            slot64 = &out->total_upto;
        else if (usj_proto_word_is(tok, len, "EXPLAIN")) {
            out->explain = 1;
            continue;
        } else if (usj_proto_word_is(tok, len, "NOTEXT")) {
            out->flags |= USJ_SEARCH_NOTEXT;
            continue;
        } else if (len == 2 && tok[0] == '-' && tok[1] == '-') {
            break;
        } else {
            p = save;
            break;
        }
        const char *val;
        size_t vlen;
        if (!usj_proto_token(&p, end, &val, &vlen) ||
            (slot64 ? parse_u64(val, vlen, slot64)
                    : parse_u32(val, vlen, slot)) != 0) {
            int col = (int)(tok - start) + 1;
            return usj_error_set_at(USJ_EINVAL, col, "%.*s needs a number (0..%s)",
                                    (int)len, tok,
                                    slot64 ? "18446744073709551615" : "4294967295");
        }
    }
    /* one run of blanks separates the options from the query */
    while (p < end && is_blank(*p))
        p++;
    out->query = p;
    out->query_len = (size_t)(end - p);
    return 0;
}

int usj_proto_format_search(usj_buf *out, const char *query, size_t len,
                            const usj_search_opts *opts)
{
    int rc = usj_buf_printf(out, "SEARCH LIMIT %u OFFSET %u", opts->limit,
                            opts->offset);
    if (!rc && opts->explain)
        rc = usj_buf_puts(out, " EXPLAIN");
    if (!rc && (opts->flags & USJ_SEARCH_NOTEXT))
        rc = usj_buf_puts(out, " NOTEXT");
    if (!rc && opts->timeout_ms)
        rc = usj_buf_printf(out, " TIMEOUT %u", opts->timeout_ms);
    if (!rc && opts->total_upto)
        rc = usj_buf_printf(out, " TOTALUPTO %llu",
                            (unsigned long long)opts->total_upto);
    if (!rc)
        rc = usj_buf_put(out, " -- ", 4);
    if (!rc)
        rc = usj_buf_reserve(out, len + 1);
    if (rc)
        return rc;
    char *d = out->data + out->len;
    for (size_t i = 0; i < len; i++)
        d[i] = (query[i] == '\n' || query[i] == '\r') ? ' ' : query[i];
    out->len += len;
    out->data[out->len++] = '\n';
    out->data[out->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------ answers */

/* "00" "01" ... "99": two digits per division in put_u64. */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v at d (no NUL; at most 20); returns the count. */
static size_t put_u64(char *d, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, digit_pairs + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    size_t n = sizeof tmp - i;
    memcpy(d, tmp + i, n);
    return n;
}

int usj_proto_format_results_head(usj_buf *out, const usj_results *r)
{
    char head[80];            /* "OK " and three numbers of <= 20 digits */
    memcpy(head, "OK ", 3);
    size_t n = 3;
    n += put_u64(head + n, r->nhits);
    head[n++] = ' ';
    n += put_u64(head + n, r->total);
    if (r->total_relation == USJ_TOTAL_AT_LEAST)
        head[n++] = '+';
    head[n++] = ' ';
    n += put_u64(head + n, r->took_us);
    head[n++] = ' ';
    int rc = usj_buf_put(out, head, n);
    if (!rc && r->root)
        rc = usj_proto_escape(out, r->root, strlen(r->root));
    if (!rc)
        rc = usj_buf_putc(out, '\n');
    return rc;
}

/* Next field up to sep (or end); *p moves past the separator, or becomes
 * NULL after the last field. Returns 0, or -1 when no field is left. */
static int next_field(const char **p, const char *end, char sep,
                      const char **f, const char **fend)
{
    if (!*p)
        return -1;
    const char *s = *p;
    const char *e = memchr(s, sep, (size_t)(end - s));
    *f = s;
    *fend = e ? e : end;
    *p = e ? e + 1 : NULL;
    return 0;
}

int usj_proto_parse_results_head(usj_results *r, const char *p,
                                 const char *end)
{
    const char *f, *fe;
    uint64_t v[3];
    if (end - p < 3 || memcmp(p, "OK ", 3) != 0)
        return usj_error_set(USJ_EINVAL, "answer is not OK <n> <total> <us>");
    p += 3;
    uint32_t relation = USJ_TOTAL_EXACT;
    for (int i = 0; i < 3; i++) {
        if (next_field(&p, end, ' ', &f, &fe))
            return usj_error_set(USJ_EINVAL, "bad number in SEARCH answer");
        if (i == 1 && fe > f && fe[-1] == '+') {     /* a lower bound */
            relation = USJ_TOTAL_AT_LEAST;
            fe--;
        }
        if (parse_u64(f, (size_t)(fe - f), &v[i]))
            return usj_error_set(USJ_EINVAL, "bad number in SEARCH answer");
    }
    if (v[0] > USJ_MAX_RESULTS)
        return usj_error_set(USJ_EINVAL, "too many hits announced (%llu)",
                             (unsigned long long)v[0]);
    r->nhits = (size_t)v[0];
    r->total = v[1];
    r->total_relation = relation;
    r->took_us = v[2];
    r->root = NULL;
    if (p)
        return usj_proto_unescape(&r->root, NULL, p, end);
    return 0;
}

/* "%.17g" of v exactly as printf writes it, into d (room for 32 bytes);
 * returns the length. printf's exact multi-precision conversion costs about
 * 1.5k instructions a score; for the usual range of scores, [1e-4, 1e16)
 * (%g's fixed notation), the 17 digits are v * 10^(16-e) rounded to an
 * integer, computed here in long double: 10^k (k <= 20) is exact in a
 * 64-bit mantissa and the one rounding of the product (< 2^57) errs by at
 * most 2^-7, so the nearest integer is right unless the product is within
 * 0.01 of a half — those, and everything else, go to snprintf. */
static size_t put_g17(char *d, double v)
{
#if LDBL_MANT_DIG >= 64
    static const long double p10[21] = {
        1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
        1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L
    };
    if (v == 0 && !signbit(v)) {      /* range-only queries, GET */
        d[0] = '0';
        d[1] = '\0';
        return 1;
    }
    if (v >= 1e-4 && v < 1e16) {
        int e = (int)floor(log10(v));
        if (e < -4)
            e = -4;
        if (e > 15)
            e = 15;
        long double p = (long double)v * p10[16 - e];
        if (p < 1e16L && e > -4)
            p = (long double)v * p10[16 - --e];
        else if (p >= 1e17L && e < 15)
            p = (long double)v * p10[16 - ++e];
        long double fl = floorl(p), frac = p - fl;
        if (p >= 1e16L && p < 1e17L && fabsl(frac - 0.5L) > 0.01L) {
            uint64_t n = (uint64_t)fl + (frac > 0.5L);
            if (n < 100000000000000000ull) {
                char dig[17];
                for (int i = 16; i >= 0; i--) {
                    dig[i] = (char)('0' + n % 10);
                    n /= 10;
                }
                int last = 16;                 /* drop trailing zeros */
                while (last > 0 && dig[last] == '0' && last > e)
                    last--;
                size_t o = 0;
                if (e >= 0) {
                    memcpy(d, dig, (size_t)e + 1);
                    o = (size_t)e + 1;
                    if (last > e) {
                        d[o++] = '.';
                        memcpy(d + o, dig + e + 1, (size_t)(last - e));
                        o += (size_t)(last - e);
                    }
                } else {
                    d[o++] = '0';
                    d[o++] = '.';
                    for (int z = 0; z < -e - 1; z++)
                        d[o++] = '0';
                    memcpy(d + o, dig, (size_t)last + 1);
                    o += (size_t)last + 1;
                }
                d[o] = '\0';
                return o;
            }
        }
    }
#endif
    int k = snprintf(d, 32, "%.17g", v);
    return k < 0 ? 0 : (size_t)k;
}

/* The formatting is done by hand (printf only for unusual scores): a hit
 * line is the bulk of every SEARCH answer. */
int usj_proto_format_hit(usj_buf *out, const usj_hit *h)
{
    int rc = 0;
    if (h->path)
        rc = usj_proto_escape(out, h->path, strlen(h->path));
    if (rc)
        return rc;
    char num[96];
    size_t n = 0;
    num[n++] = '\t';
    n += put_u64(num + n, h->line);
    num[n++] = '\t';
    n += put_u64(num + n, h->column);
    num[n++] = '\t';
    size_t k = put_g17(num + n, h->score);
    if (k == 0)
        return usj_error_set(USJ_EINVAL, "score does not format");
    n += k;
    num[n++] = '\t';
    if ((rc = usj_buf_put(out, num, n)) != 0 ||
        (rc = usj_proto_escape(out, h->text ? h->text : "",
                               h->text ? h->text_len : 0)) != 0)
        return rc;
    /* each span: 3 numbers of <= 10 digits and 3 separators */
    if (h->nspans > (SIZE_MAX - 64) / 33)
        return usj_error_set(USJ_ENOMEM, "too many spans");
    if ((rc = usj_buf_reserve(out, 1 + h->nspans * 33 + 12)) != 0)
        return rc;
    char *d = out->data + out->len;
    *d++ = '\t';
    for (size_t i = 0; i < h->nspans; i++) {
        if (i)
            *d++ = ',';
        d += put_u64(d, h->spans[i].start);
        *d++ = '-';
        d += put_u64(d, h->spans[i].end);
        *d++ = ':';
        d += put_u64(d, h->spans[i].kind);
    }
    *d++ = '\t';
    d += put_u64(d, h->para_line);
    *d++ = '\t';
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
    if (h->title && (rc = usj_proto_escape(out, h->title, strlen(h->title))))
        return rc;
    if ((rc = usj_buf_putc(out, '\t')) != 0)
        return rc;
    if (h->explain &&
        (rc = usj_proto_escape(out, h->explain, strlen(h->explain))))
        return rc;
    n = 0;
    num[n++] = '\t';
    n += put_u64(num + n, h->doc);
    num[n++] = '\n';
    return usj_buf_put(out, num, n);
}

void usj_proto_hit_clear(usj_hit *h)
{
    free(h->path);
    free(h->title);
    free(h->text);
    free(h->spans);
    free(h->explain);
    memset(h, 0, sizeof *h);
}

static int parse_spans(usj_hit *h, const char *p, const char *end)
{
    if (p == end)
        return 0;
    size_t n = 1;
    for (const char *s = p; s < end; s++)
        n += *s == ',';
    h->spans = calloc(n, sizeof *h->spans);
    if (!h->spans)
        return usj_error_set(USJ_ENOMEM, "out of memory (%zu spans)", n);
    const char *f, *fe;
    while (next_field(&p, end, ',', &f, &fe) == 0) {
        const char *dash = memchr(f, '-', (size_t)(fe - f));
        const char *colon = dash ? memchr(dash, ':', (size_t)(fe - dash)) : NULL;
        usj_span *sp = &h->spans[h->nspans];
        if (!colon || parse_u32(f, (size_t)(dash - f), &sp->start) ||
            parse_u32(dash + 1, (size_t)(colon - dash - 1), &sp->end) ||
            parse_u32(colon + 1, (size_t)(fe - colon - 1), &sp->kind) ||
            sp->start > sp->end || sp->end > h->text_len)
            return usj_error_set(USJ_EINVAL, "bad span '%.*s'",
                                 (int)(fe - f < 40 ? fe - f : 40), f);
        h->nspans++;
    }
    return 0;
}

static int parse_score(const char *p, const char *end, double *out)
{
    char tmp[64];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *e;
    errno = 0;
    *out = strtod(tmp, &e);
    return (*e != '\0' || errno == ERANGE) ? -1 : 0;
}

int usj_proto_parse_hit(usj_hit *h, const char *p, const char *end,
                        int explain)
{
    static const char *const names[] = {
        "path", "line", "column", "score", "text", "spans", "para_line",
        "title", "explain", "doc"
    };
    enum { NF = 10 };
    const char *f[NF], *fe[NF];
    memset(h, 0, sizeof *h);
    int i = 0;
    for (; i < NF; i++)
        if (next_field(&p, end, '\t', &f[i], &fe[i]))
            break;
    if (i != NF || p)
        return usj_error_set(USJ_EINVAL, "hit line has %s fields (want %d)",
                             i < NF ? "too few" : "too many", NF);
    int rc = 0, bad = -1;
    if (usj_proto_unescape(&h->path, NULL, f[0], fe[0]))
        bad = 0;
    else if (parse_u32(f[1], (size_t)(fe[1] - f[1]), &h->line))
        bad = 1;
    else if (parse_u32(f[2], (size_t)(fe[2] - f[2]), &h->column))
        bad = 2;
    else if (parse_score(f[3], fe[3], &h->score))
        bad = 3;
    else if (usj_proto_unescape(&h->text, &h->text_len, f[4], fe[4]))
        bad = 4;
    else if ((rc = parse_spans(h, f[5], fe[5])) != 0)
        goto fail;
    else if (parse_u32(f[6], (size_t)(fe[6] - f[6]), &h->para_line))
        bad = 6;
    else if (usj_proto_unescape(&h->title, NULL, f[7], fe[7]))
        bad = 7;
    else if ((explain || f[8] != fe[8]) &&
             usj_proto_unescape(&h->explain, NULL, f[8], fe[8]))
        bad = 8;
    else if (parse_u32(f[9], (size_t)(fe[9] - f[9]), &h->doc))
        bad = 9;
    if (bad < 0)
        return 0;
    rc = usj_error_set(USJ_EINVAL, "bad %s field in hit line", names[bad]);
fail:
    usj_proto_hit_clear(h);
    return rc;
}

int usj_proto_format_error(usj_buf *out, int code, const char *name,
                           int column, const char *msg)
{
    if (!name)
        name = usj_error_name(code);
    int rc;
    if (code == USJ_EPARSE || code == USJ_ELIMIT)
        rc = usj_buf_printf(out, "ERR %s %d ", name, column < 0 ? 0 : column);
    else
        rc = usj_buf_printf(out, "ERR %s ", name);
    if (!rc)
        rc = usj_proto_escape(out, msg, strlen(msg));
    if (!rc)
        rc = usj_buf_putc(out, '\n');
    return rc;
}

int usj_proto_parse_error(const char *p, const char *end)
{
    const char *tok;
    size_t len;
    if (end - p < 4 || memcmp(p, "ERR ", 4) != 0)
        return usj_error_set(USJ_EIO, "unexpected answer from the daemon: "
                             "%.*s", (int)(end - p < 80 ? end - p : 80), p);
    p += 4;
    if (!usj_proto_token(&p, end, &tok, &len))
        return usj_error_set(USJ_EIO, "daemon error without a code");
    int code = USJ_EIO;
    for (int c = USJ_ENOMEM; c >= USJ_EEMPTY; c--)
        if (strlen(usj_error_name(c)) == len &&
            memcmp(usj_error_name(c), tok, len) == 0)
            code = c;
    int col = 0;
    if (code == USJ_EPARSE || code == USJ_ELIMIT) {
        const char *ct;
        size_t clen;
        uint32_t v;
        const char *save = p;
        if (usj_proto_token(&p, end, &ct, &clen) &&
            parse_u32(ct, clen, &v) == 0 && v <= INT32_MAX)
            col = (int)v;
        else
            p = save;
    }
    if (p < end && *p == ' ')
        p++;
    char *msg = NULL;
    if (usj_proto_unescape(&msg, NULL, p, end) != 0)
        return usj_error_set_at(code, col, "%.*s", (int)(end - p), p);
    usj_error_set_at(code, col, "%s", msg);
    free(msg);
    return code;
}
