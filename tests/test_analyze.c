/* tests/test_analyze.c — the token stream of usj_analyze: folding, the
 * apostrophe / acronym / dash / decimal / thousands rules on cases taken
 * from the seeds, spans and positions, stemming, invalid UTF-8, NUL bytes,
 * limits, and properties over the seeds and over random bytes. */
#include <criterion/criterion.h>
#include <libstemmer.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "analyze_int.h"
#include "support/seeds.h"
#include "usj/analyze.h"
#include "usj/error.h"
#include "usj/para.h"

static usj_analyzer *az;      /* stemming analyzer */
static usj_analyzer *nz;      /* NOSTEM analyzer */

static void setup(void)
{
    cr_assert_eq(usj_analyzer_new(&az, 0), 0);
    cr_assert_eq(usj_analyzer_new(&nz, USJ_ANALYZE_NOSTEM), 0);
}

static void teardown(void)
{
    usj_analyzer_free(az);
    usj_analyzer_free(nz);
}

TestSuite(analyze, .init = setup, .fini = teardown);

static const usj_analysis *run(usj_analyzer *a, const char *s, size_t n)
{
    const usj_analysis *r = NULL;
    int rc = usj_analyze(a, s, n, &r);
    cr_assert_eq(rc, 0, "usj_analyze: %s", usj_error_last());
    cr_assert_not_null(r);
    return r;
}

/* Expect the space-separated terms `want` (stemmed analyzer) with
 * consecutive positions. */
static const usj_analysis *expect_terms(const char *text, const char *want)
{
    const usj_analysis *r = run(az, text, strlen(text));
    char got[4096] = "";
    for (size_t i = 0; i < r->ntokens; i++) {
        cr_assert_eq(r->tokens[i].pos, i, "positions are consecutive");
        if (i)
            strcat(got, " ");
        strncat(got, r->tokens[i].term, 100);
    }
    cr_assert_str_eq(got, want, "text: %s", text);
    return r;
}

static const usj_analysis *expect_norms(const char *text, const char *want)
{
    const usj_analysis *r = run(nz, text, strlen(text));
    char got[4096] = "";
    for (size_t i = 0; i < r->ntokens; i++) {
        if (i)
            strcat(got, " ");
        strncat(got, r->tokens[i].norm, 100);
        cr_assert_str_eq(r->tokens[i].term, r->tokens[i].norm,
                         "NOSTEM: term == norm");
    }
    cr_assert_str_eq(got, want, "text: %s", text);
    return r;
}

static void expect_span(const usj_analysis *r, size_t i, const char *text,
                        const char *span)
{
    cr_assert(i < r->ntokens);
    const usj_token *t = &r->tokens[i];
    size_t n = strlen(span);
    cr_assert_eq(t->end - t->start, n, "token %zu span '%.*s' want '%s'", i,
                 (int)(t->end - t->start), text + t->start, span);
    cr_assert_eq(memcmp(text + t->start, span, n), 0,
                 "token %zu span '%.*s' want '%s'", i,
                 (int)(t->end - t->start), text + t->start, span);
}

Test(analyze, empty_and_separators_only)
{
    const usj_analysis *r = run(az, "", 0);
    cr_assert_eq(r->ntokens, 0);
    cr_assert_eq(r->nnumbers, 0);
    cr_assert_eq(r->ninvalid, 0);
    r = run(az, NULL, 0);
    cr_assert_eq(r->ntokens, 0);
    r = run(az, " \t—“”…$%, .", strlen(" \t—“”…$%, ."));
    cr_assert_eq(r->ntokens, 0);
}

Test(analyze, apostrophes_possessive_straight_curly_broken)
{
    /* seeds/000 "Japan’s", seeds/003 "Japan's", seeds/004 "Japan ‘s" */
    const char *t1 = "Japan's Japan’s Japanʼs Japan ‘s security";
    const usj_analysis *r = expect_terms(t1, "japan japan japan japan secur");
    expect_span(r, 0, t1, "Japan");           /* the possessive is not in */
    expect_span(r, 1, t1, "Japan");
    expect_span(r, 3, t1, "Japan");
    expect_span(r, 4, t1, "security");
    expect_terms("Trump ‘s Tariff Blitz: Will Japan Fold or Fight?",
                 "trump tariff blitz will japan fold or fight");
    expect_terms("the United States’ role as Japan’s most critical ally",
                 "the unit state role as japan most critic alli");
    expect_terms("both nations’ shared goals", "both nation share goal");
    /* one or two spaces or tabs before the broken apostrophe, not three */
    expect_norms("Japan  ‘s a\t‘s b \t's c   ‘s d", "japan a b c s d");
    expect_norms("don\t‘t we  ‘ll it   ’ll", "dont well it ll");
}

