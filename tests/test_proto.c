/* tests/test_proto.c — the protocol pieces (usj/proto.h): escaping round
 * trips over every byte, SEARCH options, hit/status/error lines formatted
 * and parsed back exactly, malformed lines refused, random bytes survived. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usj/error.h"
#include "usj/proto.h"

Test(proto, escape_round_trip_every_byte)
{
    char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i & 255);
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_escape(&b, all, sizeof all), 0);
    cr_assert_null(memchr(b.data, '\n', b.len));
    cr_assert_null(memchr(b.data, '\r', b.len));
    cr_assert_null(memchr(b.data, '\t', b.len));
    char *back;
    size_t n;
    cr_assert_eq(usj_proto_unescape(&back, &n, b.data, b.data + b.len), 0);
    cr_assert_eq(n, sizeof all);
    cr_assert_eq(memcmp(back, all, n), 0);
    cr_assert_eq(back[n], '\0');
    free(back);
    usj_buf_free(&b);
}

Test(proto, escape_exact_bytes)
{
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_escape(&b, "a\\b\tc\nd\re", 9), 0);
    cr_assert_str_eq(b.data, "a\\\\b\\tc\\nd\\re");
    usj_buf_free(&b);
}

/* The reference escaping, one byte at a time. */
static size_t ref_escape(char *d, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = p[i] == '\\' ? "\\\\" : p[i] == '\t' ? "\\t"
                      : p[i] == '\n' ? "\\n" : p[i] == '\r' ? "\\r" : NULL;
        if (e) {
            d[o++] = e[0];
            d[o++] = e[1];
        } else {
            d[o++] = p[i];
        }
    }
    return o;
}

/* The 8-bytes-at-a-time escaping equals the reference for special bytes at
 * every offset and alignment, runs of them, and bytes next to them in value
 * (0x08, 0x0b, 0x0c, 0x0e, '[', ']', 0x80 | special). */
Test(proto, escape_matches_bytewise_reference)
{
    static const char pool[] = "\\\t\n\r\x08\x0b\x0c\x0e[]\xdc\x89\x8a\x8d"
                               "abcdefgh \x00\xff";
    char src[80], want[160];
    usj_buf b = USJ_BUF_INIT;
    srand(11);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand() % 70), skip = (size_t)(rand() % 8);
        int dense = rand() % 4;
        for (size_t i = 0; i < skip + n; i++)
            src[i] = (rand() % 8 < dense) ? pool[rand() % (sizeof pool - 1)]
                                          : (char)('a' + rand() % 26);
        usj_buf_clear(&b);
        usj_buf_puts(&b, "x");
        cr_assert_eq(usj_proto_escape(&b, src + skip, n), 0);
        size_t wn = ref_escape(want, src + skip, n);
        cr_assert_eq(b.len, wn + 1, "round %d", round);
        cr_assert_eq(memcmp(b.data + 1, want, wn), 0, "round %d", round);
        cr_assert_eq(b.data[b.len], '\0');
    }
    usj_buf_free(&b);
}

Test(proto, unescape_refuses_bad_escapes)
{
    char *s = (char *)1;
    const char *bad[] = { "abc\\", "\\x", "\\0", "a\\ b" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(usj_proto_unescape(&s, NULL, bad[i], bad[i] + strlen(bad[i])),
                     USJ_EINVAL, "%s", bad[i]);
        cr_assert_null(s);
    }
    cr_assert_eq(usj_proto_unescape(&s, NULL, "", ""), 0);
    cr_assert_str_eq(s, "");
    free(s);
}

Test(proto, tokens_and_words)
{
    const char *line = "  search\tLIMIT  5 ", *p = line, *end = line + strlen(line);
    const char *t;
    size_t n;
    cr_assert(usj_proto_token(&p, end, &t, &n));
    cr_assert(usj_proto_word_is(t, n, "SEARCH"));
    cr_assert_not(usj_proto_word_is(t, n, "SEARC"));
    cr_assert_not(usj_proto_word_is(t, n - 1, "SEARCH"));
    cr_assert(usj_proto_token(&p, end, &t, &n));
    cr_assert(usj_proto_word_is(t, n, "LIMIT"));
    cr_assert(usj_proto_token(&p, end, &t, &n));
    cr_assert_eq(n, 1);
    cr_assert_eq(*t, '5');
    cr_assert_not(usj_proto_token(&p, end, &t, &n));
    cr_assert_eq(p, end);
}

