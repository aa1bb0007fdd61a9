/* bench/bench_util.h — what the three query drivers (bench_query.c for
 * usjsearch, peer_fts5.c, peer_xapian.cc) share, so they load the same
 * corpus and queries and time them the same way. Header-only, valid C11 and
 * C++.
 *
 * Method (identical for every engine):
 *  - the query types are read from QUERY_DIR/<type>.txt, one query per line;
 *  - one untimed warm-up pass runs every query in both modes;
 *  - then REPS passes, taken in turn with the other engines under
 *    BENCH_SYNC (bu_sync below); in each, every query is timed in TOP-10 mode and then
 *    in COUNT mode (CLOCK_MONOTONIC around parse + run + reading the results);
 *  - a query's time is the median of its REPS timings; a type's figures are
 *    the median and p99 (nearest rank) of its queries' times, in us;
 *  - stdout: one TSV row per type and mode:
 *      type  mode  nqueries  median_us  p99_us  mean_us  sum_of_results
 *  - the COUNTS file gets one line per query: type, n, exact count, TOP-10
 *    us, COUNT us, query text (TAB-separated), so run.sh can check that the
 *    engines agree and slow queries can be found. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BU_NTYPES 9
static const char *const bu_types[BU_NTYPES] = {
    "rare", "mid", "common", "and2", "and3", "or2", "or3", "phrase2", "phrase3"};

typedef struct bu_qset {
    const char *type;
    char       *buf;      /* the file's text; q[] point into it */
    char      **q;        /* NUL-terminated query texts */
    size_t      n;
    double     *t_top;    /* [n * reps] ns */
    double     *t_count;
    uint64_t   *count;    /* exact count per query */
    uint64_t   *top;      /* hits returned by TOP-10 per query */
} bu_qset;

static inline void bu_die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static inline void *bu_alloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        bu_die("size overflow");
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        bu_die("out of memory");
    return p;
}

