/* tests/test_para.c — paragraph splitting (usj_para_split) in the three
 * modes on every seed file (counts, line numbers, offsets, titles), on
 * hard-wrapped text, CRLF, blank and whitespace-only lines, and the split
 * mode names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "support/seeds.h"
#include "usj/para.h"

#define MAXP 4096

typedef struct collected {
    usj_para p[MAXP];
    size_t   n;
    int      stop_after;     /* return 7 from this call on (0 = never) */
} collected;

static int collect(void *vctx, const usj_para *p)
{
    collected *c = vctx;
    cr_assert(c->n < MAXP);
    c->p[c->n++] = *p;
    if (c->stop_after && (int)c->n >= c->stop_after)
        return 7;
    return 0;
}

static collected *split(const char *buf, size_t len, usj_split_mode mode)
{
    collected *c = calloc(1, sizeof *c);
    cr_assert_eq(usj_para_split(buf, len, mode, collect, c), 0);
    return c;
}


static const struct {
    const char *name;
    size_t      paras;     /* non-blank lines */
    size_t      blocks;    /* blank-line-separated blocks */
    const char *title;
} seeds[] = {
    {"000_3e9f356e5c9bf5c6.txt", 12, 1,
     "US-Japan Alliance Enters New Era: Landmark Trade Deal and Enhanced "
     "Security Cooperation Shape 2025"},
    {"001_ec36a14128f0579a.txt", 61, 1,     /* a 1092-byte first line */
     "The diplomatic landscape of the Indo-Pacific has long been shaped by "
     "the enduring alliance between Japan and the United States."},
    {"002_ec4eb60320c4ba37.txt", 24, 24,
     "US-Japan Alliance: $80 Billion Investment, Trade & Security Boosts"},
    {"003_25b43f502759b295.txt", 28, 28,
     "US Japan Alliance Strengthens Under New Leadership"},
    {"004_34c4a962b3f42fed.txt", 51, 1,     /* 460 bytes, no sentence end */
     "Japan and the United States have completed a comprehensive trade "
     "agreement designed to strengthen collaboration in key sectors such as "
     "energy infrastructure"},
};

/* Independent reference: the non-blank lines of buf (1-based numbers,
 * start offsets, lengths without "\r\n"). */
static size_t ref_lines(const char *buf, size_t len, uint32_t *no,
                        size_t *off, size_t *ln)
{
    size_t n = 0, s = 0;
    uint32_t line = 1;
    while (s < len) {
        size_t e = s;
        while (e < len && buf[e] != '\n')
            e++;
        size_t ce = e;
        if (ce > s && buf[ce - 1] == '\r')
            ce--;
        int blank = 1;
        for (size_t i = s; i < ce; i++)
            if (!strchr(" \t\r\v\f", buf[i]))
                blank = 0;
        if (!blank) {
            no[n] = line;
            off[n] = s;
            ln[n] = ce - s;
            n++;
        }
        s = e + 1;
        line++;
    }
    return n;
}

Test(para, seeds_one_paragraph_per_nonblank_line)
{
    size_t total = 0;
    for (size_t f = 0; f < 5; f++) {
        size_t len;
        char *buf = tst_read_seed(seeds[f].name, &len);
        static uint32_t no[MAXP];
        static size_t off[MAXP], ln[MAXP];
        size_t want = ref_lines(buf, len, no, off, ln);
        cr_assert_eq(want, seeds[f].paras);
        for (int mode = USJ_SPLIT_AUTO; mode <= USJ_SPLIT_LINE; mode++) {
            collected *c = split(buf, len, (usj_split_mode)mode);
            cr_assert_eq(c->n, seeds[f].paras, "%s mode %d: %zu paragraphs",
                         seeds[f].name, mode, c->n);
            for (size_t i = 0; i < c->n; i++) {
                cr_assert_eq(c->p[i].line, no[i], "%s #%zu line %u want %u",
                             seeds[f].name, i, c->p[i].line, no[i]);
                cr_assert_eq(c->p[i].offset, off[i]);
                cr_assert_eq(c->p[i].text, buf + off[i]);
                cr_assert_eq(c->p[i].len, ln[i]);
                cr_assert_eq(c->p[i].nlines, 1);
            }
            free(c);
        }
        total += want;
        collected *c = split(buf, len, USJ_SPLIT_BLOCK);
        cr_assert_eq(c->n, seeds[f].blocks, "%s: %zu blocks", seeds[f].name,
                     c->n);
        free(c);
        free(buf);
    }
    cr_assert_eq(total, 176);
}