static usj_proto_search ps_of(const char *s, int *rc)
{
    usj_proto_search ps;
    *rc = usj_proto_parse_search(&ps, s, s + strlen(s));
    return ps;
}

Test(proto, search_options)
{
    int rc;
    usj_proto_search ps = ps_of(" LIMIT 5 offset 2 Explain  safety clause", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.limit, 5);
    cr_assert_eq(ps.offset, 2);
    cr_assert_eq(ps.explain, 1);
    cr_assert_eq(ps.query_len, strlen("safety clause"));
    cr_assert_eq(memcmp(ps.query, "safety clause", ps.query_len), 0);

    ps = ps_of("\"Section 232\"", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.limit, USJ_PROTO_DEFAULT_LIMIT);
    cr_assert_eq(ps.offset, 0);
    cr_assert_eq(ps.explain, 0);
    cr_assert_eq(ps.query_len, 13);

    /* `--` lets a query start with an option word */
    ps = ps_of("LIMIT 3 -- limit 7 explain", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.limit, 3);
    cr_assert_eq(ps.query_len, strlen("limit 7 explain"));

    ps = ps_of("notext LIMIT 2 x", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.flags, USJ_SEARCH_NOTEXT);
    cr_assert_eq(ps.limit, 2);

    ps = ps_of("TIMEOUT 250 x", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.timeout_ms, 250);

    ps = ps_of("totalupto 12345678901 LIMIT 1 x", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.total_upto, 12345678901ull);
    cr_assert_eq(ps.limit, 1);
    ps = ps_of("x", &rc);
    cr_assert_eq(ps.total_upto, 0);
    ps = ps_of("LIMIT 2 TOTALUPTO -1 x", &rc);
    cr_assert_eq(rc, USJ_EINVAL);
    cr_assert_eq(usj_error_column(), 9);
    ps = ps_of("TOTALUPTO", &rc);
    cr_assert_eq(rc, USJ_EINVAL);

    ps = ps_of("", &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ps.query_len, 0);

    ps = ps_of(" LIMIT x y", &rc);
    cr_assert_eq(rc, USJ_EINVAL);
    cr_assert_eq(usj_error_column(), 2);
    ps = ps_of("OFFSET 99999999999 y", &rc);
    cr_assert_eq(rc, USJ_EINVAL);
    ps = ps_of("LIMIT", &rc);
    cr_assert_eq(rc, USJ_EINVAL);
}

Test(proto, search_request_round_trip)
{
    usj_buf b = USJ_BUF_INIT;
    usj_search_opts o = { .limit = 7, .offset = 3, .timeout_ms = 0, .explain = 1 };
    const char q[] = "limit\r\n\"a b\"";
    cr_assert_eq(usj_proto_format_search(&b, q, sizeof q - 1, &o), 0);
    cr_assert_str_eq(b.data, "SEARCH LIMIT 7 OFFSET 3 EXPLAIN -- limit  \"a b\"\n");
    const char *p = b.data, *end = b.data + b.len - 1, *t;
    size_t n;
    cr_assert(usj_proto_token(&p, end, &t, &n));
    usj_proto_search ps;
    cr_assert_eq(usj_proto_parse_search(&ps, p, end), 0);
    cr_assert_eq(ps.limit, 7);
    cr_assert_eq(ps.offset, 3);
    cr_assert_eq(ps.explain, 1);
    cr_assert_eq(ps.query_len, sizeof q - 1);      /* same columns */
    cr_assert_eq(ps.total_upto, 0);

    usj_buf_clear(&b);
    o.total_upto = 1000;
    o.explain = 0;
    cr_assert_eq(usj_proto_format_search(&b, "x", 1, &o), 0);
    cr_assert_str_eq(b.data, "SEARCH LIMIT 7 OFFSET 3 TOTALUPTO 1000 -- x\n");
    p = b.data;
    end = b.data + b.len - 1;
    cr_assert(usj_proto_token(&p, end, &t, &n));
    cr_assert_eq(usj_proto_parse_search(&ps, p, end), 0);
    cr_assert_eq(ps.total_upto, 1000);
    usj_buf_free(&b);
}