static inline double bu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Reads a whole file; *len gets its size. The buffer is NUL-terminated. */
static inline char *bu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        bu_die(path);
    size_t cap = 1 << 16, n = 0;
    char *buf = (char *)bu_alloc(cap, 1);
    for (;;) {
        if (cap - n < 4096) {
            if (cap > SIZE_MAX / 2)
                bu_die("file too large");
            cap *= 2;
            char *nb = (char *)realloc(buf, cap);
            if (!nb)
                bu_die("out of memory");
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        bu_die(path);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static inline void bu_load_queries(bu_qset *sets, const char *dir, int reps)
{
    for (int t = 0; t < BU_NTYPES; t++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.txt", dir, bu_types[t]);
        size_t len;
        char *buf = bu_read_file(path, &len);
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
            n += buf[i] == '\n';
        sets[t].type = bu_types[t];
        sets[t].buf = buf;
        sets[t].q = (char **)bu_alloc(n + 1, sizeof(char *));
        sets[t].n = 0;
        char *p = buf;
        while (*p) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = 0;
            if (*p)
                sets[t].q[sets[t].n++] = p;
            if (!nl)
                break;
            p = nl + 1;
        }
        size_t m = sets[t].n * (size_t)reps;
        sets[t].t_top = (double *)bu_alloc(m, sizeof(double));
        sets[t].t_count = (double *)bu_alloc(m, sizeof(double));
        sets[t].count = (uint64_t *)bu_alloc(sets[t].n, sizeof(uint64_t));
        sets[t].top = (uint64_t *)bu_alloc(sets[t].n, sizeof(uint64_t));
    }
}

static inline void bu_free_queries(bu_qset *sets)
{
    for (int t = 0; t < BU_NTYPES; t++) {
        free(sets[t].buf);
        free(sets[t].q);
        free(sets[t].t_top);
        free(sets[t].t_count);
        free(sets[t].count);
        free(sets[t].top);
    }
}

static inline int bu_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of v[0..n) (sorts v). */
static inline double bu_pct(double *v, size_t n, double pct)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bu_cmp_double);
    size_t k = (size_t)(pct / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* One query in one mode: returns the hits returned (TOP-10) or the exact
 * count (COUNT); exits on an engine error. */
typedef uint64_t (*bu_query_fn)(void *ctx, const char *q);

/* Interleaving with the other engines (run.sh): with BENCH_SYNC=GO:DONE,
 * the paths of two FIFOs, the driver reads one byte from GO before each
 * timed block (one query type, both modes, in one pass) and writes one byte
 * to DONE after it; one byte on DONE before the first block says the
 * warm-up is over. run.sh waits until every engine's driver is warmed up
 * (no driver's warm-up then runs beside another's timed block) and lets
 * them take turns block by block, so that a machine getting slower or
 * faster during a run reaches every engine alike. Without BENCH_SYNC the
 * passes run straight through. */
typedef struct bu_sync {
    int go, done;       /* -1: no interleaving */
} bu_sync;

static inline void bu_sync_open(bu_sync *y)
{
    y->go = y->done = -1;
    const char *env = getenv("BENCH_SYNC");
    if (!env || !*env)
        return;
    const char *colon = strchr(env, ':');
    if (!colon || colon == env || !colon[1]) {
        errno = 0;
        bu_die("BENCH_SYNC is not GO_FIFO:DONE_FIFO");
    }
    char go[4096];
    size_t n = (size_t)(colon - env);
    if (n >= sizeof go) {
        errno = ENAMETOOLONG;
        bu_die("BENCH_SYNC");
    }
    memcpy(go, env, n);
    go[n] = 0;
    if ((y->go = open(go, O_RDONLY)) < 0)
        bu_die(go);
    if ((y->done = open(colon + 1, O_WRONLY)) < 0)
        bu_die(colon + 1);
}

static inline void bu_sync_wait(const bu_sync *y)
{
    char c;
    ssize_t k;
    if (y->go < 0)
        return;
    while ((k = read(y->go, &c, 1)) < 0 && errno == EINTR)
        ;
    if (k != 1) {
        errno = 0;
        bu_die("BENCH_SYNC: the go pipe closed");
    }
}

static inline void bu_sync_done(const bu_sync *y)
{
    ssize_t k;
    if (y->done < 0)
        return;
    while ((k = write(y->done, "x", 1)) < 0 && errno == EINTR)
        ;
    if (k != 1)
        bu_die("BENCH_SYNC: the done pipe");
}

/* The warm-up pass, then reps timed passes over every type (blocks taken
 * in turn with the other engines under BENCH_SYNC). */
static inline void bu_run(bu_qset *sets, int reps, bu_query_fn top10,
                          bu_query_fn count, void *ctx)
{
    for (int t = 0; t < BU_NTYPES; t++)
        for (size_t i = 0; i < sets[t].n; i++) {
            sets[t].top[i] = top10(ctx, sets[t].q[i]);
            sets[t].count[i] = count(ctx, sets[t].q[i]);
        }
    bu_sync y;
    bu_sync_open(&y);
    bu_sync_done(&y);                   /* warmed up */
    for (int r = 0; r < reps; r++)
        for (int t = 0; t < BU_NTYPES; t++) {
            bu_sync_wait(&y);
            for (size_t i = 0; i < sets[t].n; i++) {
                size_t k = i * (size_t)reps + (size_t)r;
                double t0 = bu_now_ns();
                uint64_t h = top10(ctx, sets[t].q[i]);
                double t1 = bu_now_ns();
                uint64_t c = count(ctx, sets[t].q[i]);
                double t2 = bu_now_ns();
                sets[t].t_top[k] = t1 - t0;
                sets[t].t_count[k] = t2 - t1;
                if (h != sets[t].top[i] || c != sets[t].count[i]) {
                    fprintf(stderr, "bench: results of [%s] changed between runs\n",
                            sets[t].q[i]);
                    exit(1);
                }
            }
            bu_sync_done(&y);
        }
    if (y.go >= 0) {
        close(y.go);
        close(y.done);
    }
}

/* Prints the summary rows and writes the counts file. */
static inline void bu_report(bu_qset *sets, int reps, const char *counts_path)
{
    FILE *cf = counts_path ? fopen(counts_path, "w") : NULL;
    if (counts_path && !cf)
        bu_die(counts_path);
    for (int t = 0; t < BU_NTYPES; t++) {
        bu_qset *s = &sets[t];
        for (int mode = 0; mode < 2; mode++) {
            double *all = mode ? s->t_count : s->t_top;
            double *per = (double *)bu_alloc(s->n, sizeof(double));
            double sum = 0;
            uint64_t results = 0;
            for (size_t i = 0; i < s->n; i++) {
                per[i] = bu_pct(all + i * (size_t)reps, (size_t)reps, 50) / 1e3;
                sum += per[i];
                results += mode ? s->count[i] : s->top[i];
            }
            double med = bu_pct(per, s->n, 50), p99 = bu_pct(per, s->n, 99);
            printf("%s\t%s\t%zu\t%.2f\t%.2f\t%.2f\t%llu\n", s->type,
                   mode ? "count" : "top10", s->n, med, p99,
                   s->n ? sum / (double)s->n : 0.0, (unsigned long long)results);
            free(per);
        }
        for (size_t i = 0; cf && i < s->n; i++) {
            double tt = bu_pct(s->t_top + i * (size_t)reps, (size_t)reps, 50) / 1e3;
            double tc = bu_pct(s->t_count + i * (size_t)reps, (size_t)reps, 50) / 1e3;
            fprintf(cf, "%s\t%zu\t%llu\t%.2f\t%.2f\t%s\n", s->type, i,
                    (unsigned long long)s->count[i], tt, tc, s->q[i]);
        }
    }
    if (cf && fclose(cf) != 0)
        bu_die(counts_path);
    fflush(stdout);
}

/* Calls fn(ctx, paragraph, len) for every non-blank line of every *.txt file
 * of dir, files in byte order of name. Returns the input bytes read. */
#include <dirent.h>
typedef void (*bu_para_fn)(void *ctx, const char *p, size_t len);

static inline int bu_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void *bu_realloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        bu_die("size overflow");
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        bu_die("out of memory");
    return q;
}

