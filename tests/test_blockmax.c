/* tests/test_blockmax.c — block-max bounds (the skip entries' BM25 term
 * impacts, lib/postings.c) and the pruning built on them (lib/query_eval.c):
 * every stored impact is the exact rounded-up maximum of its block and bounds
 * every score in it; pruned searches return exactly what a search without
 * any bound (USJ_SEARCH_NOPRUNE) returns — same total, docs, scores, order —
 * for many queries and limits; a damaged impact is USJ_ECORRUPT in the deep
 * check and at query time, never a crash. Generated corpus: Zipf words,
 * paragraph lengths 1..240 tokens, so that lists span many blocks and the
 * impacts of a block's docs differ. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "limits.h"
#include "query_fixture.h"
#include "rank.h"
#include "usj/usj.h"

#define NWORDS 400

static char g_dir[512], g_idx[600];

static void word(char *out, unsigned i)
{
    /* "b" + two letters from i, then a fixed tail the stemmer keeps */
    snprintf(out, 16, "b%c%cx", 'a' + (int)(i % 26), 'a' + (int)(i / 26 % 26));
}

/* Zipf-like: word i with weight ~ 1 / (i + 1) via inverse of a harmonic CDF
 * approximated by exp of a uniform draw. */
static unsigned zipf(uint64_t *s)
{
    double u = (double)(fx_rand(s) >> 11) / 9007199254740992.0;
    unsigned i = (unsigned)(exp(u * log((double)NWORDS + 1.0)) - 1.0);
    return i < NWORDS ? i : NWORDS - 1;
}

static void build_corpus(void)
{
    cr_assert_eq(fx_tmpdir(g_dir, sizeof g_dir), 0);
    snprintf(g_idx, sizeof g_idx, "%s/bm.idx", g_dir);
    usj_writer *w = NULL;
    cr_assert_eq(usj_writer_open(&w, g_idx, NULL), 0, "%s", usj_error_last());
    uint64_t s = 0xB10CB10Cull;
    for (unsigned f = 0; f < 6; f++) {
        usj_buf b = USJ_BUF_INIT;
        for (unsigned para = 0; para < 1500; para++) {
            /* mostly short, some long: lengths 1..240 */
            unsigned len = 1 + (unsigned)(fx_rand(&s) % 40);
            if (fx_rand(&s) % 5 == 0)
                len = 1 + (unsigned)(fx_rand(&s) % 240);
            for (unsigned t = 0; t < len; t++) {
                char wd[16];
                word(wd, zipf(&s));
                cr_assert_eq(usj_buf_put(&b, wd, strlen(wd)), 0);
                cr_assert_eq(usj_buf_put(&b, t + 1 < len ? " " : "\n\n", t + 1 < len ? 1 : 2), 0);
            }
        }
        char name[32];
        snprintf(name, sizeof name, "g%u.txt", f);
        cr_assert_eq(usj_writer_add_file(w, name, (const char *)b.data, b.len, NULL), 0,
                     "%s", usj_error_last());
        usj_buf_free(&b);
    }
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
}

static void teardown(void)
{
    fx_rmdir(g_dir);
}

TestSuite(blockmax, .init = build_corpus, .fini = teardown, .timeout = 300);

/* Every block's impact equals the rounded-up maximum over its docs, bounds
 * every score, and the list's maximum is the largest block's. */