Test(analyze, apostrophes_contractions_joined)
{
    const char *t = "We don’t have details on how it’ll be operated, we don ‘t "
                    "know how it ‘ll work; didn't";
    const usj_analysis *r = expect_norms(t,
        "we dont have details on how itll be operated we dont know how itll "
        "work didnt");
    expect_span(r, 1, t, "don’t");
    expect_span(r, 10, t, "don ‘t");           /* joined: the span covers it */
    expect_span(r, 13, t, "it ‘ll");
    /* quotes are separators, an apostrophe not between letters too */
    expect_norms("“It ensures Japan will always pay,” Chou said. 'quoted' ’tis",
                 "it ensures japan will always pay chou said quoted tis");
}

Test(analyze, acronyms_with_dots)
{
    const char *t = "Washington, D.C., for a meeting with U.S. President; "
                    "the U.S.A. and Japan-U.S. relations at 11:55 a.m. local";
    const usj_analysis *r = expect_norms(t,
        "washington dc for a meeting with us president the usa and japan us "
        "relations at 11 55 am local");
    expect_span(r, 1, t, "D.C.");
    expect_span(r, 6, t, "U.S.");             /* all 4 bytes */
    expect_span(r, 9, t, "U.S.A.");
    expect_span(r, 12, t, "U.S.");
    expect_span(r, 17, t, "a.m.");
    cr_assert_eq(r->tokens[6].flags & USJ_TOK_ACRONYM, USJ_TOK_ACRONYM);
    cr_assert_eq(r->tokens[7].flags & USJ_TOK_ACRONYM, 0);
    /* "US" and "U.S." give the same term; initials stay separate words */
    expect_terms("US U.S. U.S", "us us us");
    expect_norms("President Donald J. Trump", "president donald j trump");
    expect_norms("A.Smith", "a smith");
    expect_norms("the U.S.’s role", "the us role");
    expect_norms("U.S.Army", "us army");
    /* U+0218 and U+4E18 share a slot of the code point cache: the letter's
     * folding must be taken before the ideograph is looked up */
    expect_norms("U.\u0218\u4E18 U.\u0218\u4E18", "us \u4E18 us \u4E18");
}

Test(analyze, every_dash_splits_at_consecutive_positions)
{
    static const char *const dashes[] = {
        "-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015",
        "\u2212",
    };
    for (size_t i = 0; i < sizeof dashes / sizeof dashes[0]; i++) {
        char t[64];
        snprintf(t, sizeof t, "Japan%sUS F%s150", dashes[i], dashes[i]);
        const usj_analysis *r = expect_norms(t, "japan us f 150");
        expect_span(r, 0, t, "Japan");
        expect_span(r, 1, t, "US");
        expect_span(r, 3, t, "150");
    }
    expect_terms("most-favored-nation AIM-120 2025-2030 Japan–US",
                 "most favor nation aim 120 2025 2030 japan us");
}

Test(analyze, decimals_and_thousands)
{
    const char *t = "$14.1 billion, $1,000,000 and 1,000 jobs; 2.1% by 2030.";
    const usj_analysis *r = expect_norms(t,
        "14.1 billion 1000000 and 1000 jobs 2.1 by 2030");
    expect_span(r, 0, t, "14.1");
    expect_span(r, 2, t, "1,000,000");
    expect_span(r, 4, t, "1,000");
    expect_span(r, 8, t, "2030");
    cr_assert_eq(r->tokens[0].flags & USJ_TOK_NUMERAL, USJ_TOK_NUMERAL);
    cr_assert_eq(r->tokens[2].flags & USJ_TOK_NUMERAL, USJ_TOK_NUMERAL);
    cr_assert_eq(r->tokens[1].flags & USJ_TOK_NUMERAL, 0);
    /* malformed groups are not thousands separators */
    expect_norms("1,5000 12,34 1234,567 1,000,00 28, 2025",
                 "1 5000 12 34 1234 567 1000 00 28 2025");
    /* one decimal point only; a trailing dot ends the sentence */
    expect_norms("1.2.3 version 4. and .5", "1.2 3 version 4 and 5");
    expect_norms("1,000.50", "1000.50");
}

