/* tests/test_search.c — usj_search on an index of the seeds built in a temp
 * folder: exact result sets, stemming and case, OR / NOT / prefix / title: /
 * file: / ranges of each type, hit fields (line, column, spans, text),
 * paging, count-only, explain, limits. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "query_fixture.h"
#include "usj/usj.h"

#define S4 "seeds/004_34c4a962b3f42fed.txt"
#define S1 "seeds/001_ec36a14128f0579a.txt"

static char tmp[512];
static usj_index *idx;
static usj_analyzer *an;

static void setup(void)
{
    cr_assert_eq(fx_tmpdir(tmp, sizeof tmp), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/seeds.idx", tmp);
    cr_assert_eq(fx_build_seeds(p), 0, "build: %s", usj_error_last());
    cr_assert_eq(usj_index_open(&idx, p, 0), 0, "%s", usj_error_last());
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
}

static void teardown(void)
{
    usj_index_unref(idx);
    usj_analyzer_free(an);
    fx_rmdir(tmp);
}

TestSuite(search, .init = setup, .fini = teardown, .timeout = 120);

static usj_results *run(const char *q, uint32_t limit, uint32_t offset,
                        int explain)
{
    usj_query *p = NULL;
    int rc = usj_query_parse(&p, q, strlen(q), an);
    cr_assert_eq(rc, 0, "parse [%s]: %s", q, usj_error_last());
    usj_search_opts o = {limit, offset, 0, explain, 0, 0};
    usj_results *r = NULL;
    rc = usj_search(&r, idx, p, &o);
    cr_assert_eq(rc, 0, "search [%s]: %s", q, usj_error_last());
    usj_query_free(p);
    return r;
}

/* "path:line" of every hit, sorted, joined with spaces. */
static char *lines_of(const char *q)
{
    usj_results *r = run(q, USJ_MAX_RESULTS, 0, 0);
    cr_assert_eq(r->total, r->nhits, "[%s] total %llu hits %zu", q,
                 (unsigned long long)r->total, r->nhits);
    char **v = calloc(r->nhits + 1, sizeof *v);
    for (size_t i = 0; i < r->nhits; i++) {
        char b[600];
        snprintf(b, sizeof b, "%s:%u", r->hits[i].path, r->hits[i].para_line);
        v[i] = strdup(b);
    }
    /* sort by path then numeric line */
    for (size_t i = 1; i < r->nhits; i++)
        for (size_t j = i; j > 0; j--) {
            char *a = v[j - 1], *b = v[j];
            const char *ca = strrchr(a, ':'), *cb = strrchr(b, ':');
            int c = strncmp(a, b, (size_t)(ca - a) < (size_t)(cb - b)
                                      ? (size_t)(ca - a) + 1 : (size_t)(cb - b) + 1);
            if (c < 0 || (c == 0 && atoi(ca + 1) <= atoi(cb + 1)))
                break;
            v[j - 1] = b;
            v[j] = a;
        }
    usj_buf out = USJ_BUF_INIT;
    for (size_t i = 0; i < r->nhits; i++) {
        usj_buf_printf(&out, "%s%s", i ? " " : "", v[i]);
        free(v[i]);
    }
    free(v);
    usj_results_free(r);
    return out.data ? out.data : strdup("");
}

static void expect_lines(const char *q, const char *want)
{
    char *got = lines_of(q);
    cr_expect_str_eq(got, want, "query [%s]", q);
    free(got);
}

static void expect_same(const char *a, const char *b)
{
    char *x = lines_of(a), *y = lines_of(b);
    cr_expect_str_eq(x, y, "[%s] vs [%s]", a, b);
    cr_expect_neq(x[0], 0, "[%s] matches something", a);
    free(x);
    free(y);
}

static uint64_t total_of(const char *q)
{
    usj_results *r = run(q, 0, 0, 0);
    uint64_t t = r->total;
    cr_assert_eq(r->nhits, 0);
    usj_results_free(r);
    return t;
}

Test(search, exact_seed_results)
{
    expect_lines("\"Section 232\"", S4 ":2 " S4 ":5 " S4 ":24 " S4 ":29");
    expect_lines("\"safety clause\"", S4 ":2 " S4 ":24");
    expect_lines("\"safety clauses\"", S4 ":2 " S4 ":24");
    expect_lines("$1t..", S1 ":5 " S1 ":12 " S1 ":18 " S1 ":20 " S1 ":54 "
                          S1 ":61");
}