Test(blockmax, impacts_are_exact_and_bound_every_score)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    double avgdl = usj_index_avglen(idx);
    const uint32_t *dl = usj_index_doclens(idx);
    uint32_t ndocs = usj_index_ndocs(idx);
    unsigned multi = 0;
    for (unsigned i = 0; i < NWORDS; i += 3) {
        char wd[16];
        word(wd, i);
        usj_term_info ti;
        if (usj_index_term(idx, wd, strlen(wd), &ti) != 0)
            continue;
        multi += ti.df > USJ_BLOCK_DOCS;
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0, "%s", usj_error_last());
        double idf = usj_rank_idf(ndocs, ti.df), w = usj_rank_weight(idf);
        double bmax = 0, lmax = 0;
        float cur = -1, listmax = 0;
        uint32_t blast = 0;
        for (uint32_t d = usj_postings_next(p); d != USJ_DOC_END; d = usj_postings_next(p)) {
            uint32_t last, mtf, mlen;
            usj_postings_block(p, &last, &mtf, &mlen);
            float imp = usj_postings_block_impact(p);
            if (cur >= 0 && last != blast) {     /* block done */
                cr_assert_eq(cur, usj_rank_impact_f32(bmax), "%s block ending %u", wd, blast);
                bmax = 0;
            }
            cur = imp;
            blast = last;
            if (imp > listmax)
                listmax = imp;
            uint32_t tf = usj_postings_freq(p);
            double x = usj_rank_impact(tf, dl[d], avgdl);
            if (x > bmax)
                bmax = x;
            if (x > lmax)
                lmax = x;
            cr_assert_leq(usj_rank_bm25(w, tf, dl[d], avgdl), usj_rank_impact_bound(idf, imp));
            cr_assert_leq(imp, USJ_IMPACT_MAX);
        }
        cr_assert_eq(cur, usj_rank_impact_f32(bmax), "%s last block", wd);
        cr_assert_eq(usj_postings_max_impact(p), listmax);
        cr_assert_eq(usj_postings_max_impact(p), usj_rank_impact_f32(lmax));
        cr_assert_eq(usj_postings_error(p), 0);
        usj_postings_free(p);
    }
    cr_assert_geq(multi, 10, "too few multi-block lists (%u)", multi);
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    usj_index_unref(idx);
}

static unsigned exact, compared, bounded;

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-12 * (1.0 + fabs(a) + fabs(b));
}

static void same_results(usj_index *idx, usj_analyzer *an, const char *q,
                         uint32_t limit, uint32_t offset)
{
    usj_query *query = NULL;
    cr_assert_geq(usj_query_parse(&query, q, strlen(q), an), 0, "%s: %s", q, usj_error_last());
    usj_results *a = NULL, *b = NULL;
    usj_search_opts o = {0};
    o.limit = limit;
    o.offset = offset;
    o.flags = USJ_SEARCH_NOTEXT;
    cr_assert_eq(usj_search(&a, idx, query, &o), 0, "%s: %s", q, usj_error_last());
    o.flags |= USJ_SEARCH_NOPRUNE;
    cr_assert_eq(usj_search(&b, idx, query, &o), 0, "%s: %s", q, usj_error_last());
    cr_assert_eq(a->total, b->total, "%s: total", q);
    cr_assert_eq(a->nhits, b->nhits, "%s: hits", q);
    for (size_t i = 0; i < a->nhits; i++) {
        /* MaxScore may add a doc's term scores in another order: equal
         * up to rounding, and a tie may then fall either way */
        cr_assert(near(a->hits[i].score, b->hits[i].score), "%s: score %zu: %.17g vs %.17g",
                  q, i, a->hits[i].score, b->hits[i].score);
        cr_assert(a->hits[i].doc == b->hits[i].doc ||
                  near(a->hits[i].score, b->hits[i].score),
                  "%s (limit %u): hit %zu: doc %u vs %u", q, limit, i,
                  a->hits[i].doc, b->hits[i].doc);
        exact += a->hits[i].doc == b->hits[i].doc;
        compared++;
    }
    /* with a total-hits threshold of 1 the engine skips whatever cannot
     * enter once the heap is full: the same hits, bit for bit */
    usj_results *c = NULL;
    o.flags = USJ_SEARCH_NOTEXT;
    o.total_upto = 1;
    cr_assert_eq(usj_search(&c, idx, query, &o), 0, "%s: %s", q, usj_error_last());
    cr_assert_eq(c->nhits, a->nhits, "%s: hits with total_upto", q);
    for (size_t i = 0; i < a->nhits; i++) {
        cr_assert_eq(c->hits[i].doc, a->hits[i].doc, "%s (limit %u): hit %zu", q, limit, i);
        cr_assert(c->hits[i].score == a->hits[i].score, "%s: hit %zu score", q, i);
    }
    if (c->total_relation == USJ_TOTAL_EXACT) {
        cr_assert_eq(c->total, a->total, "%s: exact total with total_upto", q);
    } else {
        cr_assert_leq(c->total, a->total, "%s", q);
        cr_assert_geq(c->total, 1, "%s", q);
        bounded++;
    }
    usj_results_free(c);
    usj_results_free(a);
    usj_results_free(b);
    usj_query_free(query);
}

/* Pruned and unpruned searches agree for single words, ORs, prefixes, ANDs,
 * phrases and exclusions, at several limits and offsets. */
