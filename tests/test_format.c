/* tests/test_format.c — output formats (plain, vimgrep, JSON Lines), path
 * display relative to the cwd, snippets and span merging; no index needed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "usj/usj.h"

static usj_hit mkhit(const char *path, const char *title, const char *text,
                     uint32_t para_line, usj_span *sp, size_t ns)
{
    usj_hit h;
    memset(&h, 0, sizeof h);
    h.path = (char *)path;
    h.title = (char *)title;
    h.text = (char *)text;
    h.text_len = strlen(text);
    h.para_line = para_line;
    h.spans = sp;
    h.nspans = ns;
    h.score = 1.5;
    if (ns)
        usj_hit_locate(text, h.text_len, para_line, sp[0].start, &h.line,
                       &h.column);
    else
        h.line = para_line, h.column = 1;
    return h;
}

static char *fmt(const usj_fmt_opts *o, const usj_hit *h)
{
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_fmt_hit(&b, o, h), 0);
    return b.data ? b.data : strdup("");
}

Test(format, locate_line_and_column)
{
    const char *t = "first line\nsecond has word\nthird";
    uint32_t l, c;
    usj_hit_locate(t, strlen(t), 10, 0, &l, &c);
    cr_assert_eq(l, 10);
    cr_assert_eq(c, 1);
    usj_hit_locate(t, strlen(t), 10, 22, &l, &c);   /* "word" */
    cr_assert_eq(l, 11);
    cr_assert_eq(c, 12);
    usj_hit_locate(t, strlen(t), 10, 28, &l, &c);
    cr_assert_eq(l, 12);
    cr_assert_eq(c, 2);
}

Test(format, spans_merge)
{
    usj_span s[] = {{10, 14, 0}, {0, 3, 0}, {2, 5, 1}, {12, 20, 2}, {30, 31, 0},
                    {0, 3, 0}};
    size_t n = usj_spans_normalize(s, 6);
    cr_assert_eq(n, 3);
    cr_assert_eq(s[0].start, 0); cr_assert_eq(s[0].end, 5); cr_assert_eq(s[0].kind, 1);
    cr_assert_eq(s[1].start, 10); cr_assert_eq(s[1].end, 20); cr_assert_eq(s[1].kind, 2);
    cr_assert_eq(s[2].start, 30); cr_assert_eq(s[2].end, 31);
}

Test(format, vimgrep_is_ripgrep_format)
{
    const char *t = "The Section 232 tariffs\napply to steel imports";
    usj_span sp[] = {{33, 38, 0}};
    usj_hit h = mkhit("seeds/a.txt", "Title", t, 7, sp, 1);
    usj_fmt_opts o = {0};
    o.format = USJ_FMT_VIMGREP;
    char *s = fmt(&o, &h);
    cr_assert_str_eq(s, "seeds/a.txt:8:10:apply to steel imports\n");
    free(s);
}

Test(format, plain_with_and_without_color)
{
    const char *t = "steel and\naluminum";
    usj_span sp[] = {{0, 5, 0}, {10, 18, 0}};
    usj_hit h = mkhit("d/x.txt", "A Title", t, 3, sp, 2);
    usj_fmt_opts o = {0};
    o.format = USJ_FMT_PLAIN;
    char *s = fmt(&o, &h);
    cr_assert_str_eq(s, "d/x.txt:3: steel and aluminum\n");
    free(s);
    o.heading = 1;
    s = fmt(&o, &h);
    cr_assert_str_eq(s, "# A Title\nd/x.txt:3: steel and aluminum\n");
    free(s);
    o.heading = 0;
    o.color = 1;
    s = fmt(&o, &h);
    cr_assert_str_eq(s, "\x1b[35md/x.txt\x1b[0m:\x1b[32m3\x1b[0m: "
                        "\x1b[1;31msteel\x1b[0m and \x1b[1;31maluminum\x1b[0m\n");
    free(s);
}

Test(format, plain_escapes_controls_and_snips_long_text)
{
    usj_buf t = USJ_BUF_INIT;
    for (int i = 0; i < 100; i++)
        usj_buf_puts(&t, "lorem ipsum ");
    usj_buf_puts(&t, "NEEDLE");
    for (int i = 0; i < 100; i++)
        usj_buf_puts(&t, " dolor sit");
    uint32_t at = 1200;
    usj_span sp[] = {{at, at + 6, 0}};
    usj_hit h = mkhit("p", "", t.data, 1, sp, 1);
    usj_fmt_opts o = {0};
    o.snippet_bytes = 80;
    char *s = fmt(&o, &h);
    cr_assert(strstr(s, "p:1: \xe2\x80\xa6") == s, "%s", s);
    cr_assert_not_null(strstr(s, "NEEDLE"));
    cr_assert(strlen(s) < 80 + 6 + 6 + 2, "%zu", strlen(s));
    cr_assert_str_eq(s + strlen(s) - 4, "\xe2\x80\xa6\n");
    free(s);
    usj_buf_free(&t);
    usj_hit h2 = mkhit("p", "", "a\x1b[31mb\tc", 1, NULL, 0);
    s = fmt(&o, &h2);
    cr_assert_str_eq(s, "p:1: a [31mb\tc\n");
    free(s);
}