Test(search, stemming_and_case)
{
    expect_same("semiconductors", "semiconductor");
    expect_same("SEMICONDUCTOR", "semiconductor");
    expect_same("\"SECTION 232\"", "\"section 232\"");
    expect_same("Japan's", "japan");
}

Test(search, boolean_operators)
{
    uint64_t a = total_of("steel"), b = total_of("energy");
    uint64_t ab = total_of("steel energy"), aob = total_of("steel OR energy");
    cr_assert_gt(a, 0);
    cr_assert_gt(b, 0);
    cr_assert_eq(aob, a + b - ab);
    cr_assert_eq(total_of("steel -energy"), a - ab);
    cr_assert_eq(total_of("steel NOT energy"), a - ab);
    expect_same("steel | energy", "energy OR steel");
    expect_same("(steel OR energy) tariff", "tariff (energy | steel)");
    cr_assert_eq(total_of("steel -steel"), 0);
    cr_assert_eq(total_of("zzzznotaword"), 0);
    cr_assert_eq(total_of("zzzznotaword OR steel"), a);
    cr_assert_eq(total_of("steel -zzzznotaword"), a);
}

Test(search, prefix)
{
    uint64_t p = total_of("semicond*");
    cr_assert_eq(p, total_of("semiconductor"));
    cr_assert_geq(total_of("tariff*"), total_of("tariff"));
    expect_same("tariffs*", "tariff*");
    cr_assert_eq(total_of("qqqzz*"), 0);
}

Test(search, fields)
{
    uint64_t all = total_of("japan");
    uint64_t f4 = total_of("japan file:004*");
    cr_assert_gt(f4, 0);
    cr_assert_lt(f4, all);
    cr_assert_eq(total_of("japan file:seeds/004_*.txt"), f4);
    cr_assert_eq(total_of("japan file:*/004_*"), f4);
    cr_assert_eq(total_of("japan file:nomatch*"), 0);
    usj_results *r = run("japan file:004*", 100, 0, 0);
    for (size_t i = 0; i < r->nhits; i++)
        cr_assert_str_eq(r->hits[i].path, S4);
    usj_results_free(r);
    /* title: the first line of the article */
    usj_doc_info di;
    uint32_t d;
    cr_assert_eq(usj_index_find_line(idx, S4, 2, &d), 0);
    cr_assert_eq(usj_index_doc(idx, d, &di), 0);
    cr_assert(strlen(di.title) > 0);
    r = run("title:agreement", 1000, 0, 0);
    for (size_t i = 0; i < r->nhits; i++)
        cr_assert_not_null(strcasestr(r->hits[i].title, "agreement"),
                           "%s", r->hits[i].title);
    usj_results_free(r);
}

Test(search, ranges_of_each_type)
{
    usj_results *r = run("30%..40%", 1000, 0, 0);
    for (size_t i = 0; i < r->nhits; i++) {
        const usj_hit *h = &r->hits[i];
        int num = 0;
        for (size_t k = 0; k < h->nspans; k++)
            if (h->spans[k].kind == USJ_SPAN_NUMBER) {
                num = 1;
                cr_assert(memchr(h->text + h->spans[k].start, '%',
                                 h->spans[k].end - h->spans[k].start) ||
                          strstr(h->text, "percent"));
            }
        cr_assert(num, "hit without a number span: %s", h->text);
    }
    usj_results_free(r);
    uint64_t money = total_of("$1b..");
    cr_assert_gt(money, 0);
    cr_assert_geq(money, total_of("$1t.."));
    cr_assert_eq(total_of("money:1e9.."), money);
    cr_assert_eq(total_of(">=$1b"), money);
    cr_assert_eq(total_of("$550b"), total_of("$550b..$550b"));
    cr_assert_gt(total_of("$550b"), 0);
    cr_assert_gt(total_of("2030"), 0);
    cr_assert_eq(total_of("year:2030"), total_of("year:2030..2030"));
    cr_assert_gt(total_of("year:2020..2035"), 0);
    cr_assert_eq(total_of("2020..2035"), total_of("year:2020..2035 OR count:2020..2035"));
    cr_assert_gt(total_of("count:1m.."), 0);
    cr_assert_eq(total_of("$600b..$700b $1t.."),
                 total_of("$1t.. $600b..$700b"));
    /* a range is a clause like any other */
    cr_assert_leq(total_of("semiconductor $1b.."), total_of("semiconductor"));
}