Test(blockmax, pruning_never_changes_the_top_k)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    static const uint32_t limits[][2] = {{1, 0}, {3, 0}, {10, 0}, {10, 5}, {100, 0}};
    uint64_t s = 0x5EED;
    unsigned nq = 0;
    for (unsigned r = 0; r < 160; r++) {
        char q[256] = "", wd[16];
        /* 0 word, 1-2 OR, 3 phrase, 4 prefix, 5 OR -word, 6 AND,
         * 7 AND with a phrase */
        unsigned kind = r % 8, n = 1 + (unsigned)(fx_rand(&s) % 4);
        if (kind >= 6 && n < 3)
            n = 3;
        for (unsigned j = 0; j < n; j++) {
            /* favour frequent words: those are the long lists */
            word(wd, (unsigned)(fx_rand(&s) % (j == 0 ? 20 : 120)));
            const char *sep = j == 0 ? "" : kind == 1 ? " OR " : kind == 2 ? " | " : " ";
            if (kind == 0 && j > 0)
                break;                           /* single word */
            strcat(q, sep);
            if ((kind == 3 && j == 0) || (kind == 7 && j == 1))
                strcat(q, "\"");
            strcat(q, wd);
        }
        if (kind == 3 || kind == 7)
            strcat(q, "\"");
        if (kind == 4) {                         /* prefix */
            word(wd, (unsigned)(fx_rand(&s) % 26));
            snprintf(q, sizeof q, "%.2s*", wd);
        }
        if (kind == 5) {                         /* OR with an exclusion */
            word(wd, (unsigned)(fx_rand(&s) % 60));
            strcat(q, " OR ");
            strcat(q, wd);
            word(wd, (unsigned)(fx_rand(&s) % 60));
            strcat(q, " -");
            strcat(q, wd);
        }
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
            same_results(idx, an, q, limits[l][0], limits[l][1]);
        nq++;
    }
    cr_assert_eq(nq, 160);
    /* the threshold was crossed and docs were skipped in many searches */
    cr_assert_geq(bounded, 100, "%u lower-bound totals", bounded);
    cr_assert_geq(exact, compared * 95 / 100, "%u of %u hits identical", exact, compared);
    usj_analyzer_free(an);
    usj_index_unref(idx);
}

/* The most frequent word: pruning must skip blocks (else it tests nothing)
 * yet return exactly the unpruned top 10. */
Test(blockmax, common_word_top10)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    char wd[16];
    word(wd, 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, wd, strlen(wd), &ti), 0);
    cr_assert_gt(ti.df, 8 * USJ_BLOCK_DOCS, "df %u", ti.df);
    same_results(idx, an, wd, 10, 0);
    /* some block's bound is below the list's: the bounds are per block */
    usj_postings *p;
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    float mx = usj_postings_max_impact(p), mn = mx;
    for (uint32_t last = usj_postings_shallow(p, 0); last != USJ_DOC_END;
         last = usj_postings_shallow(p, last + 1)) {
        float v = usj_postings_block_impact(p);
        if (v < mn)
            mn = v;
    }
    cr_assert_lt(mn, mx);
    usj_postings_free(p);
    usj_analyzer_free(an);
    usj_index_unref(idx);
}

/* Search q (limit 10) with total_upto upto (0: none, NOPRUNE); the
 * results, which the caller frees. */
static usj_results *search_upto(usj_index *idx, usj_analyzer *an, const char *q,
                                uint64_t upto)
{
    usj_query *query = NULL;
    cr_assert_eq(usj_query_parse(&query, q, strlen(q), an), 0, "%s", usj_error_last());
    usj_search_opts o = {0};
    o.limit = 10;
    o.flags = USJ_SEARCH_NOTEXT | (upto ? 0 : USJ_SEARCH_NOPRUNE);
    o.total_upto = upto;
    usj_results *r = NULL;
    cr_assert_eq(usj_search(&r, idx, query, &o), 0, "%s: %s", q, usj_error_last());
    usj_query_free(query);
    return r;
}

/* An AND starts pruning only where many matches seem left (prune_pays in
 * lib/query_eval.c: at least 8 total_upto at the rate seen so far): with
 * total_upto half its matches (spread through the corpus) it counts every
 * one, an exact total; with a fortieth it skips, the total a lower bound.
 * The hits are the unpruned ones both ways. Fails with an AND pruning as
 * soon as total_upto matches are counted (as phrases do). */