/* The names of dir's files that start with prefix and end in ".txt", in
 * byte order (malloc'd array of malloc'd names, *n of them; NULL and 0
 * when there is none). Dies when dir cannot be read. */
static inline char **bu_txt_files(const char *dir, const char *prefix, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        bu_die(dir);
    char **names = NULL;
    size_t k = 0, pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < pl + 4 || strncmp(e->d_name, prefix, pl) ||
            strcmp(e->d_name + l - 4, ".txt"))
            continue;
        names = (char **)bu_realloc(names, k + 1, sizeof *names);
        names[k] = (char *)bu_alloc(l + 1, 1);
        memcpy(names[k++], e->d_name, l + 1);
    }
    closedir(d);
    if (k)
        qsort(names, k, sizeof *names, bu_name_cmp);
    *n = k;
    return names;
}

static inline uint64_t bu_each_para(const char *dir, bu_para_fn fn, void *ctx)
{
    size_t n;
    char **names = bu_txt_files(dir, "", &n);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *buf = bu_read_file(path, &len);
        bytes += len;
        size_t s = 0;
        while (s < len) {
            size_t nl = s;
            while (nl < len && buf[nl] != '\n')
                nl++;
            size_t end = nl;
            while (end > s && (buf[end - 1] == '\r' || buf[end - 1] == ' ' ||
                               buf[end - 1] == '\t'))
                end--;
            size_t b = s;
            while (b < end && (buf[b] == ' ' || buf[b] == '\t'))
                b++;
            if (b < end)
                fn(ctx, buf + s, end - s);
            s = nl + 1;
        }
        free(buf);
        free(names[i]);
    }
    free(names);
    return bytes;
}

#endif