Test(para, seeds_titles)
{
    for (size_t f = 0; f < 5; f++) {
        size_t len;
        char *buf = tst_read_seed(seeds[f].name, &len);
        const char *t;
        size_t tl;
        usj_para_title(buf, len, &t, &tl);
        cr_assert_eq(tl, strlen(seeds[f].title), "%s: title '%.*s'",
                     seeds[f].name, (int)tl, t);
        cr_assert_eq(memcmp(t, seeds[f].title, tl), 0);
        cr_assert(t >= buf && t + tl <= buf + len);
        free(buf);
    }
}

static const char wrapped[] =
    "Linux kernel coding style\n"                                    /* 1 */
    "=========================\n"                                    /* 2 */
    "\n"
    "This is a short document describing the preferred coding style for\n"
    "the linux kernel.  Coding style is very personal, and I won't force\n"
    "my views on anybody, but this is what goes for anything that I have\n"
    "to be able to maintain.\n"                                      /* 4-7 */
    "   \t\n"                                                        /* 8 */
    "First off, I'd suggest printing out a copy of the GNU coding\n"
    "standards, and NOT read it.  Burn them, it's a great symbolic\n"
    "gesture.\n"                                                     /* 9-11 */
    "\n"
    "Name | Value | Notes\n"                                        /* 13 */
    "tabs | 8 columns | because indentation matters, a lot anyway\n"
    "\n"
    "A headline of a reasonable length here\n"                      /* 16 */
    "Followed by one long unwrapped prose line that goes on and on well past "
    "the hundred byte limit of wrapped lines, like the seeds.\n"     /* 17 */
    "\n"
    "Single line paragraph at the end without a newline";           /* 19 */

Test(para, hard_wrapped_blocks_in_auto_mode)
{
    collected *c = split(wrapped, sizeof wrapped - 1, USJ_SPLIT_AUTO);
    static const struct { uint32_t line, nlines; } want[] = {
        {1, 1}, {2, 1}, {4, 4}, {9, 3}, {13, 1}, {14, 1}, {16, 1}, {17, 1},
        {19, 1},
    };
    cr_assert_eq(c->n, sizeof want / sizeof want[0], "%zu paragraphs", c->n);
    for (size_t i = 0; i < c->n; i++) {
        cr_assert_eq(c->p[i].line, want[i].line, "#%zu line %u", i,
                     c->p[i].line);
        cr_assert_eq(c->p[i].nlines, want[i].nlines, "#%zu nlines %u", i,
                     c->p[i].nlines);
        cr_assert_eq(c->p[i].text, wrapped + c->p[i].offset);
    }
    /* a wrapped block spans from its first byte to the end of its last
     * line, inner newlines kept */
    const usj_para *p = &c->p[2];
    cr_assert_eq(strncmp(p->text, "This is a short", 15), 0);
    cr_assert_eq(p->text[p->len - 1], '.');
    cr_assert_eq(strncmp(p->text + p->len - 23, "to be able to maintain.", 23),
                 0);
    cr_assert_eq(memchr(p->text, '\n', p->len) != NULL, 1);
    cr_assert_str_eq(c->p[8].text,
                     "Single line paragraph at the end without a newline");
    free(c);

    c = split(wrapped, sizeof wrapped - 1, USJ_SPLIT_LINE);
    cr_assert_eq(c->n, 14);
    free(c);
    c = split(wrapped, sizeof wrapped - 1, USJ_SPLIT_BLOCK);
    cr_assert_eq(c->n, 6);
    cr_assert_eq(c->p[0].nlines, 2);
    cr_assert_eq(c->p[3].line, 13);
    cr_assert_eq(c->p[3].nlines, 2);
    free(c);
}