Test(proto, results_head_round_trip)
{
    usj_results r = { .nhits = 3, .total = 1234567890123ull, .took_us = 42,
                      .root = "/tmp/a b\tc" };
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_format_results_head(&b, &r), 0);
    cr_assert_str_eq(b.data, "OK 3 1234567890123 42 /tmp/a b\\tc\n");
    usj_results back;
    memset(&back, 0, sizeof back);
    cr_assert_eq(usj_proto_parse_results_head(&back, b.data, b.data + b.len - 1), 0);
    cr_assert_eq(back.nhits, 3);
    cr_assert_eq(back.total, r.total);
    cr_assert_eq(back.took_us, 42);
    cr_assert_str_eq(back.root, r.root);
    cr_assert_eq(back.total_relation, USJ_TOTAL_EXACT);
    free(back.root);

    /* a lower bound (TOTALUPTO) is marked by "+" and read back as such */
    usj_buf_clear(&b);
    r.total = 1000;
    r.total_relation = USJ_TOTAL_AT_LEAST;
    cr_assert_eq(usj_proto_format_results_head(&b, &r), 0);
    cr_assert_str_eq(b.data, "OK 3 1000+ 42 /tmp/a b\\tc\n");
    cr_assert_eq(usj_proto_parse_results_head(&back, b.data, b.data + b.len - 1), 0);
    cr_assert_eq(back.total, 1000);
    cr_assert_eq(back.total_relation, USJ_TOTAL_AT_LEAST);
    free(back.root);

    /* every digit count of the hand-made decimal formatting, up to 20 */
    uint64_t v = 0;
    for (int digits = 1; digits <= 20; digits++) {
        v = digits == 1 ? 7 : v * 10 + (uint64_t)(digits % 10);
        usj_buf_clear(&b);
        r.nhits = (size_t)(v % 100000);
        r.total = v;
        r.took_us = UINT64_MAX - v;
        r.total_relation = USJ_TOTAL_EXACT;
        cr_assert_eq(usj_proto_format_results_head(&b, &r), 0);
        char want[128];
        snprintf(want, sizeof want, "OK %zu %llu %llu /tmp/a b\\tc\n", r.nhits,
                 (unsigned long long)v, (unsigned long long)(UINT64_MAX - v));
        cr_assert_str_eq(b.data, want);
    }

    const char *bad[] = { "OK", "OK 1 2", "OK a 2 3 /", "ERR X y", "OK 99999 1 1 /",
                          "OK 1 + 1 /", "OK 1 2++ 1 /", "OK 1+ 2 1 /", "OK 1 2 1+ /" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(usj_proto_parse_results_head(&back, bad[i],
                                                  bad[i] + strlen(bad[i])),
                     USJ_EINVAL, "%s", bad[i]);
    usj_buf_free(&b);
}

static void check_hit_round_trip(const usj_hit *h, int explain)
{
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_format_hit(&b, h), 0);
    cr_assert_eq(b.data[b.len - 1], '\n');
    cr_assert_null(memchr(b.data, '\n', b.len - 1));
    usj_hit g;
    cr_assert_eq(usj_proto_parse_hit(&g, b.data, b.data + b.len - 1, explain), 0,
                 "%s: %s", b.data, usj_error_last());
    cr_assert_str_eq(g.path, h->path);
    cr_assert_str_eq(g.title, h->title);
    cr_assert_eq(g.text_len, h->text_len);
    cr_assert_eq(memcmp(g.text, h->text, h->text_len), 0);
    cr_assert_eq(g.line, h->line);
    cr_assert_eq(g.column, h->column);
    cr_assert_eq(g.para_line, h->para_line);
    cr_assert_eq(g.doc, h->doc);
    cr_assert(g.score == h->score, "score %.17g != %.17g", g.score, h->score);
    cr_assert_eq(g.nspans, h->nspans);
    for (size_t i = 0; i < h->nspans; i++) {
        cr_assert_eq(g.spans[i].start, h->spans[i].start);
        cr_assert_eq(g.spans[i].end, h->spans[i].end);
        cr_assert_eq(g.spans[i].kind, h->spans[i].kind);
    }
    if (h->explain)
        cr_assert_str_eq(g.explain, h->explain);
    else if (!explain)
        cr_assert_null(g.explain);
    usj_proto_hit_clear(&g);
    usj_buf_free(&b);
}