Test(format, json_escaping_and_fields)
{
    const char *t = "q\"b\\s\x01\n\xff\xc3\xa9 \xe2\x80\xa8 word";
    usj_span sp[] = {{19, 23, 0}};
    usj_hit h = mkhit("dir/f \"1\".txt", "T\x7f", t, 4, sp, 1);
    usj_fmt_opts o = {0};
    o.format = USJ_FMT_JSON;
    char *s = fmt(&o, &h);
    cr_assert_str_eq(s,
        "{\"type\":\"hit\",\"v\":1,\"path\":\"dir/f \\\"1\\\".txt\",\"line\":5,"
        "\"column\":13,\"score\":1.5,\"text\":\"q\\\"b\\\\s\\u0001\\n\\ufffd"
        "\xc3\xa9 \xe2\x80\xa8 word\",\"title\":\"T\\u007f\","
        "\"matches\":[[19,23]]}\n");
    free(s);
    usj_results r = {0};
    r.total = 42;
    r.took_us = 7;
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_fmt_summary(&b, &o, &r), 0);
    cr_assert_str_eq(b.data, "{\"type\":\"summary\",\"v\":1,\"total\":42,"
                             "\"total_exact\":true,\"hits\":0,\"took_us\":7}\n");
    usj_buf_free(&b);
    r.total_relation = USJ_TOTAL_AT_LEAST;      /* total_upto reached */
    cr_assert_eq(usj_fmt_summary(&b, &o, &r), 0);
    cr_assert_str_eq(b.data, "{\"type\":\"summary\",\"v\":1,\"total\":42,"
                             "\"total_exact\":false,\"hits\":0,\"took_us\":7}\n");
    usj_buf_free(&b);
    r.total_relation = USJ_TOTAL_EXACT;
    o.format = USJ_FMT_PLAIN;
    cr_assert_eq(usj_fmt_summary(&b, &o, &r), 0);
    cr_assert_eq(b.len, 0);
    usj_buf_free(&b);
}

Test(format, paths_relative_to_cwd)
{
    usj_hit h = mkhit("seeds/a.txt", "", "x", 1, NULL, 0);
    usj_fmt_opts o = {0};
    o.format = USJ_FMT_VIMGREP;
    o.root = "/work/repo";
    struct { const char *cwd; int abs; const char *want; } cases[] = {
        {"/work/repo", 0, "seeds/a.txt:1:1:x\n"},
        {"/work/repo/seeds", 0, "../seeds/a.txt:1:1:x\n"},
        {"/work/repo/a/b", 0, "../../seeds/a.txt:1:1:x\n"},
        {"/work", 0, "repo/seeds/a.txt:1:1:x\n"},
        {"/work/rep", 0, "../repo/seeds/a.txt:1:1:x\n"},
        {"/other", 0, "../work/repo/seeds/a.txt:1:1:x\n"},
        {"/", 0, "work/repo/seeds/a.txt:1:1:x\n"},
        {"/elsewhere", 1, "/work/repo/seeds/a.txt:1:1:x\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        o.cwd = cases[i].cwd;
        o.absolute = cases[i].abs;
        char *s = fmt(&o, &h);
        cr_expect_str_eq(s, cases[i].want, "cwd %s", cases[i].cwd);
        free(s);
    }
    usj_hit h2 = mkhit("/abs/p.txt", "", "x", 1, NULL, 0);
    o.cwd = "/work";
    o.absolute = 0;
    char *s = fmt(&o, &h2);
    cr_assert_str_eq(s, "/abs/p.txt:1:1:x\n");
    free(s);
}

Test(format, snippet_windows)
{
    /* short text: whole, spans unchanged */
    char *sn;
    size_t sl, ns;
    usj_span *os;
    usj_span one[] = {{2, 4, 0}};
    cr_assert_eq(usj_snippet("abcdef", 6, one, 1, 10, &sn, &sl, &os, &ns), 0);
    cr_assert_str_eq(sn, "abcdef");
    cr_assert_eq(ns, 1);
    cr_assert_eq(os[0].start, 2);
    free(sn);
    free(os);
    /* long text of 2-byte characters with a dense cluster at the end */
    usj_buf t = USJ_BUF_INIT;
    for (int i = 0; i < 300; i++)
        usj_buf_puts(&t, "\xc3\xa9");
    size_t a = t.len;
    usj_buf_puts(&t, " hit1 x hit2 x hit3 ");
    for (int i = 0; i < 50; i++)
        usj_buf_puts(&t, "\xc3\xa9");
    usj_span sp[] = {{10, 12, 0}, {(uint32_t)a + 1, (uint32_t)a + 5, 0},
                     {(uint32_t)a + 8, (uint32_t)a + 12, 0},
                     {(uint32_t)a + 15, (uint32_t)a + 19, 0}};
    for (uint32_t max = 20; max <= 200; max += 7) {
        cr_assert_eq(usj_snippet(t.data, t.len, sp, 4, max, &sn, &sl, &os, &ns), 0);
        cr_assert(usj_utf8_valid(sn, sl, NULL), "max %u", max);
        cr_assert(sl <= max + 6, "max %u len %zu", max, sl);
        cr_assert(ns >= 1);
        for (size_t k = 0; k < ns; k++) {
            cr_assert(os[k].end <= sl);
            if (os[k].end - os[k].start == 4)
                cr_assert_eq(memcmp(sn + os[k].start, "hit", 3), 0, "max %u", max);
        }
        if (max >= 40)
            cr_assert_eq(ns, 3, "max %u: the densest cluster is the hits", max);
        free(sn);
        free(os);
    }
    usj_buf_free(&t);
}