Test(search, hit_fields)
{
    usj_results *r = run("\"Section 232\"", 10, 0, 0);
    cr_assert_eq(r->total, 4);
    cr_assert_eq(r->nhits, 4);
    cr_assert_not_null(r->root);
    for (size_t i = 0; i < r->nhits; i++) {
        const usj_hit *h = &r->hits[i];
        cr_assert_str_eq(h->path, S4);
        cr_assert_gt(h->score, 0);
        if (i)
            cr_assert(h->score <= r->hits[i - 1].score);
        cr_assert_geq(h->nspans, 1);
        for (size_t k = 0; k < h->nspans; k++) {
            cr_assert_eq(h->spans[k].kind, USJ_SPAN_PHRASE);
            cr_assert_eq(strncasecmp(h->text + h->spans[k].start,
                                     "Section 232", 11), 0);
            cr_assert_eq(h->spans[k].end - h->spans[k].start, 11);
            if (k)
                cr_assert_geq(h->spans[k].start, h->spans[k - 1].end);
        }
        cr_assert_eq(h->line, h->para_line);
        cr_assert_eq(h->column, h->spans[0].start + 1);
        cr_assert_eq(strlen(h->text), h->text_len);
        cr_assert_null(h->explain);
    }
    usj_results_free(r);
    /* a number span covers the whole amount */
    r = run("$1t..", 10, 0, 0);
    cr_assert_eq(r->nhits, 6);
    for (size_t i = 0; i < r->nhits; i++) {
        const usj_hit *h = &r->hits[i];
        cr_assert_eq(h->spans[0].kind, USJ_SPAN_NUMBER);
        cr_assert_eq(h->text[h->spans[0].start], '$', "%s", h->text);
        cr_assert_eq(h->score, 0);
    }
    /* ranges do not score: corpus order */
    for (size_t i = 1; i < r->nhits; i++)
        cr_assert_lt(r->hits[i - 1].doc, r->hits[i].doc);
    usj_results_free(r);
}

Test(search, paging_count_explain)
{
    usj_results *all = run("japan", 50, 0, 0);
    cr_assert_gt(all->nhits, 8);
    usj_results *page = run("japan", 3, 2, 0);
    cr_assert_eq(page->nhits, 3);
    cr_assert_eq(page->total, all->total);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(page->hits[i].doc, all->hits[i + 2].doc);
    usj_results_free(page);
    page = run("japan", 10, (uint32_t)all->total, 0);
    cr_assert_eq(page->nhits, 0);
    cr_assert_eq(page->total, all->total);
    usj_results_free(page);
    usj_results_free(all);
    usj_results *e = run("japan \"Section 232\" semicond*", 2, 0, 1);
    cr_assert_gt(e->nhits, 0);
    cr_assert_not_null(e->hits[0].explain);
    cr_assert_not_null(strstr(e->hits[0].explain, "term \"japan\""));
    cr_assert_not_null(strstr(e->hits[0].explain, "phrase \"section 232\""));
    cr_assert_not_null(strstr(e->hits[0].explain, "idf"));
    usj_results_free(e);
    /* limits */
    usj_query *p = NULL;
    cr_assert_eq(usj_query_parse(&p, "japan", 5, an), 0);
    usj_search_opts o = {USJ_MAX_RESULTS, 1, 0, 0, 0, 0};
    usj_results *r = NULL;
    cr_assert_eq(usj_search(&r, idx, p, &o), USJ_ELIMIT);
    cr_assert_null(r);
    usj_query_free(p);
}

