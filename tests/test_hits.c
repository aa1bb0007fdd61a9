/* tests/test_hits.c — hit building's per-thread caches (lib/query_hits.c):
 * hits built from a warm paragraph cache and term memo are field for field
 * those built cold (a fresh index serial, a fresh thread), for words,
 * phrases, prefixes, numbers, OR, NOT, title:, file: and --explain; and a
 * warm cache never answers for another index. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_fixture.h"
#include "usj/proto.h"
#include "usj/usj.h"

static char tmp[512], path[600];

static void setup(void)
{
    cr_assert_eq(fx_tmpdir(tmp, sizeof tmp), 0);
    snprintf(path, sizeof path, "%s/seeds.idx", tmp);
    cr_assert_eq(fx_build_seeds(path), 0, "build: %s", usj_error_last());
}

static void teardown(void) { fx_rmdir(tmp); }

TestSuite(hits, .init = setup, .fini = teardown, .timeout = 120);

static const char *const queries[] = {
    "tariff", "\"Section 232\"", "semiconductor", "japan investment",
    "\"safety clause\"", "steel OR aluminum", "pharma*", "$500b..$600b",
    "trade agreement", "energy", "tariff -japan", "title:korea tariff",
    "file:*004* tariff", "\"trade deal\" OR 15%", "2025..2030 investment",
    "us", "U.S.", "the",
};
#define NQ (sizeof queries / sizeof queries[0])

/* Every query's results, as the bytes of their protocol lines (which carry
 * every hit field: path, line, column, score, text, spans, para_line, title,
 * explain, doc). */
static char *run_all(usj_index *x, int explain, unsigned limit)
{
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    usj_buf out = USJ_BUF_INIT;
    for (size_t i = 0; i < NQ; i++) {
        usj_query *q = NULL;
        cr_assert_eq(usj_query_parse(&q, queries[i], strlen(queries[i]), an),
                     0, "%s: %s", queries[i], usj_error_last());
        usj_search_opts o = { .limit = limit, .explain = explain };
        usj_results *r = NULL;
        cr_assert_eq(usj_search(&r, x, q, &o), 0, "%s", usj_error_last());
        usj_buf_printf(&out, "%s: %zu %llu\n", queries[i], r->nhits,
                       (unsigned long long)r->total);
        for (size_t k = 0; k < r->nhits; k++)
            cr_assert_eq(usj_proto_format_hit(&out, &r->hits[k]), 0);
        usj_results_free(r);
        usj_query_free(q);
    }
    usj_analyzer_free(an);
    return usj_buf_detach(&out, NULL);
}

typedef struct job { usj_index *x; int explain; unsigned limit; char *out; } job;

static void *run_thread(void *arg)
{
    job *j = arg;
    j->out = run_all(j->x, j->explain, j->limit);
    return NULL;
}

/* cold in a thread of its own (empty caches), then warm here, twice */
static void check_warm_equals_cold(int explain, unsigned limit)
{
    usj_index *a = NULL;
    cr_assert_eq(usj_index_open(&a, path, 0), 0, "%s", usj_error_last());
    job j = { a, explain, limit, NULL };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_thread, &j), 0);
    pthread_join(t, NULL);
    cr_assert(j.out && strlen(j.out) > 1000);
    for (int round = 0; round < 2; round++) {
        char *warm = run_all(a, explain, limit);
        cr_assert_str_eq(warm, j.out, "round %d differs", round);
        free(warm);
    }
    free(j.out);
    usj_index_unref(a);
}

Test(hits, warm_caches_give_the_cold_hits)
{
    check_warm_equals_cold(0, 10);
    check_warm_equals_cold(0, 200);    /* more paragraphs than slots hold */
}

Test(hits, warm_caches_give_the_cold_explanations)
{
    check_warm_equals_cold(1, 10);
}

/* The same doc ids in two indexes of different texts: the paragraph cache
 * and the term memo are tagged with the index, so alternating searches each
 * see their own texts, spans and statistics. */
static void build_one(const char *p, const char *text)
{
    usj_writer *w = NULL;
    usj_writer_opts wo = {0};
    cr_assert_eq(usj_writer_open(&w, p, &wo), 0, "%s", usj_error_last());
    cr_assert_eq(usj_writer_add_file(w, "a.txt", text, strlen(text), NULL), 0);
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
}

Test(hits, caches_never_cross_indexes)
{
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/a.idx", tmp);
    snprintf(pb, sizeof pb, "%s/b.idx", tmp);
    build_one(pa, "alpha tariff one\n\nzeta\n");
    build_one(pb, "be tariff tariff three\n\nzeta tariff\n");
    usj_index *x[2] = { NULL, NULL };
    cr_assert_eq(usj_index_open(&x[0], pa, 0), 0);
    cr_assert_eq(usj_index_open(&x[1], pb, 0), 0);
    usj_analyzer *an = NULL;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    for (int k = 0; k < 6; k++) {
        usj_query *q = NULL;
        cr_assert_eq(usj_query_parse(&q, "tariff", 6, an), 0);
        usj_search_opts o = { .limit = 10, .explain = 1 };
        usj_results *r = NULL;
        cr_assert_eq(usj_search(&r, x[k % 2], q, &o), 0);
        if (k % 2 == 0) {
            cr_assert_eq(r->nhits, 1);
            cr_assert_str_eq(r->hits[0].text, "alpha tariff one");
            cr_assert_eq(r->hits[0].nspans, 1);
            cr_assert_eq(r->hits[0].spans[0].start, 6);
            cr_assert(strstr(r->hits[0].explain, "df 1,"), "%s",
                      r->hits[0].explain);
        } else {
            cr_assert_eq(r->nhits, 2);
            cr_assert_str_eq(r->hits[0].text, "be tariff tariff three");
            cr_assert_eq(r->hits[0].nspans, 2);
            cr_assert_eq(r->hits[0].spans[0].start, 3);
            cr_assert(strstr(r->hits[0].explain, "tf 2, df 2,"), "%s",
                      r->hits[0].explain);
        }
        usj_results_free(r);
        usj_query_free(q);
    }
    usj_analyzer_free(an);
    usj_index_unref(x[0]);
    usj_index_unref(x[1]);
}