Test(blockmax, and_prunes_only_where_many_matches_are_left)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    char a[16], b[16], q[40];
    word(a, 0);
    word(b, 1);
    snprintf(q, sizeof q, "%s %s", a, b);
    usj_results *all = search_upto(idx, an, q, 0);
    uint64_t t = all->total;
    cr_assert_gt(t, 800, "%s: %llu matches", q, (unsigned long long)t);
    cr_assert_eq(all->nhits, 10);
    static const uint64_t div[2] = {2, 40};
    for (int k = 0; k < 2; k++) {
        usj_results *r = search_upto(idx, an, q, t / div[k]);
        cr_assert_eq(r->nhits, all->nhits);
        for (size_t i = 0; i < r->nhits; i++) {
            cr_assert_eq(r->hits[i].doc, all->hits[i].doc, "upto t/%llu, hit %zu",
                         (unsigned long long)div[k], i);
            cr_assert(r->hits[i].score == all->hits[i].score);
        }
        if (k == 0) {
            cr_assert_eq(r->total_relation, USJ_TOTAL_EXACT, "upto t/2: pruned");
            cr_assert_eq(r->total, t);
        } else {
            cr_assert_eq(r->total_relation, USJ_TOTAL_AT_LEAST, "upto t/40: not pruned");
            cr_assert_lt(r->total, t);
        }
        usj_results_free(r);
    }
    usj_results_free(all);
    usj_analyzer_free(an);
    usj_index_unref(idx);
}

/* Damaged impacts: NaN, negative and too large are rejected when read; a
 * wrong but plausible value is caught by the deep check of the list. */
Test(blockmax, damaged_impact_is_corruption)
{
    size_t len = 0;
    char *bytes = fx_slurp(g_idx, &len);
    cr_assert_not_null(bytes);
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    char wd[16];
    word(wd, 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, wd, strlen(wd), &ti), 0);
    cr_assert_gt(ti.df, 2 * USJ_BLOCK_DOCS);
    /* block 1's impact: heap full by then, so the search reads it */
    size_t at = (size_t)(idx->sec[USJ_SECTION_POSTINGS].p - idx->map) + ti.off +
                USJ_SKIP_ENTRY + 20;
    usj_index_unref(idx);
    cr_assert_lt(at + 4, len);
    char bad[700];
    snprintf(bad, sizeof bad, "%s/bad.idx", g_dir);
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    const float vals[] = {NAN, -1.0f, 3.0f, INFINITY, 0.0f};
    for (size_t v = 0; v < sizeof vals / sizeof *vals; v++) {
        char *copy = malloc(len);
        memcpy(copy, bytes, len);
        uint32_t u;
        memcpy(&u, &vals[v], 4);
        usj_st32((uint8_t *)copy + at, u);
        FILE *f = fopen(bad, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(copy, 1, len, f), len);
        fclose(f);
        free(copy);
        /* the CRC pass notices any change */
        cr_assert_eq(usj_index_open(&idx, bad, 0), USJ_ECORRUPT);
        cr_assert_eq(usj_index_open(&idx, bad, USJ_OPEN_NOVERIFY), 0, "%s", usj_error_last());
        cr_assert_eq(usj_postings_check(idx, wd, strlen(wd), &ti), USJ_ECORRUPT, "value %zu", v);
        usj_query *q = NULL;
        cr_assert_geq(usj_query_parse(&q, wd, strlen(wd), an), 0);
        usj_results *r = NULL;
        usj_search_opts o = {0};
        o.limit = 10;
        o.flags = USJ_SEARCH_NOTEXT;
        int rc = usj_search(&r, idx, q, &o);
        if (vals[v] == 0.0f) {
            cr_assert_eq(rc, 0);                 /* plausible: only check sees it */
            usj_results_free(r);
        } else {
            cr_assert_eq(rc, USJ_ECORRUPT, "value %zu: rc %d", v, rc);
        }
        /* an OR reads every block's impact for its list bound */
        char oq[64];
        snprintf(oq, sizeof oq, "%s OR %s", wd, "bbax");
        usj_query *q2 = NULL;
        cr_assert_geq(usj_query_parse(&q2, oq, strlen(oq), an), 0);
        rc = usj_search(&r, idx, q2, &o);
        if (vals[v] == 0.0f)
            usj_results_free(r);
        else
            cr_assert_eq(rc, USJ_ECORRUPT, "OR, value %zu: rc %d", v, rc);
        usj_query_free(q);
        usj_query_free(q2);
        usj_index_unref(idx);
    }
    usj_analyzer_free(an);
    free(bytes);
}