Test(search, scores_are_bm25_order)
{
    usj_results *r = run("tariff", 1000, 0, 0);
    cr_assert_gt(r->nhits, 3);
    cr_assert_eq(r->total, r->nhits);
    for (size_t i = 1; i < r->nhits; i++) {
        const usj_hit *a = &r->hits[i - 1], *b = &r->hits[i];
        cr_assert(a->score > b->score || (a->score == b->score && a->doc < b->doc));
    }
    /* the top 3 of a limit-3 run are the first 3 of the full ranking */
    usj_results *t = run("tariff", 3, 0, 0);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(t->hits[i].doc, r->hits[i].doc);
        cr_assert_float_eq(t->hits[i].score, r->hits[i].score, 1e-12);
    }
    usj_results_free(t);
    usj_results_free(r);
}

/* A damaged index opened without the CRC pass: searches may fail with an
 * error code but never crash or read out of bounds (run under ASan). */
Test(search, damaged_index_never_crashes)
{
    char p[600], q[640];
    snprintf(p, sizeof p, "%s/seeds.idx", tmp);
    snprintf(q, sizeof q, "%s/damaged.idx", tmp);
    size_t len = 0;
    char *orig = fx_slurp(p, &len);
    cr_assert_not_null(orig);
    static const char *qs[] = {"japan", "\"Section 232\"", "tariff OR steel",
                               "semicond*", "$1t..", "japan -tariff",
                               "title:japan energy", "file:004* trade"};
    uint64_t s = 12345;
    int opened = 0;
    for (int round = 0; round < 200; round++) {
        char *d = malloc(len);
        memcpy(d, orig, len);
        /* damage a few bytes past the header */
        for (int k = 0; k < 4; k++) {
            size_t at = 256 + (size_t)(fx_rand(&s) % (len - 256));
            d[at] = (char)fx_rand(&s);
        }
        FILE *f = fopen(q, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(d, 1, len, f), len);
        fclose(f);
        free(d);
        usj_index *x = NULL;
        if (usj_index_open(&x, q, USJ_OPEN_NOVERIFY) != 0)
            continue;
        opened++;
        for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
            usj_query *pq = NULL;
            cr_assert_eq(usj_query_parse(&pq, qs[i], strlen(qs[i]), an), 0);
            usj_search_opts o = {10, 0, 2000, 1, 0, 0};
            usj_results *r = NULL;
            int rc = usj_search(&r, x, pq, &o);
            cr_assert(rc == 0 || rc < 0);
            if (rc == 0)
                cr_assert_not_null(r);
            usj_results_free(r);
            usj_query_free(pq);
        }
        usj_index_unref(x);
    }
    cr_log_info("damaged index: opened %d of 200", opened);
    unlink(q);
    free(orig);
}

/* One index shared by several threads (each search has its own cursors and
 * per-thread analyzers): same results as a single thread. */

static const char *mt_queries[] = {"japan", "\"Section 232\"", "tariff OR steel",
                                   "semicond*", "$1t..", "japan -tariff",
                                   "title:japan energy", "trade (security OR defense)"};
#define MT_N (sizeof mt_queries / sizeof *mt_queries)
static uint32_t mt_first[MT_N];
static uint64_t mt_total[MT_N];

static void *mt_worker(void *arg)
{
    (void)arg;
    usj_analyzer *a;
    if (usj_analyzer_new(&a, 0))
        return (void *)1;
    intptr_t bad = 0;
    for (int round = 0; round < 40; round++)
        for (size_t i = 0; i < MT_N; i++) {
            usj_query *p = NULL;
            usj_results *r = NULL;
            usj_search_opts o = {5, 0, 0, 0, 0, 0};
            if (usj_query_parse(&p, mt_queries[i], strlen(mt_queries[i]), a) ||
                usj_search(&r, idx, p, &o) || r->total != mt_total[i] ||
                (r->nhits && r->hits[0].doc != mt_first[i]))
                bad = 1;
            usj_results_free(r);
            usj_query_free(p);
        }
    usj_analyzer_free(a);
    return (void *)bad;
}

Test(search, threads_share_an_index)
{
    for (size_t i = 0; i < MT_N; i++) {
        usj_results *r = run(mt_queries[i], 5, 0, 0);
        mt_total[i] = r->total;
        mt_first[i] = r->nhits ? r->hits[0].doc : 0;
        cr_assert_gt(r->total, 0, "%s", mt_queries[i]);
        usj_results_free(r);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, mt_worker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        cr_assert_null(ret, "thread %d saw different results", i);
    }
}

