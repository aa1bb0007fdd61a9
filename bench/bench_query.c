/* bench/bench_query.c — usjsearch's side of the query benchmark: the library
 * in-process and warm, timed exactly like the peers (bench/bench_util.h).
 *
 *   bench_query query INDEX QUERY_DIR REPS COUNTS_FILE [text]
 *   bench_query stats INDEX
 *
 * query: usj_index_open (with the CRC pass, not timed), one analyzer; a
 * query is usj_query_parse + usj_search + reading the hits, then
 * usj_results_free + usj_query_free. TOP-10 is limit 10 with
 * USJ_SEARCH_NOTEXT: ranked hits with doc id, path and line but no stored
 * text, which is what the peers return (doc ids); with "text" the hits are
 * complete (paragraph text inflated, match spans), what usjsearch shows.
 * TOP-10 counts matches exactly only up to BQ_TOTAL_UPTO (1000, Lucene's
 * default total-hits threshold; usj_search_opts.total_upto): past it the
 * total may be a lower bound and AND/phrases skip what cannot enter the
 * top 10 — the hits are the same. COUNT is limit 0 and reads the exact
 * total.
 * stats: the index sections and their sizes, one "name bytes" per line, then
 * "file_bytes", "input_bytes", "docs", "terms", "postings", "positions". */
#include <usj/usj.h>

#include "bench_util.h"

/* TOP-10's total-hits threshold (see above and bench/README.md). */
#define BQ_TOTAL_UPTO 1000

typedef struct {
    usj_index    *idx;
    usj_analyzer *an;
    unsigned      flags;   /* for TOP-10: USJ_SEARCH_NOTEXT or 0 */
} ours;

static void usj_die(const char *what, const char *q, int rc)
{
    fprintf(stderr, "bench_query: %s%s%s%s: %s: %s\n", what, q ? " [" : "", q ? q : "",
            q ? "]" : "", usj_error_name(rc), usj_error_last());
    exit(1);
}

static uint64_t run(ours *o, const char *q, uint32_t limit)
{
    usj_query *query = NULL;
    usj_results *r = NULL;
    int rc = usj_query_parse(&query, q, strlen(q), o->an);
    if (rc < 0)
        usj_die("parse", q, rc);
    usj_search_opts opts = {0};
    opts.limit = limit;
    opts.flags = limit ? o->flags : 0;
    opts.total_upto = limit ? BQ_TOTAL_UPTO : 0;
    rc = usj_search(&r, o->idx, query, &opts);
    if (rc < 0)
        usj_die("search", q, rc);
    uint64_t n = limit ? r->nhits : r->total;
    for (size_t i = 0; i < r->nhits; i++) {
        volatile uint32_t doc = r->hits[i].doc;
        (void)doc;
    }
    usj_results_free(r);
    usj_query_free(query);
    return n;
}

static uint64_t run_top(void *ctx, const char *q)
{
    return run(ctx, q, 10);
}

static uint64_t run_count(void *ctx, const char *q)
{
    return run(ctx, q, 0);
}

static int do_query(const char *path, const char *qdir, int reps, const char *counts,
                    int text)
{
    ours o = {NULL, NULL, text ? 0u : USJ_SEARCH_NOTEXT};
    int rc = usj_index_open(&o.idx, path, 0);
    if (rc < 0)
        usj_die("open ", path, rc);
    rc = usj_analyzer_new(&o.an, 0);
    if (rc < 0)
        usj_die("analyzer", NULL, rc);
    bu_qset sets[BU_NTYPES];
    bu_load_queries(sets, qdir, reps);
    bu_run(sets, reps, run_top, run_count, &o);
    bu_report(sets, reps, counts);
    bu_free_queries(sets);
    usj_analyzer_free(o.an);
    usj_index_unref(o.idx);
    return 0;
}

static int do_stats(const char *path)
{
    usj_index *idx = NULL;
    int rc = usj_index_open(&idx, path, USJ_OPEN_NOVERIFY);
    if (rc < 0)
        usj_die("open ", path, rc);
    usj_index_stats st;
    memset(&st, 0, sizeof st);
    usj_index_stats_get(idx, &st);
    for (uint32_t i = 0; i < st.nsections && i < 8; i++)
        printf("section_%s %llu\n", st.section_names[i] ? st.section_names[i] : "?",
               (unsigned long long)st.section_bytes[i]);
    printf("file_bytes %llu\ninput_bytes %llu\ndocs %u\nterms %llu\npostings %llu\n"
           "positions %llu\n",
           (unsigned long long)st.file_bytes, (unsigned long long)st.input_bytes, st.docs,
           (unsigned long long)st.terms, (unsigned long long)st.postings,
           (unsigned long long)st.positions);
    usj_index_unref(idx);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 6 || (argc == 7 && !strcmp(argv[6], "text"))) &&
        !strcmp(argv[1], "query")) {
        int reps = atoi(argv[4]);
        if (reps < 1 || reps > 1000)
            reps = 1;
        return do_query(argv[2], argv[3], reps, argv[5], argc == 7);
    }
    if (argc == 3 && !strcmp(argv[1], "stats"))
        return do_stats(argv[2]);
    fprintf(stderr, "usage: bench_query query INDEX QUERY_DIR REPS COUNTS_FILE [text]\n"
                    "       bench_query stats INDEX\n");
    return 2;
}