/* Single words: the blocks are visited best first (largest impact first),
 * yet the hits are exactly, doc for doc and bit for bit, the unpruned
 * walk's in doc order, also when the cut falls inside a run of equal scores
 * (the corpus's many short paragraphs with the same tf and length score
 * the same: an equal-scoring doc from an earlier block visited later must
 * still take the place of a later one). */
Test(blockmax, single_word_best_first_keeps_ties_in_corpus_order)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    static const uint32_t limits[][2] = {{1, 0}, {2, 0}, {5, 0}, {10, 0}, {10, 7},
                                         {17, 0}, {64, 0}, {129, 0}, {300, 0}};
    unsigned ties = 0, searches = 0;
    for (unsigned wi = 0; wi < 40; wi++) {
        char wd[16];
        word(wd, wi);
        usj_query *q = NULL;
        cr_assert_geq(usj_query_parse(&q, wd, strlen(wd), an), 0);
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
            usj_search_opts o = {0};
            o.limit = limits[l][0];
            o.offset = limits[l][1];
            o.flags = USJ_SEARCH_NOTEXT;
            usj_results *a = NULL, *b = NULL, *c = NULL;
            cr_assert_eq(usj_search(&a, idx, q, &o), 0, "%s", usj_error_last());
            o.flags |= USJ_SEARCH_NOPRUNE;
            cr_assert_eq(usj_search(&b, idx, q, &o), 0, "%s", usj_error_last());
            o.limit++;                  /* one more: is the cut inside a tie? */
            cr_assert_eq(usj_search(&c, idx, q, &o), 0, "%s", usj_error_last());
            cr_assert_eq(a->total, b->total, "%s", wd);
            cr_assert_eq(a->nhits, b->nhits, "%s", wd);
            for (size_t i = 0; i < a->nhits; i++) {
                cr_assert_eq(a->hits[i].doc, b->hits[i].doc, "%s limit %u+%u: hit %zu",
                             wd, limits[l][0], limits[l][1], i);
                cr_assert(a->hits[i].score == b->hits[i].score, "%s: hit %zu", wd, i);
            }
            size_t n = b->nhits;
            if (c->nhits > n && n > 0 && c->hits[n].score == c->hits[n - 1].score)
                ties++;
            searches++;
            usj_results_free(a);
            usj_results_free(b);
            usj_results_free(c);
        }
        usj_query_free(q);
    }
    cr_assert_eq(searches, 40 * sizeof limits / sizeof *limits);
    /* else the ties were never at stake */
    cr_assert_geq(ties, 20, "%u of %u cuts inside a tie", ties, searches);
    usj_analyzer_free(an);
    usj_index_unref(idx);
}

/* A single word whose docs nearly all tie: 600 two-word paragraphs with
 * "zz" once, except 300..304 with it twice. Best first, block 2 (docs
 * 256..383) comes first and fills the top 10 with 300..304 and ties from
 * 256 on; block 0 can only tie the worst, but its ties come earlier in
 * corpus order, so it must still be read (the exact bound of a block, from
 * its largest tf and shortest doc, skips only blocks whose docs all come
 * after the worst's). */