Test(proto, hit_round_trip)
{
    usj_span spans[3] = { { 0, 5, USJ_SPAN_TERM }, { 7, 18, USJ_SPAN_PHRASE },
                          { 20, 32, USJ_SPAN_NUMBER } };
    char text[] = "Hello\t\\ Section 232\n $550 billion\r\n tail";
    usj_hit h = { .doc = 17, .score = 3.14159265358979, .path = "seeds/0 1.txt",
                  .title = "A \"title\"\twith tab", .line = 24, .column = 7,
                  .para_line = 23, .text = text, .text_len = sizeof text - 1,
                  .spans = spans, .nspans = 3, .explain = NULL };
    check_hit_round_trip(&h, 0);
    h.explain = "bm25 = 1.2 * ...\nline 2";
    check_hit_round_trip(&h, 1);
    h.nspans = 0;
    h.explain = NULL;
    h.text_len = 0;
    h.text = "";
    check_hit_round_trip(&h, 1);
    srand(7);
    for (int i = 0; i < 2000; i++) {
        h.score = (double)rand() / RAND_MAX * pow(10, rand() % 20 - 10);
        check_hit_round_trip(&h, 0);
    }
}

/* The hand-made hit line is the bytes of the printf formulation. */
Test(proto, hit_line_exact_bytes)
{
    usj_span spans[3] = { { 0, 5, USJ_SPAN_TERM }, { 7, 4294967295u, USJ_SPAN_PHRASE },
                          { 20, 32, USJ_SPAN_NUMBER } };
    usj_hit h = { .doc = 4294967295u, .score = -1.0 / 3, .path = "p\\q",
                  .title = "T\tt", .line = 0, .column = 1000000000,
                  .para_line = 9, .text = "a\nb", .text_len = 3,
                  .spans = spans, .nspans = 3, .explain = "e\re" };
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_format_hit(&b, &h), 0);
    cr_assert_str_eq(b.data, "p\\\\q\t0\t1000000000\t-0.33333333333333331\t"
                     "a\\nb\t0-5:0,7-4294967295:1,20-32:2\t9\tT\\tt\te\\re\t"
                     "4294967295\n");
    usj_buf_clear(&b);
    h.nspans = 0;
    h.explain = NULL;
    h.path = NULL;
    h.title = NULL;
    h.score = 12;
    cr_assert_eq(usj_proto_format_hit(&b, &h), 0);
    cr_assert_str_eq(b.data, "\t0\t1000000000\t12\ta\\nb\t\t9\t\t\t4294967295\n");
    usj_buf_free(&b);
}

/* The score field is printf's "%.17g" to the byte, whatever the score:
 * random bit patterns over the whole range, BM25-like values, neighbours of
 * powers of ten, halves and exact integers, zero, negatives, inf, nan. */
static void check_score(double v)
{
    usj_hit h = { .score = v };
    static usj_buf b = USJ_BUF_INIT;
    usj_buf_clear(&b);
    cr_assert_eq(usj_proto_format_hit(&b, &h), 0);
    char want[64];
    snprintf(want, sizeof want, "\t0\t0\t%.17g\t", v);
    cr_assert_eq(strncmp(b.data, want, strlen(want)), 0,
                 "score %a: got %s want %s", v, b.data, want);
}

Test(proto, score_is_printf_g17)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        check_score(v);                                 /* any bits */
        check_score(ldexp((double)(x >> 11), -53) * pow(10, (int)(x % 24) - 6));
        check_score((double)(x % 100000) / 1000);        /* BM25-like */
    }
    for (int e = -8; e <= 18; e++) {
        double p = pow(10, e);
        double w = p;
        for (int k = 0; k < 40; k++) {
            check_score(w);
            check_score(nextafter(p, 0) - (p - w));
            w = nextafter(w, INFINITY);
        }
        for (int k = 1; k < 2000; k++)
            check_score(p * k / 2);
    }
    check_score(0);
    check_score(-0.0);
    check_score(-3.25);
    check_score(INFINITY);
    check_score(NAN);
    check_score(1e-4);
    check_score(nextafter(1e-4, 0));
    check_score(1e16);
    check_score(nextafter(1e16, 0));
    check_score(DBL_MIN);
    check_score(DBL_MAX);
}