/* USJ_SEARCH_NOTEXT ranks exactly like a full search but carries no text. */
Test(search, notext_ranks_the_same)
{
    const char *qs[] = {"\"Section 232\"", "japan tariff", "semiconductor OR steel",
                        "$1t..", "alliance -trump"};
    for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
        usj_query *p = NULL;
        cr_assert_eq(usj_query_parse(&p, qs[k], strlen(qs[k]), an), 0);
        usj_search_opts full = {10, 0, 0, 0, 0, 0};
        usj_search_opts bare = {10, 0, 0, 0, USJ_SEARCH_NOTEXT, 0};
        usj_results *a = NULL, *b = NULL;
        cr_assert_eq(usj_search(&a, idx, p, &full), 0);
        cr_assert_eq(usj_search(&b, idx, p, &bare), 0);
        cr_assert_eq(a->total, b->total, "[%s]", qs[k]);
        cr_assert_eq(a->nhits, b->nhits, "[%s]", qs[k]);
        cr_assert_gt(a->nhits, 0, "[%s]", qs[k]);
        for (size_t i = 0; i < a->nhits; i++) {
            cr_assert_eq(a->hits[i].doc, b->hits[i].doc, "[%s] #%zu", qs[k], i);
            cr_assert_eq(a->hits[i].score, b->hits[i].score);
            cr_assert_str_eq(a->hits[i].path, b->hits[i].path);
            cr_assert_eq(a->hits[i].para_line, b->hits[i].para_line);
            cr_assert_null(b->hits[i].text);
            cr_assert_eq(b->hits[i].nspans, 0);
        }
        usj_results_free(a);
        usj_results_free(b);
        usj_query_free(p);
    }
}

/* The results own every string they show: a hit's path and title (packed
 * into the results' one block, shared by the hits of one file) and the root
 * stay readable after the index is closed, in both hit modes, for pages of
 * every size (the hits are built on the stack up to 16, packed with their
 * string table on the stack up to 64). */
Test(search, results_outlive_the_index)
{
    usj_index_stats st;
    usj_index_stats_get(idx, &st);
    const char *qs[] = {"tariff", "tariff OR steel OR japan", "zzznotaword",
                        "\"Section 232\""};
    uint32_t limits[] = {1, 10, 16, 17, 64, 65, 300};
    for (size_t k = 0; k < sizeof qs / sizeof *qs; k++)
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
            for (unsigned notext = 0; notext < 2; notext++) {
                usj_index *x = NULL;
                char p[600];
                snprintf(p, sizeof p, "%s/seeds.idx", tmp);
                cr_assert_eq(usj_index_open(&x, p, 0), 0);
                usj_query *q = NULL;
                cr_assert_eq(usj_query_parse(&q, qs[k], strlen(qs[k]), an), 0);
                usj_search_opts o = {limits[l], l % 2, 0, 0,
                                     notext ? USJ_SEARCH_NOTEXT : 0, 0};
                usj_results *r = NULL;
                cr_assert_eq(usj_search(&r, x, q, &o), 0, "%s", usj_error_last());
                usj_query_free(q);
                usj_index_unref(x);     /* unmapped: r must not point in */
                if (k == 2)
                    cr_assert_eq(r->nhits, 0);
                else
                    cr_assert_gt(r->nhits, 0, "[%s]", qs[k]);
                cr_assert(r->nhits <= limits[l]);
                cr_assert_str_eq(r->root, st.root);
                for (size_t i = 0; i < r->nhits; i++) {
                    usj_doc_info di;
                    cr_assert_eq(usj_index_doc(idx, r->hits[i].doc, &di), 0);
                    cr_assert_str_eq(r->hits[i].path, di.path, "[%s] #%zu",
                                     qs[k], i);
                    cr_assert_str_eq(r->hits[i].title, di.title);
                    cr_assert_eq(r->hits[i].para_line, di.line);
                    cr_assert((r->hits[i].text == NULL) == (notext == 1));
                }
                usj_results_free(r);
            }
}

/* The per-thread stored-text cache survives searches, so it must never hand
 * one index's text to another index with the same doc ids (a daemon that
 * reloaded a rebuilt index). */
