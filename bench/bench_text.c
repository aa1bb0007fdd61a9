/* bench/bench_text.c — stored-text fetch timing: what one paragraph's text
 * costs a search hit (usj_index_text), measured on an existing index.
 *
 *   bench_text INDEX [N]
 *
 * Prints the text section's size (and the whole index's, with the ratio to
 * the input), then the time of usj_index_text for N (default 20000) random
 * docs (fixed seed; each fetch uses a cache holding another block, as a
 * search's hits mostly do): median, p99 and mean in us; the same for a doc
 * of the block just fetched (the cache hit); and the mean per doc of a scan
 * of every doc in order. Times are CLOCK_MONOTONIC. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <usj/usj.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next_rand(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void report(const char *what, double *t, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i];
    qsort(t, n, sizeof *t, cmp_d);
    printf("%-22s n=%zu median %.2f us  p99 %.2f us  mean %.2f us\n", what, n,
           t[n / 2] / 1e3, t[n * 99 / 100] / 1e3, sum / (double)n / 1e3);
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "bench_text: %s: %s: %s\n", what, usj_error_name(rc), usj_error_last());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_text INDEX [N]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    if (n < 100)
        n = 100;
    usj_index *idx;
    int rc = usj_index_open(&idx, argv[1], 0);
    if (rc)
        return die(argv[1], rc);
    usj_index_stats st;
    usj_index_stats_get(idx, &st);
    printf("text section %llu bytes, index %llu bytes, input %llu bytes: text %.4f, index %.4f x input\n",
           (unsigned long long)st.section_bytes[6], (unsigned long long)st.file_bytes,
           (unsigned long long)st.input_bytes,
           (double)st.section_bytes[6] / (double)st.input_bytes,
           (double)st.file_bytes / (double)st.input_bytes);
    uint32_t nd = usj_index_ndocs(idx);
    double *t = malloc(n * sizeof *t), *th = malloc(n * sizeof *th);
    if (!t || !th || nd == 0)
        return 1;
    usj_textcache c = USJ_TEXTCACHE_INIT;
    const char *text;
    size_t len, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t d = next_rand(nd);
        double a = now_ns();
        if ((rc = usj_index_text(idx, d, &c, &text, &len)))
            return die("text", rc);
        t[i] = now_ns() - a;
        bytes += len;
        uint32_t d2 = d > 0 ? d - 1 : d;       /* usually the same block */
        a = now_ns();
        if ((rc = usj_index_text(idx, d2, &c, &text, &len)))
            return die("text", rc);
        th[i] = now_ns() - a;
    }
    report("random doc", t, n);
    report("previous doc after it", th, n);
    double a = now_ns();
    for (uint32_t d = 0; d < nd; d++)
        if ((rc = usj_index_text(idx, d, &c, &text, &len)))
            return die("text", rc);
    printf("%-22s %u docs, %.2f us per doc (mean text %.0f bytes)\n", "scan in order", nd,
           (now_ns() - a) / nd / 1e3, (double)bytes / (double)n);
    usj_textcache_free(&c);
    free(t);
    free(th);
    usj_index_unref(idx);
    return 0;
}