Test(blockmax, tied_blocks_before_the_worst_are_read)
{
    char dir[512], path[600];
    cr_assert_eq(fx_tmpdir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/tie.idx", dir);
    usj_buf b = USJ_BUF_INIT;
    for (unsigned i = 0; i < 600; i++)
        cr_assert_eq(usj_buf_printf(&b, "zz %s\n\n",
                                    i >= 300 && i < 305 ? "zz" : "qq"), 0);
    usj_writer *w = NULL;
    cr_assert_eq(usj_writer_open(&w, path, NULL), 0, "%s", usj_error_last());
    cr_assert_eq(usj_writer_add_file(w, "t.txt", (const char *)b.data, b.len, NULL), 0);
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
    usj_buf_free(&b);
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, path, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    usj_query *q = NULL;
    cr_assert_geq(usj_query_parse(&q, "zz", 2, an), 0);
    static const uint32_t want[10] = {300, 301, 302, 303, 304, 0, 1, 2, 3, 4};
    for (int noprune = 0; noprune < 2; noprune++) {
        usj_search_opts o = {0};
        o.limit = 10;
        o.flags = USJ_SEARCH_NOTEXT | (noprune ? USJ_SEARCH_NOPRUNE : 0);
        usj_results *r = NULL;
        cr_assert_eq(usj_search(&r, idx, q, &o), 0, "%s", usj_error_last());
        cr_assert_eq(r->total, 600);
        cr_assert_eq(r->nhits, 10);
        for (size_t i = 0; i < 10; i++)
            cr_assert_eq(r->hits[i].doc, want[i], "noprune %d, hit %zu: doc %u",
                         noprune, i, r->hits[i].doc);
        usj_results_free(r);
    }
    usj_query_free(q);
    usj_analyzer_free(an);
    usj_index_unref(idx);
    fx_rmdir(dir);
}

/* Block-level access (usj_postings_read_block) gives what the cursor
 * gives, in any order; a damaged block read that way makes a single-word
 * search fail with USJ_ECORRUPT instead of returning short results. */
Test(blockmax, read_block_matches_cursor_and_reports_damage)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    char wd[16];
    word(wd, 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, wd, strlen(wd), &ti), 0);
    usj_postings *p, *c;
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    cr_assert_eq(usj_postings_open(&c, idx, &ti), 0);
    uint32_t nb = usj_postings_nblocks(p), best = 0;
    cr_assert_eq(nb, (ti.df + USJ_BLOCK_DOCS - 1) / USJ_BLOCK_DOCS);
    static uint32_t docs[256 * USJ_BLOCK_DOCS_MAX], tfs[256 * USJ_BLOCK_DOCS_MAX];
    cr_assert_leq(nb, 256);
    uint32_t at[256];
    /* backwards, then the cursor forwards */
    for (uint32_t b = nb; b-- > 0;) {
        at[b] = usj_postings_read_block(p, b, docs + b * USJ_BLOCK_DOCS_MAX,
                                        tfs + b * USJ_BLOCK_DOCS_MAX);
        cr_assert_eq(at[b], b + 1 < nb ? USJ_BLOCK_DOCS : ti.df - b * USJ_BLOCK_DOCS);
        if (usj_postings_impact_at(p, b) > usj_postings_impact_at(p, best))
            best = b;
    }
    cr_assert_eq(usj_postings_read_block(p, nb, docs, tfs), 0);
    cr_assert_eq(usj_postings_impact_at(p, nb), 0.0f);
    cr_assert_eq(usj_postings_impact_at(p, best), usj_postings_max_impact(c));
    uint32_t b = 0, i = 0;
    for (uint32_t d = usj_postings_next(c); d != USJ_DOC_END; d = usj_postings_next(c)) {
        if (i == at[b]) {
            b++;
            i = 0;
        }
        cr_assert_eq(docs[b * USJ_BLOCK_DOCS_MAX + i], d);
        cr_assert_eq(tfs[b * USJ_BLOCK_DOCS_MAX + i] + 1, usj_postings_freq(c));
        i++;
    }
    cr_assert_eq(b, nb - 1);
    cr_assert_eq(usj_postings_error(p), 0);
    usj_postings_free(p);
    usj_postings_free(c);
    /* damage the doc ids of the block with the largest impact: the
     * best-first walk reads it first */
    size_t len = 0;
    char *bytes = fx_slurp(g_idx, &len);
    cr_assert_not_null(bytes);
    const uint8_t *sk = idx->sec[USJ_SECTION_POSTINGS].p + ti.off;
    size_t blk = (size_t)(sk - idx->map) + (size_t)nb * USJ_SKIP_ENTRY +
                 usj_ld32(sk + (size_t)best * USJ_SKIP_ENTRY + 4);
    usj_index_unref(idx);
    bytes[blk + 1] ^= 0x5a;
    bytes[blk + 2] ^= 0xa5;
    char bad[700];
    snprintf(bad, sizeof bad, "%s/badblk.idx", g_dir);
    FILE *f = fopen(bad, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    cr_assert_eq(usj_index_open(&idx, bad, USJ_OPEN_NOVERIFY), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    usj_query *q = NULL;
    cr_assert_geq(usj_query_parse(&q, wd, strlen(wd), an), 0);
    usj_results *r = NULL;
    usj_search_opts o = {0};
    o.limit = 10;
    o.flags = USJ_SEARCH_NOTEXT;
    cr_assert_eq(usj_search(&r, idx, q, &o), USJ_ECORRUPT, "%s", usj_error_last());
    cr_assert_null(r);
    usj_query_free(q);
    usj_analyzer_free(an);
    usj_index_unref(idx);
    unlink(bad);
}

/* ORs of frequent words: the threshold seeded from each list's best block
 * (lib/query_eval.c or_seed) and the MaxScore walk return the unpruned top k
 * doc for doc (scores equal up to the order of the sums), also when the cut
 * falls inside a run of equal scores and at limits beyond the seed's. */
Test(blockmax, or_seeded_threshold_keeps_the_top_k)
{
    usj_index *idx = NULL;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    static const uint32_t limits[][2] = {{1, 0}, {3, 0}, {10, 0}, {10, 7},
                                         {20, 0}, {32, 0}, {40, 0}};
    uint64_t s = 0x0A5EED;
    unsigned ties = 0, searches = 0, same = 0, hits = 0;
    for (unsigned r = 0; r < 60; r++) {
        char q[128] = "", wd[16];
        unsigned n = 2 + r % 2;
        for (unsigned j = 0; j < n; j++) {
            /* frequent words (many blocks) and rarer ones (the best
             * block holds much of the list: the seed is near the cut) */
            word(wd, (unsigned)(r % 3 == 2 ? 20 + fx_rand(&s) % 100
                                           : fx_rand(&s) % (j == 0 ? 8 : 40)));
            if (j)
                strcat(q, " OR ");
            strcat(q, wd);
        }
        usj_query *query = NULL;
        cr_assert_geq(usj_query_parse(&query, q, strlen(q), an), 0);
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
            for (int upto = 0; upto < 2; upto++) {
                usj_search_opts o = {0};
                o.limit = limits[l][0];
                o.offset = limits[l][1];
                o.total_upto = upto;
                o.flags = USJ_SEARCH_NOTEXT;
                usj_results *a = NULL, *b = NULL, *c = NULL;
                cr_assert_eq(usj_search(&a, idx, query, &o), 0, "%s", usj_error_last());
                o.flags |= USJ_SEARCH_NOPRUNE;
                o.total_upto = 0;
                cr_assert_eq(usj_search(&b, idx, query, &o), 0, "%s", usj_error_last());
                o.limit++;
                cr_assert_eq(usj_search(&c, idx, query, &o), 0, "%s", usj_error_last());
                if (a->total_relation == USJ_TOTAL_EXACT)
                    cr_assert_eq(a->total, b->total, "%s", q);
                cr_assert_eq(a->nhits, b->nhits, "%s", q);
                for (size_t i = 0; i < a->nhits; i++) {
                    /* a doc's terms may be summed in another order: a
                     * tie between docs with other words may then fall
                     * either way (else the docs are the same) */
                    cr_assert(a->hits[i].doc == b->hits[i].doc ||
                              near(a->hits[i].score, b->hits[i].score),
                              "%s limit %u+%u upto %d: hit %zu: doc %u %.17g vs %u %.17g",
                                 q, limits[l][0], limits[l][1], upto, i, a->hits[i].doc,
                                 a->hits[i].score, b->hits[i].doc, b->hits[i].score);
                    cr_assert(near(a->hits[i].score, b->hits[i].score), "%s: hit %zu", q, i);
                }
                size_t m = b->nhits;
                if (c->nhits > m && m > 0 && c->hits[m].score == c->hits[m - 1].score)
                    ties++;
                for (size_t i = 0; i < a->nhits; i++)
                    same += a->hits[i].doc == b->hits[i].doc;
                hits += a->nhits;
                searches++;
                usj_results_free(a);
                usj_results_free(b);
                usj_results_free(c);
            }
        usj_query_free(query);
    }
    cr_assert_eq(searches, 60 * 2 * sizeof limits / sizeof *limits);
    cr_assert_geq(ties, 10, "%u of %u cuts inside a tie", ties, searches);
    cr_assert_geq(same, hits - hits / 100, "%u of %u hits identical", same, hits);
    usj_analyzer_free(an);
    usj_index_unref(idx);
}