Test(analyze, numerals_not_stemmed_words_stemmed)
{
    const usj_analysis *r = expect_terms(
        "semiconductors investments 1990 14.1 running agreements",
        "semiconductor invest 1990 14.1 run agreement");
    cr_assert_str_eq(r->tokens[0].norm, "semiconductors");
    cr_assert_eq(r->tokens[0].norm_len, 14);
    cr_assert_eq(r->tokens[0].term_len, 13);
    expect_norms("semiconductors running", "semiconductors running");
    size_t n;
    const char *s = usj_analyzer_stem(az, "semiconductors", 14, &n);
    cr_assert_eq(n, 13);
    cr_assert_eq(memcmp(s, "semiconductor", 13), 0);
    s = usj_analyzer_stem(az, "14.1", 4, &n);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(s, "14.1", 4), 0);
    /* cache hits give the same answer as misses */
    for (int k = 0; k < 3; k++) {
        s = usj_analyzer_stem(az, "generalizations", 15, &n);
        cr_assert_eq(n, strlen("general"));
        cr_assert_eq(memcmp(s, "general", n), 0);
        s = usj_analyzer_stem(nz, "generalizations", 15, &n);
        cr_assert_eq(memcmp(s, "general", n), 0);
    }
}

Test(analyze, stem_odd_words)
{
    size_t n;
    /* a NUL inside must not alias the shorter cached word */
    const char *s = usj_analyzer_stem(az, "runs", 4, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(s, "run", 3), 0);
    s = usj_analyzer_stem(az, "runs\0x", 6, &n);
    cr_assert(n >= 5, "got %zu bytes", n);
    /* words longer than the cache key and than a token */
    char w[200];
    memset(w, 'a', sizeof w);
    memcpy(w + sizeof w - 3, "ing", 3);
    s = usj_analyzer_stem(az, w, sizeof w, &n);
    cr_assert_eq(n, sizeof w - 3);
    cr_assert_eq(s[n], '\0');
    s = usj_analyzer_stem(az, w + 160, 40, &n);   /* 37 a + "ing" */
    cr_assert_eq(n, 37);
    s = usj_analyzer_stem(az, "", 0, &n);
    cr_assert_eq(n, 0);
}

/* The stem cache under heavy eviction agrees with libstemmer itself. */
Test(analyze, stem_cache_differential)
{
    static const char *const syl[] = {
        "con", "duct", "ing", "s", "ation", "al", "ize", "ed", "ly", "ness",
        "pre", "semi", "tar", "iff", "ment", "er", "ies", "y", "ful", "é",
    };
    struct sb_stemmer *sb = sb_stemmer_new("english", "UTF_8");
    cr_assert_not_null(sb);
    unsigned seed = 99;
    char w[128];
    for (int iter = 0; iter < 300000; iter++) {
        size_t n = 0;
        int k = 1 + rand_r(&seed) % 6;
        for (int j = 0; j < k; j++) {
            const char *p = syl[rand_r(&seed) % 20];
            memcpy(w + n, p, strlen(p));
            n += strlen(p);
        }
        size_t sl;
        const char *st = usj_analyzer_stem(az, w, n, &sl);
        const sb_symbol *r = sb_stemmer_stem(sb, (const sb_symbol *)w, (int)n);
        int rl = sb_stemmer_length(sb);
        cr_assert_eq(sl, (size_t)rl, "'%.*s'", (int)n, w);
        cr_assert_eq(memcmp(st, r, sl), 0, "'%.*s'", (int)n, w);
        cr_assert_eq(st[sl], '\0');
    }
    sb_stemmer_delete(sb);
}

/* The cache starts small and grows 16-fold, to its cap, each time it has
 * missed as many words as it holds; stems agree with libstemmer across
 * every growth, on misses and on the hits right after them. */