Test(para, wrap_limits_are_the_documented_ones)
{
    char buf[1024];
    /* two lines: first exactly USJ_WRAP_MIN bytes -> wrapped */
    memset(buf, 'x', sizeof buf);
    buf[USJ_WRAP_MIN] = '\n';
    memcpy(buf + USJ_WRAP_MIN + 1, "end", 3);
    size_t n = USJ_WRAP_MIN + 4;
    collected *c = split(buf, n, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 1);
    cr_assert_eq(c->p[0].nlines, 2);
    free(c);
    /* one byte shorter -> two paragraphs */
    c = split(buf + 1, n - 1, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 2);
    free(c);
    /* first line USJ_WRAP_MAX bytes -> wrapped; one more -> not */
    memset(buf, 'y', sizeof buf);
    buf[USJ_WRAP_MAX] = '\n';
    memcpy(buf + USJ_WRAP_MAX + 1, "end", 3);
    c = split(buf, USJ_WRAP_MAX + 4, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 1);
    free(c);
    memset(buf, 'y', sizeof buf);
    buf[USJ_WRAP_MAX + 1] = '\n';
    memcpy(buf + USJ_WRAP_MAX + 2, "end", 3);
    c = split(buf, USJ_WRAP_MAX + 5, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 2);
    free(c);
}

Test(para, crlf_matches_lf)
{
    size_t len;
    char *buf = tst_read_seed("002_ec4eb60320c4ba37.txt", &len);
    char *crlf = malloc(len * 2 + 1);
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            crlf[m++] = '\r';
        crlf[m++] = buf[i];
    }
    collected *a = split(buf, len, USJ_SPLIT_AUTO);
    collected *b = split(crlf, m, USJ_SPLIT_AUTO);
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_eq(a->p[i].line, b->p[i].line);
        cr_assert_eq(a->p[i].len, b->p[i].len);
        cr_assert_eq(memcmp(a->p[i].text, b->p[i].text, a->p[i].len), 0);
        if (b->p[i].offset + b->p[i].len < m)
            cr_assert_eq(b->p[i].text[b->p[i].len], '\r');
    }
    free(a);
    free(b);
    /* hard-wrapped text with CRLF: inner CRLF kept, last CR dropped */
    const char w[] = "a line of hard wrapped text that is long enough\r\n"
                     "and its continuation line\r\n\r\nnext\r\n";
    a = split(w, sizeof w - 1, USJ_SPLIT_AUTO);
    cr_assert_eq(a->n, 2);
    cr_assert_eq(a->p[0].nlines, 2);
    cr_assert_eq(a->p[0].len, strlen("a line of hard wrapped text that is "
                                     "long enough\r\nand its continuation "
                                     "line"));
    cr_assert_eq(a->p[1].line, 4);
    cr_assert_eq(a->p[1].len, 4);
    free(a);
    const char *t;
    size_t tl;
    usj_para_title(crlf, m, &t, &tl);
    cr_assert_eq(tl, strlen("US-Japan Alliance: $80 Billion Investment, "
                            "Trade & Security Boosts"));
    free(crlf);
    free(buf);
}

