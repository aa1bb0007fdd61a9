/* bench/bench_analyze.c — analyzer throughput: MB/s of text run through
 * usj_para_split + usj_analyze, with and without stemming (and without
 * number extraction), median of several runs.
 *
 *   bench_analyze [-r RUNS] [-m MB] [-c CONFIG] [FILE...]
 *
 * Default files: the seeds/ *.txt files (from $USJ_TEST_ROOT or the current folder).
 * The files are concatenated and repeated until at least MB megabytes
 * (default 20) are analyzed per run, paragraph by paragraph in AUTO mode,
 * as the indexer does. Rates are per second of the thread's CPU time (the
 * wall-clock rate is shown too; on a busy machine it is lower). Prints one line per configuration (-c N: only the
 * N-th, 0-based, e.g. for perf stat). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "usj/analyze.h"
#include "usj/error.h"
#include "usj/para.h"

typedef struct corpus {
    char  *data;
    size_t len;
} corpus;

static int load(corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_analyze: cannot open %s\n", path);
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        char *d = realloc(c->data, c->len + n + 1);
        if (!d) {
            fclose(f);
            return -1;
        }
        c->data = d;
        memcpy(c->data + c->len, buf, n);
        c->len += n;
    }
    /* keep files apart: a paragraph never spans two files */
    char *d = realloc(c->data, c->len + 2);
    if (!d) {
        fclose(f);
        return -1;
    }
    c->data = d;
    c->data[c->len++] = '\n';
    c->data[c->len++] = '\n';
    fclose(f);
    return 0;
}

typedef struct run_ctx {
    usj_analyzer *a;
    uint64_t      tokens, numbers, bytes;
    int           rc;
} run_ctx;

static int on_para(void *vctx, const usj_para *p)
{
    run_ctx *r = vctx;
    const usj_analysis *res;
    int rc = usj_analyze(r->a, p->text, p->len, &res);
    if (rc) {
        r->rc = rc;
        return 1;
    }
    r->tokens += res->ntokens;
    r->numbers += res->nnumbers;
    return 0;
}

/* CPU time of this thread: on a shared machine wall time mostly measures
 * the other processes; the wall-clock rate is printed too. */
static double now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* One configuration: returns the median MB/s of CPU time over `runs` runs
 * (*wall: the median in wall-clock time). */
static double bench(const corpus *c, unsigned flags, size_t reps, int runs,
                    uint64_t *tokens, uint64_t *numbers, double *wall)
{
    usj_analyzer *a;
    if (usj_analyzer_new(&a, flags)) {
        fprintf(stderr, "bench_analyze: %s\n", usj_error_last());
        exit(1);
    }
    double mbs[64], wmbs[64];
    for (int k = 0; k < runs; k++) {
        run_ctx r = {.a = a};
        double w0 = now(CLOCK_MONOTONIC), t0 = now(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < reps; i++)
            usj_para_split(c->data, c->len, USJ_SPLIT_AUTO, on_para, &r);
        double dt = now(CLOCK_THREAD_CPUTIME_ID) - t0;
        double wt = now(CLOCK_MONOTONIC) - w0;
        if (r.rc) {
            fprintf(stderr, "bench_analyze: %s\n", usj_error_last());
            exit(1);
        }
        mbs[k] = (double)(c->len * reps) / dt / 1e6;
        wmbs[k] = (double)(c->len * reps) / wt / 1e6;
        *tokens = r.tokens;
        *numbers = r.numbers;
    }
    usj_analyzer_free(a);
    qsort(mbs, (size_t)runs, sizeof mbs[0], cmp_double);
    qsort(wmbs, (size_t)runs, sizeof wmbs[0], cmp_double);
    *wall = wmbs[runs / 2];
    return mbs[runs / 2];
}

int main(int argc, char **argv)
{
    int runs = 5;
    double target_mb = 20;
    int i = 1, only = -1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
            target_mb = atof(argv[++i]);
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_analyze [-r RUNS] [-m MB] [-c CONFIG] "
                   "[FILE...]\n");
            return 0;
        } else
            break;
    }
    if (runs < 1 || runs > 64 || !(target_mb > 0)) {
        fprintf(stderr, "bench_analyze: bad -r or -m\n");
        return 2;
    }
    corpus c = {0};
    size_t nfiles = 0;
    if (i < argc) {
        for (; i < argc; i++, nfiles++)
            if (load(&c, argv[i]))
                return 1;
    } else {
        const char *root = getenv("USJ_TEST_ROOT");
        char pat[4096];
        snprintf(pat, sizeof pat, "%s/seeds/*.txt", root ? root : ".");
        glob_t g;
        if (glob(pat, 0, NULL, &g) != 0) {
            fprintf(stderr, "bench_analyze: no files match %s\n", pat);
            return 1;
        }
        for (size_t k = 0; k < g.gl_pathc; k++, nfiles++)
            if (load(&c, g.gl_pathv[k]))
                return 1;
        globfree(&g);
    }
    if (c.len == 0) {
        fprintf(stderr, "bench_analyze: empty input\n");
        return 1;
    }
    size_t reps = (size_t)(target_mb * 1e6 / (double)c.len) + 1;
    printf("input: %zu files, %zu bytes, repeated %zu times = %.1f MB per run, "
           "median of %d runs\n", nfiles, c.len, reps,
           (double)(c.len * reps) / 1e6, runs);
    static const struct { const char *name; unsigned flags; } cfg[] = {
        {"stem+numbers", 0},
        {"nostem+numbers", USJ_ANALYZE_NOSTEM},
        {"stem, no numbers", USJ_ANALYZE_NONUMBERS},
        {"nostem, no numbers", USJ_ANALYZE_NOSTEM | USJ_ANALYZE_NONUMBERS},
    };
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        if (only >= 0 && (size_t)only != k)
            continue;
        uint64_t tokens = 0, numbers = 0;
        double wall;
        double mb = bench(&c, cfg[k].flags, reps, runs, &tokens, &numbers,
                          &wall);
        printf("%-20s %7.1f MB/s CPU  %7.1f MB/s wall  %6.2f Mtokens/s  "
               "(%llu tokens, %llu numbers per run)\n", cfg[k].name, mb, wall,
               mb * 1e6 / (double)(c.len * reps) * (double)tokens / 1e6,
               (unsigned long long)tokens, (unsigned long long)numbers);
    }
    free(c.data);
    return 0;
}