static void build_one(const char *path, const char *text)
{
    usj_writer *w = NULL;
    usj_writer_opts wo = {0};
    cr_assert_eq(usj_writer_open(&w, path, &wo), 0, "%s", usj_error_last());
    cr_assert_eq(usj_writer_add_file(w, "a.txt", text, strlen(text), NULL), 0);
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
}

Test(search, text_cache_never_crosses_indexes)
{
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/a.idx", tmp);
    snprintf(pb, sizeof pb, "%s/b.idx", tmp);
    const char *ta[] = {"alpha tariff one\n", "alpha tariff two\n"};
    const char *tb[] = {"beta tariff three\n", "beta tariff four\n"};
    for (int round = 0; round < 2; round++) {
        build_one(pa, ta[round]);
        build_one(pb, tb[round]);
        for (int k = 0; k < 4; k++) {      /* alternate, same thread */
            usj_index *x = NULL;
            cr_assert_eq(usj_index_open(&x, k % 2 ? pb : pa, 0), 0);
            usj_query *q = NULL;
            cr_assert_eq(usj_query_parse(&q, "tariff", 6, an), 0);
            usj_results *r = NULL;
            usj_search_opts o = {10, 0, 0, 0, 0, 0};
            cr_assert_eq(usj_search(&r, x, q, &o), 0);
            cr_assert_eq(r->nhits, 1);
            const char *want = k % 2 ? tb[round] : ta[round];
            cr_assert_eq(r->hits[0].text_len, strlen(want) - 1);
            cr_assert_eq(memcmp(r->hits[0].text, want, strlen(want) - 1), 0,
                         "round %d k %d: got %s", round, k, r->hits[0].text);
            usj_results_free(r);
            usj_query_free(q);
            usj_index_unref(x);
        }
    }
}

/* Phrase frequencies where a word's positions in a paragraph are looked up
 * one by one in the other's (lib/query_eval.c pos_in, short lists) and
 * where they are merged (longer ones): six paragraphs of 24 words, so
 * that the ranking follows the number of occurrences alone (ties in doc
 * order). "alpha beta": 12 (12 x 12 positions, merged), 1 (beta first, at
 * position 0), 2 (22 alphas, 2 betas), 0 (8 x 8, every alpha two before a
 * beta), 5 (9 x 8, merged), 2 (4 x 2); "alpha beta alpha": 11, 0, 1, 0, 5,
 * 2 (the last two words looked up in the first's starts). */
Test(search, phrase_frequencies_short_and_long_lists)
{
    char path[600];
    snprintf(path, sizeof path, "%s/phr.idx", tmp);
    char text[2048] = "";
    for (int i = 0; i < 12; i++)
        strcat(text, i ? " alpha beta" : "alpha beta");
    strcat(text, "\n\nbeta alpha beta");
    for (int i = 0; i < 21; i++)
        strcat(text, " zeta");
    strcat(text, "\n\nalpha");
    for (int i = 0; i < 20; i++)
        strcat(text, " alpha");
    strcat(text, " beta alpha beta\n\nalpha zeta beta");
    for (int i = 0; i < 7; i++)
        strcat(text, " alpha zeta beta");
    strcat(text, "\n\nalpha beta alpha beta alpha beta alpha beta alpha beta"
                 " alpha zeta alpha zeta alpha zeta alpha zeta"
                 " zeta beta zeta beta zeta beta\n\n"
                 "alpha beta alpha zeta alpha beta alpha");
    for (int i = 0; i < 17; i++)
        strcat(text, " zeta");
    strcat(text, "\n");
    build_one(path, text);
    usj_index *x = NULL;
    cr_assert_eq(usj_index_open(&x, path, 0), 0, "%s", usj_error_last());
    static const struct { const char *q; uint32_t n, docs[5]; } want[] = {
        {"\"alpha beta\"", 5, {0, 4, 2, 5, 1}},
        {"\"alpha beta alpha\"", 4, {0, 4, 5, 2}},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        usj_query *q = NULL;
        cr_assert_eq(usj_query_parse(&q, want[k].q, strlen(want[k].q), an), 0);
        for (int count = 0; count < 2; count++) {
            usj_results *r = NULL;
            usj_search_opts o = {count ? 0 : 10, 0, 0, 0, 0, 0};
            cr_assert_eq(usj_search(&r, x, q, &o), 0, "%s", usj_error_last());
            cr_assert_eq(r->total, want[k].n, "%s: total %llu", want[k].q,
                         (unsigned long long)r->total);
            cr_assert_eq(r->nhits, count ? 0 : want[k].n);
            for (size_t i = 0; i < r->nhits; i++) {
                cr_assert_eq(r->hits[i].doc, want[k].docs[i], "%s: hit %zu is doc %u",
                             want[k].q, i, r->hits[i].doc);
                if (i > 0)  /* more occurrences, same length: higher */
                    cr_assert_geq(r->hits[i - 1].score, r->hits[i].score);
            }
            usj_results_free(r);
        }
        usj_query_free(q);
    }
    usj_index_unref(x);
}