Test(para, blank_and_edge_inputs)
{
    collected *c = split("", 0, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 0);
    free(c);
    const char *ws = " \t\n\r\n  \n\f\v\n";
    for (int mode = 0; mode < 3; mode++) {
        c = split(ws, strlen(ws), (usj_split_mode)mode);
        cr_assert_eq(c->n, 0);
        free(c);
    }
    const char *t;
    size_t tl;
    usj_para_title(ws, strlen(ws), &t, &tl);
    cr_assert_eq(tl, 0);
    cr_assert_str_eq(t, "");
    usj_para_title("", 0, &t, &tl);
    cr_assert_eq(tl, 0);
    /* title trimmed, BOM skipped, leading blank lines skipped */
    const char *doc = "\xEF\xBB\xBF\n  \n \t  The Title \t\r\nbody\n";
    usj_para_title(doc, strlen(doc), &t, &tl);
    cr_assert_eq(tl, 9);
    cr_assert_eq(memcmp(t, "The Title", 9), 0);
    /* Unicode spaces (NBSP, ideographic space, em space, BOM) are blank */
    const char *u = "\xC2\xA0\xE3\x80\x80 \n\xE2\x80\x83\xEF\xBB\xBF\n"
                    "\xC2\xA0 Title \xE2\x80\x83\r\nbody";
    c = split(u, strlen(u), USJ_SPLIT_LINE);
    cr_assert_eq(c->n, 2);
    cr_assert_eq(c->p[0].line, 3);
    cr_assert_eq(c->p[1].line, 4);
    free(c);
    usj_para_title(u, strlen(u), &t, &tl);
    cr_assert_eq(tl, 5);
    cr_assert_eq(memcmp(t, "Title", 5), 0);
    /* a non-space multi-byte character is not blank */
    c = split("\xC2\xA1\n", 3, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 1);
    free(c);
    /* lines keep their leading white space; line numbers count blanks */
    c = split("\n\n  indented\nnext", 17, USJ_SPLIT_LINE);
    cr_assert_eq(c->n, 2);
    cr_assert_eq(c->p[0].line, 3);
    cr_assert_eq(c->p[0].offset, 2);
    cr_assert_eq(c->p[0].len, 10);
    cr_assert_eq(c->p[1].line, 4);
    free(c);
    /* NUL bytes are ordinary bytes */
    c = split("a\0b\n\nc", 6, USJ_SPLIT_AUTO);
    cr_assert_eq(c->n, 2);
    cr_assert_eq(c->p[0].len, 3);
    free(c);
}

Test(para, callback_stops_the_split)
{
    size_t len;
    char *buf = tst_read_seed("001_ec36a14128f0579a.txt", &len);
    collected *c = calloc(1, sizeof *c);
    c->stop_after = 5;
    cr_assert_eq(usj_para_split(buf, len, USJ_SPLIT_AUTO, collect, c), 7);
    cr_assert_eq(c->n, 5);
    free(c);
    free(buf);
}

Test(para, split_names)
{
    cr_assert_str_eq(usj_split_name(USJ_SPLIT_AUTO), "auto");
    cr_assert_str_eq(usj_split_name(USJ_SPLIT_LINE), "line");
    cr_assert_str_eq(usj_split_name(USJ_SPLIT_BLOCK), "block");
    cr_assert_eq(usj_split_parse("auto"), USJ_SPLIT_AUTO);
    cr_assert_eq(usj_split_parse("line"), USJ_SPLIT_LINE);
    cr_assert_eq(usj_split_parse("Block"), USJ_SPLIT_BLOCK);
    cr_assert_eq(usj_split_parse("para"), -1);
    cr_assert_eq(usj_split_parse(""), -1);
    cr_assert_eq(usj_split_parse(NULL), -1);
}

/* ---- random texts: coverage, order and line numbers in every mode ---- */

Test(para, random_texts_cover_every_nonblank_line_once)
{
    static const char *const pieces[] = {
        "short", "a line of hard wrapped text which is quite long enough",
        "x | y | z", "", " ", "\t", "\r", "\n", "\r\n", "\n\n",
        ("A very long unwrapped prose line that keeps going well beyond the "
         "hundred byte limit for wrapped lines, as in the seed articles."),
        "Japan ‘s", "\xFF", "|",
    };
    const size_t np = sizeof pieces / sizeof pieces[0];
    static char buf[8192];
    static uint32_t no[MAXP];
    static size_t off[MAXP], ln[MAXP];
    unsigned seed = 777;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        int k = rand_r(&seed) % 80;
        for (int j = 0; j < k; j++) {
            const char *p = pieces[rand_r(&seed) % (int)np];
            size_t pl = strlen(p);
            if (n + pl > sizeof buf)
                break;
            memcpy(buf + n, p, pl);
            n += pl;
        }
        size_t want = ref_lines(buf, n, no, off, ln);
        for (int mode = 0; mode < 3; mode++) {
            collected *c = split(buf, n, (usj_split_mode)mode);
            size_t li = 0;                   /* next reference line */
            for (size_t i = 0; i < c->n; i++) {
                const usj_para *p = &c->p[i];
                cr_assert(li < want);
                /* a paragraph starts at the next non-blank line */
                cr_assert_eq(p->line, no[li], "iter %d mode %d", iter, mode);
                cr_assert_eq(p->offset, off[li]);
                cr_assert_eq(p->text, buf + p->offset);
                cr_assert(p->offset + p->len <= n);
                cr_assert(p->nlines >= 1);
                if (mode == USJ_SPLIT_LINE)
                    cr_assert_eq(p->nlines, 1);
                /* it covers nlines consecutive non-blank lines and ends
                 * where the last of them ends */
                size_t last = li + p->nlines - 1;
                cr_assert(last < want);
                cr_assert_eq(no[last], no[li] + p->nlines - 1,
                             "iter %d mode %d: a blank line inside", iter,
                             mode);
                cr_assert_eq(p->offset + p->len, off[last] + ln[last]);
                size_t nl = 0;
                for (size_t b = 0; b < p->len; b++)
                    nl += p->text[b] == '\n';
                cr_assert_eq(nl, p->nlines - 1);
                li = last + 1;
            }
            cr_assert_eq(li, want, "iter %d mode %d: %zu of %zu lines", iter,
                         mode, li, want);
            free(c);
        }
    }
}