Test(proto, hit_malformed_lines_refused)
{
    const char *bad[] = {
        "",
        "p\t1\t1\t1.5\ttext\t\t1\tT\t",                      /* 9 fields */
        "p\t1\t1\t1.5\ttext\t\t1\tT\t\t0\textra",            /* 11 fields */
        "p\tx\t1\t1.5\ttext\t\t1\tT\t\t0",                   /* bad line */
        "p\t1\t1\tnan?\ttext\t\t1\tT\t\t0",                  /* bad score */
        "p\t1\t1\t1.5\ttext\t0-9:0\t1\tT\t\t0",              /* span past text */
        "p\t1\t1\t1.5\ttext\t3-1:0\t1\tT\t\t0",              /* span backwards */
        "p\t1\t1\t1.5\ttext\t0-1\t1\tT\t\t0",                /* no kind */
        "p\t1\t1\t1.5\ttext\t0-1:0,\t1\tT\t\t0",             /* empty span */
        "p\t1\t1\t1.5\tte\\xt\t\t1\tT\t\t0",                 /* bad escape */
        "p\t1\t1\t1.5\ttext\t\t1\tT\t\t-1",                  /* bad doc */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        usj_hit h;
        cr_assert_eq(usj_proto_parse_hit(&h, bad[i], bad[i] + strlen(bad[i]), 0),
                     USJ_EINVAL, "accepted: %s", bad[i]);
        cr_assert_null(h.path);
        cr_assert_null(h.spans);
    }
    const char *good = "p\t1\t1\t1.5\ttext\t0-1:0,2-4:2\t1\tT\t\t0";
    usj_hit h;
    cr_assert_eq(usj_proto_parse_hit(&h, good, good + strlen(good), 0), 0);
    cr_assert_eq(h.nspans, 2);
    cr_assert_eq(h.spans[1].kind, 2);
    usj_proto_hit_clear(&h);
}

Test(proto, errors_round_trip)
{
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_proto_format_error(&b, USJ_EPARSE, NULL, 12,
                                        "unterminated \"quote\"\nhere"), 0);
    cr_assert_str_eq(b.data, "ERR SYNTAX 12 unterminated \"quote\"\\nhere\n");
    cr_assert_eq(usj_proto_parse_error(b.data, b.data + b.len - 1), USJ_EPARSE);
    cr_assert_eq(usj_error_column(), 12);
    cr_assert_str_eq(usj_error_last(), "unterminated \"quote\"\nhere");

    usj_buf_clear(&b);
    usj_proto_format_error(&b, USJ_ELIMIT, NULL, 4097, "query too long");
    cr_assert_str_eq(b.data, "ERR LIMIT 4097 query too long\n");
    cr_assert_eq(usj_proto_parse_error(b.data, b.data + b.len - 1), USJ_ELIMIT);
    cr_assert_eq(usj_error_column(), 4097);

    usj_buf_clear(&b);
    usj_proto_format_error(&b, USJ_ETIMEOUT, NULL, 0, "deadline");
    cr_assert_str_eq(b.data, "ERR TIMEOUT deadline\n");
    cr_assert_eq(usj_proto_parse_error(b.data, b.data + b.len - 1), USJ_ETIMEOUT);
    cr_assert_eq(usj_error_column(), 0);

    usj_buf_clear(&b);
    usj_proto_format_error(&b, USJ_EINVAL, "BUSY", 0, "too many");
    cr_assert_str_eq(b.data, "ERR BUSY too many\n");
    cr_assert_eq(usj_proto_parse_error(b.data, b.data + b.len - 1), USJ_EIO);
    cr_assert_str_eq(usj_error_last(), "too many");

    const char *nf = "ERR NOTFOUND no such line";
    cr_assert_eq(usj_proto_parse_error(nf, nf + strlen(nf)), USJ_ENOTFOUND);
    const char *odd = "HELLO";
    cr_assert_eq(usj_proto_parse_error(odd, odd + 5), USJ_EIO);
    usj_buf_free(&b);
}

Test(proto, random_bytes_never_crash)
{
    srand(12345);
    char line[300];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand() % (int)sizeof line);
        for (size_t k = 0; k < n; k++) {
            int r = rand() % 8;
            line[k] = r == 0 ? '\t' : r == 1 ? '\\' : r == 2 ? ':' :
                      r == 3 ? ',' : r == 4 ? '-' : (char)(rand() & 255);
        }
        /* exact-size heap copy so ASan sees any read past the end */
        char *p = malloc(n ? n : 1);
        memcpy(p, line, n);
        usj_hit h;
        if (usj_proto_parse_hit(&h, p, p + n, rand() & 1) == 0)
            usj_proto_hit_clear(&h);
        usj_proto_parse_error(p, p + n);
        usj_proto_search ps;
        usj_proto_parse_search(&ps, p, p + n);
        char *s;
        if (usj_proto_unescape(&s, NULL, p, p + n) == 0)
            free(s);
        usj_results r;
        memset(&r, 0, sizeof r);
        if (usj_proto_parse_results_head(&r, p, p + n) == 0)
            free(r.root);
        free(p);
    }
}