/* Two words' common docs are found in the rest of a pair of decoded
 * blocks at a time (lib/query_eval.c leapfrog2, window_meet), past docs a
 * third word or the positions reject and across block ends: 1000
 * paragraphs, number p holding, in this order, alpha (p % 2 == 0), beta
 * (p % 3), gamma (p % 5), delta (p % 7), omega (p % 20), then "filler
 * every" (two lists whose blocks end on consecutive docs).
 * Each count is exact with and without a top 10, and a search pruning
 * from its first match returns the same hits as an unpruned one. Omega
 * is ten times sparser than alpha, beta and delta near its density. */
Test(search, two_word_walk_counts)
{
    char path[600];
    snprintf(path, sizeof path, "%s/walk.idx", tmp);
    static const char *const w[] = {"alpha", "beta", "gamma", "delta", "omega"};
    static const unsigned mod[] = {2, 3, 5, 7, 20};
    size_t cap = 1000 * 56, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (unsigned p = 0; p < 1000; p++) {
        for (int k = 0; k < 5; k++)
            if (p % mod[k] == 0)
                len += (size_t)snprintf(text + len, cap - len, "%s ", w[k]);
        len += (size_t)snprintf(text + len, cap - len, "filler every\n\n");
    }
    build_one(path, text);
    free(text);
    usj_index *x = NULL;
    cr_assert_eq(usj_index_open(&x, path, 0), 0, "%s", usj_error_last());
    static const struct { const char *q; uint64_t n; } want[] = {
        {"alpha beta", 167},            /* p % 6 == 0 */
        {"alpha beta gamma", 34},       /* p % 30 */
        {"alpha delta", 72},            /* p % 14 */
        {"alpha omega", 50},            /* p % 20 */
        {"delta omega", 8},             /* p % 140 */
        {"\"alpha beta\"", 167},
        {"\"beta gamma\"", 67},         /* p % 15 */
        {"\"alpha gamma\"", 66},        /* p % 10, not p % 3: 100 - 34 */
        {"\"alpha beta gamma\"", 34},
        {"\"delta omega\"", 8},
        {"filler every", 1000},
        {"\"filler every\"", 1000},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        usj_query *q = NULL;
        cr_assert_eq(usj_query_parse(&q, want[k].q, strlen(want[k].q), an), 0);
        usj_results *r[3] = {NULL, NULL, NULL};
        for (int v = 0; v < 3; v++) {
            usj_search_opts o = {v ? 10 : 0, 0, 0, 0, 0, 0};
            o.flags = USJ_SEARCH_NOTEXT | (v == 1 ? USJ_SEARCH_NOPRUNE : 0);
            o.total_upto = v == 2 ? 1 : 0;
            cr_assert_eq(usj_search(&r[v], x, q, &o), 0, "%s", usj_error_last());
        }
        cr_assert_eq(r[0]->total, want[k].n, "%s: %llu", want[k].q,
                     (unsigned long long)r[0]->total);
        cr_assert_eq(r[1]->total, want[k].n, "%s: top 10: %llu", want[k].q,
                     (unsigned long long)r[1]->total);
        cr_assert_eq(r[2]->nhits, r[1]->nhits, "%s", want[k].q);
        for (size_t i = 0; i < r[1]->nhits; i++)
            cr_assert_eq(r[2]->hits[i].doc, r[1]->hits[i].doc, "%s: hit %zu", want[k].q, i);
        for (int v = 0; v < 3; v++)
            usj_results_free(r[v]);
        usj_query_free(q);
    }
    usj_index_unref(x);
}