Test(para, title_skips_punctuation_only_lines)
{
    const char *t;
    size_t tl;
    const char a[] = "\n  , , ,  \n\n  Real Headline  \nbody\n";
    usj_para_title(a, sizeof a - 1, &t, &tl);
    cr_assert_eq(tl, 13);
    cr_assert_eq(memcmp(t, "Real Headline", 13), 0);
    const char b[] = "\n -- \n***\n";
    usj_para_title(b, sizeof b - 1, &t, &tl);
    cr_assert_eq(tl, 2);
    cr_assert_eq(memcmp(t, "--", 2), 0);
    usj_para_title("\n \n", 3, &t, &tl);
    cr_assert_eq(tl, 0);
}

/* title(line) with the cut flag, as a NUL-terminated copy */
static char *title_of(const char *line, int *mid)
{
    const char *t;
    size_t tl;
    *mid = usj_para_title(line, strlen(line), &t, &tl);
    cr_assert(tl <= USJ_TITLE_MAX);
    return strndup(t, tl);
}

Test(para, long_titles_are_cut)
{
    char line[512], *t;
    int mid;
    /* exactly USJ_TITLE_MAX bytes: kept whole */
    memset(line, 'a', USJ_TITLE_MAX);
    line[USJ_TITLE_MAX] = '\0';
    t = title_of(line, &mid);
    cr_assert_eq(strlen(t), USJ_TITLE_MAX);
    cr_assert_eq(mid, 0);
    free(t);
    /* one byte more, one word: cut at the bound, flagged */
    strcat(line, "b\nbody\n");
    t = title_of(line, &mid);
    cr_assert_eq(strlen(t), USJ_TITLE_MAX);
    cr_assert_eq(mid, 1);
    free(t);
    /* the first sentence, not "U.S. " nor a sentence under the minimum */
    char pad[300];
    memset(pad, 'x', 200);
    pad[200] = '\0';
    snprintf(line, sizeof line, "Ok. The U.S. Senate voted on it today. %s "
             "more.", pad);
    t = title_of(line, &mid);
    cr_assert_str_eq(t, "Ok. The U.S. Senate voted on it today.");
    cr_assert_eq(mid, 0);
    free(t);
    /* no sentence end in time: after the last whole word, without the
     * trailing comma */
    snprintf(line, sizeof line, "%.140s words, %s", pad, pad);
    t = title_of(line, &mid);
    cr_assert_eq(strlen(t), 146);
    cr_assert_eq(memcmp(t + 140, " words", 6), 0);
    cr_assert_eq(mid, 1);
    free(t);
    /* one long word of 2-byte characters: cut on a character boundary */
    line[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(line, "\xc3\xa9");
    t = title_of(line, &mid);
    cr_assert_eq(strlen(t), USJ_TITLE_MAX);
    cr_assert_eq(mid, 1);
    free(t);
    line[0] = 'x';   /* odd offsets: the bound falls inside a character */
    line[1] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(line, "\xc3\xa9");
    t = title_of(line, &mid);
    cr_assert_eq(strlen(t), USJ_TITLE_MAX - 1);
    free(t);
}