Test(analyze, stem_cache_grows)
{
    usj_stemmer *st;
    cr_assert_eq(usj_stemmer_new(&st), 0);
    cr_assert_eq(st->nslots, USJ_STEM_CACHE_FIRST);
    struct sb_stemmer *sb = sb_stemmer_new("english", "UTF_8");
    cr_assert_not_null(sb);
    uint32_t size = USJ_STEM_CACHE_FIRST, next = USJ_STEM_CACHE_FIRST;
    char w[32];
    for (uint32_t i = 0; i < 2u * USJ_STEM_CACHE_SLOTS; i++) {
        int n = snprintf(w, sizeof w, "x%uwalking", i);
        const sb_symbol *ref = sb_stemmer_stem(sb, (const sb_symbol *)w, n);
        size_t rl = (size_t)sb_stemmer_length(sb);
        for (int again = 0; again < 2; again++) {      /* miss, then hit */
            size_t sl;
            const char *r = usj_stemmer_stem(st, w, (size_t)n, 0, &sl, NULL);
            cr_assert_not_null(r);
            cr_assert_eq(sl, rl, "'%s'", w);
            cr_assert_eq(memcmp(r, ref, sl), 0, "'%s'", w);
        }
        if (i + 1 == next && size < USJ_STEM_CACHE_SLOTS) {
            size = size * 16 < USJ_STEM_CACHE_SLOTS ? size * 16
                                                    : USJ_STEM_CACHE_SLOTS;
            next += size;
        }
        cr_assert_eq(st->nslots, size, "after %u misses", i + 1);
    }
    cr_assert_eq(st->nslots, USJ_STEM_CACHE_SLOTS);
    sb_stemmer_delete(sb);
    usj_stemmer_free(st);
}

Test(analyze, unicode_folding)
{
    expect_norms("Café CAFÉ cafe\xCC\x81 STRASSE straße ﬁne Ｊａｐａｎ İstanbul "
                 "Ωmega naïve x²",
                 "cafe cafe cafe strasse strasse fine japan istanbul ωmega "
                 "naive x2");
    /* ideographs are one token each, spans in the original text */
    const char *t = "日米同盟 and カタカナ";
    const usj_analysis *r = expect_norms(t, "日 米 同 盟 and カ タ カ ナ");
    expect_span(r, 1, t, "米");
}

