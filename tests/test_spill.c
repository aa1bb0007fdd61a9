/* tests/test_spill.c — a corpus larger than a small memory budget: the build
 * spills several sorted runs, merges them, and gives exactly the index of a
 * build with a large budget (every byte but the creation time), which also
 * matches the brute-force model. */
#include "ixt_model.h"
#include "limits.h"

static char *build(const char *tmp, const char *name, char **paths, size_t budget,
                   usj_build_stats *st, size_t *len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    cr_assert_eq(ixt_build(p, paths, budget, st), 0, "%s", usj_error_last());
    char *bytes = ixt_slurp(p, len);
    cr_assert_not_null(bytes);
    cr_assert_geq(*len, 256);
    memset(bytes + 16, 0, 8);   /* created time */
    memset(bytes + 36, 0, 4);   /* header CRC (covers the time) */
    return bytes;
}

Test(spill, small_budget_gives_the_same_index, .timeout = 300)
{
    char *tmp = ixt_mkdtemp();
    char **paths = ixt_gen_corpus(tmp, 50, 40000, 1234, 1);
    usj_build_stats big, small;
    size_t nb, ns;
    char *a = build(tmp, "big.idx", paths, 0, &big, &nb);
    char *b = build(tmp, "small.idx", paths, USJ_MIN_MEMORY, &small, &ns);
    cr_assert_eq(big.runs_spilled, 0);
    cr_assert_geq(small.runs_spilled, 3, "only %u runs", small.runs_spilled);
    cr_log_info("runs %u peak %llu", small.runs_spilled, (unsigned long long)small.peak_memory);
    cr_assert_lt(small.peak_memory, big.peak_memory, "peaks %llu vs %llu", (unsigned long long)small.peak_memory, (unsigned long long)big.peak_memory);
    /* the accumulator stays near the budget (one paragraph of slack, plus the
     * merge's per-doc length array) */
    cr_assert_lt(small.peak_memory, USJ_MIN_MEMORY + 512 * 1024,
                 "peak %llu", (unsigned long long)small.peak_memory);
    cr_assert_eq(big.terms, small.terms);
    cr_assert_eq(big.postings, small.postings);
    cr_assert_eq(big.positions, small.positions);
    for (int t = 0; t < USJ_NUM_NTYPES; t++)
        cr_assert_eq(big.numbers[t], small.numbers[t]);
    cr_assert_eq(nb, ns);
    cr_assert(memcmp(a, b, nb) == 0, "spilled build differs from the in-memory one");
    char p[4200];
    snprintf(p, sizeof p, "%s/small.idx", tmp);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, p, 0), 0, "%s", usj_error_last());
    ixt_model m;
    ixt_model_build(&m, paths);
    ixt_model_check(&m, idx);
    ixt_model_free(&m);
    usj_index_unref(idx);
    free(a);
    free(b);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

Test(spill, separate_tmpdir_and_no_leftovers)
{
    char *tmp = ixt_mkdtemp();
    char **paths = ixt_gen_corpus(tmp, 20, 30000, 77, 0);
    char spill[4200], idxp[4200];
    snprintf(spill, sizeof spill, "%s/spill", tmp);
    mkdir(spill, 0700);
    snprintf(idxp, sizeof idxp, "%s/x.idx", tmp);
    usj_writer *w;
    usj_writer_opts o;
    memset(&o, 0, sizeof o);
    o.memory_budget = USJ_MIN_MEMORY;
    o.tmpdir = spill;
    cr_assert_eq(usj_writer_open(&w, idxp, &o), 0);
    for (size_t i = 0; paths[i]; i++) {
        size_t n;
        char *d = ixt_slurp(paths[i], &n);
        cr_assert_eq(usj_writer_add_file(w, paths[i], d, n, NULL), 0);
        free(d);
    }
    usj_build_stats st;
    cr_assert_eq(usj_writer_commit(w, &st), 0, "%s", usj_error_last());
    cr_assert_gt(st.runs_spilled, 0);
    usj_writer_free(w);
    DIR *d = opendir(spill);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".usjindex", 9) == 0;
    closedir(d);
    cr_assert_eq(n, 0, "spill files left behind");
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0);
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

Test(spill, analysis_threads_do_not_change_the_index, .timeout = 300)
{
    char *tmp = ixt_mkdtemp();
    char **paths = ixt_gen_corpus(tmp, 30, 30000, 4321, 1);
    const char *counts[] = {"0", "1", "3"};
    char *first = NULL;
    size_t nfirst = 0;
    for (int k = 0; k < 3; k++) {
        setenv("USJ_INDEX_THREADS", counts[k], 1);
        usj_build_stats st;
        size_t n;
        char name[32];
        snprintf(name, sizeof name, "t%d.idx", k);
        char *b = build(tmp, name, paths, k == 2 ? USJ_MIN_MEMORY : 0, &st, &n);
        if (!first) {
            first = b;
            nfirst = n;
        } else {
            cr_assert_eq(n, nfirst);
            cr_assert(memcmp(first, b, n) == 0, "threads=%s: index differs", counts[k]);
            free(b);
        }
    }
    unsetenv("USJ_INDEX_THREADS");
    free(first);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}