Test(analyze, invalid_utf8_is_a_counted_separator)
{
    struct { const char *s; size_t n; const char *norms; size_t bad; } c[] = {
        {"ab\x80" "cd", 5, "ab cd", 1},                 /* lone continuation */
        {"ab\xE2\x82", 4, "ab", 1},                     /* truncated at end */
        {"ab\xE2\x82" "cd", 6, "ab cd", 1},             /* truncated inside */
        {"a\xC0\xAF" "b", 4, "a b", 2},                 /* overlong '/' */
        {"a\xE0\x80\xAF" "b", 5, "a b", 3},
        {"a\xED\xA0\x80" "b", 5, "a b", 3},             /* surrogate */
        {"a\xFF" "b\xFE", 4, "a b", 2},                 /* 0xFF, 0xFE */
        {"Japan\x80's", 8, "japan s", 1},
        {"\xF0\x9F\x98", 3, "", 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const usj_analysis *r = run(nz, c[i].s, c[i].n);
        char got[256] = "";
        for (size_t k = 0; k < r->ntokens; k++) {
            if (k)
                strcat(got, " ");
            strcat(got, r->tokens[k].norm);
            cr_assert(r->tokens[k].end <= c[i].n);
        }
        cr_assert_str_eq(got, c[i].norms, "case %zu", i);
        cr_assert_eq(r->ninvalid, c[i].bad, "case %zu: ninvalid %zu", i,
                     r->ninvalid);
    }
    const char *t = "x\x80yz";
    const usj_analysis *r = run(nz, t, 4);
    expect_span(r, 1, t, "yz");
}

Test(analyze, nul_bytes_separate)
{
    const char t[] = "ab\0cd\0\0U.S.\0";
    const usj_analysis *r = run(nz, t, sizeof t - 1);
    cr_assert_eq(r->ntokens, 3);
    cr_assert_str_eq(r->tokens[0].norm, "ab");
    cr_assert_str_eq(r->tokens[1].norm, "cd");
    cr_assert_str_eq(r->tokens[2].norm, "us");
    cr_assert_eq(r->tokens[1].start, 3);
    cr_assert_eq(r->tokens[1].end, 5);
    cr_assert_eq(r->tokens[2].start, 7);
    cr_assert_eq(r->tokens[2].end, 11);
}

Test(analyze, very_long_tokens_are_cut)
{
    char t[1000];
    memset(t, 'a', 300);
    memcpy(t + 300, " end", 4);
    const usj_analysis *r = run(nz, t, 304);
    cr_assert_eq(r->ntokens, 2);
    cr_assert_eq(r->tokens[0].norm_len, USJ_MAX_TOKEN_BYTES);
    cr_assert_eq(strlen(r->tokens[0].norm), USJ_MAX_TOKEN_BYTES);
    cr_assert_eq(r->tokens[0].start, 0);
    cr_assert_eq(r->tokens[0].end, 300);         /* span: the whole run */
    cr_assert_str_eq(r->tokens[1].norm, "end");
    cr_assert_eq(r->tokens[1].pos, 1);
    /* "a" + 100 x "ф": cut at a code point boundary (1 + 31 * 2 bytes) */
    size_t n = 0;
    t[n++] = 'a';
    for (int i = 0; i < 100; i++) {
        memcpy(t + n, "ф", 2);
        n += 2;
    }
    r = run(nz, t, n);
    cr_assert_eq(r->ntokens, 1);
    cr_assert_eq(r->tokens[0].norm_len, 63);
    cr_assert_eq(usj_utf8_valid(r->tokens[0].norm, 63, NULL), 1);
    cr_assert_eq(r->tokens[0].end, n);
    /* stemming a cut token works too */
    memset(t, 'z', 500);
    r = run(az, t, 500);
    cr_assert_eq(r->ntokens, 1);
    cr_assert(r->tokens[0].term_len <= USJ_MAX_TOKEN_BYTES);
}

Test(analyze, paragraph_limit)
{
    size_t n = (size_t)USJ_MAX_PARA_BYTES + 1;
    char *big = malloc(n);
    cr_assert_not_null(big);
    memset(big, 'a', n);
    const usj_analysis *r = NULL;
    cr_assert_eq(usj_analyze(az, big, n, &r), USJ_ELIMIT);
    cr_assert(strstr(usj_error_last(), "limit") != NULL);
    /* exactly the limit is accepted: words of 7 letters */
    for (size_t i = 7; i < n - 1; i += 8)
        big[i] = ' ';
    cr_assert_eq(usj_analyze(az, big, n - 1, &r), 0);
    cr_assert_eq(r->ntokens, (n - 1 + 7) / 8);
    cr_assert_eq(r->tokens[r->ntokens - 1].pos, r->ntokens - 1);
    free(big);
}

Test(analyze, results_reused_across_calls)
{
    const usj_analysis *r = run(az, "first call text", 15);
    cr_assert_eq(r->ntokens, 3);
    r = run(az, "second", 6);
    cr_assert_eq(r->ntokens, 1);
    cr_assert_str_eq(r->tokens[0].term, "second");
    cr_assert_eq(r->tokens[0].pos, 0);
}

/* ---- properties over the seeds ---- */


typedef struct seedctx {
    usj_analyzer *other;     /* analyzes each token's span on its own */
    size_t tokens;
} seedctx;

static int check_para(void *vctx, const usj_para *p)
{
    seedctx *ctx = vctx;
    const usj_analysis *r = run(az, p->text, p->len);
    /* copy: re-analysing on `other` must not disturb r */
    for (size_t i = 0; i < r->ntokens; i++) {
        const usj_token *t = &r->tokens[i];
        cr_assert_eq(t->pos, i);
        cr_assert(t->start < t->end && t->end <= p->len);
        if (i)
            cr_assert(r->tokens[i - 1].end <= t->start);
        cr_assert_eq(strlen(t->norm), t->norm_len);
        cr_assert_eq(strlen(t->term), t->term_len);
        /* the span alone analyzes to the same single token */
        const usj_analysis *s = run(ctx->other, p->text + t->start,
                                    t->end - t->start);
        cr_assert_eq(s->ntokens, 1, "span '%.*s' gives %zu tokens",
                     (int)(t->end - t->start), p->text + t->start,
                     s->ntokens);
        cr_assert_str_eq(s->tokens[0].norm, t->norm);
        cr_assert_str_eq(s->tokens[0].term, t->term);
        /* folding is idempotent: a query word typed as the norm matches */
        s = run(ctx->other, t->norm, t->norm_len);
        if (!(t->flags & USJ_TOK_NUMERAL) || strchr(t->norm, '.') == NULL) {
            cr_assert_eq(s->ntokens, 1, "norm '%s'", t->norm);
            cr_assert_str_eq(s->tokens[0].term, t->term);
        }
        size_t sl;
        const char *st = usj_analyzer_stem(ctx->other, t->norm, t->norm_len,
                                           &sl);
        cr_assert_eq(sl, t->term_len);
        cr_assert_eq(memcmp(st, t->term, sl), 0);
    }
    cr_assert_eq(r->ninvalid, 0);
    ctx->tokens += r->ntokens;
    return 0;
}

Test(analyze, seeds_spans_reanalyze_to_the_same_token)
{
    seedctx ctx = {0};
    cr_assert_eq(usj_analyzer_new(&ctx.other, 0), 0);
    for (size_t f = 0; f < sizeof tst_seed_names / sizeof tst_seed_names[0]; f++) {
        size_t len;
        char *buf = tst_read_seed(tst_seed_names[f], &len);
        cr_assert_eq(usj_para_split(buf, len, USJ_SPLIT_AUTO, check_para,
                                    &ctx), 0);
        free(buf);
    }
    cr_assert(ctx.tokens > 7000, "only %zu tokens", ctx.tokens);
    usj_analyzer_free(ctx.other);
}

Test(analyze, seeds_known_tokens)
{
    size_t len;
    char *buf = tst_read_seed("004_34c4a962b3f42fed.txt", &len);
    const usj_analysis *r = run(nz, buf, len);
    size_t japan = 0, s_alone = 0, dont = 0;
    for (size_t i = 0; i < r->ntokens; i++) {
        japan += strcmp(r->tokens[i].norm, "japan") == 0;
        s_alone += strcmp(r->tokens[i].norm, "s") == 0 ||
                   strcmp(r->tokens[i].norm, "t") == 0;
        dont += strcmp(r->tokens[i].norm, "dont") == 0;
    }
    cr_assert_eq(s_alone, 0, "broken apostrophes leave no 's' or 't' token");
    cr_assert_eq(dont, 4);   /* 2 x "don’t", 2 x "don ‘t" */
    size_t want = 0;          /* "japan" case-insensitively in the raw text */
    for (size_t i = 0; i + 5 <= len; i++)
        want += strncasecmp(buf + i, "japan", 5) == 0 &&
                (i + 5 == len || !((buf[i + 5] | 0x20) >= 'a' &&
                                   (buf[i + 5] | 0x20) <= 'z'));
    cr_assert_eq(japan, want);
    free(buf);
}

/* ---- one analyzer per thread: no hidden shared state ---- */

typedef struct thr {
    const char *buf;
    size_t      len;
    uint64_t    sum;
    int         rc;
} thr;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void *thr_main(void *arg)
{
    thr *t = arg;
    usj_analyzer *a;
    if ((t->rc = usj_analyzer_new(&a, 0)))
        return NULL;
    uint64_t h = 14695981039346656037ull;
    for (int rep = 0; rep < 20; rep++) {
        const usj_analysis *r;
        if ((t->rc = usj_analyze(a, t->buf, t->len, &r)))
            break;
        for (size_t i = 0; i < r->ntokens; i++) {
            h = fnv(h, r->tokens[i].term, r->tokens[i].term_len + 1);
            h = fnv(h, &r->tokens[i].start, sizeof r->tokens[i].start);
        }
        for (size_t i = 0; i < r->nnumbers; i++)
            h = fnv(h, &r->numbers[i].value, sizeof r->numbers[i].value);
    }
    t->sum = h;
    usj_analyzer_free(a);
    return NULL;
}

Test(analyze, threads_with_their_own_analyzers_agree)
{
    size_t len;
    char *buf = tst_read_seed("001_ec36a14128f0579a.txt", &len);
    thr one = {buf, len, 0, 0};
    thr_main(&one);
    cr_assert_eq(one.rc, 0);
    pthread_t tid[4];
    thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr){buf, len, 0, 0};
        cr_assert_eq(pthread_create(&tid[i], NULL, thr_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        cr_assert_eq(t[i].rc, 0);
        cr_assert_eq(t[i].sum, one.sum, "thread %d differs", i);
    }
    free(buf);
}

/* ---- random bytes ---- */

Test(analyze, random_bytes_never_break_invariants)
{
    static const char *const pieces[] = {
        "a", "Z", "s", "t", "U", ".", ",", "'", "’", "‘", " ", "  ", "-", "–",
        "$", "%", "1", "0", "9", "é", "e\xCC\x81", "中", "\x80", "\xFF", "\xE2",
        "\xE2\x82", "\xF0\x9F", "\0", "\n", "\r\n", "billion", "per cent",
        "US$", "ﬁ", "İ", "ß", "x²", "\u0218", "\u4E18", "U.", "Ｊ", "\u2019s",
    };
    const size_t np = sizeof pieces / sizeof pieces[0];
    unsigned seed = 4242;
    char buf[512], junk[512];
    /* `other` analyzes random junk between the texts, so its caches hold
     * different entries: its results must be the same */
    usj_analyzer *other;
    cr_assert_eq(usj_analyzer_new(&other, 0), 0);
    for (int iter = 0; iter < 20000; iter++) {
        size_t jn = (size_t)(rand_r(&seed) % 64);
        for (size_t j = 0; j < jn; j++)
            junk[j] = (char)(0x80 | rand_r(&seed));
        const usj_analysis *jr;
        cr_assert_eq(usj_analyze(other, junk, jn, &jr), 0);
        size_t n = 0;
        int k = rand_r(&seed) % 60;
        for (int j = 0; j < k; j++) {
            const char *p = pieces[rand_r(&seed) % (int)np];
            size_t pl = p[0] ? strlen(p) : 1;
            if (n + pl > sizeof buf)
                break;
            memcpy(buf + n, p, pl);
            n += pl;
        }
        usj_analyzer *a = (iter & 1) ? az : nz;
        const usj_analysis *r = run(a, buf, n);
        for (size_t i = 0; i < r->ntokens; i++) {
            const usj_token *t = &r->tokens[i];
            cr_assert_eq(t->pos, i);
            cr_assert(t->start < t->end && t->end <= n);
            if (i)
                cr_assert(r->tokens[i - 1].end <= t->start);
            cr_assert(t->norm_len > 0 && t->norm_len <= USJ_MAX_TOKEN_BYTES);
            cr_assert_eq(strlen(t->norm), t->norm_len);
            cr_assert_eq(strlen(t->term), t->term_len);
            cr_assert_eq(usj_utf8_valid(t->norm, t->norm_len, NULL), 1);
        }
        for (size_t i = 0; i < r->nnumbers; i++) {
            const usj_number *x = &r->numbers[i];
            cr_assert(x->start < x->end && x->end <= n);
            cr_assert(x->pos < r->ntokens);
            cr_assert(x->start <= r->tokens[x->pos].start);
            cr_assert(x->end >= r->tokens[x->pos].end);
            cr_assert((unsigned)x->type < USJ_NUM_NTYPES);
            cr_assert(x->value >= 0);
        }
        if (iter & 1) {
            const usj_analysis *o = run(other, buf, n);
            cr_assert_eq(o->ntokens, r->ntokens);
            cr_assert_eq(o->nnumbers, r->nnumbers);
            for (size_t i = 0; i < r->ntokens; i++) {
                cr_assert_str_eq(o->tokens[i].term, r->tokens[i].term);
                cr_assert_str_eq(o->tokens[i].norm, r->tokens[i].norm);
                cr_assert_eq(o->tokens[i].start, r->tokens[i].start);
                cr_assert_eq(o->tokens[i].end, r->tokens[i].end);
                cr_assert_eq(o->tokens[i].flags, r->tokens[i].flags);
            }
            for (size_t i = 0; i < r->nnumbers; i++) {
                cr_assert_eq(o->numbers[i].value, r->numbers[i].value);
                cr_assert_eq(o->numbers[i].type, r->numbers[i].type);
                cr_assert_eq(o->numbers[i].start, r->numbers[i].start);
                cr_assert_eq(o->numbers[i].end, r->numbers[i].end);
            }
        }
        /* invalid sequences are counted exactly as the sanitizer does */
        char *out;
        size_t ol, bad;
        cr_assert_eq(usj_utf8_sanitize(buf, n, &out, &ol, &bad), 0);
        cr_assert_eq(r->ninvalid, bad, "iter %d", iter);
        free(out);
    }
    usj_analyzer_free(other);
}
